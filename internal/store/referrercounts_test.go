package store

import (
	"testing"

	"github.com/advocate-oss/advocate/internal/rewards"
)

// TestReferrerRuleCounts checks the count of a rule's rewards per referrer
// that max_rewards_per_referrer reads (migration 00012): rewards add to it,
// a full refund takes its reward out, Verify notices a wrong count, and
// migrating down and up again recounts it from the rewards.
func TestReferrerRuleCounts(t *testing.T) {
	ctx := t.Context()
	db := openMigrated(t, t.TempDir()+"/advocate.db")
	p, rule, jane := seedReferral(t, db, "bob", "ann")
	for _, pay := range []struct{ friend, key string }{{"bob", "t1"}, {"bob", "t2"}, {"ann", "t3"}} {
		err := db.InTx(ctx, func(tx *Tx) error {
			_, _, err := tx.RecordTransaction(ctx, p, NewTransaction{CustomerKey: pay.friend, Key: pay.key, Type: rewards.Purchase, Amount: 5000, Currency: "USD"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func() int64 {
		t.Helper()
		var n int64
		if err := db.read.QueryRowContext(ctx, `SELECT reward_count FROM referrer_rule_rewards WHERE rule_id = $1 AND referrer_id = $2`,
			rule.ID, jane.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("count after three payments = %d, want 3", n)
	}
	if err := db.InTx(ctx, func(tx *Tx) error { _, err := tx.Refund(ctx, p, "t2", 0, "returned"); return err }); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("count after a full refund = %d, want 2", n)
	}
	verify := func(want int) []Mismatch {
		t.Helper()
		ms, err := db.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != want {
			t.Fatalf("verify: %v, want %d mismatches", ms, want)
		}
		return ms
	}
	verify(0)

	if _, err := db.write.ExecContext(ctx, `UPDATE referrer_rule_rewards SET reward_count = 7`); err != nil {
		t.Fatal(err)
	}
	if m := verify(1)[0]; m.Want != 2 || m.Got != 7 {
		t.Fatalf("verify reported %v, want 2 counted and 7 cached", m)
	}

	mig, err := db.migrator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mig.DownTo(ctx, 11); err != nil {
		t.Fatal(err)
	}
	if _, err := mig.UpTo(ctx, 12); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Fatalf("count recounted by the migration = %d, want 2", n)
	}
	// Verify reads tables of later migrations too.
	if _, err := mig.Up(ctx); err != nil {
		t.Fatal(err)
	}
	verify(0)
}
