package store_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestOfferRulesRoundTrip: the rules of issue 16 are stored and read back
// as they were made, milestone rules included (the CHECK of migration 00002
// refused their trigger until 00019).
func TestOfferRulesRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		for _, r := range []rewards.Rule{
			{ProgramID: p.ID, Trigger: rewards.Milestone, Recipient: rewards.Referrer, RewardType: rewards.Credit, Unit: rewards.Fixed,
				Amount: 5000, Currency: "USD", Recurrence: rewards.First, MilestoneReferrals: 10, Active: true},
			{ProgramID: p.ID, Trigger: rewards.Subscription, Recipient: rewards.Referrer, RewardType: rewards.Cash, Unit: rewards.Fixed,
				Amount: 500, Currency: "USD", Recurrence: rewards.Every, SkipCount: 3, Tiers: []rewards.Tier{{MinReferrals: 1, Amount: 500}, {MinReferrals: 5, Amount: 1000}},
				MaxRewardsPerReferrer: 4, MaxRewardsPeriod: rewards.Month, MaxAmountPerReferrer: 3000, MaxAmountCurrency: "USD", Active: true},
		} {
			made, err := db.CreateRule(t.Context(), r)
			if err != nil {
				t.Fatalf("create %s rule: %v", r.Trigger, err)
			}
			got, err := db.Rule(t.Context(), p.ID, made.ID)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(made, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s rule read back (-made +got):\n%s", r.Trigger, diff)
			}
		}
	})
}
