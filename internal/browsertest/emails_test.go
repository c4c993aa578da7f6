package browsertest

import (
	"encoding/json"
	"strings"
	"testing"

	mail "github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestDashboardEmailTemplate: an owner edits an email's text, previews it
// with the example values, saves it, finds it after a reload, and resets
// it to the default (confirming, as the button asks).
func TestDashboardEmailTemplate(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.admin("owner@acme.example", store.RoleOwner)
	p, _, _ := storetest.Program(t, s.db, "Acme Rewards", "USD", "https://shop.acme.example")
	// Confirmations are answered yes, and remembered across the navigation.
	b := newTab(t, `window.confirm = function (m) { sessionStorage.setItem('confirmed', m); return true; };`)

	b.open(s.url + "/dashboard/login")
	b.fill("#email", "owner@acme.example", "#password", adminPassword)
	b.submit(`form[action="/dashboard/login"] button[type=submit]`, `!location.pathname.startsWith('/dashboard/login')`)
	b.open(s.url + "/dashboard/p/" + p.ID + "/emails")
	if text := b.text(); !strings.Contains(text, "Emails are not sent") || !strings.Contains(text, "A reward was earned") {
		t.Fatalf("emails page: %s", text)
	}
	b.submit(`#kind-reward_earned a.btn`, `location.pathname.endsWith('/emails/reward_earned')`)

	t.Log("preview: the text typed, with the example values, in the brand")
	subject, body := "{{customer_first_name}}, {{reward_amount}} is yours", "Hello {{customer_first_name}}!\n\nShare: {{referral_link}}"
	b.fill("#subject", subject, "#body", body)
	b.submit(`#preview-btn`, `!!document.getElementById('preview')`)
	if got := eval[string](b, `document.getElementById('preview-subject').textContent`); got != "Jane, $20.00 is yours" {
		t.Errorf("preview subject %q", got)
	}
	if got := eval[string](b, `document.getElementById('preview-text').textContent`); !strings.HasPrefix(got, "Hello Jane!\n\nShare: https://acme.example/?ref=JANE20") {
		t.Errorf("preview text %q", got)
	}
	// The frame is the dashboard's own origin, sandboxed without scripts:
	// its document is the email, drawn (the test reads what it shows).
	b.poll(`(d => d && d.readyState === 'complete' && d.body && d.body.innerText.includes('Hello Jane!'))(document.getElementById('preview-html').contentDocument)`)
	frame := eval[map[string]string](b, `(f => ({sandbox: f.getAttribute('sandbox'), text: f.contentDocument.body.innerText}))(document.getElementById('preview-html'))`)
	if frame["sandbox"] != "allow-same-origin" || !strings.Contains(frame["text"], "Acme Rewards") || !strings.Contains(frame["text"], "Share: https://acme.example/?ref=JANE20") {
		t.Errorf("preview frame: sandbox %q, text %.300q", frame["sandbox"], frame["text"])
	}
	if got := eval[[2]string](b, `[document.getElementById('subject').value, document.getElementById('body').value]`); got != [2]string{subject, body} {
		t.Errorf("after the preview the form holds %q", got)
	}
	b.pageShot("email-preview")
	if tpl, _ := s.db.EmailTemplate(t.Context(), p.ID, mail.RewardEarned); tpl.Subject != mail.Default(mail.RewardEarned).Subject {
		t.Errorf("the preview saved %q", tpl.Subject)
	}

	t.Log("save, then reload")
	// The saved page previews what was saved.
	b.submit(`#save-btn`, `!!document.querySelector('.flash') && /As saved/.test(document.getElementById('preview').textContent)`)
	b.open(s.url + "/dashboard/p/" + p.ID + "/emails/reward_earned")
	if got := eval[[2]string](b, `[document.getElementById('subject').value, document.getElementById('body').value]`); got != [2]string{subject, body} {
		t.Errorf("after saving and reloading the form holds %q", got)
	}

	t.Log("reset to the default")
	def := mail.Default(mail.RewardEarned)
	quoted, _ := json.Marshal(def.Subject)
	b.submit(`#reset-btn`, `document.getElementById('subject').value === `+string(quoted))
	if got := eval[string](b, `sessionStorage.getItem('confirmed') || ''`); !strings.Contains(got, "default text") {
		t.Errorf("reset confirmation %q", got)
	}
	if got := eval[string](b, `document.getElementById('body').value`); got != def.Body {
		t.Errorf("body after reset %q", got)
	}
	if tpl, _ := s.db.EmailTemplate(t.Context(), p.ID, mail.RewardEarned); tpl != def {
		t.Errorf("stored after reset %+v", tpl)
	}
	b.noExceptions()
}
