package email_test

import (
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/referral"
)

// TestKinds: every kind is complete, and its default validates and renders
// with the examples (the dashboard's preview) without a placeholder left.
func TestKinds(t *testing.T) {
	want := []string{email.FriendSignedUp, email.RewardEarned, email.RewardAvailable, email.FriendDiscount, email.EndpointDisabled}
	if len(email.Kinds) != len(want) {
		t.Fatalf("%d kinds, want %d", len(email.Kinds), len(want))
	}
	for i, k := range email.Kinds {
		t.Run(k.Name, func(t *testing.T) {
			if k.Name != want[i] {
				t.Errorf("kind %d is %q, want %q", i, k.Name, want[i])
			}
			if got, ok := email.KindByName(k.Name); !ok || got.Name != k.Name {
				t.Errorf("KindByName(%q) = %q, %v", k.Name, got.Name, ok)
			}
			if k.Title == "" || k.Subject == "" || k.Body == "" {
				t.Errorf("kind has an empty title, subject or body: %+v", k)
			}
			if k.Audience != email.AudienceReferrer && k.Audience != email.AudienceFriend && k.Audience != email.AudienceAdmins {
				t.Errorf("audience %q", k.Audience)
			}
			seen := map[string]bool{}
			for _, p := range k.Placeholders {
				if seen[p.Name] || p.Description == "" || p.Example == "" {
					t.Errorf("placeholder %+v: duplicate or without description or example", p)
				}
				seen[p.Name] = true
			}
			for _, name := range placeholdersOf(k.Name) {
				if !seen[name] {
					t.Errorf("placeholder %s missing", name)
				}
			}
			d := email.Default(k.Name)
			if !d.Enabled || d.Kind != k.Name || d.Subject != k.Subject || d.Body != k.Body {
				t.Errorf("Default = %+v", d)
			}
			if err := d.Validate(); err != nil {
				t.Fatalf("default does not validate: %v", err)
			}
			ex := email.Examples(k.Name)
			c, err := email.Render(d, ex, email.Brand{ProgramName: ex["program_name"]}, "https://advocate.example/unsubscribe/tok")
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			for part, s := range map[string]string{"subject": c.Subject, "text": c.Text, "html": c.HTML} {
				if s == "" || strings.Contains(s, "{{") || strings.Contains(s, "}}") {
					t.Errorf("%s is empty or has a placeholder left:\n%s", part, s)
				}
			}
			if !strings.Contains(c.Text, ex["program_name"]) || !strings.Contains(c.HTML, "Acme Rewards") {
				t.Errorf("program name missing:\n%s\n%s", c.Text, c.HTML)
			}
			if link := ex["referral_link"]; link != "" && (!strings.Contains(c.Text, link) || !strings.Contains(c.HTML, `href="`+link+`"`)) {
				t.Errorf("referral link not in both parts:\n%s\n%s", c.Text, c.HTML)
			}
		})
	}
	if _, ok := email.KindByName("nope"); ok {
		t.Error("KindByName(nope) found a kind")
	}
	if email.Examples("nope") != nil {
		t.Error("Examples(nope) is not nil")
	}
}

// placeholdersOf lists the placeholders the issue asks each kind to have.
func placeholdersOf(kind string) []string {
	common := []string{"program_name", "customer_name", "customer_first_name", "referral_link", "referral_code"}
	switch kind {
	case email.FriendSignedUp:
		return append(common, "friend_name")
	case email.RewardEarned, email.RewardAvailable:
		return append(common, "friend_name", "reward_amount", "reward_description", "reward_status")
	case email.FriendDiscount:
		return append(common, "discount_code", "discount_description")
	default:
		return []string{"program_name", "endpoint_url", "disabled_reason", "dashboard_url"}
	}
}

// TestValidate: each bad template is a 422 naming its field and code.
func TestValidate(t *testing.T) {
	ok := email.Default(email.FriendSignedUp)
	tests := []struct {
		name          string
		change        func(*email.Template)
		field, code   string
		messageHas    string
		secondField   string // a second bad field, both named
		wantValidated bool
	}{
		{name: "default", change: func(*email.Template) {}, wantValidated: true},
		{name: "spaces in braces", change: func(t *email.Template) { t.Subject = "{{ friend_name }} joined" }, wantValidated: true},
		{name: "unknown in subject", change: func(t *email.Template) { t.Subject = "Hi {{first_name}}" },
			field: "subject", code: "unknown_placeholder", messageHas: "{{first_name}}"},
		{name: "unknown in body lists allowed", change: func(t *email.Template) { t.Body = "Your code: {{discount_code}}" },
			field: "body", code: "unknown_placeholder", messageHas: "{{friend_name}}"},
		{name: "kind's placeholder of another kind", change: func(t *email.Template) { t.Body = "{{endpoint_url}}" },
			field: "body", code: "unknown_placeholder", messageHas: "{{endpoint_url}}"},
		{name: "unclosed", change: func(t *email.Template) { t.Body = "Hi {{customer_name, welcome" },
			field: "body", code: "template_syntax", messageHas: `"{{" has no "}}"`},
		{name: "close alone", change: func(t *email.Template) { t.Subject = "Hi customer_name}}" },
			field: "subject", code: "template_syntax", messageHas: `"}}" has no "{{"`},
		{name: "empty braces", change: func(t *email.Template) { t.Body = "Hi {{}}" },
			field: "body", code: "template_syntax"},
		{name: "not a name", change: func(t *email.Template) { t.Body = "Hi {{Customer Name}}" },
			field: "body", code: "template_syntax", messageHas: "{{Customer Name}}"},
		{name: "nested", change: func(t *email.Template) { t.Body = "Hi {{a {{customer_name}}" },
			field: "body", code: "template_syntax"},
		{name: "subject required", change: func(t *email.Template) { t.Subject = "  " },
			field: "subject", code: "subject_required"},
		{name: "subject too long", change: func(t *email.Template) { t.Subject = strings.Repeat("é", 201) },
			field: "subject", code: "subject_too_long"},
		{name: "subject 200 is fine", change: func(t *email.Template) { t.Subject = strings.Repeat("é", 200) }, wantValidated: true},
		{name: "subject with CRLF (header injection)", change: func(t *email.Template) { t.Subject = "Hi\r\nBcc: victim@example.com" },
			field: "subject", code: "subject_too_long"},
		{name: "subject with LF", change: func(t *email.Template) { t.Subject = "Hi\nthere" },
			field: "subject", code: "subject_too_long"},
		{name: "body required", change: func(t *email.Template) { t.Body = "\n\n" },
			field: "body", code: "body_required"},
		{name: "body too long", change: func(t *email.Template) { t.Body = strings.Repeat("x", 10001) },
			field: "body", code: "body_too_long"},
		{name: "body NUL", change: func(t *email.Template) { t.Body = "a\x00b" },
			field: "body", code: "invalid_text"},
		{name: "subject invalid UTF-8", change: func(t *email.Template) { t.Subject = "a\xffb" },
			field: "subject", code: "invalid_text"},
		{name: "both fields", change: func(t *email.Template) { t.Subject = ""; t.Body = "{{nope}}" },
			field: "subject", code: "validation_failed", secondField: "body"},
		{name: "unknown kind", change: func(t *email.Template) { t.Kind = "newsletter" },
			field: "kind", code: "unknown_email_kind", messageHas: email.FriendSignedUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := ok
			tt.change(&tpl)
			err := tpl.Validate()
			if tt.wantValidated {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e, isErr := referral.AsError(err)
			if !isErr {
				t.Fatalf("Validate = %v, want a *referral.Error", err)
			}
			if e.Kind != referral.KindInvalid || e.Code != tt.code {
				t.Errorf("kind %v code %q, want KindInvalid %q", e.Kind, e.Code, tt.code)
			}
			msg, has := e.Fields[tt.field]
			if !has {
				t.Fatalf("fields %v do not name %q", e.Fields, tt.field)
			}
			if !strings.Contains(msg, tt.messageHas) {
				t.Errorf("message %q does not contain %q", msg, tt.messageHas)
			}
			if _, has := e.Fields[tt.secondField]; tt.secondField != "" && !has {
				t.Errorf("fields %v do not name %q", e.Fields, tt.secondField)
			}
			// Render refuses what Validate refuses.
			if _, err := email.Render(tpl, email.Examples(email.FriendSignedUp), email.Brand{}, ""); err == nil {
				t.Error("Render accepted the template")
			}
		})
	}
}

// TestRenderEscapes: a name holding HTML is escaped in the HTML part and
// verbatim in the text part; no value makes the subject two lines.
func TestRenderEscapes(t *testing.T) {
	const evil = `<script>alert(1)</script> & "Bob"`
	v := email.Examples(email.FriendSignedUp)
	v["friend_name"] = evil
	v["customer_first_name"] = "<b>Jane</b>\r\nBcc: victim@example.com"
	c, err := email.Render(email.Default(email.FriendSignedUp), v, email.Brand{ProgramName: "Acme"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Text, evil+" just signed up") || !strings.Contains(c.Text, "Hi <b>Jane</b>\r\nBcc: victim@example.com,") {
		t.Errorf("text part does not hold the values verbatim:\n%s", c.Text)
	}
	if strings.Contains(c.HTML, "<script>") || strings.Contains(c.HTML, "<b>") {
		t.Errorf("HTML part holds unescaped markup:\n%s", c.HTML)
	}
	if !strings.Contains(c.HTML, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Bob&#34; just signed up") {
		t.Errorf("HTML part does not hold the escaped name:\n%s", c.HTML)
	}
	if want := evil + " joined Acme Rewards through your link"; c.Subject != want {
		t.Errorf("subject %q, want %q", c.Subject, want)
	}

	tpl := email.Default(email.FriendSignedUp)
	tpl.Subject = "{{customer_first_name}}, {{friend_name}} joined"
	c, err = email.Render(tpl, email.Values{"customer_first_name": "Jane\r\nBcc: victim@example.com", "friend_name": "Sam\tLee\x00"}, email.Brand{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Jane Bcc: victim@example.com, Sam Lee joined"; c.Subject != want {
		t.Errorf("subject %q, want %q", c.Subject, want)
	}
}

// TestRenderLayout: the HTML part's brand, buttons, links and footer.
func TestRenderLayout(t *testing.T) {
	link := "https://acme.example/?ref=JANE20&utm=email"
	v := email.Examples(email.FriendSignedUp)
	v["referral_link"] = link
	v["friend_name"] = "https://evil.example/phish"
	tpl := email.Default(email.FriendSignedUp)
	tpl.Body = "Hi {{customer_first_name}},\r\n\r\nVisit https://acme.example/help, or share {{referral_link}} today.\nSecond line.\n\n\n{{referral_link}}\n\nFrom {{friend_name}}"
	c, err := email.Render(tpl, v, email.Brand{ProgramName: "Acme & Co", Color: "#0A0"}, "https://advocate.example/u/tok")
	if err != nil {
		t.Fatal(err)
	}
	escLink := "https://acme.example/?ref=JANE20&amp;utm=email"
	for _, want := range []string{
		`background-color:#00aa00;`,                 // the brand colour, expanded
		`>Acme &amp; Co</td>`,                       // the program's name in the header
		`<p style="margin:0 0 16px;">Hi Jane,</p>`,  // paragraphs
		`<a href="https://acme.example/help" style`, // a URL of the template's own text
		`>https://acme.example/help</a>, or share`,  // without the comma
		`share <a href="` + escLink + `" style="color:#00aa00;">` + escLink + `</a> today.<br>Second line.</p>`,
		`>Share your link</a></p>`, // a link alone is a button
		`You received this because you are a member of Acme &amp; Co&#39;s referral program. <a href="https://advocate.example/u/tok"`, // footer
		`<p style="margin:0 0 16px;">From https://evil.example/phish</p>`,                                                              // a name is never a link
	} {
		if !strings.Contains(c.HTML, want) {
			t.Errorf("HTML part lacks %s:\n%s", want, c.HTML)
		}
	}
	if n := strings.Count(c.HTML, "<p "); n != 5 { // 3 paragraphs, the button and its link
		t.Errorf("%d paragraphs, want 5:\n%s", n, c.HTML)
	}
	if !strings.HasSuffix(c.Text, "From https://evil.example/phish\n\n--\nYou received this because you are a member of Acme & Co's referral program.\nUnsubscribe: https://advocate.example/u/tok\n") {
		t.Errorf("text part's end:\n%s", c.Text)
	}

	// Admins: their own footer, no unsubscribe link without a URL; a
	// light colour gets dark text.
	ex := email.Examples(email.EndpointDisabled)
	c, err = email.Render(email.Default(email.EndpointDisabled), ex, email.Brand{ProgramName: "Acme", Color: "#FFEE88"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"background-color:#ffee88;color:#111827;",
		"You received this because you manage Acme&#39;s referral program.</td>",
		`>Open the dashboard</a>`,
		`<a href="https://hooks.acme.example/advocate" style="color:#ffee88;">`,
	} {
		if !strings.Contains(c.HTML, want) {
			t.Errorf("HTML part lacks %s:\n%s", want, c.HTML)
		}
	}
	if strings.Contains(c.HTML, "Unsubscribe") || strings.Contains(c.Text, "Unsubscribe") {
		t.Error("an unsubscribe link without a URL")
	}

	// A bad or missing colour is the default; a missing value renders empty.
	for _, color := range []string{"", "red", "#12345", "#abcdeg", "#fff;background:url(x)"} {
		c, err := email.Render(email.Default(email.FriendDiscount), email.Values{"program_name": "Acme"}, email.Brand{Color: color}, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(c.HTML, "background-color:"+email.DefaultColor+";color:#ffffff;") {
			t.Errorf("colour %q: the default colour is not used", color)
		}
		if c.Subject != "Your Acme discount code:" {
			t.Errorf("subject %q", c.Subject)
		}
	}
}

func TestValidColor(t *testing.T) {
	for s, want := range map[string]bool{
		"#4f46e5": true, "#4F46E5": true, "#fff": true, "#ABC": true,
		"": false, "4f46e5": false, "#4f46e": false, "#ggg": false, "#4f46e55": false, "red": false, "#fff ": false,
	} {
		if got := email.ValidColor(s); got != want {
			t.Errorf("ValidColor(%q) = %v, want %v", s, got, want)
		}
	}
}
