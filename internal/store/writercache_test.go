package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// This file is inside package store to put callers into one group-commit
// batch, in a chosen order.

func openMigrated(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// inOneBatch runs fns as consecutive members of one batch, in order, and
// returns their errors: a first caller holds the writer until all of
// them are queued.
func inOneBatch(t *testing.T, db *DB, fns ...func(*Tx) error) []error {
	t.Helper()
	ctx := t.Context()
	entered, release, first := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		first <- db.InTx(ctx, func(*Tx) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered
	errs := make([]error, len(fns))
	done := make(chan struct{})
	for i, fn := range fns {
		go func() {
			errs[i] = db.InTx(ctx, fn)
			done <- struct{}{}
		}()
		for deadline := time.Now().Add(5 * time.Second); len(db.batch.jobs) <= i; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("caller %d not queued", i)
			}
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range fns {
		<-done
	}
	return errs
}

// seedReferral creates a program whose one rule gives the referrer 10.00 USD
// credit on every purchase, a referrer jane, and the friends she referred.
func seedReferral(t *testing.T, db *DB, friends ...string) (*referral.Program, rewards.Rule, *referral.Customer) {
	t.Helper()
	ctx := t.Context()
	p, err := referral.NewProgram("Referral", "USD", "https://referral.example")
	if err != nil {
		t.Fatal(err)
	}
	rule := rewards.Rule{Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit,
		Unit: rewards.Fixed, Amount: 1000, Currency: "USD", Recurrence: rewards.Every, Active: true}
	var jane *referral.Customer
	err = db.InTx(ctx, func(tx *Tx) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return err
		}
		rule.ProgramID = p.ID
		if err := tx.CreateRule(ctx, &rule); err != nil {
			return err
		}
		if jane, err = tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane"}); err != nil {
			return err
		}
		for _, k := range friends {
			if _, err := tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: k, Email: k + "@x.com", Name: k, ReferredBy: jane.ReferralCode}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, rule, jane
}

// TestWriterCacheFollowsRules checks that the rules the writer keeps are
// always the rules in the database: after a change in the same batch, a
// change by another process on the same file, a rule created by a member
// whose batch rolled back, and a deletion.
func TestWriterCacheFollowsRules(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "advocate.db")
	db := openMigrated(t, path)
	p, rule, _ := seedReferral(t, db, "bob")
	given := map[string][]int64{} // reward amounts by transaction key
	pay := func(key string) func(*Tx) error {
		return func(tx *Tx) error {
			txn, _, err := tx.RecordTransaction(ctx, p, NewTransaction{CustomerKey: "bob", Key: key, Type: rewards.Purchase, Amount: 5000, Currency: "USD"})
			if err != nil {
				return err
			}
			given[key] = nil
			for _, rw := range txn.Rewards {
				given[key] = append(given[key], rw.Amount)
			}
			return nil
		}
	}
	withAmount := func(amount int64) func(*Tx) error {
		return func(tx *Tx) error {
			r := rule
			r.Amount = amount
			return tx.UpdateRule(ctx, &r)
		}
	}
	want := func(key string, amounts ...int64) {
		t.Helper()
		if !slices.Equal(given[key], amounts) {
			t.Errorf("transaction %s gave %v, want %v", key, given[key], amounts)
		}
	}

	if err := db.InTx(ctx, pay("t1")); err != nil {
		t.Fatal(err)
	}
	want("t1", 1000)

	for i, err := range inOneBatch(t, db, withAmount(2000), pay("t2")) {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	want("t2", 2000)

	// Another process changes the rule: the next batch sees it.
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	err = other.InTx(ctx, withAmount(3000))
	other.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, pay("t3")); err != nil {
		t.Fatal(err)
	}
	want("t3", 3000)

	// A member creates a second rule, fires it, then fails: the batch is
	// rolled back and the rule with it, so the next member must not fire it.
	boom := errors.New("boom")
	errs := inOneBatch(t, db, func(tx *Tx) error {
		extra := rewards.Rule{ProgramID: p.ID, Trigger: rewards.Purchase, Recipient: rewards.Friend, RewardType: rewards.Credit,
			Unit: rewards.Fixed, Amount: 500, Currency: "USD", Recurrence: rewards.Every, Active: true}
		if err := tx.CreateRule(ctx, &extra); err != nil {
			return err
		}
		if err := pay("doomed")(tx); err != nil {
			return err
		}
		return boom
	}, pay("t4"))
	if !errors.Is(errs[0], boom) || errs[1] != nil {
		t.Fatalf("callers returned %v, want boom and success", errs)
	}
	want("t4", 3000)

	for i, err := range inOneBatch(t, db, func(tx *Tx) error { return tx.DeleteRule(ctx, p.ID, rule.ID) }, pay("t5")) {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	want("t5")

	if ms, err := db.Verify(ctx); err != nil || len(ms) > 0 {
		t.Fatalf("verify: %v %v", ms, err)
	}
}

// TestBatchAppendsOnlySuccesses checks that the ledger rows and events a
// batch writes for all its members at once are those of the members that
// succeeded, in a batch that runs first without savepoints and then again
// with them.
func TestBatchAppendsOnlySuccesses(t *testing.T) {
	ctx := t.Context()
	db := openMigrated(t, filepath.Join(t.TempDir(), "advocate.db"))
	p, err := referral.NewProgram("Appends", "USD", "https://appends.example")
	if err != nil {
		t.Fatal(err)
	}
	var jane *referral.Customer
	err = db.InTx(ctx, func(tx *Tx) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return err
		}
		jane, err = tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	credit := func(amount int64, fail bool) func(*Tx) error {
		return func(tx *Tx) error {
			if err := tx.Credit(ctx, p.ID, jane, amount, "USD", "test"); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		}
	}
	before := rowCounts(t, db)
	errs := inOneBatch(t, db, credit(100, false), credit(20_000, true), credit(300, false), credit(40_000, true), credit(500, false))
	for i, err := range errs {
		if failed := i%2 == 1; failed != errors.Is(err, boom) || (!failed && err != nil) {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	after := rowCounts(t, db)
	for table, n := range after {
		if d := n - before[table]; d != 3*rowsPerCredit[table] {
			t.Errorf("%s: %d new rows, want %d (three credits)", table, d, 3*rowsPerCredit[table])
		}
	}
	b, err := db.Balance(ctx, p.ID, jane.ID, "USD")
	if err != nil {
		t.Fatal(err)
	}
	if b.CreditAvailable != 900 {
		t.Errorf("balance %d, want 900", b.CreditAvailable)
	}
	if ms, err := db.Verify(ctx); err != nil || len(ms) > 0 {
		t.Fatalf("verify: %v %v", ms, err)
	}
}

// rowsPerCredit is how many rows of each appended table one manual credit
// adds.
var rowsPerCredit = map[string]int{"ledger_transactions": 1, "ledger_entries": 2, "events": 1}

func rowCounts(t *testing.T, db *DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for table := range rowsPerCredit {
		var n int
		if err := db.read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}
