package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// This file tests the offers of issue 16 through the API: milestones,
// tiers, skip_count, caps per period and by value, and what makes a
// referral successful in the referrer's stats.

// amounts lists the amounts of rewards, in their order.
func amounts(rws []reward) []string {
	out := []string{}
	for _, rw := range rws {
		out = append(out, rw.Amount.String())
	}
	return out
}

// TestOfferRuleFields: the new fields come back as given, in the
// conventions of the old ones (amounts in major units or percent, null for
// none), and an update removes them.
func TestOfferRuleFields(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "rendered and removed", func(t *testing.T, e *env) {
			m := e.createRule(`{"trigger": "milestone", "milestone_referrals": 3, "reward_type": "credit", "amount": 10}`)
			if m.Trigger != "milestone" || m.MilestoneReferrals == nil || *m.MilestoneReferrals != 3 || m.Amount != "10.00" ||
				len(m.Tiers) != 0 || m.Tiers == nil || m.SkipCount != 0 || m.MaxRewardsPeriod != nil || m.MaxAmountPerReferrer != nil {
				t.Errorf("milestone rule %+v", m)
			}
			tiered := e.createRule(`{"reward_type": "cash", "unit": "percentage", "tiers": [{"min_referrals": 1, "amount": 10}, {"min_referrals": 5, "amount": 12.5}]}`)
			if got := fmt.Sprint(tiered.Tiers); got != "[{1 10} {5 12.5}]" || tiered.Amount != "10" || tiered.MilestoneReferrals != nil {
				t.Errorf("percentage tiers %s, amount %s", got, tiered.Amount)
			}
			capped := e.createRule(`{"trigger": "subscription", "recurrence": "every", "skip_count": 3, "reward_type": "credit", "amount": 10,
				"max_rewards_per_referrer": 4, "max_rewards_period": "month", "max_amount_per_referrer": 35.5,
				"currency_options": {"jpy": {"amount": 1000, "max_amount_per_referrer": 4000}}}`)
			jpy := capped.CurrencyOptions["JPY"]
			if capped.SkipCount != 3 || capped.MaxRewardsPeriod == nil || *capped.MaxRewardsPeriod != "month" ||
				capped.MaxAmountPerReferrer == nil || *capped.MaxAmountPerReferrer != "35.50" ||
				jpy.Amount != "1000" || jpy.MinAmount != nil || jpy.MaxAmountPerReferrer == nil || *jpy.MaxAmountPerReferrer != "4000" {
				t.Errorf("capped rule %+v", capped)
			}
			if r := e.updateRule(tiered.ID, `{"tiers": null, "amount": 7}`); len(r.Tiers) != 0 || r.Amount != "7" {
				t.Errorf("after tiers null: tiers %v, amount %s", r.Tiers, r.Amount)
			}
			r := e.updateRule(capped.ID, `{"skip_count": 0, "max_rewards_period": null, "max_amount_per_referrer": null, "currency_options": {"JPY": {"amount": 1000}}}`)
			if r.SkipCount != 0 || r.MaxRewardsPeriod != nil || r.MaxAmountPerReferrer != nil || r.CurrencyOptions["JPY"].MaxAmountPerReferrer != nil ||
				r.MaxRewardsPerReferrer == nil || *r.MaxRewardsPerReferrer != 4 {
				t.Errorf("after removing the offers: %+v", r)
			}
		})
	})
}

// TestOfferRuleBadInput: every invalid offer is a 422 naming the field,
// on creation and on update, and nothing is written.
func TestOfferRuleBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		base := e.createRule(`{"reward_type": "credit", "amount": 10}`)
		tests := []struct {
			name   string
			update bool // PUT on base instead of POST
			body   string
			field  string
		}{
			{"overlapping tiers", false, `{"reward_type": "credit", "tiers": [{"min_referrals": 2, "amount": 5}, {"min_referrals": 2, "amount": 10}]}`, "tiers.1.min_referrals"},
			{"unordered tiers", false, `{"reward_type": "credit", "tiers": [{"min_referrals": 5, "amount": 10}, {"min_referrals": 2, "amount": 5}]}`, "tiers.1.min_referrals"},
			{"tier from 0 referrals", false, `{"reward_type": "credit", "tiers": [{"min_referrals": 0, "amount": 5}]}`, "tiers.0.min_referrals"},
			{"tier without amount", false, `{"reward_type": "credit", "tiers": [{"min_referrals": 1}]}`, "tiers.0.amount"},
			{"tier amount too precise", false, `{"reward_type": "credit", "tiers": [{"min_referrals": 1, "amount": 5.001}]}`, "tiers.0.amount"},
			{"tiers with amount", false, `{"reward_type": "credit", "amount": 5, "tiers": [{"min_referrals": 1, "amount": 5}]}`, "amount"},
			{"tiers on a friend rule", false, `{"recipient": "friend", "reward_type": "credit", "tiers": [{"min_referrals": 1, "amount": 5}]}`, "tiers"},
			{"tiers with currency options", false, `{"reward_type": "credit", "tiers": [{"min_referrals": 1, "amount": 5}], "currency_options": {"EUR": {"amount": 4}}}`, "currency_options"},
			{"milestone of 0", false, `{"trigger": "milestone", "milestone_referrals": 0, "reward_type": "credit", "amount": 10}`, "milestone_referrals"},
			{"milestone without a count", false, `{"trigger": "milestone", "reward_type": "credit", "amount": 10}`, "milestone_referrals"},
			{"milestone over 100000", false, `{"trigger": "milestone", "milestone_referrals": 100001, "reward_type": "credit", "amount": 10}`, "milestone_referrals"},
			{"milestone on a friend rule", false, `{"trigger": "milestone", "milestone_referrals": 3, "recipient": "friend", "reward_type": "credit", "amount": 10}`, "recipient"},
			{"milestone every", false, `{"trigger": "milestone", "milestone_referrals": 3, "recurrence": "every", "reward_type": "credit", "amount": 10}`, "recurrence"},
			{"milestone with a cap", false, `{"trigger": "milestone", "milestone_referrals": 3, "reward_type": "credit", "amount": 10, "max_rewards_per_referrer": 1}`, "max_rewards_per_referrer"},
			{"milestone with a minimum", false, `{"trigger": "milestone", "milestone_referrals": 3, "reward_type": "credit", "amount": 10, "min_amount": 20}`, "min_amount"},
			{"milestone_referrals on a purchase rule", false, `{"milestone_referrals": 3, "reward_type": "credit", "amount": 10}`, "milestone_referrals"},
			{"skip_count with recurrence first", false, `{"skip_count": 3, "reward_type": "credit", "amount": 10}`, "skip_count"},
			{"skip_count over 1000", false, `{"recurrence": "every", "skip_count": 1001, "reward_type": "credit", "amount": 10}`, "skip_count"},
			{"option in an unknown currency", false, `{"reward_type": "credit", "amount": 10, "currency_options": {"XYZ": {"amount": 9}}}`, "currency_options.XYZ"},
			{"yen option with decimals", false, `{"reward_type": "credit", "amount": 10, "currency_options": {"JPY": {"amount": 1.5}}}`, "currency_options.JPY.amount"},
			{"yen option cap with decimals", false, `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": 50, "currency_options": {"JPY": {"amount": 1000, "max_amount_per_referrer": 1.5}}}`, "currency_options.JPY.max_amount_per_referrer"},
			{"cap without the option's", false, `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": 50, "currency_options": {"EUR": {"amount": 9}}}`, "currency_options.EUR.max_amount_per_referrer"},
			{"option cap without the rule's", false, `{"reward_type": "credit", "amount": 10, "currency_options": {"EUR": {"amount": 9, "max_amount_per_referrer": 40}}}`, "max_amount_per_referrer"},
			{"period without a cap", false, `{"reward_type": "credit", "amount": 10, "max_rewards_period": "month"}`, "max_rewards_period"},
			{"unknown period", false, `{"reward_type": "credit", "amount": 10, "max_rewards_per_referrer": 2, "max_rewards_period": "week"}`, "max_rewards_period"},
			{"percent-off with an amount cap", false, `{"reward_type": "discount", "unit": "percentage", "amount": 20, "max_amount_per_referrer": 50}`, "max_amount_per_referrer"},
			{"amount cap too precise", false, `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": 50.001}`, "max_amount_per_referrer"},
			{"negative amount cap", false, `{"reward_type": "credit", "amount": 10, "max_amount_per_referrer": -1}`, "max_amount_per_referrer"},
			{"update: skip_count on a first rule", true, `{"skip_count": 2}`, "skip_count"},
			{"update: period alone", true, `{"max_rewards_period": "year"}`, "max_rewards_period"},
			{"update: tiers with amount", true, `{"amount": 5, "tiers": [{"min_referrals": 1, "amount": 5}]}`, "amount"},
			{"update: milestone without a count", true, `{"trigger": "milestone"}`, "milestone_referrals"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				r := req{method: "POST", path: "/v1/reward_rules", key: e.sk, body: tc.body}
				if tc.update {
					r.method, r.path = "PUT", "/v1/reward_rules/"+base.ID
				}
				resp := e.do(r)
				if resp.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422; body %s", resp.Status, resp.Body)
				}
				p := resp.problem(t)
				if p.Errors[tc.field] == "" {
					t.Errorf("errors %v do not name %q", p.Errors, tc.field)
				}
				if want := map[bool]string{false: "invalid_reward_rule", true: "validation_failed"}[len(p.Errors) > 1]; p.Code != want {
					t.Errorf("code %q, want %q", p.Code, want)
				}
				e.same(before)
			})
		}
	})
}

// TestOffers: each offer end to end, from the rule to the rewards.
func TestOffers(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "milestone ladder", func(t *testing.T, e *env) {
			clock := e.useClock(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
			e.createRule(`{"reward_type": "credit", "amount": 1}`)
			e.createRule(`{"trigger": "milestone", "milestone_referrals": 2, "reward_type": "credit", "amount": 10, "holding_days": 10}`)
			e.createRule(`{"trigger": "milestone", "milestone_referrals": 3, "reward_type": "credit", "amount": 50, "holding_days": 10}`)
			e.referrer("ann")
			for _, f := range []string{"bob", "cat", "dan"} {
				e.friend(f, "ann")
			}
			milestones := func(what string, want ...string) []reward {
				t.Helper()
				var got []reward
				var lines []string
				for _, rw := range e.rewards("customer_key=ann") {
					if rw.Trigger == "milestone" {
						got = append(got, rw)
						lines = append(lines, rw.FriendKey+" "+rw.Amount.String()+" "+rw.Status)
						if rw.TransactionKey != nil {
							t.Errorf("milestone reward with transaction_key %s", *rw.TransactionKey)
						}
					}
				}
				if diff := cmp.Diff(want, lines); diff != "" {
					t.Errorf("%s: milestone rewards, newest first (-want +got):\n%s", what, diff)
				}
				return got
			}
			e.purchase("bob", "o1", "20")
			milestones("one successful referral")
			e.purchase("cat", "o2", "20")
			milestones("two", "cat 10.00 pending")
			e.purchase("dan", "o3", "20")
			milestones("three", "dan 50.00 pending", "cat 10.00 pending")

			// Dan's purchase refunded in full before the release: back to
			// two successful referrals, and the $50 is clawed back.
			e.refund("o3", "")
			milestones("dan refunded", "dan 50.00 reversed", "cat 10.00 pending")
			if s := e.stats("ann", ""); s.SuccessfulReferrals != 2 || s.PendingReferrals != 1 {
				t.Errorf("stats after dan's refund %+v, want 2 successful, 1 pending", s)
			}
			clock.Add(10 * 24 * time.Hour)
			if n, err := e.db.ReleaseDueRewards(t.Context(), e.db.Now(), 100); err != nil || n != 1 {
				t.Errorf("released %d (%v), want the $10 milestone", n, err)
			}
			// Released but not paid: still clawed back.
			e.refund("o2", "")
			milestones("cat refunded", "dan 50.00 reversed", "cat 10.00 reversed")
			if b := e.balance("ann", "").short(); b.Credit != "1.00/0.00" {
				t.Errorf("ann's credit %s, want bob's 1.00 alone", b.Credit)
			}
			// Reaching two again earns the milestone again.
			e.purchase("dan", "o4", "20")
			got := milestones("dan buys again", "dan 10.00 pending", "dan 50.00 reversed", "cat 10.00 reversed")
			if len(got) > 0 && got[0].ReversedAmount != "0.00" {
				t.Errorf("new milestone reward %+v", got[0])
			}
		})

		e.scenario(t, "tiers follow the referrer's successful referrals", func(t *testing.T, e *env) {
			e.createRule(`{"reward_type": "credit", "tiers": [{"min_referrals": 2, "amount": 5}, {"min_referrals": 3, "amount": 10}]}`)
			e.referrer("ann")
			var got [][]string
			for i, f := range []string{"bob", "cat", "dan", "eve"} {
				e.friend(f, "ann")
				got = append(got, amounts(e.purchase(f, fmt.Sprint("o", i), "20").Rewards))
			}
			// Bob's purchase makes the first successful referral: below the
			// first tier, nothing; cat's the second, dan's the third.
			if diff := cmp.Diff([][]string{{}, {"5.00"}, {"10.00"}, {"10.00"}}, got); diff != "" {
				t.Errorf("rewards per friend (-want +got):\n%s", diff)
			}
			if s := e.stats("ann", ""); s.SuccessfulReferrals != 4 || s.TotalRewards != "25.00" {
				t.Errorf("stats %+v, want 4 successful, 25.00", s)
			}
		})

		e.scenario(t, "40% for the first 3 payments, then 20%", func(t *testing.T, e *env) {
			e.createRule(`{"trigger": "subscription", "recurrence": "every", "max_count": 3, "reward_type": "cash", "unit": "percentage", "amount": 40}`)
			e.createRule(`{"trigger": "subscription", "recurrence": "every", "skip_count": 3, "reward_type": "cash", "unit": "percentage", "amount": 20}`)
			e.referrer("ann")
			e.friend("bob", "ann")
			var got [][]string
			for i := range 5 {
				got = append(got, amounts(e.pay(txnBody("bob", fmt.Sprint("sub", i), "subscription", "10")).Rewards))
			}
			if diff := cmp.Diff([][]string{{"4.00"}, {"4.00"}, {"4.00"}, {"2.00"}, {"2.00"}}, got); diff != "" {
				t.Errorf("rewards per payment (-want +got):\n%s", diff)
			}
		})

		e.scenario(t, "a cap per month starts afresh the next month", func(t *testing.T, e *env) {
			clock := e.useClock(time.Date(2026, 6, 30, 22, 0, 0, 0, time.UTC))
			e.createRule(`{"reward_type": "credit", "amount": 5, "max_rewards_per_referrer": 2, "max_rewards_period": "month"}`)
			e.referrer("ann")
			e.referrer("dan")
			buy := func(f, referrer string) int {
				e.friend(f, referrer)
				return len(e.purchase(f, "o-"+f, "20").Rewards)
			}
			june := []int{buy("f1", "ann"), buy("f2", "ann"), buy("f3", "ann"), buy("g1", "dan")}
			clock.Add(3 * time.Hour) // 1 July, 01:00 UTC
			july := []int{buy("f4", "ann"), buy("f5", "ann"), buy("f6", "ann")}
			if diff := cmp.Diff([][]int{{1, 1, 0, 1}, {1, 1, 0}}, [][]int{june, july}); diff != "" {
				t.Errorf("rewards in June (ann's three, dan's one), then July (-want +got):\n%s", diff)
			}
			if s := e.stats("ann", ""); s.SuccessfulReferrals != 6 || s.TotalRewards != "20.00" {
				t.Errorf("stats %+v, want 6 successful, 20.00", s)
			}
		})

		e.scenario(t, "a cap by value cuts the last reward", func(t *testing.T, e *env) {
			e.createRule(`{"recurrence": "every", "reward_type": "credit", "amount": 10, "max_amount_per_referrer": 25,
				"currency_options": {"EUR": {"amount": 9, "max_amount_per_referrer": 20}}}`)
			e.referrer("ann")
			e.referrer("dan")
			e.friend("bob", "ann")
			e.friend("gus", "dan")
			var got [][]string
			for i, amount := range []string{"20", "20", "20", "20", "50 EUR", "50 EUR", "50 EUR", "50 EUR"} {
				got = append(got, amounts(e.purchase("bob", fmt.Sprint("o", i), amount).Rewards))
			}
			want := [][]string{{"10.00"}, {"10.00"}, {"5.00"}, {}, {"9.00"}, {"9.00"}, {"2.00"}, {}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rewards per purchase, USD then EUR (-want +got):\n%s", diff)
			}
			// The cap is per referrer, and on the net value: a refund makes
			// room again.
			e.wantRewards("dan's friend", e.purchase("gus", "g0", "20").Rewards, rewardLine{"dan", "purchase", "credit", "10.00", "USD", "available"})
			e.refund("o0", "")
			e.wantRewards("after a refund", e.purchase("bob", "o8", "20").Rewards, rewardLine{"ann", "purchase", "credit", "10.00", "USD", "available"})
			e.wantRewards("full again", e.purchase("bob", "o9", "20").Rewards)
			if b := e.balance("ann", "").short(); b.Credit != "25.00/0.00" {
				t.Errorf("ann's USD credit %s, want the cap, 25.00", b.Credit)
			}
		})
	})
}

// TestReferralStats: a referral is successful once the friend did what a
// referrer rule rewards, whatever the friend got or the caps allowed; a
// full refund of that payment takes it back to pending unless another
// qualifies; a rejected referrer reward takes the referral out of the
// figures. total is always successful + pending (defect 4).
func TestReferralStats(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.scenario(t, "stats", func(t *testing.T, e *env) {
			e.createRule(`{"recurrence": "every", "reward_type": "credit", "amount": 10, "min_amount": 20, "max_rewards_per_referrer": 2, "require_approval": true}`)
			e.createRule(`{"trigger": "signup", "recipient": "friend", "reward_type": "discount", "unit": "percentage", "amount": 10}`)
			e.referrer("ann")
			for _, f := range []string{"bob", "cat", "dan", "eve"} {
				e.friend(f, "ann")
			}
			check := func(what string, total, successful, pending int, statuses ...string) {
				t.Helper()
				s := e.stats("ann", "")
				if s.TotalReferrals != total || s.SuccessfulReferrals != successful || s.PendingReferrals != pending {
					t.Errorf("%s: stats %d/%d/%d, want total %d, successful %d, pending %d",
						what, s.TotalReferrals, s.SuccessfulReferrals, s.PendingReferrals, total, successful, pending)
				}
				if s.TotalReferrals != s.SuccessfulReferrals+s.PendingReferrals {
					t.Errorf("%s: total %d is not successful + pending", what, s.TotalReferrals)
				}
				var got []string
				for _, f := range []string{"bob", "cat", "dan", "eve"} {
					c := e.getCustomer(f)
					if c.ReferralStatus == nil {
						t.Fatalf("%s: %s has no referral_status", what, f)
					}
					got = append(got, *c.ReferralStatus)
				}
				if diff := cmp.Diff(statuses, got); diff != "" {
					t.Errorf("%s: referral_status of bob, cat, dan, eve (-want +got):\n%s", what, diff)
				}
			}
			if ann := e.getCustomer("ann"); ann.ReferralStatus != nil {
				t.Errorf("ann was not referred: referral_status %q, want null", *ann.ReferralStatus)
			}
			if n := len(e.rewards("customer_key=bob")); n != 1 {
				t.Fatalf("bob has %d rewards, want his welcome discount", n)
			}
			check("only the friends' welcome discounts", 4, 0, 4, "pending", "pending", "pending", "pending")
			e.purchase("bob", "b1", "10")
			check("below the minimum", 4, 0, 4, "pending", "pending", "pending", "pending")
			e.purchase("bob", "b2", "50")
			e.purchase("cat", "c1", "50")
			if rws := e.purchase("dan", "d1", "50").Rewards; len(rws) != 0 {
				t.Fatalf("dan's purchase over the cap: %d rewards", len(rws))
			}
			check("over the cap is successful too", 4, 3, 1, "successful", "successful", "successful", "pending")
			e.refund("c1", "")
			check("cat's purchase refunded", 4, 2, 2, "successful", "pending", "successful", "pending")
			e.purchase("eve", "e1", "50")
			e.purchase("eve", "e2", "30")
			e.refund("e1", "")
			check("eve's second purchase qualifies", 4, 3, 1, "successful", "pending", "successful", "successful")

			var bobs reward
			for _, rw := range e.rewards("customer_key=ann&status=pending") {
				if rw.FriendKey == "bob" {
					bobs = rw
				}
			}
			if bobs.ID == "" {
				t.Fatal("no pending reward of ann's for bob")
			}
			e.want(e.do(req{method: "POST", path: "/v1/rewards/" + bobs.ID + "/reject", key: e.sk, body: `{"reason": "self-referral"}`}), 200, "reject")
			check("bob's referral rejected", 3, 2, 1, "rejected", "pending", "successful", "successful")
			if rws := e.purchase("bob", "b3", "50").Rewards; len(rws) != 0 {
				t.Errorf("a rejected referral rewarded %d", len(rws))
			}
			check("bob buys again", 3, 2, 1, "rejected", "pending", "successful", "successful")
		})
	})
}
