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

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// emailState is what the Emails page can change, read from the store.
type emailState struct {
	Sender, ReplyTo, Color string
	Templates              []email.Template
}

func (e *env) emailState(t *testing.T) emailState {
	t.Helper()
	s, err := e.db.EmailSettings(context.Background(), e.program.ID)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := e.db.EmailTemplates(context.Background(), e.program.ID)
	if err != nil {
		t.Fatal(err)
	}
	return emailState{Sender: s.SenderName, ReplyTo: s.ReplyTo, Color: s.BrandColor, Templates: ts}
}

// TestEmailsViewer: a viewer sees the Emails page and every editor, with
// nothing to change, and each change posted anyway is a 403 that changes
// nothing.
func TestEmailsViewer(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		v := e.asViewer(t)
		p := v.get(e.path("emails")).want(t, http.StatusOK)
		p.has(t, "A friend signed up", `aria-current="page">Emails</a>`, "<fieldset disabled")
		if strings.Contains(p.Body, "Switch off") || strings.Contains(p.Body, "Save sender") {
			t.Errorf("a viewer is offered changes: %s", p.text())
		}
		for _, k := range email.Kinds {
			p := v.get(e.path("emails/"+k.Name)).want(t, http.StatusOK)
			p.has(t, html.EscapeString(k.Subject))
			if strings.Contains(p.Body, "Reset to default") {
				t.Errorf("%s: a viewer is offered a reset", k.Name)
			}
		}
		before := e.emailState(t)
		fp := storetest.Fingerprint(t, e.db)
		for _, path := range []string{"emails/settings", "emails/reward_earned", "emails/reward_earned/preview",
			"emails/reward_earned/reset", "emails/reward_earned/disable", "emails/reward_earned/enable"} {
			v.post(e.path(path), url.Values{"sender_name": {"Evil"}, "brand_color": {"#000000"}, "subject": {"Hi"}, "body": {"Hi"}}).
				want(t, http.StatusForbidden)
		}
		if d := cmp.Diff(before, e.emailState(t)); d != "" {
			t.Errorf("a viewer changed the emails: %s", d)
		}
		if d := cmp.Diff(fp, storetest.Fingerprint(t, e.db)); d != "" {
			t.Errorf("refused posts wrote rows: %s", d)
		}
	})
}

// TestEmailSettingsForm: an owner saves the sender settings; a bad colour
// or reply-to is shown at its field, as typed, and nothing is saved.
func TestEmailSettingsForm(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		o := e.asOwner(t)
		o.get(e.path("emails")).want(t, http.StatusOK).has(t, `type="color"`, `Save sender`)
		good := url.Values{"sender_name": {"Acme Team"}, "reply_to": {"Help@Acme.example"}, "brand_color": {"#1A73E8"}}
		p := o.follow(o.post(e.path("emails/settings"), good).want(t, http.StatusSeeOther))
		if p.flash() != "Email settings saved." {
			t.Errorf("flash %q", p.flash())
		}
		p.has(t, `value="Acme Team"`, `value="#1A73E8"`)
		got := e.emailState(t)
		if got.Sender != "Acme Team" || !strings.EqualFold(got.ReplyTo, "help@acme.example") || got.Color != "#1A73E8" {
			t.Fatalf("saved %+v", got)
		}
		before := e.emailState(t)
		for _, c := range []struct{ field, value, want string }{
			{"brand_color", "blue", "Brand colour must be a hex colour"},
			{"brand_color", "#12345", "Brand colour must be a hex colour"},
			{"reply_to", "not an address", ""},
			{"sender_name", `"Acme" <x>`, "Sender name must be"},
		} {
			t.Run(c.field+"="+c.value, func(t *testing.T) {
				f := url.Values{"sender_name": {"Changed"}, "reply_to": {"ok@acme.example"}, "brand_color": {"#000000"}}
				f.Set(c.field, c.value)
				p := o.post(e.path("emails/settings"), f).want(t, http.StatusUnprocessableEntity)
				msg := p.fieldError(c.field)
				if msg == "" || !strings.Contains(msg, c.want) {
					t.Errorf("error at %s: %q, want %q: %s", c.field, msg, c.want, p.text())
				}
				p.has(t, `value="`+html.EscapeString(c.value)+`"`)
				if d := cmp.Diff(before, e.emailState(t)); d != "" {
					t.Errorf("a refused form changed the settings: %s", d)
				}
			})
		}
	})
}

// TestEmailTemplateForm: an unknown placeholder is refused at its field
// with the message, keeping the text typed and saving nothing; a good
// template is saved; the preview renders the text posted with example
// values, escaped, in a sandboxed frame, without saving; a reset brings
// the default back.
func TestEmailTemplateForm(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		o := e.asOwner(t)
		kind := email.RewardEarned
		path := e.path("emails/" + kind)
		o.get(path).want(t, http.StatusOK).has(t, "{{reward_amount}}", "Reset to default", `data-confirm=`)
		before := e.emailState(t)

		bad := url.Values{"subject": {"You got {{coupon}}"}, "body": {"Hello {{customer_first_name}}"}}
		p := o.post(path, bad).want(t, http.StatusUnprocessableEntity)
		if msg := p.fieldError("subject"); !strings.Contains(msg, "Unknown placeholder {{coupon}}") {
			t.Errorf("subject error %q: %s", msg, p.text())
		}
		p.has(t, `value="You got {{coupon}}"`, ">Hello {{customer_first_name}}</textarea>")
		if d := cmp.Diff(before, e.emailState(t)); d != "" {
			t.Errorf("a refused template was saved: %s", d)
		}

		t.Log("preview: the posted text with example values, escaped, in a sandboxed frame; nothing saved")
		evil := url.Values{"subject": {"<script>alert(1)</script> {{reward_amount}} for {{customer_first_name}}"},
			"body": {"Hi {{customer_first_name}}, <script>alert(2)</script><img src=x onerror=alert(3)>\n\n{{referral_link}}"}}
		p = o.post(path+"/preview", evil).want(t, http.StatusOK)
		if d := cmp.Diff(before, e.emailState(t)); d != "" {
			t.Errorf("a preview saved: %s", d)
		}
		for _, raw := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(p.Body, raw) {
				t.Errorf("the preview page holds %q unescaped", raw)
			}
		}
		frame := regexp.MustCompile(`<iframe [^>]*>`).FindString(p.Body)
		if !strings.Contains(frame, ` sandbox="allow-same-origin" `) || strings.Contains(frame, "allow-scripts") {
			t.Errorf("preview frame %s: want sandbox without allow-scripts", frame)
		}
		src := html.UnescapeString(regexp.MustCompile(`src="([^"]*)"`).FindStringSubmatch(frame)[1])
		if !strings.HasPrefix(src, path+"/preview.html?") {
			t.Fatalf("preview frame src %q", src)
		}
		dp := o.get(src).want(t, http.StatusOK)
		doc := dp.Body
		if csp := dp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'unsafe-inline';") || strings.Contains(csp, "script") {
			t.Errorf("preview document CSP %q", csp)
		}
		if xfo := dp.Header.Get("X-Frame-Options"); xfo != "SAMEORIGIN" {
			t.Errorf("preview document X-Frame-Options %q", xfo)
		}
		for _, want := range []string{"Hi Jane, &lt;script&gt;alert(2)&lt;/script&gt;&lt;img src=x", "https://acme.example/?ref=JANE20", "Acme Rewards"} {
			if !strings.Contains(doc, want) {
				t.Errorf("the frame's document lacks %q: %s", want, doc)
			}
		}
		if d := cmp.Diff(before, e.emailState(t)); d != "" {
			t.Errorf("the preview document saved: %s", d)
		}
		if dp := o.get(path+"/preview.html?"+bad.Encode()).want(t, http.StatusUnprocessableEntity); !strings.Contains(dp.Body, "{{coupon}}") {
			t.Errorf("a preview document of an unknown placeholder: %s", dp.Body)
		}
		// Without text, the document previews the saved template; viewers
		// may look at it.
		if dp := e.asViewer(t).get(path+"/preview.html").want(t, http.StatusOK); !strings.Contains(dp.Body, "Sam Lee") {
			t.Errorf("the saved template's preview document: %s", dp.Body)
		}
		if strings.Contains(doc, "<script") || strings.Contains(doc, "<img") {
			t.Errorf("the frame's document runs markup from the text: %s", doc)
		}
		subject := regexp.MustCompile(`<dd id="preview-subject">([^<]*)</dd>`).FindStringSubmatch(p.Body)
		if subject == nil || html.UnescapeString(subject[1]) != "<script>alert(1)</script> $20.00 for Jane" {
			t.Errorf("preview subject %q", subject)
		}
		p.has(t, `<pre class="code" id="preview-text">Hi Jane, &lt;script&gt;alert(2)&lt;/script&gt;`)
		if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("preview page CSP %q", csp)
		}
		if p := o.post(path+"/preview", bad).want(t, http.StatusUnprocessableEntity); !strings.Contains(p.fieldError("subject"), "{{coupon}}") {
			t.Errorf("a preview of an unknown placeholder: %s", p.text())
		}

		t.Log("save, then reset")
		good := url.Values{"subject": {"{{reward_amount}} for you"}, "body": {"Thanks, {{customer_first_name}}!"}}
		p = o.follow(o.post(path, good).want(t, http.StatusSeeOther))
		p.has(t, `value="{{reward_amount}} for you"`, ">Thanks, {{customer_first_name}}!</textarea>", "Edited")
		tpl, err := e.db.EmailTemplate(context.Background(), e.program.ID, kind)
		if err != nil || tpl.Subject != "{{reward_amount}} for you" || tpl.Body != "Thanks, {{customer_first_name}}!" || !tpl.Enabled {
			t.Fatalf("saved %+v, %v", tpl, err)
		}
		p = o.follow(o.post(path+"/reset", nil).want(t, http.StatusSeeOther))
		if tpl, _ := e.db.EmailTemplate(context.Background(), e.program.ID, kind); tpl != email.Default(kind) {
			t.Errorf("after reset %+v", tpl)
		}
		p.has(t, html.EscapeString(email.Default(kind).Subject))
		o.post(e.path("emails/no_such_kind/reset"), nil).want(t, http.StatusNotFound)
		o.get(e.path("emails/no_such_kind")).want(t, http.StatusNotFound)
	})
}

// TestEmailToggle: switching a kind off makes it disabled in the store
// (keeping its text), and on again.
func TestEmailToggle(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		o := e.asOwner(t)
		kind := email.FriendDiscount
		o.post(e.path("emails/"+kind), url.Values{"subject": {"Code {{discount_code}}"}, "body": {"Yours: {{discount_code}}"}}).want(t, http.StatusSeeOther)
		p := o.follow(o.post(e.path("emails/"+kind+"/disable"), nil).want(t, http.StatusSeeOther))
		tpl, _ := e.db.EmailTemplate(context.Background(), e.program.ID, kind)
		if tpl.Enabled || tpl.Subject != "Code {{discount_code}}" {
			t.Errorf("after switching off: %+v", tpl)
		}
		row := regexp.MustCompile(`(?s)<tr id="kind-` + kind + `">.*?</tr>`).FindString(p.Body)
		if !strings.Contains(row, ">Off<") || !strings.Contains(row, "Switch on") {
			t.Errorf("row after switching off: %s", row)
		}
		// Another kind, never saved, switches off without a saved text.
		o.post(e.path("emails/"+email.FriendSignedUp+"/disable"), nil).want(t, http.StatusSeeOther)
		if tpl, _ := e.db.EmailTemplate(context.Background(), e.program.ID, email.FriendSignedUp); tpl.Enabled || tpl.Subject != email.Default(email.FriendSignedUp).Subject {
			t.Errorf("a default kind after switching off: %+v", tpl)
		}
		o.post(e.path("emails/"+kind+"/enable"), nil).want(t, http.StatusSeeOther)
		if tpl, _ := e.db.EmailTemplate(context.Background(), e.program.ID, kind); !tpl.Enabled || tpl.Subject != "Code {{discount_code}}" {
			t.Errorf("after switching on: %+v", tpl)
		}
		o.post(e.path("emails/nope/disable"), nil).want(t, http.StatusNotFound)
	})
}

// TestEmailsSMTPNotice: without SMTP the page says how to turn email on;
// with it, it names the sender instead.
func TestEmailsSMTPNotice(t *testing.T) {
	t.Parallel()
	const notice = "Emails are not sent: start Advocate with --smtp-url and --email-from (ADVOCATE_SMTP_URL, ADVOCATE_EMAIL_FROM)"
	t.Run("off", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			e := newEnv(t, db)
			p := e.asOwner(t).get(e.path("emails")).want(t, http.StatusOK)
			// The page sets the flags as code, so text() spaces them out.
			squeeze := strings.NewReplacer(" ", "")
			if !strings.Contains(squeeze.Replace(p.text()), squeeze.Replace(notice)) || !strings.Contains(p.Body, "docs/email.md") {
				t.Errorf("SMTP off: %s", p.text())
			}
			p.has(t, "Save sender") // still usable
		})
	})
	t.Run("on", func(t *testing.T) {
		storetest.Each(t, func(t *testing.T, db *store.DB) {
			e := newEnv(t, db, func(c *dashboard.Config) { c.EmailEnabled, c.EmailFrom = true, "Acme <rewards@acme.example>" })
			p := e.asOwner(t).get(e.path("emails")).want(t, http.StatusOK)
			if strings.Contains(p.text(), "Emails are not sent") {
				t.Errorf("SMTP on: %s", p.text())
			}
			p.has(t, "Acme &lt;rewards@acme.example&gt;")
		})
	})
}

// TestCustomerEmailOptOut: the customer page shows whether the customer
// gets emails; an owner's toggle changes it as the API does, writing
// customer.updated; a viewer's is refused.
func TestCustomerEmailOptOut(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.customer("jane", "Jane Doe", "")
		o := e.asOwner(t)
		path := e.path("customers/jane")
		o.get(path).want(t, http.StatusOK).has(t, "Subscribed", `name="email_opt_out" value="true"`)
		e.asViewer(t).post(path+"/email_opt_out", url.Values{"email_opt_out": {"true"}}).want(t, http.StatusForbidden)
		o.post(path+"/email_opt_out", url.Values{"email_opt_out": {"maybe"}}).want(t, http.StatusBadRequest)
		o.post(e.path("customers/nobody/email_opt_out"), url.Values{"email_opt_out": {"true"}}).want(t, http.StatusNotFound)
		events := func() []string {
			evs, err := e.db.Events(context.Background(), e.program.ID, "", 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, ev := range evs {
				out = append(out, ev.Type)
			}
			return out
		}
		n := len(events())
		p := o.follow(o.post(path+"/email_opt_out", url.Values{"email_opt_out": {"true"}}).want(t, http.StatusSeeOther))
		got, _ := e.db.Customer(context.Background(), e.program.ID, "jane")
		if !got.EmailOptOut {
			t.Fatal("not opted out")
		}
		if evs := events(); len(evs) != n+1 || evs[n] != "customer.updated" {
			t.Errorf("events after opting out: %v", evs[n:])
		}
		p.has(t, "Unsubscribed", `name="email_opt_out" value="false"`)
		o.post(path+"/email_opt_out", url.Values{"email_opt_out": {"false"}}).want(t, http.StatusSeeOther)
		if got, _ := e.db.Customer(context.Background(), e.program.ID, c.Key); got.EmailOptOut {
			t.Error("still opted out")
		}
	})
}
