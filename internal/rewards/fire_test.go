package rewards

import (
	"testing"
	"time"
)

func TestFire(t *testing.T) {
	jan := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	fixed := Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
		Recurrence: First, Active: true}
	with := func(change func(r *Rule)) Rule {
		r := fixed
		change(&r)
		return r
	}
	purchase := func(amount int64, currency string) Event {
		return Event{Trigger: Purchase, Amount: amount, Currency: currency, OccurredAt: jan, FirstAt: jan}
	}
	monthly := func(occurred time.Time) Event {
		return Event{Trigger: Subscription, Amount: 2000, Currency: "USD", OccurredAt: occurred, FirstAt: jan}
	}
	every := func(r *Rule) { r.Recurrence = Every }
	withOptions := with(func(r *Rule) {
		r.CurrencyOptions = map[string]CurrencyOption{"EUR": {Amount: 900, MinAmount: 4000}, "JPY": {Amount: 1000}}
	})
	tests := []struct {
		name   string
		rule   Rule
		ev     Event
		h      History
		want   Grant
		reason string // "" when it fires
	}{
		{"fixed, in the rule's currency", fixed, purchase(5000, "USD"), History{}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"fixed, whatever the payment's currency", fixed, purchase(5000, "JPY"), History{}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"signup", with(func(r *Rule) { r.Trigger = Signup }), Event{Trigger: Signup, OccurredAt: jan}, History{},
			Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"inactive", with(func(r *Rule) { r.Active = false }), purchase(5000, "USD"), History{}, Grant{}, "rule inactive"},
		{"other trigger", fixed, Event{Trigger: Subscription, Amount: 5000, Currency: "USD"}, History{}, Grant{}, "other trigger"},
		{"first, already given", fixed, purchase(5000, "USD"), History{ForFriend: 1}, Grant{}, "already rewarded for this friend"},
		// One rule, amounts per currency: EUR 9 from EUR 40, JPY 1000.
		{"currency option: paid in its currency", withOptions, purchase(8000, "EUR"), History{}, Grant{Amount: 900, Currency: "EUR", Unit: Fixed}, ""},
		{"currency option: below its minimum", withOptions, purchase(3999, "EUR"), History{}, Grant{}, "below the currency option's min_amount"},
		{"currency option without a minimum", withOptions, purchase(1, "JPY"), History{}, Grant{Amount: 1000, Currency: "JPY", Unit: Fixed}, ""},
		{"currency option: the rule's own currency", withOptions, purchase(5000, "USD"), History{}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"currency option: another currency pays the rule's", withOptions, purchase(5000, "GBP"), History{}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"first, but the friend paid before", fixed, Event{Trigger: Purchase, Amount: 5000, Currency: "USD", OccurredAt: jan, Repeat: true},
			History{}, Grant{}, "not the friend's first payment"},
		{"every, whether or not the friend paid before", with(every), Event{Trigger: Purchase, Amount: 5000, Currency: "USD", OccurredAt: jan, FirstAt: jan, Repeat: true},
			History{ForFriend: 1}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"every, again", with(every), purchase(5000, "USD"), History{ForFriend: 7}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"every, below max_count", with(func(r *Rule) { every(r); r.MaxCount = 3 }), purchase(5000, "USD"), History{ForFriend: 2},
			Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"every, max_count reached", with(func(r *Rule) { every(r); r.MaxCount = 3 }), purchase(5000, "USD"), History{ForFriend: 3},
			Grant{}, "max_count reached"},
		{"below max per referrer", with(func(r *Rule) { r.MaxRewardsPerReferrer = 2 }), purchase(5000, "USD"), History{ForReferrer: 1},
			Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"max per referrer reached", with(func(r *Rule) { r.MaxRewardsPerReferrer = 2 }), purchase(5000, "USD"), History{ForReferrer: 2},
			Grant{}, "max_rewards_per_referrer reached"},
		{"within max_months", with(func(r *Rule) { every(r); r.Trigger = Subscription; r.MaxMonths = 3 }),
			monthly(jan.AddDate(0, 3, 0).Add(-time.Second)), History{ForFriend: 2}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"max_months passed, at the boundary", with(func(r *Rule) { every(r); r.Trigger = Subscription; r.MaxMonths = 3 }),
			monthly(jan.AddDate(0, 3, 0)), History{ForFriend: 3}, Grant{}, "max_months passed"},
		{"max_months ignored for first", with(func(r *Rule) { r.Trigger = Subscription; r.MaxMonths = 1 }),
			monthly(jan.AddDate(1, 0, 0)), History{}, Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"min_amount met exactly", with(func(r *Rule) { r.MinAmount, r.MinAmountCurrency = 5000, "USD" }), purchase(5000, "USD"), History{},
			Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"below min_amount", with(func(r *Rule) { r.MinAmount, r.MinAmountCurrency = 5000, "USD" }), purchase(4999, "USD"), History{},
			Grant{}, "below min_amount"},
		{"min_amount in another currency is never met", with(func(r *Rule) { r.MinAmount, r.MinAmountCurrency = 5000, "USD" }),
			purchase(1_000_000, "JPY"), History{}, Grant{}, "below min_amount"},
		{"percent-off discount", with(func(r *Rule) { r.RewardType, r.Unit, r.Amount, r.Currency = Discount, Percentage, 2000, "" }),
			purchase(5000, "EUR"), History{}, Grant{Amount: 2000, Unit: Percentage}, ""},
		{"fixed discount", with(func(r *Rule) { r.RewardType = Discount }), purchase(5000, "EUR"), History{},
			Grant{Amount: 1000, Currency: "USD", Unit: Fixed}, ""},
		{"percentage of the payment, in its currency", with(func(r *Rule) { r.RewardType, r.Unit, r.Amount, r.Currency = Cash, Percentage, 1250, "" }),
			purchase(4999, "EUR"), History{}, Grant{Amount: 625, Currency: "EUR", Unit: Percentage}, ""}, // 624.875
		{"percentage rounds half away from zero", with(func(r *Rule) { r.Unit, r.Amount, r.Currency = Percentage, 500, "" }),
			purchase(10, "USD"), History{}, Grant{Amount: 1, Currency: "USD", Unit: Percentage}, ""}, // 0.5
		{"percentage of yen", with(func(r *Rule) { r.Unit, r.Amount, r.Currency = Percentage, 333, "" }),
			purchase(1000, "JPY"), History{}, Grant{Amount: 33, Currency: "JPY", Unit: Percentage}, ""}, // 33.3
		{"percentage that rounds to zero", with(func(r *Rule) { r.Unit, r.Amount, r.Currency = Percentage, 500, "" }),
			purchase(9, "USD"), History{}, Grant{}, "percentage rounds to zero"}, // 0.45
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok, reason := tt.rule.Fire(tt.ev, tt.h)
			if ok != (tt.reason == "") || reason != tt.reason {
				t.Fatalf("fired %v (%q), want reason %q", ok, reason, tt.reason)
			}
			if ok && g != tt.want {
				t.Errorf("grant %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestAvailableAt(t *testing.T) {
	now := time.Date(2025, 3, 30, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		days int
		want time.Time
	}{
		{0, now},
		{1, time.Date(2025, 3, 31, 23, 0, 0, 0, time.UTC)},
		{30, time.Date(2025, 4, 29, 23, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		r := Rule{HoldingDays: tt.days}
		if got := r.AvailableAt(now); !got.Equal(tt.want) {
			t.Errorf("%d holding days: got %v, want %v", tt.days, got, tt.want)
		}
	}
}

func TestClawbackTarget(t *testing.T) {
	tests := []struct {
		name             string
		amount           int64
		unit, rewardType string
		refunded, total  int64
		want             int64
	}{
		{"nothing refunded", 500, Percentage, Credit, 0, 10000, 0},
		{"percentage, in proportion", 500, Percentage, Credit, 3000, 10000, 150},
		{"percentage cash, in proportion", 1000, Percentage, Cash, 2500, 10000, 250},
		{"percentage, 2.5 → 3: half away from zero", 5, Percentage, Credit, 1, 2, 3},
		{"percentage, 0.33 → 0", 1, Percentage, Credit, 1, 3, 0},
		{"percentage, 1.33 → 1", 2, Percentage, Credit, 2, 3, 1},
		{"percentage, 1.5 → 2", 3, Percentage, Credit, 1, 2, 2},
		{"percentage, 2.67 → 3", 4, Percentage, Credit, 2, 3, 3},
		{"percentage, fully refunded", 500, Percentage, Credit, 10000, 10000, 500},
		{"fixed stands while anything is paid", 1000, Fixed, Credit, 9999, 10000, 0},
		{"fixed, fully refunded", 1000, Fixed, Credit, 10000, 10000, 1000},
		{"fixed cash, fully refunded", 2500, Fixed, Cash, 10000, 10000, 2500},
		{"percent-off discount stands on a partial refund", 2000, Percentage, Discount, 5000, 10000, 0},
		{"percent-off discount, fully refunded", 2000, Percentage, Discount, 10000, 10000, 2000},
		{"fixed discount, fully refunded", 1000, Fixed, Discount, 10000, 10000, 1000},
		{"refunded more than the total", 500, Percentage, Credit, 10001, 10000, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ClawbackTarget(tt.amount, tt.unit, tt.rewardType, tt.refunded, tt.total); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	txns := []struct {
		refunded int64
		want     string
	}{{0, "paid"}, {1, "partially_refunded"}, {9999, "partially_refunded"}, {10000, "refunded"}}
	for _, tt := range txns {
		if got := (&Transaction{Amount: 10000, Refunded: tt.refunded}).Status(); got != tt.want {
			t.Errorf("transaction refunded %d of 10000: %s, want %s", tt.refunded, got, tt.want)
		}
	}
	if got := (&Reward{Amount: 500, Reversed: 150}).Net(); got != 350 {
		t.Errorf("net of 500 with 150 reversed: %d, want 350", got)
	}
	codes := []struct {
		name string
		dc   DiscountCode
		want string
	}{
		{"active", DiscountCode{}, "active"},
		{"not yet expired", DiscountCode{ExpiresAt: &later}, "active"},
		{"expired at the instant", DiscountCode{ExpiresAt: &now}, "expired"},
		{"expired", DiscountCode{ExpiresAt: &earlier}, "expired"},
		{"redeemed wins over expired", DiscountCode{RedeemedAt: &earlier, ExpiresAt: &earlier}, "redeemed"},
		{"void", DiscountCode{VoidedAt: &earlier}, "void"},
		{"redeemed wins over void", DiscountCode{RedeemedAt: &earlier, VoidedAt: &earlier}, "redeemed"},
	}
	for _, tt := range codes {
		if got := tt.dc.Status(now); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestCountsHistory checks the promise the store relies on to skip
// counting: when CountsHistory is false, no history changes Fire's answer.
func TestCountsHistory(t *testing.T) {
	jan := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	ev := Event{Trigger: Purchase, Amount: 5000, Currency: "USD", OccurredAt: jan, FirstAt: jan}
	histories := []History{{}, {ForFriend: 1}, {ForReferrer: 1}, {ForFriend: 1000, ForReferrer: 1000}}
	for _, recurrence := range []string{First, Every} {
		for _, maxCount := range []int{0, 2} {
			for _, perReferrer := range []int{0, 2} {
				r := Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
					Recurrence: recurrence, MaxCount: maxCount, MaxRewardsPerReferrer: perReferrer, Active: true}
				want := recurrence == First || maxCount > 0 || perReferrer > 0
				if got := r.CountsHistory(); got != want {
					t.Errorf("%s max_count=%d max_per_referrer=%d: CountsHistory = %v, want %v", recurrence, maxCount, perReferrer, got, want)
				}
				if want {
					continue
				}
				g0, ok0, _ := r.Fire(ev, History{})
				for _, h := range histories {
					if g, ok, _ := r.Fire(ev, h); g != g0 || ok != ok0 {
						t.Errorf("%s without caps: Fire with %+v = %+v %v, with none = %+v %v", recurrence, h, g, ok, g0, ok0)
					}
				}
			}
		}
	}
}

// TestFireOffers is a table per offer of issue 16: milestones, tiers,
// skip_count, caps per period and by value.
func TestFireOffers(t *testing.T) {
	jan := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	base := Rule{Trigger: Purchase, Recipient: Referrer, RewardType: Credit, Unit: Fixed, Amount: 1000, Currency: "USD",
		Recurrence: First, Active: true}
	with := func(change func(r *Rule)) Rule {
		r := base
		change(&r)
		return r
	}
	usd := func(amount int64) Grant { return Grant{Amount: amount, Currency: "USD", Unit: Fixed} }
	purchase := func(successful int) Event {
		return Event{Trigger: Purchase, Amount: 5000, Currency: "USD", OccurredAt: jan, FirstAt: jan, Successful: successful}
	}
	monthly := func(prior int) Event {
		return Event{Trigger: Subscription, Amount: 10000, Currency: "USD", OccurredAt: jan, FirstAt: jan, Prior: prior}
	}
	reached := func(n int) Event { return Event{Trigger: Milestone, OccurredAt: jan, Successful: n} }
	milestone := func(n int, amount int64) Rule {
		return with(func(r *Rule) { r.Trigger, r.MilestoneReferrals, r.Amount = Milestone, n, amount })
	}
	tiered := with(func(r *Rule) {
		r.Recurrence = Every
		r.Tiers = []Tier{{MinReferrals: 1, Amount: 1000}, {MinReferrals: 11, Amount: 1500}, {MinReferrals: 51, Amount: 2000}}
	})
	tieredPercent := with(func(r *Rule) {
		r.Recurrence, r.Unit, r.Currency, r.Amount = Every, Percentage, "", 1000
		r.Tiers = []Tier{{MinReferrals: 3, Amount: 1000}, {MinReferrals: 5, Amount: 2000}}
	})
	// "40 % for the first 3 months, then 20 %" is two rules.
	first3 := with(func(r *Rule) {
		r.Trigger, r.Recurrence, r.Unit, r.Currency, r.Amount, r.MaxCount = Subscription, Every, Percentage, "", 4000, 3
	})
	after3 := with(func(r *Rule) {
		r.Trigger, r.Recurrence, r.Unit, r.Currency, r.Amount, r.SkipCount = Subscription, Every, Percentage, "", 2000, 3
	})
	perMonth := with(func(r *Rule) { r.Recurrence, r.MaxRewardsPerReferrer, r.MaxRewardsPeriod = Every, 5, Month })
	allowance := with(func(r *Rule) {
		r.Recurrence, r.MaxAmountPerReferrer, r.MaxAmountCurrency = Every, 2500, "USD"
		r.CurrencyOptions = map[string]CurrencyOption{"EUR": {Amount: 900, MaxAmountPerReferrer: 2000}}
	})
	eur := Event{Trigger: Purchase, Amount: 5000, Currency: "EUR", OccurredAt: jan, FirstAt: jan}
	gbp := Event{Trigger: Purchase, Amount: 5000, Currency: "GBP", OccurredAt: jan, FirstAt: jan}
	tests := []struct {
		name   string
		rule   Rule
		ev     Event
		h      History
		want   Grant
		reason string
	}{
		// Milestones.
		{"milestone: reached", milestone(3, 1000), reached(3), History{}, usd(1000), ""},
		{"milestone: passed on the way (a ladder's lower step)", milestone(3, 1000), reached(10), History{}, usd(1000), ""},
		{"milestone: not reached", milestone(10, 5000), reached(9), History{}, Grant{}, "milestone not reached"},
		{"milestone: given once per referrer", milestone(3, 1000), reached(4), History{ForReferrer: 1}, Grant{}, "milestone already rewarded"},
		{"milestone: fires only on reaching", milestone(3, 1000), purchase(3), History{}, Grant{}, "other trigger"},
		{"milestone: a percent-off code", with(func(r *Rule) {
			r.Trigger, r.MilestoneReferrals, r.RewardType, r.Unit, r.Currency, r.Amount = Milestone, 5, Discount, Percentage, "", 5000
		}), reached(5), History{}, Grant{Amount: 5000, Unit: Percentage}, ""},
		// Tiers.
		{"tiers: first tier", tiered, purchase(1), History{}, usd(1000), ""},
		{"tiers: last referral of the first tier", tiered, purchase(10), History{}, usd(1000), ""},
		{"tiers: second tier from its minimum", tiered, purchase(11), History{}, usd(1500), ""},
		{"tiers: top tier", tiered, purchase(400), History{}, usd(2000), ""},
		{"tiers: below the first tier", tieredPercent, purchase(2), History{}, Grant{}, "below the first tier"},
		{"tiers: a percentage by tier", tieredPercent, purchase(5), History{}, Grant{Amount: 1000, Currency: "USD", Unit: Percentage}, ""},
		// skip_count.
		{"skip_count: the first three are the other rule's", after3, monthly(2), History{}, Grant{}, "within skip_count"},
		{"skip_count: the fourth payment", after3, monthly(3), History{}, Grant{Amount: 2000, Currency: "USD", Unit: Percentage}, ""},
		{"skip_count: and on", after3, monthly(11), History{ForFriend: 8}, Grant{Amount: 2000, Currency: "USD", Unit: Percentage}, ""},
		{"40 % rule: third payment", first3, monthly(2), History{ForFriend: 2}, Grant{Amount: 4000, Currency: "USD", Unit: Percentage}, ""},
		{"40 % rule: fourth payment", first3, monthly(3), History{ForFriend: 3}, Grant{}, "max_count reached"},
		// Caps per period: the store counts within the period.
		{"per month: below", perMonth, purchase(0), History{ForReferrer: 4}, usd(1000), ""},
		{"per month: reached", perMonth, purchase(0), History{ForReferrer: 5}, Grant{}, "max_rewards_per_referrer reached"},
		// Caps by value.
		{"allowance: room left", allowance, purchase(0), History{AmountForReferrer: map[string]int64{"USD": 1000}}, usd(1000), ""},
		{"allowance: the last reward is cut to what is left", allowance, purchase(0), History{AmountForReferrer: map[string]int64{"USD": 2000}}, usd(500), ""},
		{"allowance: used up", allowance, purchase(0), History{AmountForReferrer: map[string]int64{"USD": 2500}}, Grant{}, "max_amount_per_referrer reached"},
		{"allowance: each currency option has its own", allowance, eur, History{AmountForReferrer: map[string]int64{"USD": 2500, "EUR": 1500}},
			Grant{Amount: 500, Currency: "EUR", Unit: Fixed}, ""},
		{"allowance: a percentage in another currency is not given", with(func(r *Rule) {
			r.Recurrence, r.Unit, r.Currency, r.Amount, r.MaxAmountPerReferrer, r.MaxAmountCurrency = Every, Percentage, "", 1000, 2500, "USD"
		}), gbp, History{}, Grant{}, "max_amount_per_referrer is in another currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok, reason := tt.rule.Fire(tt.ev, tt.h)
			if ok != (tt.reason == "") || reason != tt.reason {
				t.Fatalf("fired %v (%q), want reason %q", ok, reason, tt.reason)
			}
			if ok && g != tt.want {
				t.Errorf("grant %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestPeriodStart(t *testing.T) {
	now := time.Date(2026, 12, 7, 18, 30, 0, 0, time.FixedZone("x", -5*3600)) // 23:30 UTC
	for _, tt := range []struct {
		period string
		want   time.Time
	}{
		{"", time.Time{}},
		{Month, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{Year, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		r := Rule{MaxRewardsPeriod: tt.period}
		if got := r.PeriodStart(now); !got.Equal(tt.want) {
			t.Errorf("%q: %v, want %v", tt.period, got, tt.want)
		}
	}
}

// TestQualifies: what makes a referral successful is what the referrer
// rules reward, whatever caps say.
func TestQualifies(t *testing.T) {
	buy := Event{Trigger: Purchase, Amount: 5000, Currency: "USD"}
	r := Rule{Trigger: Purchase, Recipient: Referrer, Unit: Fixed, Amount: 1000, Currency: "USD", Active: true,
		MinAmount: 4000, MinAmountCurrency: "USD", MaxRewardsPerReferrer: 1}
	with := func(change func(r *Rule)) *Rule { c := r; change(&c); return &c }
	for _, tt := range []struct {
		name string
		rule *Rule
		ev   Event
		want bool
	}{
		{"the trigger at its minimum", &r, buy, true},
		{"below the minimum", &r, Event{Trigger: Purchase, Amount: 3999, Currency: "USD"}, false},
		{"a minimum in another currency", &r, Event{Trigger: Purchase, Amount: 9999, Currency: "EUR"}, false},
		{"a currency option's minimum", with(func(r *Rule) { r.CurrencyOptions = map[string]CurrencyOption{"EUR": {Amount: 900, MinAmount: 100}} }),
			Event{Trigger: Purchase, Amount: 100, Currency: "EUR"}, true},
		{"another trigger", &r, Event{Trigger: Subscription, Amount: 5000, Currency: "USD"}, false},
		{"a friend rule rewards no referrer", with(func(r *Rule) { r.Recipient = Friend }), buy, false},
		{"an inactive rule", with(func(r *Rule) { r.Active = false }), buy, false},
	} {
		if got := tt.rule.Qualifies(tt.ev); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
