package httpapi_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// BenchmarkGetCustomer measures GET /v1/customers/{key} for random keys
// through the whole HTTP stack, at 1 thousand and 1 million customers: the
// lookup goes through a unique index, so the time must stay flat as the
// table grows. The million only runs with ADVOCATE_BENCH_LARGE=1
// (scripts/bench.sh sets it) because seeding it takes a while.
func BenchmarkGetCustomer(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(string(e), func(b *testing.B) {
			for _, n := range []int{1_000, 1_000_000} {
				b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
					if n > 1_000 && os.Getenv("ADVOCATE_BENCH_LARGE") == "" {
						b.Skip("set ADVOCATE_BENCH_LARGE=1 to seed a million customers")
					}
					benchGetCustomer(b, e, n)
				})
			}
		})
	}
}

func benchGetCustomer(b *testing.B, e store.Engine, n int) {
	db, dsn := storetest.OpenDSN(b, e)
	programID, sk := benchProgram(b, db)
	seedCustomers(b, e, dsn, programID, n)

	api := httpapi.New(db, slog.New(slog.DiscardHandler), httpapi.Config{BaseURL: "https://adv.example.com"})
	srv := httptest.NewServer(web.APIHandler(api))
	b.Cleanup(srv.Close)
	client := srv.Client()
	rng := rand.New(rand.NewPCG(uint64(n), 1))
	var lat []time.Duration
	for b.Loop() {
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/customers/cust_%d", srv.URL, rng.IntN(n)+1), nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+sk)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d %s %v", req.URL.Path, resp.StatusCode, body, err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	for _, p := range []int{50, 99} {
		b.ReportMetric(float64(lat[(len(lat)*p+99)/100-1].Microseconds()), fmt.Sprintf("p%d-µs", p))
	}
}

// benchProgram creates a program and returns its id and secret key.
func benchProgram(b *testing.B, db *store.DB) (string, string) {
	ctx := context.Background()
	p, err := referral.NewProgram("Bench", "USD", "https://yoursite.com")
	if err != nil {
		b.Fatal(err)
	}
	var sk string
	err = db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return err
		}
		sk, _, err = tx.CreateAPIKey(ctx, p.ID, referral.SecretKey)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return p.ID, sk
}

// seedCustomers inserts customers cust_1…cust_n of a program, each with its
// default referral link and every even one referred by the customer of half
// its number. It writes rows straight with SQL, 100,000 to a statement, so
// that a million take seconds rather than the hour the API would need; the
// rows have the shape the store writes.
func seedCustomers(b *testing.B, e store.Engine, dsn, programID string, n int) {
	ctx := context.Background()
	raw := openRaw(b, e, dsn)
	defer raw.Close()
	const numbers = `WITH RECURSIVE n(i) AS (SELECT CAST($2 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $3) `
	const customers = numbers + `INSERT INTO customers (id, program_id, key, email, email_key, email_identity,
		name, metadata, referral_code, referred_by, referrer_id, created_at, updated_at)
		SELECT 'cus_bench_' || i, CAST($1 AS TEXT), 'cust_' || i, 'user' || i || '@example.com', 'user' || i || '@example.com',
			'user' || i || '@example.com', 'Customer ' || i, '{"plan":"pro"}', 'CODE' || i,
			CASE WHEN i % 2 = 0 THEN 'CODE' || (i / 2) END, CASE WHEN i % 2 = 0 THEN 'cus_bench_' || (i / 2) END,
			CAST($4 AS BIGINT), CAST($4 AS BIGINT)
		FROM n`
	const links = numbers + `INSERT INTO referral_links (id, program_id, customer_id, code, is_default, created_at)
		SELECT 'lnk_bench_' || i, CAST($1 AS TEXT), 'cus_bench_' || i, 'CODE' || i, TRUE, CAST($4 AS BIGINT) FROM n`
	start := time.Now()
	now := time.Now().UnixMicro()
	const chunk = 100_000
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		for _, q := range []string{customers, links} {
			if _, err := raw.ExecContext(ctx, q, programID, lo, hi, now); err != nil {
				b.Fatalf("seed customers %d–%d: %v", lo, hi, err)
			}
		}
	}
	// PostgreSQL's autovacuum would have analysed a table this size by now.
	if e == store.Postgres {
		for _, table := range []string{"customers", "referral_links"} {
			if _, err := raw.ExecContext(ctx, `ANALYZE `+table); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("seeded %d customers on %s in %s", n, e, time.Since(start).Round(time.Millisecond))
}

// openRaw opens the benchmark's database without the store, for seeding
// and counting with plain SQL.
func openRaw(b *testing.B, e store.Engine, dsn string) *sql.DB {
	driver := "pgx"
	if e == store.SQLite {
		// A 256 MiB page cache keeps the indexes in memory while they grow.
		driver, dsn = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=cache_size(-262144)"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// benchServer serves the API of db and returns its URL and a client that
// keeps a connection per concurrent caller alive.
func benchServer(b *testing.B, db *store.DB) (string, *http.Client) {
	api := httpapi.New(db, slog.New(slog.DiscardHandler), httpapi.Config{BaseURL: "https://adv.example.com"})
	srv := httptest.NewServer(web.APIHandler(api))
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr}
}

// benchDo makes one request with the secret key and fails the benchmark on
// any other status than want.
func benchDo(b *testing.B, client *http.Client, method, url, sk, body string, want int) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sk)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != want {
		b.Fatalf("%s %s: %d %s %v", method, req.URL.Path, resp.StatusCode, got, err)
	}
}

// twoRules are the rules of the transaction benchmark: every purchase
// gives the referrer a fixed credit and the friend a percentage discount
// code, both available at once (holding 0), so each transaction writes two
// rewards, a ledger transaction of two entries, a discount code and five
// events.
var twoRules = []string{
	`{"name":"Referrer credit","trigger":"purchase","recipient":"referrer","reward_type":"credit","amount":10,"unit":"fixed","currency":"USD","recurrence":"every"}`,
	`{"name":"Friend discount","trigger":"purchase","recipient":"friend","reward_type":"discount","amount":20,"unit":"percentage","recurrence":"every"}`,
}

// BenchmarkCreateTransaction measures durable POST /v1/transactions that
// fire two rules, through the whole HTTP stack, from 32 concurrent clients
// (SQLite group-commits concurrent writes, so throughput depends on
// concurrency). Each request is a new transaction key for one of 2,000
// referred friends. scripts/bench.sh measures the same against the built
// server; this benchmark is the one to profile with -cpuprofile. After the
// run it checks that every transaction gave two rewards and that the
// ledger verifies.
func BenchmarkCreateTransaction(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(string(e), func(b *testing.B) { benchCreateTransaction(b, e) })
	}
}

func benchCreateTransaction(b *testing.B, e store.Engine) {
	ctx := context.Background()
	db, dsn := storetest.OpenDSN(b, e)
	programID, sk := benchProgram(b, db)
	const friends = 2_000
	seedCustomers(b, e, dsn, programID, 2*friends) // cust_2k is referred by cust_k
	url, client := benchServer(b, db)
	for _, rule := range twoRules {
		benchDo(b, client, http.MethodPost, url+"/v1/reward_rules", sk, rule, http.StatusCreated)
	}

	var seq atomic.Int64
	b.SetParallelism(16) // 32 clients on 2 CPUs
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			benchDo(b, client, http.MethodPost, url+"/v1/transactions", sk, fmt.Sprintf(
				`{"customer_key":"cust_%d","key":"txn-%d","type":"purchase","amount":50,"currency":"USD"}`, 2*(n%friends+1), n),
				http.StatusCreated)
		}
	})
	b.ReportMetric(float64(seq.Load())/time.Since(start).Seconds(), "req/s")
	b.StopTimer()

	raw := openRaw(b, e, dsn)
	defer raw.Close()
	var txns, rws int64
	if err := raw.QueryRow(`SELECT (SELECT COUNT(*) FROM transactions), (SELECT COUNT(*) FROM rewards)`).Scan(&txns, &rws); err != nil {
		b.Fatal(err)
	}
	if txns != seq.Load() || rws != 2*txns {
		b.Fatalf("%d requests made %d transactions and %d rewards, want one each and two rewards per transaction", seq.Load(), txns, rws)
	}
	if ms, err := db.Verify(ctx); err != nil || len(ms) > 0 {
		b.Fatalf("ledger does not verify: %v %v", ms, err)
	}
}

// BenchmarkCustomerReads measures GET /v1/customers/{key}/stats and
// /balance for random referrers at 1 thousand and at 1 million ledger
// entries. The data grows around the customers, not inside them: at both
// sizes each referrer has one referred friend and about 50 rewards (100
// ledger entries), so a read must not depend on how big the ledger is.
// The million only runs with ADVOCATE_BENCH_LARGE=1.
func BenchmarkCustomerReads(b *testing.B) {
	for _, e := range storetest.Engines(b) {
		b.Run(string(e), func(b *testing.B) {
			for _, n := range []int{1_000, 1_000_000} {
				b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
					if n > 1_000 && os.Getenv("ADVOCATE_BENCH_LARGE") == "" {
						b.Skip("set ADVOCATE_BENCH_LARGE=1 to seed a million ledger entries")
					}
					benchCustomerReads(b, e, n)
				})
			}
		})
	}
}

func benchCustomerReads(b *testing.B, e store.Engine, entries int) {
	ctx := context.Background()
	db, dsn := storetest.OpenDSN(b, e)
	programID, sk := benchProgram(b, db)
	customers := max(20, entries/50)
	seedCustomers(b, e, dsn, programID, customers)
	url, client := benchServer(b, db)
	benchDo(b, client, http.MethodPost, url+"/v1/reward_rules", sk, twoRules[0], http.StatusCreated)
	seedLedger(b, e, dsn, programID, customers/2, entries/2)
	if entries <= 1_000 { // the seed has the store's shape: the ledger verifies
		if ms, err := db.Verify(ctx); err != nil || len(ms) > 0 {
			b.Fatalf("seeded ledger does not verify: %v %v", ms, err)
		}
	}

	for _, read := range []string{"stats", "balance"} {
		b.Run(read, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(uint64(entries), 2))
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				benchDo(b, client, http.MethodGet, fmt.Sprintf("%s/v1/customers/cust_%d/%s", url, rng.IntN(customers/2)+1, read),
					sk, "", http.StatusOK)
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			for _, p := range []int{50, 99} {
				b.ReportMetric(float64(lat[(len(lat)*p+99)/100-1].Microseconds()), fmt.Sprintf("p%d-µs", p))
			}
		})
	}
}

// seedLedger gives referrers cust_1…cust_referrers n credit rewards in
// turn, each for their friend cust_2k, with the ledger transaction the
// store writes for it (rewards expense → the referrer's available credit,
// 10.00 USD), and then sets the cached balances and marks the friends
// converted. Like seedCustomers it writes SQL straight, 100,000 rows to a
// statement.
func seedLedger(b *testing.B, e store.Engine, dsn, programID string, referrers, n int) {
	ctx := context.Background()
	raw := openRaw(b, e, dsn)
	defer raw.Close()
	var ruleID string
	if err := raw.QueryRowContext(ctx, `SELECT id FROM reward_rules WHERE program_id = $1`, programID).Scan(&ruleID); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	now := time.Now().UnixMicro()
	const amount = 1000
	// $1 and $2 are the range, $3 the referrers, $4 now, $5 the program and
	// $6 the rule; each statement is given the parameters up to the last
	// it uses, as PostgreSQL wants.
	const numbers = `WITH RECURSIVE n(i) AS (SELECT CAST($1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $2),
		m(i, k) AS (SELECT i, (i - 1) % CAST($3 AS BIGINT) + 1 FROM n) `
	inserts := []struct {
		query string
		args  int
	}{
		{numbers + `INSERT INTO rewards (id, program_id, rule_id, customer_id, referrer_id, friend_id, source, trigger_type,
			recipient, reward_type, unit, amount, currency, status, needs_approval, available_at, created_at, updated_at)
			SELECT 'rwd_bench_' || i, CAST($5 AS TEXT), CAST($6 AS TEXT), 'cus_bench_' || k, 'cus_bench_' || k, 'cus_bench_' || (2 * k),
				'bench-' || i, 'purchase', 'referrer', 'credit', 'fixed', ` + fmt.Sprint(amount) + `, 'USD', 'available', FALSE,
				CAST($4 AS BIGINT), CAST($4 AS BIGINT), CAST($4 AS BIGINT)
			FROM m`, 6},
		{numbers + `INSERT INTO ledger_transactions (id, program_id, kind, reward_id, note, created_at)
			SELECT 'ltx_bench_' || i, CAST($5 AS TEXT), '` + ledger.KindRewardEarned + `', 'rwd_bench_' || i, '', CAST($4 AS BIGINT) FROM m`, 5},
		{numbers + `INSERT INTO ledger_entries (id, ledger_transaction_id, account_id, amount, currency, created_at)
			SELECT 'ent_bench_' || i || 'a', 'ltx_bench_' || i, 'acc_bench_expense', -` + fmt.Sprint(amount) + `, 'USD', CAST($4 AS BIGINT) FROM m
			UNION ALL
			SELECT 'ent_bench_' || i || 'b', 'ltx_bench_' || i, 'acc_bench_' || k, ` + fmt.Sprint(amount) + `, 'USD', CAST($4 AS BIGINT) FROM m`, 4},
	}
	exec := func(q string, args ...any) {
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("seed ledger: %v", err)
		}
	}
	exec(`INSERT INTO ledger_accounts (id, program_id, owner, type, currency, balance, created_at)
		VALUES ('acc_bench_expense', $1, $2, $3, 'USD', 0, $4)`, programID, ledger.ProgramOwner, ledger.RewardsExpense, now)
	exec(`WITH RECURSIVE n(i) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < $2)
		INSERT INTO ledger_accounts (id, program_id, owner, type, currency, balance, created_at)
		SELECT 'acc_bench_' || i, CAST($1 AS TEXT), 'cus_bench_' || i, CAST($3 AS TEXT), 'USD', 0, CAST($4 AS BIGINT) FROM n`,
		programID, referrers, ledger.CreditAvailable, now)
	const chunk = 100_000
	for lo := 1; lo <= n; lo += chunk {
		hi := min(lo+chunk-1, n)
		args := []any{lo, hi, referrers, now, programID, ruleID}
		for _, q := range inserts {
			exec(q.query, args[:q.args]...)
		}
	}
	exec(`UPDATE ledger_accounts SET balance = (SELECT COALESCE(SUM(amount), 0) FROM ledger_entries
		WHERE account_id = ledger_accounts.id) WHERE id LIKE 'acc_bench_%' AND owner <> ''`)
	exec(`UPDATE customers SET converted_at = $2 WHERE program_id = $1 AND referrer_id IS NOT NULL`, programID, now)
	if e == store.Postgres {
		for _, table := range []string{"customers", "rewards", "ledger_accounts", "ledger_transactions", "ledger_entries"} {
			exec(`ANALYZE ` + table)
		}
	}
	b.Logf("seeded %d ledger entries for %d referrers on %s in %s", 2*n, referrers, e, time.Since(start).Round(time.Millisecond))
}
