package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// ruleForm is the rule form filled in: USD 15 credit for the referrer on
// the friend's first purchase of at least USD 50, held a week.
func ruleForm() url.Values {
	return url.Values{"name": {"Give $15"}, "trigger": {"purchase"}, "recipient": {"referrer"}, "reward_type": {"credit"},
		"amount": {"15"}, "unit": {"fixed"}, "currency": {""}, "recurrence": {"first"}, "max_count": {""}, "max_months": {""},
		"min_amount": {"50"}, "holding_days": {"7"}, "max_rewards_per_referrer": {""}, "expires_in_days": {""}, "active": {"on"}}
}

var ignoreRuleMeta = cmpopts.IgnoreFields(rewards.Rule{}, "ID", "CreatedAt", "UpdatedAt")

func TestRules(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		c.get(e.path("rules")).want(t, http.StatusOK).has(t, "No reward rules yet")

		t.Log("add")
		p := c.post(e.path("rules"), ruleForm()).want(t, http.StatusSeeOther)
		if p.Location != e.path("rules") {
			t.Errorf("saved, then sent to %q", p.Location)
		}
		list := c.follow(p).want(t, http.StatusOK)
		if f := list.flash(); f != "Reward rule saved." {
			t.Errorf("flash %q", f)
		}
		rule := e.onlyRule(t)
		want := rewards.Rule{ProgramID: e.program.ID, Name: "Give $15", Trigger: rewards.Purchase, Recipient: rewards.Referrer,
			RewardType: rewards.Credit, Unit: rewards.Fixed, Amount: 1500, Currency: "USD", Recurrence: rewards.First,
			MinAmount: 5000, MinAmountCurrency: "USD", HoldingDays: 7, Active: true}
		if diff := cmp.Diff(want, *rule, ignoreRuleMeta); diff != "" {
			t.Errorf("rule (-want +got):\n%s", diff)
		}
		if text := list.text(); !strings.Contains(text, "USD 15.00 credit for the referrer when the friend makes a purchase, once") ||
			!strings.Contains(text, "Min USD 50.00") || !strings.Contains(text, "7 days") {
			t.Errorf("the list does not describe the rule: %s", text)
		}

		t.Log("edit")
		edit := c.get(e.path("rules/"+rule.ID)).want(t, http.StatusOK)
		edit.has(t, `action="/dashboard/p/`+e.program.ID+`/rules/`+rule.ID+`"`, `value="15.00"`, `value="50.00"`, "Save rule")
		form := ruleForm()
		form.Set("unit", "percentage")
		form.Set("amount", "12.5")
		form.Set("min_amount", "")
		form.Del("active")
		form.Set("approval", "never")
		c.post(e.path("rules/"+rule.ID), form).want(t, http.StatusSeeOther)
		never := false
		want.Unit, want.Amount, want.Currency, want.MinAmount, want.MinAmountCurrency, want.Active = rewards.Percentage, 1250, "", 0, "", false
		want.RequireApproval = &never
		if diff := cmp.Diff(want, *e.onlyRule(t), ignoreRuleMeta); diff != "" {
			t.Errorf("rule after edit (-want +got):\n%s", diff)
		}
		c.get(e.path("rules/"+rule.ID)).want(t, http.StatusOK).has(t, `<option value="never" selected>`)
		if text := c.get(e.path("rules")).text(); !strings.Contains(text, "12.5% of the payment as credit") || !strings.Contains(text, "Paused") {
			t.Errorf("the list does not show the edit: %s", text)
		}

		t.Log("delete")
		p = c.post(e.path("rules/"+rule.ID+"/delete"), nil).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); !strings.HasPrefix(f, "Rule deleted.") {
			t.Errorf("flash %q", f)
		}
		if rules, _ := e.db.Rules(t.Context(), e.program.ID); len(rules) != 0 {
			t.Errorf("%d rules after delete", len(rules))
		}
	})
}

func (e *env) onlyRule(t *testing.T) *rewards.Rule {
	t.Helper()
	rules, err := e.db.Rules(t.Context(), e.program.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 {
		t.Fatalf("%d rules, want 1", len(rules))
	}
	return rules[0]
}

func TestRulesInvalid(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		c.post(e.path("rules"), ruleForm()).want(t, http.StatusSeeOther)
		existing := e.onlyRule(t)
		tests := []struct {
			name    string
			change  map[string]string
			field   string
			message string
		}{
			{"percentage on signup", map[string]string{"trigger": "signup", "unit": "percentage", "min_amount": ""}, "unit",
				"A signup has no amount to take a percentage of; use a fixed amount, or a percent-off discount."},
			{"amount not a number", map[string]string{"amount": "abc"}, "amount", "The amount must be a number."},
			{"no amount", map[string]string{"amount": ""}, "amount", "Amount is required and must be more than 0."},
			{"amount too precise", map[string]string{"amount": "1.005"}, "amount", "The amount has more decimals than the currency has."},
			{"percentage over 100", map[string]string{"unit": "percentage", "amount": "101"}, "amount", "A percentage must be more than 0 and at most 100."},
			{"unknown currency", map[string]string{"currency": "ABC"}, "currency", "Currency must be an ISO 4217 code such as USD."},
			{"limits on a one-off rule", map[string]string{"max_count": "3"}, "recurrence", "max_count and max_months apply only to recurrence every."},
			{"too many months", map[string]string{"recurrence": "every", "max_months": "121"}, "max_months", "max_months must be 1 to 120."},
			{"holding too long", map[string]string{"holding_days": "366"}, "holding_days", "holding_days must be 0 to 365."},
			{"minimum on signup", map[string]string{"trigger": "signup"}, "min_amount", "A signup has no amount; min_amount applies to purchases and subscriptions."},
			{"expiry on credit", map[string]string{"expires_in_days": "30"}, "expires_in_days", "expires_in_days applies only to discount rewards."},
			{"name too long", map[string]string{"name": strings.Repeat("x", 101)}, "name", "Name must be at most 100 characters."},
			{"unknown trigger", map[string]string{"trigger": "refund"}, "trigger", "Trigger must be signup, purchase, subscription or milestone."},
			{"unknown recipient", map[string]string{"recipient": "boss"}, "recipient", "Recipient must be referrer or friend."},
			{"per-referrer limit below 1", map[string]string{"max_rewards_per_referrer": "-1"}, "max_rewards_per_referrer", "max_rewards_per_referrer must be at least 1."},
		}
		for _, tt := range tests {
			form := ruleForm()
			for k, v := range tt.change {
				form.Set(k, v)
			}
			for _, path := range []string{"rules", "rules/" + existing.ID} {
				t.Run(tt.name+" "+path, func(t *testing.T) {
					p := c.post(e.path(path), form).want(t, http.StatusUnprocessableEntity)
					if got := p.fieldError(tt.field); got != tt.message {
						t.Errorf("error next to %s = %q, want %q", tt.field, got, tt.message)
					}
					if got := e.onlyRule(t); !cmp.Equal(existing, got) {
						t.Errorf("an invalid form changed the rules:\n%s", cmp.Diff(existing, got))
					}
				})
			}
		}
	})
}

// Another program's rule, or no rule at all, is a 404 under this program.
func TestRulesOfAnotherProgram(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		other, _, _ := e.newProgram("Other", "EUR", "https://other.example")
		r := rewards.NewRule()
		r.ProgramID, r.RewardType, r.Unit, r.Amount, r.Currency = other.ID, rewards.Credit, rewards.Fixed, 500, "EUR"
		if err := e.db.InTx(context.Background(), func(tx *store.Tx) error { return tx.CreateRule(context.Background(), &r) }); err != nil {
			t.Fatal(err)
		}
		c := e.asOwner(t)
		for _, id := range []string{r.ID, "rul_unknown"} {
			c.get(e.path("rules/"+id)).want(t, http.StatusNotFound)
			c.post(e.path("rules/"+id), ruleForm()).want(t, http.StatusNotFound)
			c.post(e.path("rules/"+id+"/delete"), nil).want(t, http.StatusNotFound)
		}
		rules, err := e.db.Rules(t.Context(), other.ID)
		if err != nil || len(rules) != 1 || rules[0].Amount != 500 {
			t.Errorf("the other program's rules changed: %v %v", rules, err)
		}
		c.get("/dashboard/p/"+other.ID+"/rules/"+r.ID).want(t, http.StatusOK)
	})
}

// Viewers read the rules but the form is disabled and has no buttons.
func TestRulesViewer(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		e.asOwner(t).post(e.path("rules"), ruleForm()).want(t, http.StatusSeeOther)
		rule := e.onlyRule(t)
		v := e.asViewer(t)
		for _, path := range []string{"rules", "rules/" + rule.ID} {
			p := v.get(e.path(path)).want(t, http.StatusOK)
			p.has(t, `<fieldset class="plain" disabled>`)
			for _, button := range []string{"Add rule", "Save rule", ">Delete<", ">Edit<"} {
				if strings.Contains(p.Body, button) {
					t.Errorf("%s shows %q to a viewer", path, button)
				}
			}
		}
	})
}

var (
	formRE     = regexp.MustCompile(`(?s)<form method="post" action="[^"]*" class="card" novalidate id="rule-form">(.*?)</form>`)
	inputRE    = regexp.MustCompile(`<input ([^>]*)>`)
	selectRE   = regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]*)"[^>]*>(.*?)</select>`)
	selectedRE = regexp.MustCompile(`<option value="([^"]*)" selected>`)
)

// ruleFormValues reads the rule form of a page as a browser would submit
// it: every text and number input with its value, ticked checkboxes, and
// each select's chosen option.
func ruleFormValues(t *testing.T, p *page) url.Values {
	t.Helper()
	m := formRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no rule form: %s", p.text())
	}
	attr := func(tag, name string) string {
		a := regexp.MustCompile(`(?:^| )` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if a == nil {
			return ""
		}
		return html.UnescapeString(a[1])
	}
	f := url.Values{}
	for _, in := range inputRE.FindAllStringSubmatch(m[1], -1) {
		switch attr(in[1], "type") {
		case "checkbox":
			if strings.Contains(in[1], " checked") {
				f.Add(attr(in[1], "name"), "on")
			}
		default:
			f.Add(attr(in[1], "name"), attr(in[1], "value"))
		}
	}
	for _, s := range selectRE.FindAllStringSubmatch(m[1], -1) {
		v := ""
		if o := selectedRE.FindStringSubmatch(s[2]); o != nil {
			v = html.UnescapeString(o[1])
		}
		f.Set(s[1], v)
	}
	return f
}

// TestRuleOffers takes each field of issue 16 through the form: created,
// then shown again when editing, then saved back unchanged, then updated.
func TestRuleOffers(t *testing.T) {
	t.Parallel()
	base := rewards.Rule{Name: "Give $15", Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit,
		Unit: rewards.Fixed, Amount: 1500, Currency: "USD", Recurrence: rewards.First, MinAmount: 5000, MinAmountCurrency: "USD",
		HoldingDays: 7, Active: true}
	tests := []struct {
		name   string
		create map[string]string
		want   func(r *rewards.Rule)
		shows  map[string]string // the edit form's values
		list   []string
		update map[string]string // over the edit form's values
		after  func(r *rewards.Rule)
	}{
		{
			name:   "milestone",
			create: map[string]string{"trigger": "milestone", "milestone_referrals": "10", "amount": "50", "min_amount": ""},
			want: func(r *rewards.Rule) {
				r.Trigger, r.MilestoneReferrals, r.Amount, r.MinAmount, r.MinAmountCurrency = rewards.Milestone, 10, 5000, 0, ""
			},
			shows:  map[string]string{"trigger": "milestone", "milestone_referrals": "10", "amount": "50.00"},
			list:   []string{"Milestone: 10 successful referrals → USD 50.00 credit for the referrer"},
			update: map[string]string{"milestone_referrals": "1"},
			after:  func(r *rewards.Rule) { r.MilestoneReferrals = 1 },
		},
		{
			// A left-over milestone count under another trigger means nothing.
			name:   "milestone count ignored for a purchase",
			create: map[string]string{"milestone_referrals": "10"},
			want:   func(r *rewards.Rule) {},
			shows:  map[string]string{"milestone_referrals": ""},
			list:   []string{"USD 15.00 credit for the referrer when the friend makes a purchase, once"},
			update: map[string]string{"trigger": "milestone", "milestone_referrals": "3", "min_amount": ""},
			after: func(r *rewards.Rule) {
				r.Trigger, r.MilestoneReferrals, r.MinAmount, r.MinAmountCurrency = rewards.Milestone, 3, 0, ""
			},
		},
		{
			name: "tiers, an empty row between",
			create: map[string]string{"amount": "", "tiers.0.min_referrals": "1", "tiers.0.amount": "10",
				"tiers.2.min_referrals": "11", "tiers.2.amount": "15"},
			want: func(r *rewards.Rule) {
				r.Amount, r.Tiers = 1000, []rewards.Tier{{MinReferrals: 1, Amount: 1000}, {MinReferrals: 11, Amount: 1500}}
			},
			shows: map[string]string{"amount": "", "tiers.0.min_referrals": "1", "tiers.0.amount": "10.00",
				"tiers.1.min_referrals": "11", "tiers.1.amount": "15.00", "tiers.2.min_referrals": ""},
			list: []string{"Tiered credit for the referrer when the friend makes a purchase, once. Tiers by successful referrals: 1+ USD 10.00, 11+ USD 15.00"},
			update: map[string]string{"unit": "percentage", "min_amount": "", "tiers.0.amount": "5", "tiers.1.amount": "7.5",
				"tiers.2.min_referrals": "50", "tiers.2.amount": "10"},
			after: func(r *rewards.Rule) {
				r.Unit, r.Currency, r.MinAmount, r.MinAmountCurrency = rewards.Percentage, "", 0, ""
				r.Amount, r.Tiers = 500, []rewards.Tier{{MinReferrals: 1, Amount: 500}, {MinReferrals: 11, Amount: 750}, {MinReferrals: 50, Amount: 1000}}
			},
		},
		{
			name:   "tiers removed",
			create: map[string]string{"amount": "", "tiers.0.min_referrals": "1", "tiers.0.amount": "10"},
			want:   func(r *rewards.Rule) { r.Amount, r.Tiers = 1000, []rewards.Tier{{MinReferrals: 1, Amount: 1000}} },
			shows:  map[string]string{"tiers.0.min_referrals": "1", "tiers.0.amount": "10.00", "tiers.1.amount": ""},
			list:   []string{"Tiers by successful referrals: 1+ USD 10.00"},
			update: map[string]string{"amount": "12", "tiers.0.min_referrals": "", "tiers.0.amount": ""},
			after:  func(r *rewards.Rule) { r.Amount, r.Tiers = 1200, nil },
		},
		{
			name: "skip count",
			create: map[string]string{"trigger": "subscription", "recurrence": "every", "unit": "percentage", "amount": "20",
				"min_amount": "", "skip_count": "3"},
			want: func(r *rewards.Rule) {
				r.Trigger, r.Recurrence, r.Unit, r.Currency, r.Amount, r.MinAmount, r.MinAmountCurrency, r.SkipCount =
					rewards.Subscription, rewards.Every, rewards.Percentage, "", 2000, 0, "", 3
			},
			shows:  map[string]string{"skip_count": "3", "recurrence": "every", "amount": "20"},
			list:   []string{"20% of the payment as credit for the referrer when the friend pays a subscription, every time, after 3 payments"},
			update: map[string]string{"skip_count": ""},
			after:  func(r *rewards.Rule) { r.SkipCount = 0 },
		},
		{
			name: "caps per month, and currency options",
			create: map[string]string{"max_rewards_per_referrer": "5", "max_rewards_period": "month", "max_amount_per_referrer": "100",
				"currency_options.0.currency": "gbp", "currency_options.0.amount": "12", "currency_options.0.max_amount_per_referrer": "80",
				"currency_options.1.currency": "EUR", "currency_options.1.amount": "14", "currency_options.1.min_amount": "45",
				"currency_options.1.max_amount_per_referrer": "90"},
			want: func(r *rewards.Rule) {
				r.MaxRewardsPerReferrer, r.MaxRewardsPeriod, r.MaxAmountPerReferrer, r.MaxAmountCurrency = 5, rewards.Month, 10000, "USD"
				r.CurrencyOptions = map[string]rewards.CurrencyOption{"GBP": {Amount: 1200, MaxAmountPerReferrer: 8000},
					"EUR": {Amount: 1400, MinAmount: 4500, MaxAmountPerReferrer: 9000}}
			},
			shows: map[string]string{"max_rewards_per_referrer": "5", "max_rewards_period": "month", "max_amount_per_referrer": "100.00",
				"currency_options.0.currency": "EUR", "currency_options.0.amount": "14.00", "currency_options.0.min_amount": "45.00",
				"currency_options.0.max_amount_per_referrer": "90.00", "currency_options.1.currency": "GBP",
				"currency_options.1.amount": "12.00", "currency_options.1.min_amount": "", "currency_options.2.currency": ""},
			list: []string{"USD 15.00 (EUR 14.00, GBP 12.00) credit for the referrer", "Min USD 50.00 (EUR 45.00)",
				"At most 5 rewards per referrer per month", "At most USD 100.00 (EUR 90.00, GBP 80.00) per referrer per month"},
			update: map[string]string{"max_rewards_period": "year", "max_amount_per_referrer": "",
				"currency_options.0.max_amount_per_referrer": "", "currency_options.1.currency": "", "currency_options.1.amount": "",
				"currency_options.1.max_amount_per_referrer": ""},
			after: func(r *rewards.Rule) {
				r.MaxRewardsPeriod, r.MaxAmountPerReferrer, r.MaxAmountCurrency = rewards.Year, 0, ""
				r.CurrencyOptions = map[string]rewards.CurrencyOption{"EUR": {Amount: 1400, MinAmount: 4500}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachEngine(t, func(t *testing.T, e *env) {
				c := e.asOwner(t)
				form := ruleForm()
				for k, v := range tt.create {
					form.Set(k, v)
				}
				c.post(e.path("rules"), form).want(t, http.StatusSeeOther)
				want := base
				want.ProgramID = e.program.ID
				tt.want(&want)
				rule := e.onlyRule(t)
				if diff := cmp.Diff(want, *rule, ignoreRuleMeta, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("created rule (-want +got):\n%s", diff)
				}
				text := c.get(e.path("rules")).want(t, http.StatusOK).text()
				for _, s := range tt.list {
					if !strings.Contains(text, s) {
						t.Errorf("the list lacks %q: %s", s, text)
					}
				}

				edit := ruleFormValues(t, c.get(e.path("rules/"+rule.ID)).want(t, http.StatusOK))
				for k, v := range tt.shows {
					if got := edit.Get(k); got != v || (v != "" && !edit.Has(k)) {
						t.Errorf("the edit form shows %s = %q, want %q", k, got, v)
					}
				}
				c.post(e.path("rules/"+rule.ID), edit).want(t, http.StatusSeeOther)
				if diff := cmp.Diff(want, *e.onlyRule(t), ignoreRuleMeta, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("saving the edit form unchanged changed the rule (-want +got):\n%s", diff)
				}

				for k, v := range tt.update {
					edit.Set(k, v)
				}
				c.post(e.path("rules/"+rule.ID), edit).want(t, http.StatusSeeOther)
				tt.after(&want)
				if diff := cmp.Diff(want, *e.onlyRule(t), ignoreRuleMeta, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("updated rule (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestRuleOffersInvalid shows the domain's errors about the new fields
// next to their inputs, rows included, on create and on edit.
func TestRuleOffersInvalid(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		c.post(e.path("rules"), ruleForm()).want(t, http.StatusSeeOther)
		existing := e.onlyRule(t)
		tests := []struct {
			name    string
			change  map[string]string
			field   string
			message string
		}{
			{"milestone of 0", map[string]string{"trigger": "milestone", "milestone_referrals": "0", "min_amount": ""}, "milestone_referrals",
				"milestone_referrals is required with trigger milestone and must be 1 to 100000."},
			{"milestone not a number", map[string]string{"trigger": "milestone", "milestone_referrals": "ten", "min_amount": ""}, "milestone_referrals",
				"milestone_referrals is required with trigger milestone and must be 1 to 100000."},
			{"milestone for the friend", map[string]string{"trigger": "milestone", "milestone_referrals": "3", "min_amount": "", "recipient": "friend"},
				"recipient", "A milestone rewards the referrer who reached it."},
			{"tiers out of order, after an empty row", map[string]string{"amount": "", "tiers.0.min_referrals": "5", "tiers.0.amount": "10",
				"tiers.3.min_referrals": "2", "tiers.3.amount": "15"}, "tiers.1.min_referrals",
				"Tiers must be in ascending order of min_referrals, without two tiers starting at the same count."},
			{"tier without an amount", map[string]string{"amount": "", "tiers.0.min_referrals": "1"}, "tiers.0.amount",
				"Amount is required and must be more than 0."},
			{"tier amount too precise", map[string]string{"amount": "", "tiers.0.min_referrals": "1", "tiers.0.amount": "1.005"}, "tiers.0.amount",
				"The amount has more decimals than the currency has."},
			{"tiers and an amount", map[string]string{"tiers.0.min_referrals": "1", "tiers.0.amount": "10"}, "amount",
				"A tiered rule's amounts are its tiers'; leave amount out."},
			{"tiers for the friend", map[string]string{"amount": "", "recipient": "friend", "tiers.0.min_referrals": "1", "tiers.0.amount": "10"},
				"tiers", "Tiers follow the referrer's successful referrals; they apply to referrer rules."},
			{"skip count with recurrence first", map[string]string{"skip_count": "3"}, "skip_count",
				"skip_count starts a recurring rule later; it applies only to recurrence every."},
			{"skip count too high", map[string]string{"recurrence": "every", "skip_count": "1001"}, "skip_count", "skip_count must be 0 to 1000."},
			{"period without a cap", map[string]string{"max_rewards_period": "month"}, "max_rewards_period",
				"A period caps something: give max_rewards_per_referrer or max_amount_per_referrer with it."},
			{"unknown period", map[string]string{"max_rewards_period": "week", "max_rewards_per_referrer": "3"}, "max_rewards_period",
				"max_rewards_period must be month, year, or null for the referrer's lifetime."},
			{"cap not a number", map[string]string{"max_amount_per_referrer": "lots"}, "max_amount_per_referrer", "The amount must be a number."},
			{"option amount missing", map[string]string{"currency_options.0.currency": "eur", "currency_options.0.min_amount": "5"},
				"currency_options.0.amount", "Amount is required and must be more than 0."},
			{"option amount of the second row", map[string]string{"currency_options.0.currency": "GBP", "currency_options.0.amount": "12",
				"currency_options.2.currency": "EUR", "currency_options.2.amount": "-1"}, "currency_options.1.amount", "The amount must be more than 0."},
			{"option without its cap", map[string]string{"max_amount_per_referrer": "100", "currency_options.0.currency": "EUR",
				"currency_options.0.amount": "14"}, "currency_options.0.max_amount_per_referrer",
				"The rule caps the value per referrer; give each currency option its cap too."},
			{"option in an unknown currency", map[string]string{"currency_options.0.currency": "XYZ", "currency_options.0.amount": "14"},
				"currency_options.0.currency", "Currency options are keyed by ISO 4217 codes such as EUR."},
			{"the same currency twice", map[string]string{"currency_options.0.currency": "EUR", "currency_options.0.amount": "14",
				"currency_options.1.currency": "eur", "currency_options.1.amount": "15"}, "currency_options.1.currency",
				"Each currency may have one option."},
			{"options on a percentage", map[string]string{"unit": "percentage", "min_amount": "", "currency_options.0.currency": "EUR",
				"currency_options.0.amount": "14"}, "currency_options",
				"Currency options are amounts in other currencies; a percentage is paid in the payment's currency already."},
		}
		for _, tt := range tests {
			for _, path := range []string{"rules", "rules/" + existing.ID} {
				t.Run(tt.name+" "+path, func(t *testing.T) {
					form := ruleForm()
					for k, v := range tt.change {
						form.Set(k, v)
					}
					p := c.post(e.path(path), form).want(t, http.StatusUnprocessableEntity)
					if got := p.fieldError(tt.field); got != tt.message {
						t.Errorf("error next to %s = %q, want %q", tt.field, got, tt.message)
					}
					if !strings.Contains(p.Body, `id="`+tt.field+`"`) && !strings.Contains(p.Body, `<p class="error" id="`+tt.field+`_err">`) {
						t.Errorf("no input %s on the page", tt.field)
					}
					if got := e.onlyRule(t); !cmp.Equal(existing, got) {
						t.Errorf("an invalid form changed the rules:\n%s", cmp.Diff(existing, got))
					}
				})
			}
		}
	})
}
