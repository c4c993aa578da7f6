package dashboard

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
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
		Data: map[string]any{"Rules": rules, "Editing": editing,
			"Tiers": shownRows(form, "tiers", 5), "Options": shownRows(form, "currency_options", 3)}})
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
	value := func(n int64) string { return string(money.Format(n, r.Currency)) }
	if r.Unit != rewards.Fixed {
		value = func(n int64) string { return string(money.FormatPercent(n)) }
	}
	f := url.Values{"name": {r.Name}, "trigger": {r.Trigger}, "recipient": {r.Recipient}, "reward_type": {r.RewardType},
		"unit": {r.Unit}, "amount": {value(r.Amount)}, "currency": {r.Currency}, "recurrence": {r.Recurrence},
		"holding_days": {strconv.Itoa(r.HoldingDays)}, "max_rewards_period": {r.MaxRewardsPeriod}}
	if len(r.Tiers) > 0 {
		// The tiers carry the amounts; the amount field stays empty.
		f.Set("amount", "")
	}
	for i, t := range r.Tiers {
		f.Set(row("tiers", i, "min_referrals"), strconv.Itoa(t.MinReferrals))
		f.Set(row("tiers", i, "amount"), value(t.Amount))
	}
	for i, cur := range slices.Sorted(maps.Keys(r.CurrencyOptions)) {
		o := r.CurrencyOptions[cur]
		f.Set(row("currency_options", i, "currency"), cur)
		f.Set(row("currency_options", i, "amount"), string(money.Format(o.Amount, cur)))
		if o.MinAmount > 0 {
			f.Set(row("currency_options", i, "min_amount"), string(money.Format(o.MinAmount, cur)))
		}
		if o.MaxAmountPerReferrer > 0 {
			f.Set(row("currency_options", i, "max_amount_per_referrer"), string(money.Format(o.MaxAmountPerReferrer, cur)))
		}
	}
	if r.MaxAmountPerReferrer > 0 {
		f.Set("max_amount_per_referrer", string(money.Format(r.MaxAmountPerReferrer, r.MaxAmountCurrency)))
	}
	opt := func(name string, n int) {
		if n > 0 {
			f.Set(name, strconv.Itoa(n))
		}
	}
	opt("max_count", r.MaxCount)
	opt("max_months", r.MaxMonths)
	opt("max_rewards_per_referrer", r.MaxRewardsPerReferrer)
	opt("expires_in_days", r.DiscountExpiresDays)
	opt("milestone_referrals", r.MilestoneReferrals)
	opt("skip_count", r.SkipCount)
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
// that they take their defaults (or are cleared on edit). It renumbers the
// form's rows (see rows) and returns the errors only the form can make: a
// currency given in two rows, which an object of options cannot hold.
func ruleInput(f url.Values) (rewards.RuleInput, map[string]string) {
	str := func(name string) *string { v := strings.TrimSpace(f.Get(name)); return &v }
	num := func(v string) *money.Number {
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
	field := func(name string) *money.Number { return num(strings.TrimSpace(f.Get(name))) }
	active := f.Get("active") == "on"
	in := rewards.RuleInput{Name: str("name"), Trigger: str("trigger"), Recipient: str("recipient"),
		RewardType: str("reward_type"), Unit: str("unit"), Amount: field("amount"), Recurrence: str("recurrence"),
		MaxCount: integer("max_count"), MaxMonths: integer("max_months"), HoldingDays: integer("holding_days"),
		MaxRewardsPerReferrer: integer("max_rewards_per_referrer"), ExpiresInDays: integer("expires_in_days"),
		MinAmount: field("min_amount"), SkipCount: integer("skip_count"), Active: &active,
		MaxAmountPerReferrer: rewards.Optional[money.Number]{Set: true, Value: field("max_amount_per_referrer")}}
	// The milestone field is shown for milestones only; left over under
	// another trigger it means nothing.
	none := 0
	in.MilestoneReferrals = &none
	if *in.Trigger == rewards.Milestone {
		in.MilestoneReferrals = integer("milestone_referrals")
	}
	in.MaxRewardsPeriod = rewards.Optional[string]{Set: true}
	if p := str("max_rewards_period"); *p != "" {
		in.MaxRewardsPeriod.Value = p
	}
	tiers := []rewards.TierInput{}
	for _, t := range rows(f, "tiers", "min_referrals", "amount") {
		from := atoi(t["min_referrals"])
		tiers = append(tiers, rewards.TierInput{MinReferrals: &from, Amount: num(t["amount"])})
	}
	in.Tiers = rewards.Optional[[]rewards.TierInput]{Set: true, Value: &tiers}
	var errs map[string]string
	in.CurrencyOptions = rewards.CurrencyOptionsInput{Set: true, Options: map[string]rewards.CurrencyOptionInput{}}
	for i, o := range rows(f, "currency_options", optionColumns...) {
		cur := strings.ToUpper(o["currency"])
		if _, dup := in.CurrencyOptions.Options[cur]; dup {
			errs = map[string]string{"": "Each currency may have one option.", row("currency_options", i, "currency"): "Each currency may have one option."}
			continue
		}
		in.CurrencyOptions.Options[cur] = rewards.CurrencyOptionInput{Amount: num(o["amount"]), MinAmount: num(o["min_amount"]),
			MaxAmountPerReferrer: num(o["max_amount_per_referrer"])}
	}
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
	return in, errs
}

var optionColumns = []string{"currency", "amount", "min_amount", "max_amount_per_referrer"}

// row names a column of a numbered row of the form: tiers.0.amount, as the
// domain names the tier's errors.
func row(prefix string, i int, column string) string {
	return prefix + "." + strconv.Itoa(i) + "." + column
}

// maxRows bounds the row numbers read, whatever a form posts.
const maxRows = 100

// rowCount is the number of rows of prefix the form holds.
func rowCount(f url.Values, prefix string) int {
	n := 0
	for k := range f {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			i, _, _ := strings.Cut(rest, ".")
			if j, err := strconv.Atoi(i); err == nil && j >= 0 && j < maxRows {
				n = max(n, j+1)
			}
		}
	}
	return n
}

// rows reads the filled rows of prefix, trimmed, and renumbers them in f
// without the empty ones, so that errors the domain names by position
// (tiers.1.amount) land next to the row they are about.
func rows(f url.Values, prefix string, columns ...string) []map[string]string {
	var out []map[string]string
	for i := range rowCount(f, prefix) {
		r := map[string]string{}
		for _, c := range columns {
			if v := strings.TrimSpace(f.Get(row(prefix, i, c))); v != "" {
				r[c] = v
			}
			f.Del(row(prefix, i, c))
		}
		if len(r) > 0 {
			out = append(out, r)
		}
	}
	for i, r := range out {
		for c, v := range r {
			f.Set(row(prefix, i, c), v)
		}
	}
	return out
}

// shownRows lists the row numbers the form shows: the filled ones and two
// empty ones, at least least rows, so that a rule grows a row per save without
// a script.
func shownRows(f url.Values, prefix string, least int) []int {
	return make([]int, max(least, rowCount(f, prefix)+2))
}

// optionErrors moves the domain's errors about a currency option
// (currency_options.EUR.amount) to the row that holds that currency.
func optionErrors(errs map[string]string, f url.Values) {
	for i := range rowCount(f, "currency_options") {
		cur := strings.ToUpper(strings.TrimSpace(f.Get(row("currency_options", i, "currency"))))
		for _, c := range optionColumns {
			key := "currency_options." + cur + "." + c
			if c == "currency" {
				key = "currency_options." + cur
			}
			if m, ok := errs[key]; ok {
				errs[row("currency_options", i, c)] = m
			}
		}
	}
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
	in, formErrs := ruleInput(r.PostForm)
	if in.Currency != nil && *in.Currency == "" && *in.Unit == rewards.Fixed {
		in.Currency = &p.Currency
	}
	rule, err := rewards.Apply(base, in, p.Currency)
	if err == nil && formErrs == nil {
		if id == "" {
			_, err = d.DB.CreateRule(r.Context(), rule)
		} else {
			_, err = d.DB.UpdateRule(r.Context(), rule)
		}
	}
	errs := clientErrors(err)
	if errs == nil && formErrs != nil {
		errs = map[string]string{}
	}
	if errs != nil {
		optionErrors(errs, r.PostForm)
		maps.Copy(errs, formErrs)
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
	if r.Trigger == rewards.Milestone {
		fmt.Fprintf(&b, "Milestone: %s → ", count(r.MilestoneReferrals, "successful referral", "successful referrals"))
	}
	amount := ruleValue(r, r.Amount) + optionAmounts(r, func(o rewards.CurrencyOption) int64 { return o.Amount })
	switch {
	case len(r.Tiers) > 0 && r.RewardType == rewards.Discount:
		b.WriteString("Tiered discount code")
	case len(r.Tiers) > 0 && r.Unit == rewards.Percentage:
		b.WriteString("A tiered share of the payment as " + r.RewardType)
	case len(r.Tiers) > 0:
		b.WriteString("Tiered " + r.RewardType)
	case r.RewardType == rewards.Discount:
		b.WriteString(amount + " off discount code")
	case r.Unit == rewards.Percentage:
		b.WriteString(amount + " of the payment as " + r.RewardType)
	default:
		b.WriteString(amount + " " + r.RewardType)
	}
	b.WriteString(" for the " + r.Recipient)
	switch r.Trigger {
	case rewards.Milestone:
	case rewards.Signup:
		b.WriteString(" when the friend signs up, once")
	default:
		b.WriteString(" when the friend ")
		if r.Trigger == rewards.Purchase {
			b.WriteString("makes a purchase")
		} else {
			b.WriteString("pays a subscription")
		}
		if r.Recurrence != rewards.Every {
			b.WriteString(", once")
			break
		}
		b.WriteString(", every time")
		if r.SkipCount > 0 {
			b.WriteString(", after " + count(r.SkipCount, "payment", "payments"))
		}
		if r.MaxCount > 0 {
			b.WriteString(", at most " + strconv.Itoa(r.MaxCount) + " times")
		}
		if r.MaxMonths > 0 {
			b.WriteString(", for " + strconv.Itoa(r.MaxMonths) + " months")
		}
	}
	if len(r.Tiers) > 0 {
		tiers := make([]string, len(r.Tiers))
		for i, t := range r.Tiers {
			tiers[i] = strconv.Itoa(t.MinReferrals) + "+ " + ruleValue(r, t.Amount)
		}
		b.WriteString(". Tiers by successful referrals: " + strings.Join(tiers, ", "))
	}
	return b.String()
}

// ruleLimits lists in words what bounds a rule, one line each, for the
// list.
func ruleLimits(r *rewards.Rule) []string {
	var out []string
	if r.MinAmount > 0 {
		out = append(out, "Min "+formatMoney(r.MinAmount, r.MinAmountCurrency)+
			optionAmounts(r, func(o rewards.CurrencyOption) int64 { return o.MinAmount }))
	}
	period := map[string]string{rewards.Month: " per month", rewards.Year: " per year"}[r.MaxRewardsPeriod]
	if r.MaxRewardsPerReferrer > 0 {
		out = append(out, "At most "+count(r.MaxRewardsPerReferrer, "reward", "rewards")+" per referrer"+period)
	}
	if r.MaxAmountPerReferrer > 0 {
		out = append(out, "At most "+formatMoney(r.MaxAmountPerReferrer, r.MaxAmountCurrency)+
			optionAmounts(r, func(o rewards.CurrencyOption) int64 { return o.MaxAmountPerReferrer })+" per referrer"+period)
	}
	return out
}

// ruleValue is an amount of the rule in its unit: money, or a percentage.
func ruleValue(r *rewards.Rule, n int64) string {
	if r.Unit == rewards.Percentage {
		return string(money.FormatPercent(n)) + "%"
	}
	return formatMoney(n, r.Currency)
}

// optionAmounts is " (EUR 14.00, GBP 12.00)": what of the rule's currency
// options pick out, for those that have it.
func optionAmounts(r *rewards.Rule, pick func(rewards.CurrencyOption) int64) string {
	var out []string
	for _, cur := range slices.Sorted(maps.Keys(r.CurrencyOptions)) {
		if n := pick(r.CurrencyOptions[cur]); n > 0 {
			out = append(out, formatMoney(n, cur))
		}
	}
	if out == nil {
		return ""
	}
	return " (" + strings.Join(out, ", ") + ")"
}

// count is "1 payment" or "3 payments".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
