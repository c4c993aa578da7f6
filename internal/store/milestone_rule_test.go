package store_test

import (
	"testing"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestMilestoneRuleStored: a milestone rule is stored and reads back. The
// rule table's CHECK on trigger_type (migration 00002) refused 'milestone'
// until migration 00019 widened it, so no milestone rule could be created.
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

// TestMilestoneNotInTransactionRewards: a payment that reaches a milestone
// answers with its own rules' rewards only, as its replay does; the
// milestone reward is the referrer's, with no transaction. The first
// answer used to list the milestone too, so a retry answered differently.
func TestMilestoneNotInTransactionRewards(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		for _, in := range []rewards.RuleInput{
			{Trigger: offerPtr(rewards.Milestone), RewardType: offerPtr(rewards.Credit), MilestoneReferrals: offerPtr(1), Amount: offerPtr(money.Number("10"))},
			{Trigger: offerPtr(rewards.Purchase), RewardType: offerPtr(rewards.Credit), Amount: offerPtr(money.Number("5"))},
		} {
			r, err := rewards.Apply(rewards.NewRule(), in, p.Currency)
			if err != nil {
				t.Fatal(err)
			}
			r.ProgramID = p.ID
			if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateRule(t.Context(), &r) }); err != nil {
				t.Fatal(err)
			}
		}
		ref := newCustomer(t, db, p, referral.NewCustomer{Key: "ref", Email: "ref@example.com"})
		newCustomer(t, db, p, referral.NewCustomer{Key: "friend", Email: "friend@example.com", ReferredBy: ref.ReferralCode})
		in := store.NewTransaction{CustomerKey: "friend", Key: "t1", Type: rewards.Purchase, Amount: 2000, Currency: "USD"}
		first, created, err := db.RecordTransaction(t.Context(), p, in)
		if err != nil || !created {
			t.Fatalf("record: %v, created %v", err, created)
		}
		again, _, err := db.RecordTransaction(t.Context(), p, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(first.Rewards) != 1 || first.Rewards[0].Trigger != rewards.Purchase || len(again.Rewards) != 1 || again.Rewards[0].ID != first.Rewards[0].ID {
			t.Errorf("the payment answers with rewards %s, its replay with %s; want its purchase reward in both", describeGot(first.Rewards), describeGot(again.Rewards))
		}
		st, err := db.Stats(t.Context(), p.ID, ref.ID, "USD")
		if err != nil {
			t.Fatal(err)
		}
		if st.TotalRewards != 1500 { // 5 for the purchase and 10 for the milestone
			t.Errorf("referrer earned %d, want 1500", st.TotalRewards)
		}
	})
}

func offerPtr[T any](v T) *T { return &v }
