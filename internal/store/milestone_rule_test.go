package store_test

import (
	"testing"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestMilestoneRuleStored: a milestone rule is stored and reads back. The
// rule table's CHECK on trigger_type (migration 00002) refused 'milestone'
// until migration 00018 widened it, so no milestone rule could be created.
func TestMilestoneRuleStored(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		trigger, typ, n, amount := rewards.Milestone, rewards.Credit, 3, money.Number("10")
		r, err := rewards.Apply(rewards.NewRule(), rewards.RuleInput{Trigger: &trigger, RewardType: &typ, MilestoneReferrals: &n, Amount: &amount}, p.Currency)
		if err != nil {
			t.Fatal(err)
		}
		r.ProgramID = p.ID
		if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateRule(t.Context(), &r) }); err != nil {
			t.Fatalf("create milestone rule: %v", err)
		}
		got, err := db.Rule(t.Context(), p.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trigger != rewards.Milestone || got.MilestoneReferrals != 3 || got.Amount != 1000 || got.Currency != "USD" {
			t.Errorf("milestone rule reads back as %+v", got)
		}
	})
}
