package httpapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// program is a program as the API returns it.
type program struct {
	ID                  string    `json:"id"`
	Name                string    `json:"name"`
	Currency            string    `json:"currency"`
	WebsiteURL          string    `json:"website_url"`
	AllowedDomains      []string  `json:"allowed_domains"`
	ReferralParam       string    `json:"referral_param"`
	CookieDays          int       `json:"cookie_days"`
	Attribution         string    `json:"attribution"`
	RequireCustomerHash bool      `json:"require_customer_hash"`
	ShowLeaderboard     bool      `json:"show_leaderboard"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}

func (e *env) getProgram(apiKey string) (program, []byte) {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/program", key: apiKey})
	if resp.Status != 200 {
		e.t.Fatalf("GET /v1/program: %d %s", resp.Status, resp.Body)
	}
	var out struct{ Program program }
	resp.json(e.t, &out)
	return out.Program, resp.Body
}

func TestGetProgram(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		other := e.newProgramEnv("Other", "https://other.example.com/start")
		for _, tc := range []struct {
			name string
			e    *env
			want program
		}{
			{"own program", e, program{ID: e.program.ID, Name: "Acme", Currency: "USD", WebsiteURL: "https://yoursite.com",
				AllowedDomains: []string{}, ReferralParam: "ref", CookieDays: 30, Attribution: "first_click", RequireCustomerHash: true}},
			{"other program", other, program{ID: other.program.ID, Name: "Other", Currency: "USD", WebsiteURL: "https://other.example.com/start",
				AllowedDomains: []string{}, ReferralParam: "ref", CookieDays: 30, Attribution: "first_click", RequireCustomerHash: true}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := tc.e.in(t)
				got, _ := e.getProgram(e.sk)
				if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(program{}, "CreatedAt", "UpdatedAt")); diff != "" {
					t.Errorf("program (-want +got):\n%s", diff)
				}
				if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
					t.Errorf("created_at %v, updated_at %v", got.CreatedAt, got.UpdatedAt)
				}
			})
		}
	})
}

// TestUpdateProgram applies a sequence of PUTs to the program; customers'
// referral URLs follow the website and parameter. A failed step changes
// nothing.
func TestUpdateProgram(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane := e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane"})
		want, _ := e.getProgram(e.sk)
		steps := []struct {
			name   string
			body   any
			status int
			code   string
			fields []string // fields a failure must name
			change func(p *program)
			refURL string // jane's referral_url afterwards, CODE for her code
		}{
			{name: "website and parameter", body: map[string]any{"website_url": "https://shop.example.org/welcome?utm_source=ref", "referral_param": "via"}, status: 200,
				change: func(p *program) {
					p.WebsiteURL = "https://shop.example.org/welcome?utm_source=ref"
					p.ReferralParam = "via"
				},
				refURL: "https://shop.example.org/welcome?utm_source=ref&via=CODE"},
			{name: "allowed domains", body: map[string]any{"allowed_domains": []string{"partner.example.org", "cdn.example.net"}}, status: 200,
				change: func(p *program) { p.AllowedDomains = []string{"partner.example.org", "cdn.example.net"} }},
			{name: "other settings", body: map[string]any{"name": "Acme Two", "cookie_days": 90, "attribution": "last_click", "require_customer_hash": false}, status: 200,
				change: func(p *program) {
					p.Name, p.CookieDays, p.Attribution, p.RequireCustomerHash = "Acme Two", 90, "last_click", false
				}},
			{name: "leaderboard on", body: map[string]any{"show_leaderboard": true}, status: 200,
				change: func(p *program) { p.ShowLeaderboard = true }},
			{name: "leaderboard off", body: map[string]any{"show_leaderboard": false}, status: 200,
				change: func(p *program) { p.ShowLeaderboard = false }},
			{name: "leaderboard as string", body: `{"show_leaderboard": "yes"}`, status: 422, code: "invalid_field_type", fields: []string{"show_leaderboard"}},
			{name: "empty object", body: `{}`, status: 200},
			{name: "back to the site root", body: map[string]any{"website_url": "https://yoursite.com", "referral_param": "ref", "allowed_domains": []string{}}, status: 200,
				change: func(p *program) {
					p.WebsiteURL, p.ReferralParam, p.AllowedDomains = "https://yoursite.com", "ref", []string{}
				},
				refURL: "https://yoursite.com/?ref=CODE"},

			{name: "website not http", body: map[string]any{"website_url": "ftp://yoursite.com"}, status: 422, code: "invalid_program", fields: []string{"website_url"}},
			{name: "website not a URL", body: map[string]any{"website_url": "yoursite"}, status: 422, code: "invalid_program", fields: []string{"website_url"}},
			{name: "website with user info", body: map[string]any{"website_url": "https://me@yoursite.com"}, status: 422, code: "invalid_program", fields: []string{"website_url"}},
			{name: "domain with scheme", body: map[string]any{"allowed_domains": []string{"https://evil.com"}}, status: 422, code: "invalid_program", fields: []string{"allowed_domains"}},
			{name: "domain with path", body: map[string]any{"allowed_domains": []string{"evil.com/x"}}, status: 422, code: "invalid_program", fields: []string{"allowed_domains"}},
			{name: "empty domain", body: map[string]any{"allowed_domains": []string{""}}, status: 422, code: "invalid_program", fields: []string{"allowed_domains"}},
			{name: "cookie days 0", body: map[string]any{"cookie_days": 0}, status: 422, code: "invalid_program", fields: []string{"cookie_days"}},
			{name: "cookie days over a year", body: map[string]any{"cookie_days": 366}, status: 422, code: "invalid_program", fields: []string{"cookie_days"}},
			{name: "attribution x", body: map[string]any{"attribution": "x"}, status: 422, code: "invalid_program", fields: []string{"attribution"}},
			{name: "parameter with space", body: map[string]any{"referral_param": "my ref"}, status: 422, code: "invalid_program", fields: []string{"referral_param"}},
			{name: "empty parameter", body: map[string]any{"referral_param": ""}, status: 422, code: "invalid_program", fields: []string{"referral_param"}},
			{name: "empty name", body: map[string]any{"name": ""}, status: 422, code: "invalid_program", fields: []string{"name"}},
			{name: "every field named", body: map[string]any{"website_url": "nope", "allowed_domains": []string{"bad domain"}, "cookie_days": 0, "attribution": "x"},
				status: 422, code: "validation_failed", fields: []string{"website_url", "allowed_domains", "cookie_days", "attribution"}},
			{name: "currency is fixed", body: map[string]any{"currency": "EUR"}, status: 422, code: "unknown_field", fields: []string{"currency"}},
			{name: "widget secret is not settable", body: map[string]any{"widget_secret": "x"}, status: 422, code: "unknown_field", fields: []string{"widget_secret"}},
			{name: "id is not settable", body: map[string]any{"id": "prg_x"}, status: 422, code: "unknown_field", fields: []string{"id"}},
			{name: "cookie days as string", body: `{"cookie_days": "30"}`, status: 422, code: "invalid_field_type", fields: []string{"cookie_days"}},
			{name: "domains as string", body: `{"allowed_domains": "partner.example.org"}`, status: 422, code: "invalid_field_type", fields: []string{"allowed_domains"}},
			{name: "malformed JSON", body: `{"name": `, status: 400, code: "malformed_json"},
			{name: "empty body", body: nil, status: 400, code: "empty_body"},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				e := e.in(t)
				before := e.counts()
				prev, _ := e.getProgram(e.sk)
				prevCustomer := e.getCustomer("cust_123")
				resp := e.do(req{method: "PUT", path: "/v1/program", key: e.sk, body: s.body})
				if resp.Status != s.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, s.status, resp.Body)
				}
				if s.status != 200 {
					p := resp.problem(t)
					if p.Code != s.code {
						t.Errorf("code %q, want %q", p.Code, s.code)
					}
					for _, f := range s.fields {
						if p.Errors[f] == "" {
							t.Errorf("errors %v do not name %s", p.Errors, f)
						}
					}
					e.unchanged(before)
					got, _ := e.getProgram(e.sk)
					if diff := cmp.Diff(prev, got); diff != "" {
						t.Errorf("a failed update changed the program (-before +after):\n%s", diff)
					}
					return
				}
				if s.change != nil {
					s.change(&want)
				}
				var put struct{ Program program }
				resp.json(t, &put)
				if diff := cmp.Diff(want, put.Program, cmpopts.IgnoreFields(program{}, "UpdatedAt")); diff != "" {
					t.Errorf("program (-want +got):\n%s", diff)
				}
				got, _ := e.getProgram(e.sk)
				if diff := cmp.Diff(put.Program, got); diff != "" {
					t.Errorf("GET differs from the PUT response (-put +get):\n%s", diff)
				}
				c := e.getCustomer("cust_123")
				wantURL := prevCustomer.ReferralURL
				if s.refURL != "" {
					wantURL = strings.ReplaceAll(s.refURL, "CODE", jane.ReferralCode)
				}
				if c.ReferralURL != wantURL {
					t.Errorf("referral_url %q, want %q", c.ReferralURL, wantURL)
				}
				if l := e.links("cust_123"); len(l) != 1 || l[0].URL != wantURL || l[0].DestinationURL != got.WebsiteURL {
					t.Errorf("default link %+v, want url %s to %s", l, wantURL, got.WebsiteURL)
				}
			})
		}
	})
}

// TestWidgetSecretRotation rotates the widget secret through the API and
// checks which customer_hash GET /v1/widget accepts: none missing or
// wrong, the new secret's from then on, the old secret's for exactly
// referral.WidgetSecretGrace.
func TestWidgetSecretRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var clock atomic.Int64 // Unix nanoseconds; stands still unless moved
		start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		clock.Store(start.UnixNano())
		e := newEnv(t, db, httpapi.Config{Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
		e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com"})
		old := e.program.CustomerHash("cust_123")
		widget := func(t *testing.T, hash string) int {
			path := "/v1/widget?customer_key=cust_123"
			if hash != "" {
				path += "&customer_hash=" + hash
			}
			return e.in(t).do(req{method: "GET", path: path, key: e.pk}).Status
		}

		resp := e.do(req{method: "POST", path: "/v1/program/widget_secret/rotate", key: e.sk,
			header: map[string]string{"Idempotency-Key": "rotate-1"}})
		if resp.Status != http.StatusOK {
			t.Fatalf("rotate: %d %s", resp.Status, resp.Body)
		}
		var out struct {
			Program struct {
				WidgetSecret  string     `json:"widget_secret"`
				PrevExpiresAt *time.Time `json:"previous_widget_secret_expires_at"`
			} `json:"program"`
		}
		resp.json(t, &out)
		rotatedAt := db.Now()
		end := rotatedAt.Add(referral.WidgetSecretGrace)
		if out.Program.WidgetSecret == e.program.WidgetSecret || !strings.HasPrefix(out.Program.WidgetSecret, "whsec_") {
			t.Fatalf("new widget secret %q, old %q", out.Program.WidgetSecret, e.program.WidgetSecret)
		}
		if out.Program.PrevExpiresAt == nil || !out.Program.PrevExpiresAt.Equal(end) {
			t.Errorf("previous_widget_secret_expires_at %v, want %v", out.Program.PrevExpiresAt, end)
		}
		// A retry with the same key replays the same secret, not a third one.
		again := e.do(req{method: "POST", path: "/v1/program/widget_secret/rotate", key: e.sk,
			header: map[string]string{"Idempotency-Key": "rotate-1"}})
		if !bytes.Equal(again.Body, resp.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retried rotation answered %s, want the first answer replayed", again.Body)
		}
		now := (&referral.Program{WidgetSecret: out.Program.WidgetSecret}).CustomerHash("cust_123")

		tests := []struct {
			name string
			at   time.Time
			hash string
			want int
		}{
			{"missing hash", rotatedAt, "", http.StatusForbidden},
			{"wrong hash", rotatedAt, strings.Repeat("0", 64), http.StatusForbidden},
			{"new secret", rotatedAt, now, http.StatusOK},
			{"old secret right after", rotatedAt, old, http.StatusOK},
			{"old secret just before the end", end.Add(-time.Nanosecond), old, http.StatusOK},
			{"old secret at the end", end, old, http.StatusForbidden},
			{"old secret after", end.Add(time.Hour), old, http.StatusForbidden},
			{"new secret after", end.Add(time.Hour), now, http.StatusOK},
			{"missing hash after", end.Add(time.Hour), "", http.StatusForbidden},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				clock.Store(tc.at.UnixNano())
				if got := widget(t, tc.hash); got != tc.want {
					t.Errorf("GET /v1/widget at %v: %d, want %d", tc.at, got, tc.want)
				}
			})
		}
		var prog struct {
			Program struct {
				PrevExpiresAt *time.Time `json:"previous_widget_secret_expires_at"`
			} `json:"program"`
		}
		e.do(req{method: "GET", path: "/v1/program", key: e.sk}).json(t, &prog)
		if prog.Program.PrevExpiresAt != nil {
			t.Errorf("previous_widget_secret_expires_at %v after the grace period, want null", prog.Program.PrevExpiresAt)
		}
	})
}
