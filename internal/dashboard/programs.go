package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// Home opens the first program, or the program list when there is none.
func (d *Dashboard) Home(w http.ResponseWriter, r *http.Request) {
	ps, err := d.DB.Programs(r.Context())
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	if len(ps) == 0 {
		http.Redirect(w, r, "/dashboard/programs/new", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/dashboard/p/"+ps[0].ID+"/", http.StatusSeeOther)
}

func (d *Dashboard) SwitchProgram(w http.ResponseWriter, r *http.Request) {
	pid := r.URL.Query().Get("pid")
	if _, err := d.DB.Program(r.Context(), pid); err != nil {
		d.fail(w, r, http.StatusNotFound, "No such program.")
		return
	}
	http.Redirect(w, r, "/dashboard/p/"+url.PathEscape(pid)+"/", http.StatusSeeOther)
}

func (d *Dashboard) ProgramList(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "programs", &view{Title: "Programs", Nav: "programs"})
}

// newProgramDefaults fill the guided flow's form.
var newProgramDefaults = url.Values{
	"currency": {"USD"}, "referral_param": {"ref"}, "cookie_days": {"30"}, "attribution": {referral.FirstClick},
	"referrer_enabled": {"on"}, "referrer_type": {rewards.Credit}, "referrer_unit": {rewards.Fixed}, "referrer_amount": {"10"},
	"friend_enabled": {"on"}, "friend_type": {rewards.Discount}, "friend_unit": {rewards.Percentage}, "friend_amount": {"20"},
	"trigger": {rewards.Purchase}, "recurrence": {rewards.First}, "holding_days": {"30"},
}

func (d *Dashboard) ProgramNew(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "program_new", &view{Title: "Create a referral program", Nav: "programs", Form: newProgramDefaults})
}

// ProgramCreate makes a program, its API keys and its reward rules from
// the guided flow, all in one transaction: a mistake anywhere saves
// nothing and shows every problem next to its field.
func (d *Dashboard) ProgramCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	errs := map[string]string{}
	// NewProgram's own check is repeated below, once the form's other
	// settings are in, so that every bad field is reported together.
	p, _ := referral.NewProgram(f.Get("name"), f.Get("currency"), f.Get("website_url"))
	p.RefParam = strings.TrimSpace(f.Get("referral_param"))
	p.CookieDays = atoi(f.Get("cookie_days"))
	p.Attribution = f.Get("attribution")
	p.RequireApproval = f.Get("require_approval") == "on"
	p.AllowedDomains = splitDomains(f.Get("allowed_domains"))
	if err := p.Validate(); err != nil {
		merge(errs, "", clientErrors(err))
	}
	var rules []rewards.Rule
	for _, side := range []string{rewards.Referrer, rewards.Friend} {
		if f.Get(side+"_enabled") != "on" {
			continue
		}
		rule, err := ruleFromForm(f, side, p.Currency)
		if err != nil {
			merge(errs, side+"_", clientErrors(err))
			continue
		}
		rules = append(rules, rule)
	}
	if len(rules) == 0 && f.Get("referrer_enabled") != "on" && f.Get("friend_enabled") != "on" {
		errs["rewards"] = "Choose at least one reward: for the referrer, the friend, or both."
	}
	if len(errs) > 0 {
		d.render(w, r, http.StatusUnprocessableEntity, "program_new", &view{Title: "Create a referral program", Nav: "programs", Form: f, Errors: errs})
		return
	}
	_, err := d.DB.CreateProgram(r.Context(), p, rules)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, "/dashboard/p/"+p.ID+"/developers", "Program created. Create an API key below to connect your site.")
}

// ruleFromForm reads one side's reward from the guided flow's form.
func ruleFromForm(f url.Values, side, currency string) (rewards.Rule, error) {
	str := func(s string) *string { return &s }
	num := func(s string) *money.Number { n := money.Number(strings.TrimSpace(s)); return &n }
	in := rewards.RuleInput{
		Trigger: str(f.Get("trigger")), Recipient: str(side), RewardType: str(f.Get(side + "_type")),
		Unit: str(f.Get(side + "_unit")), Amount: num(f.Get(side + "_amount")), Recurrence: str(f.Get("recurrence")),
	}
	if in.Unit != nil && *in.Unit == rewards.Fixed {
		in.Currency = &currency
	}
	if h := strings.TrimSpace(f.Get("holding_days")); h != "" {
		n := atoi(h)
		in.HoldingDays = &n
	}
	if f.Get("recurrence") == rewards.Every {
		if m := strings.TrimSpace(f.Get("max_count")); m != "" {
			n := atoi(m)
			in.MaxCount = &n
		}
	}
	if *in.Amount == "" {
		in.Amount = nil
	}
	return rewards.Apply(rewards.NewRule(), in, currency)
}

// sharedFields are the guided flow's fields that both rewards take: their
// errors go next to the one input, without a side's prefix.
var sharedFields = map[string]bool{"trigger": true, "recurrence": true, "max_count": true, "holding_days": true}

// merge copies field errors into errs under a prefix; the general message
// goes under the prefix alone.
func merge(errs map[string]string, prefix string, more map[string]string) {
	if more == nil {
		errs[prefix] = "Something is wrong here."
		return
	}
	for k, v := range more {
		switch {
		case k == "":
			if len(more) == 1 {
				errs[prefix] = v
			}
		case sharedFields[k]:
			errs[k] = v
		default:
			errs[prefix+k] = v
		}
	}
}

// atoi reads a whole number from a form, -1 when it is not one so that
// validation names the field.
func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1
	}
	return n
}

func splitDomains(s string) []string {
	out := []string{}
	for _, d := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' }) {
		out = append(out, strings.ToLower(d))
	}
	return out
}

func (d *Dashboard) SettingsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.render(w, r, http.StatusOK, "settings", &view{Title: "Program settings", Nav: "settings", Program: p, Form: programForm(p)})
}

func programForm(p *referral.Program) url.Values {
	f := url.Values{"name": {p.Name}, "website_url": {p.WebsiteURL}, "currency": {p.Currency},
		"referral_param": {p.RefParam}, "cookie_days": {strconv.Itoa(p.CookieDays)}, "attribution": {p.Attribution},
		"allowed_domains": {strings.Join(p.AllowedDomains, ", ")}}
	if p.RequireApproval {
		f.Set("require_approval", "on")
	}
	if p.RequireHash {
		f.Set("require_hash", "on")
	}
	if p.NewCustomersOnly {
		f.Set("new_customers_only", "on")
	}
	if p.ShowLeaderboard {
		f.Set("show_leaderboard", "on")
	}
	return f
}

// SettingsSave changes a program's basic settings. The currency is fixed:
// balances and rewards are kept in it.
func (d *Dashboard) SettingsSave(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	old := *p
	p.Name = strings.TrimSpace(f.Get("name"))
	p.WebsiteURL = strings.TrimSpace(f.Get("website_url"))
	p.RefParam = strings.TrimSpace(f.Get("referral_param"))
	p.CookieDays = atoi(f.Get("cookie_days"))
	p.Attribution = f.Get("attribution")
	p.AllowedDomains = splitDomains(f.Get("allowed_domains"))
	p.RequireApproval = f.Get("require_approval") == "on"
	p.RequireHash = f.Get("require_hash") == "on"
	p.NewCustomersOnly = f.Get("new_customers_only") == "on"
	p.ShowLeaderboard = f.Get("show_leaderboard") == "on"
	_, err := d.DB.UpdateProgram(r.Context(), *p)
	if errs := clientErrors(err); errs != nil {
		f.Set("currency", old.Currency)
		d.render(w, r, http.StatusUnprocessableEntity, "settings", &view{Title: "Program settings", Nav: "settings", Program: &old, Form: f, Errors: errs})
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.OnLinksChanged() // the website or parameter may have changed every default link
	d.redirect(w, r, "/dashboard/p/"+p.ID+"/settings", "Settings saved.")
}
