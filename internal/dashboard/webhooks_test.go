package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// names is the DNS of the dashboard's host check in tests:
// private.example resolves to a private address, any other name to a
// public one. The check itself is the server's, webhooks.Guard.
type names struct{}

func (names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host == "private.example" {
		return []netip.Addr{netip.MustParseAddr("10.1.2.3")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
}

var newSecretRE = regexp.MustCompile(`id="new-webhook-secret" value="(whsec_[^"]+)"`)

// endpoints returns the program's live webhook endpoints from the store.
func (e *env) endpoints(t *testing.T) []*webhooks.Endpoint {
	t.Helper()
	out, _, err := e.db.WebhookEndpoints(t.Context(), e.program.ID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// endpointForm is the endpoint form as a browser posts it.
func endpointForm(u, description string, events ...string) url.Values {
	return url.Values{"url": {u}, "description": {description}, "events": events}
}

// secretShown returns the secret a page shows, failing t if none.
func secretShown(t *testing.T, p *page) string {
	t.Helper()
	m := newSecretRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret shown: %s", p.text())
	}
	return html.UnescapeString(m[1]) // html/template writes + as &#43;
}

func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		page := c.get(e.path("developers")).want(t, http.StatusOK)
		page.has(t, "No endpoints yet.", `data-all-events name="events" value="*">`)
		text := page.text()
		for _, typ := range webhooks.Subscribable() {
			page.has(t, `name="events" value="`+typ.Type+`">`)
			if !strings.Contains(text, typ.Type+" "+typ.Description) {
				t.Errorf("the form does not describe %s", typ.Type)
			}
		}

		// Add: the secret is shown this once, and is the one stored.
		page = c.post(e.path("developers/webhooks"), endpointForm(" https://hooks.acme.example/advocate ", "CRM sync",
			"customer.created", "reward.created", "customer.created")).want(t, http.StatusOK)
		secret := secretShown(t, page)
		if strings.Contains(page.Body, `id="rotation-grace"`) {
			t.Error("a new endpoint's secret is announced as a rotation")
		}
		hooks := e.endpoints(t)
		if len(hooks) != 1 {
			t.Fatalf("%d endpoints stored, want 1", len(hooks))
		}
		h := hooks[0]
		if h.URL != "https://hooks.acme.example/advocate" || h.Description != "CRM sync" || !h.Active || h.Secret != secret ||
			!slices.Equal(h.Events, []string{"customer.created", "reward.created"}) {
			t.Errorf("stored %+v, shown secret %q", h, secret)
		}
		page = c.get(e.path("developers")).want(t, http.StatusOK)
		if strings.Contains(page.Body, secret) {
			t.Error("the secret is shown again on the next visit")
		}
		row := regexp.MustCompile(`(?s)<tr id="endpoint-` + h.ID + `">.*?</tr>`).FindString(page.Body)
		for _, want := range []string{"https://hooks.acme.example/advocate", "CRM sync", "<code>customer.created</code>, <code>reward.created</code>",
			"status-active", "/pause", "/rotate_secret", "/delete", "data-confirm"} {
			if !strings.Contains(row, want) {
				t.Errorf("the endpoint's row lacks %q: %s", want, row)
			}
		}

		// Edit: the form is filled in; "All events" wins over single types.
		hook := e.path("developers/webhooks/" + h.ID)
		page = c.get(hook).want(t, http.StatusOK)
		page.has(t, `action="`+hook+`"`, `value="https://hooks.acme.example/advocate"`, `value="CRM sync"`,
			`value="customer.created" checked>`, `value="reward.created" checked>`, "Save endpoint")
		if strings.Contains(page.Body, `value="customer.updated" checked`) {
			t.Error("the form ticks an event the endpoint is not subscribed to")
		}
		p := c.post(hook, endpointForm("https://hooks.acme.example/v2", "", "*", "customer.created")).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); f != "Webhook endpoint saved." {
			t.Errorf("flash %q", f)
		}
		h2 := e.endpoints(t)[0]
		if h2.URL != "https://hooks.acme.example/v2" || h2.Description != "" || !slices.Equal(h2.Events, []string{"*"}) || h2.Secret != secret {
			t.Errorf("after the edit: %+v", h2)
		}
		if !strings.Contains(c.get(e.path("developers")).text(), "All events") {
			t.Error("the list does not say All events")
		}

		// Pause and resume.
		p = c.post(hook+"/pause", nil).want(t, http.StatusSeeOther)
		page = c.follow(p)
		if f := page.flash(); !strings.HasPrefix(f, "Webhook endpoint paused") {
			t.Errorf("flash %q", f)
		}
		if e.endpoints(t)[0].Active {
			t.Error("still active after pausing")
		}
		page.has(t, `<span class="badge">Paused</span>`, hook+"/resume")
		c.post(hook+"/resume", nil).want(t, http.StatusSeeOther)
		if !e.endpoints(t)[0].Active {
			t.Error("still paused after resuming")
		}

		// Rotate: the new secret is shown once, the old one kept for the
		// grace period.
		page = c.post(hook+"/rotate_secret", nil).want(t, http.StatusOK)
		rotated := secretShown(t, page)
		page.has(t, `id="rotation-grace"`, "The old secret keeps working for 24 hours")
		h3 := e.endpoints(t)[0]
		if rotated == secret || h3.Secret != rotated || h3.PreviousSecret != secret {
			t.Errorf("after rotating: secret %q previous %q, shown %q, old %q", h3.Secret, h3.PreviousSecret, rotated, secret)
		}
		if strings.Contains(c.get(e.path("developers")).Body, rotated) {
			t.Error("the rotated secret is shown again on the next visit")
		}

		// Delete.
		p = c.post(hook+"/delete", nil).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); !strings.HasPrefix(f, "Webhook endpoint deleted.") {
			t.Errorf("flash %q", f)
		}
		if n := len(e.endpoints(t)); n != 0 {
			t.Errorf("%d endpoints after deleting", n)
		}
		c.get(e.path("developers")).has(t, "No endpoints yet.")

		t.Run("unknown or another program's endpoint", func(t *testing.T) {
			other, _, _ := e.newProgram("Other", "EUR", "https://other.example")
			theirs, err := e.db.CreateWebhookEndpoint(t.Context(), other.ID, webhooks.EndpointInput{
				URL: ptr("https://other.example/hooks"), Events: &[]string{"*"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{h.ID, theirs.ID, "we_unknown"} {
				path := e.path("developers/webhooks/" + id)
				c.get(path).want(t, http.StatusNotFound)
				c.post(path, endpointForm("https://hooks.acme.example/x", "", "*")).want(t, http.StatusNotFound)
				for _, action := range []string{"pause", "resume", "rotate_secret", "delete"} {
					c.post(path+"/"+action, nil).want(t, http.StatusNotFound)
				}
			}
			after, err := e.db.WebhookEndpoint(t.Context(), other.ID, theirs.ID)
			if err != nil || after.Secret != theirs.Secret || !after.Active || after.URL != theirs.URL {
				t.Errorf("the other program's endpoint changed: %+v, %v", after, err)
			}
		})
	})
}

func ptr[T any](v T) *T { return &v }

// Bad input is shown next to the fields, the form keeps what was typed,
// and nothing is saved.
func TestWebhookEndpointInvalid(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		existing := secretShown(t, c.post(e.path("developers/webhooks"),
			endpointForm("https://hooks.acme.example/ok", "kept", "reward.created")).want(t, http.StatusOK))
		h := e.endpoints(t)[0]
		tests := []struct {
			name   string
			form   url.Values
			errors map[string]string // field → a part of its message
		}{
			{"private host", endpointForm("https://private.example/hooks", "", "*"), map[string]string{"url": "10.1.2.3, which is not public"}},
			{"private address", endpointForm("http://10.0.0.1:8080/hooks", "", "*"), map[string]string{"url": "not public"}},
			{"loopback", endpointForm("http://127.0.0.1/hooks", "", "*"), map[string]string{"url": "not public"}},
			{"bad scheme", endpointForm("ftp://hooks.acme.example/", "", "*"), map[string]string{"url": "https://"}},
			{"credentials", endpointForm("https://user:pw@hooks.acme.example/", "", "*"), map[string]string{"url": "user name or password"}},
			{"no URL", endpointForm("", "", "*"), map[string]string{"url": "required"}},
			{"no events", endpointForm("https://hooks.acme.example/new", ""), map[string]string{"events": "List the event types"}},
			{"unknown event", endpointForm("https://hooks.acme.example/new", "", "reward.created", "order.shipped"),
				map[string]string{"events": `Unknown event type "order.shipped"`}},
			{"long description", endpointForm("https://hooks.acme.example/new", strings.Repeat("x", 501), "*"),
				map[string]string{"description": "at most 500"}},
			{"private host and no events", endpointForm("https://private.example/hooks", ""),
				map[string]string{"url": "not public", "events": "List the event types"}},
		}
		for _, path := range []string{"developers/webhooks", "developers/webhooks/" + h.ID} {
			for _, tt := range tests {
				t.Run(path+"/"+tt.name, func(t *testing.T) {
					before := e.snapshot()
					p := c.post(e.path(path), tt.form).want(t, http.StatusUnprocessableEntity)
					for field, want := range tt.errors {
						if got := p.fieldError(field); !strings.Contains(got, want) {
							t.Errorf("error next to %s = %q, want it to say %q", field, got, want)
						}
					}
					for _, field := range []string{"url", "events", "description"} {
						if _, ok := tt.errors[field]; !ok && p.fieldError(field) != "" {
							t.Errorf("unexpected error next to %s: %q", field, p.fieldError(field))
						}
					}
					if newSecretRE.MatchString(p.Body) {
						t.Error("a refused endpoint shows a secret")
					}
					p.has(t, `value="`+tt.form.Get("url")+`"`)
					for _, typ := range tt.form["events"] {
						if webhooks.KnownEvent(typ) {
							p.has(t, `value="`+typ+`" checked`)
						}
					}
					if after := e.snapshot(); after != before {
						t.Errorf("a refused form changed data:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
		if got := e.endpoints(t)[0]; got.Secret != existing || got.URL != "https://hooks.acme.example/ok" || got.Description != "kept" {
			t.Errorf("the existing endpoint changed: %+v", got)
		}

		t.Run("too many endpoints", func(t *testing.T) {
			for range webhooks.MaxEndpoints - 1 {
				c.post(e.path("developers/webhooks"), endpointForm("https://hooks.acme.example/more", "", "*")).want(t, http.StatusOK)
			}
			before := e.snapshot()
			p := c.post(e.path("developers/webhooks"), endpointForm("https://hooks.acme.example/one-more", "", "*")).
				want(t, http.StatusUnprocessableEntity)
			if !strings.Contains(p.text(), "at most 20 webhook endpoints") {
				t.Errorf("page says %s", p.text())
			}
			if after := e.snapshot(); after != before {
				t.Error("a 21st endpoint was saved")
			}
		})
	})
}

// Viewers see the endpoints but no secret and no controls, and their
// posts, like other sites', change nothing.
func TestWebhookEndpointsRefused(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		owner := e.asOwner(t)
		secret := secretShown(t, owner.post(e.path("developers/webhooks"),
			endpointForm("https://hooks.acme.example/advocate", "CRM", "*")).want(t, http.StatusOK))
		h := e.endpoints(t)[0]
		viewer := e.asViewer(t)
		page := viewer.get(e.path("developers")).want(t, http.StatusOK)
		page.has(t, "https://hooks.acme.example/advocate", "Only owners can add or change endpoints.")
		hook := e.path("developers/webhooks/" + h.ID)
		for _, s := range []string{secret, `id="webhook-form"`, hook + "#webhook-form", `action="` + hook} {
			if strings.Contains(page.Body, s) {
				t.Errorf("a viewer's page holds %q", s)
			}
		}
		page.has(t, `href="`+hook+`/deliveries"`)
		posts := []struct {
			path string
			form url.Values
		}{
			{e.path("developers/webhooks"), endpointForm("https://hooks.acme.example/mine", "", "*")},
			{hook, endpointForm("https://evil.example/", "", "*")},
			{hook + "/pause", nil}, {hook + "/resume", nil}, {hook + "/rotate_secret", nil}, {hook + "/delete", nil},
		}
		before := e.snapshot()
		for _, tt := range posts {
			viewer.post(tt.path, tt.form).want(t, http.StatusForbidden)
			owner.post(tt.path, tt.form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example").want(t, http.StatusForbidden)
			e.client().post(tt.path, tt.form).want(t, http.StatusUnauthorized)
		}
		if after := e.snapshot(); after != before {
			t.Errorf("refused posts changed data:\nbefore %s\nafter  %s", before, after)
		}
	})
}
