package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

func (d *Dashboard) RulesPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.renderRules(w, r, http.StatusOK, p.ID, url.Values{"trigger": {rewards.Purchase}, "recipient": {rewards.Referrer},
		"reward_type": {rewards.Credit}, "unit": {rewards.Fixed}, "recurrence": {rewards.First}, "holding_days": {"0"}, "active": {"on"}}, nil, "")
}

func (d *Dashboard) renderRules(w http.ResponseWriter, r *http.Request, status int, pid string, form url.Values, errs map[string]string, editing string) {
	p, err := d.DB.Program(r.Context(), pid)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	rules, err := d.DB.Rules(r.Context(), p.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.render(w, r, status, "rules", &view{Title: "Rewards & triggers", Nav: "rules", Program: p, Form: form, Errors: errs,
		Data: map[string]any{"Rules": rules, "Editing": editing}})
}

func (d *Dashboard) RuleEdit(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	rule, err := d.DB.Rule(r.Context(), p.ID, r.PathValue("id"))
	if !d.found(w, r, err, store.ErrRuleNotFound, "No such rule in this program.") {
		return
	}
	d.renderRules(w, r, http.StatusOK, p.ID, ruleForm(rule), nil, rule.ID)
}

// ruleForm fills the rule form from a stored rule.
func ruleForm(r *rewards.Rule) url.Values {
	amount := money.FormatPercent(r.Amount)
	if r.Unit == rewards.Fixed {
		amount = money.Format(r.Amount, r.Currency)
	}
	f := url.Values{"name": {r.Name}, "trigger": {r.Trigger}, "recipient": {r.Recipient}, "reward_type": {r.RewardType},
		"unit": {r.Unit}, "amount": {string(amount)}, "currency": {r.Currency}, "recurrence": {r.Recurrence},
		"holding_days": {strconv.Itoa(r.HoldingDays)}}
	opt := func(name string, n int) {
		if n > 0 {
			f.Set(name, strconv.Itoa(n))
		}
	}
	opt("max_count", r.MaxCount)
	opt("max_months", r.MaxMonths)
	opt("max_rewards_per_referrer", r.MaxRewardsPerReferrer)
	opt("expires_in_days", r.DiscountExpiresDays)
	if r.MinAmount > 0 {
		f.Set("min_amount", string(money.Format(r.MinAmount, r.MinAmountCurrency)))
	}
	if r.Active {
		f.Set("active", "on")
	}
	f.Set("approval", approvalChoice(r.RequireApproval))
	return f
}

// The rule form's approval choices: the program's setting, or the rule's own.
const (
	approvalProgram = ""
	approvalAlways  = "always"
	approvalNever   = "never"
)

func approvalChoice(b *bool) string {
	switch {
	case b == nil:
		return approvalProgram
	case *b:
		return approvalAlways
	}
	return approvalNever
}

// ruleInput reads the rule form. Empty optional fields are left out so
// that they take their defaults (or are cleared on edit).
func ruleInput(f url.Values) rewards.RuleInput {
	str := func(name string) *string { v := strings.TrimSpace(f.Get(name)); return &v }
	num := func(name string) *money.Number {
		v := strings.TrimSpace(f.Get(name))
		if v == "" {
			return nil
		}
		n := money.Number(v)
		return &n
	}
	integer := func(name string) *int {
		v := strings.TrimSpace(f.Get(name))
		n := 0
		if v != "" {
			n = atoi(v)
		}
		return &n
	}
	active := f.Get("active") == "on"
	in := rewards.RuleInput{Name: str("name"), Trigger: str("trigger"), Recipient: str("recipient"),
		RewardType: str("reward_type"), Unit: str("unit"), Amount: num("amount"), Recurrence: str("recurrence"),
		MaxCount: integer("max_count"), MaxMonths: integer("max_months"), HoldingDays: integer("holding_days"),
		MaxRewardsPerReferrer: integer("max_rewards_per_referrer"), ExpiresInDays: integer("expires_in_days"),
		MinAmount: num("min_amount"), Active: &active}
	switch f.Get("approval") {
	case approvalAlways, approvalNever:
		v := f.Get("approval") == approvalAlways
		in.RequireApproval = rewards.OptionalBool{Set: true, Value: &v}
	default:
		in.RequireApproval = rewards.OptionalBool{Set: true}
	}
	if *in.Unit == rewards.Fixed {
		in.Currency = str("currency")
	} else {
		empty := ""
		in.Currency = &empty
	}
	return in
}

func (d *Dashboard) RuleSave(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	id := r.PathValue("id")
	base := rewards.NewRule()
	base.ProgramID = p.ID
	if id != "" {
		old, err := d.DB.Rule(r.Context(), p.ID, id)
		if !d.found(w, r, err, store.ErrRuleNotFound, "No such rule in this program.") {
			return
		}
		base = *old
		// The form always says what the amount and the minimum are: an
		// emptied field is a missing amount or no minimum, not "unchanged".
		base.Amount, base.MinAmount, base.MinAmountCurrency = 0, 0, ""
	}
	in := ruleInput(r.PostForm)
	if in.Currency != nil && *in.Currency == "" && *in.Unit == rewards.Fixed {
		in.Currency = &p.Currency
	}
	rule, err := rewards.Apply(base, in, p.Currency)
	if err == nil {
		if id == "" {
			_, err = d.DB.CreateRule(r.Context(), rule)
		} else {
			_, err = d.DB.UpdateRule(r.Context(), rule)
		}
	}
	if errs := clientErrors(err); errs != nil {
		d.renderRules(w, r, http.StatusUnprocessableEntity, p.ID, r.PostForm, errs, id)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, "/dashboard/p/"+p.ID+"/rules", "Reward rule saved.")
}

func (d *Dashboard) RuleDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	err := d.DB.DeleteRule(r.Context(), p.ID, r.PathValue("id"))
	if !d.found(w, r, err, store.ErrRuleNotFound, "No such rule in this program.") {
		return
	}
	d.redirect(w, r, "/dashboard/p/"+p.ID+"/rules", "Rule deleted. Rewards it already gave stay as they are.")
}

// ruleSummary says in words what a rule does, for the list.
func ruleSummary(r *rewards.Rule) string {
	var b strings.Builder
	switch r.Unit {
	case rewards.Percentage:
		b.WriteString(string(money.FormatPercent(r.Amount)) + "%")
		if r.RewardType == rewards.Discount {
			b.WriteString(" off")
		} else {
			b.WriteString(" of the payment as " + r.RewardType)
		}
	default:
		b.WriteString(formatMoney(r.Amount, r.Currency))
		if r.RewardType == rewards.Discount {
			b.WriteString(" off")
		} else {
			b.WriteString(" " + r.RewardType)
		}
	}
	if r.RewardType == rewards.Discount {
		b.WriteString(" discount code")
	}
	b.WriteString(" for the " + r.Recipient + " when the friend ")
	switch r.Trigger {
	case rewards.Signup:
		b.WriteString("signs up")
	case rewards.Purchase:
		b.WriteString("makes a purchase")
	default:
		b.WriteString("pays a subscription")
	}
	if r.Recurrence == rewards.Every {
		b.WriteString(", every time")
		if r.MaxCount > 0 {
			b.WriteString(", at most " + strconv.Itoa(r.MaxCount) + " times")
		}
		if r.MaxMonths > 0 {
			b.WriteString(", for " + strconv.Itoa(r.MaxMonths) + " months")
		}
	} else {
		b.WriteString(", once")
	}
	return b.String()
}
