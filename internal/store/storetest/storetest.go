// Package storetest opens real databases for tests: a fresh SQLite file, and
// a fresh PostgreSQL schema when ADVOCATE_TEST_POSTGRES names a server.
// scripts/test.sh installs and starts PostgreSQL and sets that variable;
// in a strict run (see Strict) a missing PostgreSQL fails the tests instead
// of dropping the engine.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

func init() {
	// Tests need real bcrypt, not slow bcrypt: production keeps the default cost.
	store.PasswordCost = bcrypt.MinCost
}

// PostgresEnv names the variable holding the test server's URL.
const PostgresEnv = "ADVOCATE_TEST_POSTGRES"

// StrictEnv names the variable that scripts/test.sh sets so that a test
// which cannot reach what it needs (PostgreSQL, Chromium) fails instead of
// skipping. CI, which CI systems set, does the same.
const StrictEnv = "ADVOCATE_TEST_STRICT"

// Strict says whether a missing service must fail the test.
func Strict() bool {
	return os.Getenv(StrictEnv) != "" || os.Getenv("CI") != ""
}

// Engines lists the engines a test should run on.
func Engines(t testing.TB) []store.Engine {
	if os.Getenv(PostgresEnv) != "" {
		return []store.Engine{store.SQLite, store.Postgres}
	}
	if Strict() {
		t.Fatalf("%s is not set: in a strict run every store test must also run on PostgreSQL (run scripts/test.sh)", PostgresEnv)
	}
	t.Logf("%s not set: testing SQLite only; scripts/test.sh runs both engines", PostgresEnv)
	return []store.Engine{store.SQLite}
}

// Each runs fn as a subtest on every engine, each with a fresh migrated
// database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, e := range Engines(t) {
		t.Run(string(e), func(t *testing.T) { fn(t, Open(t, e)) })
	}
}

// Open returns a fresh, migrated database of engine e, removed after the test.
func Open(t testing.TB, e store.Engine) *store.DB {
	t.Helper()
	db, _ := OpenDSN(t, e)
	return db
}

// OpenDSN is Open that also returns the database's connection string, for
// tests that reach it other than through the store (bulk seeding).
func OpenDSN(t testing.TB, e store.Engine) (*store.DB, string) {
	t.Helper()
	ctx := context.Background()
	dsn := DSN(t, e)
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", e, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", e, err)
	}
	return db, dsn
}

// Program creates a program with its secret and publishable API keys in
// db, failing the test on error, and returns the program and the keys'
// plaintexts.
func Program(t testing.TB, db *store.DB, name, currency, website string) (p *referral.Program, secret, publishable string) {
	t.Helper()
	ctx := context.Background()
	p, err := referral.NewProgram(name, currency, website)
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *store.Tx) (err error) {
		secret, publishable, err = tx.CreateProgramWithKeys(ctx, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, secret, publishable
}

// DSN returns a connection string for a fresh, empty database of engine e:
// a file in the test's temporary directory, or a new PostgreSQL schema that
// is dropped after the test.
func DSN(t testing.TB, e store.Engine) string {
	t.Helper()
	if e == store.SQLite {
		return filepath.Join(t.TempDir(), "advocate.db")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Fatalf("%s is not set", PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Fingerprint sums up what a request may write: the rows of every table,
// the latest updated_at of the tables whose rows change in place, and the
// sum of the cached balances. Fuzz tests compare it before and after a
// refused request, which must write nothing; row counts alone would miss
// an update in place (settings, rules) or a moved balance.
func Fingerprint(t testing.TB, db *store.DB) map[string]int64 {
	t.Helper()
	var names, sel []string
	for _, table := range []string{"programs", "api_keys", "customers", "referral_links", "idempotency_keys", "events",
		"admins", "sessions", "reward_rules", "transactions", "refunds", "rewards", "discount_codes",
		"ledger_accounts", "ledger_entries", "clicks", "webhook_endpoints", "email_settings", "email_templates",
		"stripe_integrations", "stripe_events", "stripe_customers", "stripe_payments", "stripe_charges", "stripe_disputes", "stripe_actions"} {
		names, sel = append(names, table), append(sel, "SELECT count(*) FROM "+table)
	}
	for _, table := range []string{"programs", "customers", "reward_rules", "transactions", "rewards", "webhook_endpoints", "email_settings", "email_templates"} {
		names, sel = append(names, table+" updated"), append(sel, "SELECT COALESCE(MAX(updated_at), 0) FROM "+table)
	}
	names, sel = append(names, "balances"), append(sel, "SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts")
	vals := make([]int64, len(sel))
	dest := make([]any, len(sel))
	for i := range sel {
		sel[i] = "(" + sel[i] + ")"
		dest[i] = &vals[i]
	}
	if err := db.ReadStats().QueryRow("SELECT " + strings.Join(sel, ", ")).Scan(dest...); err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	out := map[string]int64{}
	for i, name := range names {
		out[name] = vals[i]
	}
	return out
}
