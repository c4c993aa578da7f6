package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
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
