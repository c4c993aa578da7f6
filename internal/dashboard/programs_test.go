package dashboard_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// guidedForm is the guided flow filled in completely and correctly: give
// the referrer EUR 10 credit and the friend 20% off on their first
// purchase, held 14 days and approved by hand.
func guidedForm() url.Values {
	return url.Values{
		"name": {"Spring referrals"}, "website_url": {"https://shop.example.org"}, "currency": {"EUR"},
		"referral_param": {"via"}, "cookie_days": {"45"}, "attribution": {"last_click"},
		"allowed_domains":  {"app.example.org, Checkout.example.org"},
		"referrer_enabled": {"on"}, "referrer_type": {"credit"}, "referrer_unit": {"fixed"}, "referrer_amount": {"10"},
		"friend_enabled": {"on"}, "friend_type": {"discount"}, "friend_unit": {"percentage"}, "friend_amount": {"20"},
		"trigger": {"purchase"}, "recurrence": {"first"}, "holding_days": {"14"}, "require_approval": {"on"},
	}
}

func TestProgramCreate(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		page := c.get("/dashboard/programs/new").want(t, http.StatusOK)
		if !strings.Contains(page.Body, `action="/dashboard/programs"`) || !strings.Contains(page.Body, `name="referrer_amount"`) {
			t.Fatalf("no guided form: %s", page.text())
		}

		p := c.post("/dashboard/programs", guidedForm()).want(t, http.StatusSeeOther)
		ps, err := e.db.Programs(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 {
			t.Fatalf("%d programs after creating one, want 2", len(ps))
		}
		got := ps[slices.IndexFunc(ps, func(p *referral.Program) bool { return p.ID != e.program.ID })]
		if want := "/dashboard/p/" + got.ID + "/developers"; p.Location != want {
			t.Errorf("created, then sent to %q, want %q", p.Location, want)
		}
		if f := c.follow(p).want(t, http.StatusOK).flash(); !strings.HasPrefix(f, "Program created.") {
			t.Errorf("flash %q", f)
		}
		want := &referral.Program{Name: "Spring referrals", Currency: "EUR", WebsiteURL: "https://shop.example.org",
			AllowedDomains: []string{"app.example.org", "checkout.example.org"}, RefParam: "via", CookieDays: 45,
			Attribution: referral.LastClick, RequireHash: true, RequireApproval: true, NewCustomersOnly: true}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(referral.Program{}, "ID", "WidgetSecret", "CreatedAt", "UpdatedAt")); diff != "" {
			t.Errorf("program (-want +got):\n%s", diff)
		}
		if len(got.WidgetSecret) < 32 {
			t.Errorf("widget secret %q", got.WidgetSecret)
		}

		keys, err := e.db.APIKeys(t.Context(), got.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, k := range keys {
			if k.RevokedAt == nil {
				kinds = append(kinds, k.Kind)
			}
		}
		slices.Sort(kinds)
		if !slices.Equal(kinds, []string{referral.PublishableKey, referral.SecretKey}) {
			t.Errorf("keys %v, want one publishable and one secret", kinds)
		}

		rules, err := e.db.Rules(t.Context(), got.ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(rules, func(a, b *rewards.Rule) int { return strings.Compare(a.Recipient, b.Recipient) })
		wantRules := []*rewards.Rule{
			{Trigger: rewards.Purchase, Recipient: rewards.Friend, RewardType: rewards.Discount, Unit: rewards.Percentage,
				Amount: 2000, Recurrence: rewards.First, HoldingDays: 14, Active: true},
			{Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit, Unit: rewards.Fixed,
				Amount: 1000, Currency: "EUR", Recurrence: rewards.First, HoldingDays: 14, Active: true},
		}
		if diff := cmp.Diff(wantRules, rules, cmpopts.IgnoreFields(rewards.Rule{}, "ID", "ProgramID", "CreatedAt", "UpdatedAt")); diff != "" {
			t.Errorf("rules (-want +got):\n%s", diff)
		}
		for _, r := range rules {
			if r.ProgramID != got.ID {
				t.Errorf("rule %s belongs to %s, want %s", r.ID, r.ProgramID, got.ID)
			}
		}

		// Several programs: the switcher lists both and opens either.
		overview := c.get("/dashboard/p/"+got.ID+"/").want(t, http.StatusOK)
		overview.has(t, `<option value="`+got.ID+`" selected>Spring referrals</option>`, `<option value="`+e.program.ID+`">Acme Rewards</option>`)
		if sw := c.get("/dashboard/switch?pid="+e.program.ID).want(t, http.StatusSeeOther); sw.Location != e.path("") {
			t.Errorf("switch went to %q", sw.Location)
		}
	})
}

// Invalid settings re-render the guided flow with 422, every bad field
// named next to its input, the values kept, and nothing created.
func TestProgramCreateInvalid(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		type fieldErr struct{ field, message string }
		tests := []struct {
			name   string
			change map[string]string // "" deletes the field
			want   []fieldErr
		}{
			{"no name", map[string]string{"name": "  "}, []fieldErr{{"name", "Name must be 1 to 200 characters."}}},
			{"name too long", map[string]string{"name": strings.Repeat("n", 201)}, []fieldErr{{"name", "Name must be 1 to 200 characters."}}},
			{"website without scheme", map[string]string{"website_url": "shop.example.org"},
				[]fieldErr{{"website_url", "Website URL must be an absolute http(s) URL such as https://example.com."}}},
			{"javascript website", map[string]string{"website_url": "javascript:alert(1)"},
				[]fieldErr{{"website_url", "Website URL must be an absolute http(s) URL such as https://example.com."}}},
			{"unknown currency", map[string]string{"currency": "EURO"}, []fieldErr{{"currency", "Currency must be an ISO 4217 code such as USD."}}},
			{"no-currency code", map[string]string{"currency": "XXX"}, []fieldErr{{"currency", "Currency must be an ISO 4217 code such as USD."}}},
			{"parameter with a space", map[string]string{"referral_param": "r f"},
				[]fieldErr{{"referral_param", "The referral parameter must be 1 to 32 letters, digits, '-' or '_'."}}},
			{"cookie days not a number", map[string]string{"cookie_days": "a month"}, []fieldErr{{"cookie_days", "The cookie window must be 1 to 365 days."}}},
			{"cookie days 0", map[string]string{"cookie_days": "0"}, []fieldErr{{"cookie_days", "The cookie window must be 1 to 365 days."}}},
			{"cookie days 366", map[string]string{"cookie_days": "366"}, []fieldErr{{"cookie_days", "The cookie window must be 1 to 365 days."}}},
			{"attribution", map[string]string{"attribution": "sometimes"}, []fieldErr{{"attribution", "Attribution must be first_click or last_click."}}},
			{"bad domain", map[string]string{"allowed_domains": "app.example.org, bad_domain!"},
				[]fieldErr{{"allowed_domains", "Allowed domains must be host names such as app.example.com."}}},
			{"amount not a number", map[string]string{"referrer_amount": "ten"}, []fieldErr{{"referrer_amount", "The amount must be a number."}}},
			{"amount too precise", map[string]string{"referrer_amount": "10.001"}, []fieldErr{{"referrer_amount", "The amount has more decimals than the currency has."}}},
			{"negative amount", map[string]string{"referrer_amount": "-5"}, []fieldErr{{"referrer_amount", "The amount must be more than 0."}}},
			{"no amount", map[string]string{"referrer_amount": ""}, []fieldErr{{"referrer_amount", "Amount is required and must be more than 0."}}},
			{"percentage over 100", map[string]string{"friend_amount": "150"}, []fieldErr{{"friend_amount", "A percentage must be more than 0 and at most 100."}}},
			{"percentage too precise", map[string]string{"friend_amount": "12.345"}, []fieldErr{{"friend_amount", "A percentage may have at most 2 decimals."}}},
			{"percentage credit on signup", map[string]string{"trigger": "signup", "friend_type": "credit"},
				[]fieldErr{{"friend_unit", "A signup has no amount to take a percentage of; use a fixed amount, or a percent-off discount."}}},
			{"signup every time", map[string]string{"trigger": "signup", "friend_unit": "fixed", "recurrence": "every"},
				[]fieldErr{{"recurrence", "A friend signs up once; signup rules fire once."}}},
			{"no trigger", map[string]string{"trigger": ""}, []fieldErr{{"trigger", "Trigger must be signup, purchase, subscription or milestone."}}},
			{"unknown reward type", map[string]string{"referrer_type": "gift"}, []fieldErr{{"referrer_reward_type", "Reward type must be credit, discount or cash."}}},
			{"unknown unit", map[string]string{"referrer_unit": "half"}, []fieldErr{{"referrer_unit", "Unit must be fixed or percentage."}}},
			{"max count below 1", map[string]string{"recurrence": "every", "max_count": "-1"}, []fieldErr{{"max_count", "max_count must be 1 to 1000."}}},
			{"holding too long", map[string]string{"holding_days": "400"}, []fieldErr{{"holding_days", "holding_days must be 0 to 365."}}},
			{"holding not a number", map[string]string{"holding_days": "soon"}, []fieldErr{{"holding_days", "holding_days must be 0 to 365."}}},
			{"friend's reward only, holding too long", map[string]string{"referrer_enabled": "", "holding_days": "400"},
				[]fieldErr{{"holding_days", "holding_days must be 0 to 365."}}},
			{"several at once", map[string]string{"name": "", "cookie_days": "0", "referrer_amount": "ten", "friend_amount": "0"},
				[]fieldErr{{"name", "Name must be 1 to 200 characters."}, {"cookie_days", "The cookie window must be 1 to 365 days."},
					{"referrer_amount", "The amount must be a number."}, {"friend_amount", "A percentage must be more than 0 and at most 100."}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				form := guidedForm()
				for k, v := range tt.change {
					if v == "" {
						form.Del(k)
					} else {
						form.Set(k, v)
					}
				}
				p := c.post("/dashboard/programs", form).want(t, http.StatusUnprocessableEntity)
				for _, w := range tt.want {
					if got := p.fieldError(w.field); got != w.message {
						t.Errorf("error next to %s = %q, want %q", w.field, got, w.message)
					}
					if !strings.Contains(p.Body, `aria-describedby="`+w.field+`_err"`) {
						t.Errorf("no input points at the error of %s (aria-describedby)", w.field)
					}
				}
				if !strings.Contains(p.text(), "Some fields need your attention") {
					t.Errorf("no summary of the errors at the top: %s", p.text())
				}
				// What was typed is kept.
				if v := form.Get("website_url"); !strings.Contains(p.Body, `value="`+htmlAttr(v)+`"`) {
					t.Errorf("website_url %q was not kept in the form", v)
				}
				e.wantPrograms(t, 1)
			})
		}
		t.Run("no reward at all", func(t *testing.T) {
			form := guidedForm()
			form.Del("referrer_enabled")
			form.Del("friend_enabled")
			p := c.post("/dashboard/programs", form).want(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.text(), "Choose at least one reward") {
				t.Errorf("page says %q", p.text())
			}
			e.wantPrograms(t, 1)
		})
	})
}

func (e *env) wantPrograms(t *testing.T, n int) {
	t.Helper()
	ps, err := e.db.Programs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != n {
		t.Errorf("%d programs, want %d", len(ps), n)
	}
}

// htmlAttr escapes s as html/template writes an attribute value.
func htmlAttr(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "+", "&#43;").Replace(s)
}

func settingsForm() url.Values {
	return url.Values{"name": {"Acme Friends"}, "website_url": {"https://www.acme.example/welcome"}, "referral_param": {"invite"},
		"cookie_days": {"60"}, "attribution": {"last_click"}, "allowed_domains": {"app.acme.example"},
		"require_approval": {"on"}, "show_leaderboard": {"on"}, "currency": {"EUR"}}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		page := c.get(e.path("settings")).want(t, http.StatusOK)
		page.has(t, `value="Acme Rewards"`, `value="https://acme.example"`, `value="USD" disabled`, `name="require_hash" checked`,
			`name="new_customers_only" checked`, `name="show_leaderboard" >`)

		jane := e.customer("jane", "Jane Doe", "")
		short := func() string {
			t.Helper()
			return e.client().get("/r/"+jane.ReferralCode).want(t, http.StatusFound).Location
		}
		if got := short(); !strings.HasPrefix(got, "https://acme.example") {
			t.Fatalf("short link goes to %q", got)
		}

		p := c.post(e.path("settings"), settingsForm()).want(t, http.StatusSeeOther)
		if f := c.follow(p).want(t, http.StatusOK).flash(); f != "Settings saved." {
			t.Errorf("flash %q", f)
		}
		got, err := e.db.Program(t.Context(), e.program.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *e.program
		want.Name, want.WebsiteURL, want.RefParam, want.CookieDays = "Acme Friends", "https://www.acme.example/welcome", "invite", 60
		want.Attribution, want.AllowedDomains, want.RequireApproval, want.RequireHash = referral.LastClick, []string{"app.acme.example"}, true, false
		want.NewCustomersOnly = false // its box is not ticked in the form
		want.ShowLeaderboard = true
		if diff := cmp.Diff(&want, got, cmpopts.IgnoreFields(referral.Program{}, "CreatedAt", "UpdatedAt")); diff != "" {
			t.Errorf("program after saving settings (-want +got); the currency must not change:\n%s", diff)
		}
		c.get(e.path("settings")).want(t, http.StatusOK).has(t, `name="show_leaderboard" checked`)
		off := settingsForm()
		off.Del("show_leaderboard")
		c.post(e.path("settings"), off).want(t, http.StatusSeeOther)
		if got, err := e.db.Program(t.Context(), e.program.ID); err != nil || got.ShowLeaderboard {
			t.Errorf("show_leaderboard after saving without its box: %v (%v), want off", got.ShowLeaderboard, err)
		}
		// Short links follow the new website at once: the API forgot the
		// links it had cached.
		if got, want := short(), "https://www.acme.example/welcome?invite="+jane.ReferralCode; got != want {
			t.Errorf("short link goes to %q after the website changed, want %q", got, want)
		}
	})
}

func TestSettingsInvalid(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		tests := []struct{ name, field, value, message string }{
			{"no name", "name", "", "Name must be 1 to 200 characters."},
			{"bad website", "website_url", "ftp://acme.example", "Website URL must be an absolute http(s) URL such as https://example.com."},
			{"bad parameter", "referral_param", "ref=1", "The referral parameter must be 1 to 32 letters, digits, '-' or '_'."},
			{"cookie days", "cookie_days", "forever", "The cookie window must be 1 to 365 days."},
			{"attribution", "attribution", "random", "Attribution must be first_click or last_click."},
			{"bad domain", "allowed_domains", "*.acme.example", "Allowed domains must be host names such as app.example.com."},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				form := settingsForm()
				form.Set(tt.field, tt.value)
				p := c.post(e.path("settings"), form).want(t, http.StatusUnprocessableEntity)
				if got := p.fieldError(tt.field); got != tt.message {
					t.Errorf("error next to %s = %q, want %q", tt.field, got, tt.message)
				}
				if !strings.Contains(p.Body, `aria-describedby="`+tt.field+`_err"`) {
					t.Errorf("no input points at the error of %s (aria-describedby)", tt.field)
				}
				p.has(t, `value="USD" disabled`) // the program's currency, not the posted one
				got, err := e.db.Program(t.Context(), e.program.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(e.program, got, cmpopts.IgnoreFields(referral.Program{}, "CreatedAt", "UpdatedAt")); diff != "" {
					t.Errorf("an invalid form changed the program (-before +after):\n%s", diff)
				}
			})
		}
	})
}

// HTML in names is shown as text everywhere, never run.
func TestProgramNameEscaped(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		const evil = `<img src=x onerror=alert(1)> & "Friends"`
		form := guidedForm()
		form.Set("name", evil)
		c.post("/dashboard/programs", form).want(t, http.StatusSeeOther)
		for _, path := range []string{"/dashboard/programs", e.path(""), e.path("settings"), e.path("developers"), "/dashboard/team"} {
			t.Run(path, func(t *testing.T) {
				p := c.get(path).want(t, http.StatusOK)
				if strings.Contains(p.Body, "<img src=x") {
					t.Errorf("the program name's HTML reached the page unescaped")
				}
				if !strings.Contains(p.Body, "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;Friends&#34;") {
					t.Errorf("the escaped name is missing")
				}
			})
		}
	})
}
