package httpapi_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// link is a referral link as the API returns it.
type link struct {
	ID             string    `json:"id"`
	CustomerKey    string    `json:"customer_key"`
	Code           string    `json:"code"`
	URL            string    `json:"url"`
	ShortURL       string    `json:"short_url"`
	DestinationURL string    `json:"destination_url"`
	Default        bool      `json:"default"`
	CreatedAt      time.Time `json:"created_at"`
}

// createLink creates an extra link and fails the test unless that works.
func (e *env) createLink(customerKey, destination, code string) link {
	e.t.Helper()
	body := map[string]any{"customer_key": customerKey, "destination_url": destination}
	if code != "" {
		body["code"] = code
	}
	resp := e.do(req{method: "POST", path: "/v1/customer_referral_links", key: e.sk, body: body})
	if resp.Status != http.StatusCreated {
		e.t.Fatalf("create link %v: %d %s", body, resp.Status, resp.Body)
	}
	var out struct {
		ReferralLink link `json:"referral_link"`
	}
	resp.json(e.t, &out)
	return out.ReferralLink
}

// links lists a customer's links.
func (e *env) links(customerKey string) []link {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/customers/" + customerKey + "/referral_links", key: e.sk})
	if resp.Status != http.StatusOK {
		e.t.Fatalf("list links of %s: %d %s", customerKey, resp.Status, resp.Body)
	}
	var out struct {
		Data    []link `json:"data"`
		HasMore bool   `json:"has_more"`
	}
	resp.json(e.t, &out)
	if out.HasMore {
		e.t.Errorf("links of %s: has_more true for a complete list", customerKey)
	}
	return out.Data
}

func TestReferralLinks(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane := e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane Doe"})

		var def link
		t.Run("default link", func(t *testing.T) {
			e := e.in(t)
			resp := e.do(req{method: "GET", path: "/v1/customers/cust_123/referral_links", key: e.sk})
			if resp.Status != 200 {
				t.Fatalf("status %d; body %s", resp.Status, resp.Body)
			}
			var raw struct {
				Data []map[string]any `json:"data"`
			}
			resp.json(t, &raw)
			if len(raw.Data) != 1 {
				t.Fatalf("links %s, want just the default one", resp.Body)
			}
			for _, f := range []string{"id", "customer_key", "code", "url", "short_url", "destination_url", "default", "created_at"} {
				if _, ok := raw.Data[0][f]; !ok {
					t.Errorf("link lacks %q: %s", f, resp.Body)
				}
			}
			def = e.links("cust_123")[0]
			want := link{
				ID: def.ID, CustomerKey: "cust_123", Code: jane.ReferralCode, URL: jane.ReferralURL,
				ShortURL: "https://adv.example.com/r/" + jane.ReferralCode, DestinationURL: "https://yoursite.com",
				Default: true, CreatedAt: jane.CreatedAt,
			}
			if diff := cmp.Diff(want, def); diff != "" {
				t.Errorf("default link (-want +got):\n%s", diff)
			}
			if def.ID == "" {
				t.Error("default link has no id")
			}
		})

		var extras []link
		tests := []struct {
			name, destination, code string
			wantCode                *regexp.Regexp
			wantURL                 string // with CODE for the link's code
		}{
			{"seed request", "https://yoursite.com/signup", "", regexp.MustCompile(`^JANE[2-9]{2}$`), "https://yoursite.com/signup?ref=CODE"},
			{"query kept", "https://yoursite.com/pricing?plan=pro&utm_source=mail", "", generatedCode, "https://yoursite.com/pricing?plan=pro&utm_source=mail&ref=CODE"},
			{"fragment kept", "https://yoursite.com/docs?a=1#install", "", generatedCode, "https://yoursite.com/docs?a=1&ref=CODE#install"},
			{"earlier ref replaced", "https://yoursite.com/?ref=OLD&a=1", "", generatedCode, "https://yoursite.com/?a=1&ref=CODE"},
			{"custom code", "https://yoursite.com/summer", "summer-sale", regexp.MustCompile(`^SUMMER-SALE$`), "https://yoursite.com/summer?ref=CODE"},
			{"custom code, same destination twice", "https://yoursite.com/summer", "SUMMER_2", regexp.MustCompile(`^SUMMER_2$`), "https://yoursite.com/summer?ref=CODE"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				l := e.createLink("cust_123", tc.destination, tc.code)
				if !tc.wantCode.MatchString(l.Code) || l.Code == jane.ReferralCode {
					t.Errorf("code %q, want %v and not the default code", l.Code, tc.wantCode)
				}
				want := link{
					ID: l.ID, CustomerKey: "cust_123", Code: l.Code, URL: strings.ReplaceAll(tc.wantURL, "CODE", l.Code),
					ShortURL: "https://adv.example.com/r/" + l.Code, DestinationURL: tc.destination, CreatedAt: l.CreatedAt,
				}
				if diff := cmp.Diff(want, l); diff != "" {
					t.Errorf("link (-want +got):\n%s", diff)
				}
				if l.ID == "" || l.ID == def.ID || l.CreatedAt.IsZero() {
					t.Errorf("link id %q, created_at %v", l.ID, l.CreatedAt)
				}
				extras = append(extras, l)
			})
		}

		t.Run("listed default first, then by creation", func(t *testing.T) {
			got := e.in(t).links("cust_123")
			if diff := cmp.Diff(append([]link{def}, extras...), got); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			e := e.in(t)
			e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com", "name": "Bob", "referral_code": "BOB10"})
			bad := []struct {
				name   string
				body   any
				status int
				code   string
				field  string
			}{
				{"code of another customer", map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x", "code": "bob10"}, 409, "referral_code_taken", "code"},
				{"code of another link", map[string]any{"customer_key": "bob", "destination_url": "https://yoursite.com/x", "code": "summer-sale"}, 409, "referral_code_taken", "code"},
				{"code too short", map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x", "code": "ab"}, 422, "invalid_referral_link", "code"},
				{"code with space", map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x", "code": "a b c"}, 422, "invalid_referral_link", "code"},
				{"no customer_key", map[string]any{"destination_url": "https://yoursite.com/x"}, 422, "invalid_referral_link", "customer_key"},
				{"no destination", map[string]any{"customer_key": "cust_123"}, 422, "invalid_referral_link", "destination_url"},
				{"neither", map[string]any{}, 422, "validation_failed", "destination_url"},
				{"unknown customer", map[string]any{"customer_key": "nobody", "destination_url": "https://yoursite.com/x"}, 422, "customer_not_found", "customer_key"},
				{"unknown field", map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x", "name": "x"}, 422, "unknown_field", "name"},
				{"wrong type", `{"customer_key": "cust_123", "destination_url": 5}`, 422, "invalid_field_type", "destination_url"},
				{"malformed JSON", `{"customer_key": `, 400, "malformed_json", ""},
			}
			for _, tc := range bad {
				t.Run(tc.name, func(t *testing.T) {
					e := e.in(t)
					before := e.counts()
					resp := e.do(req{method: "POST", path: "/v1/customer_referral_links", key: e.sk, body: tc.body})
					if resp.Status != tc.status {
						t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
					}
					p := resp.problem(t)
					if p.Code != tc.code || (tc.field != "" && p.Errors[tc.field] == "") {
						t.Errorf("problem %+v, want code %q naming %q", p, tc.code, tc.field)
					}
					e.unchanged(before)
				})
			}
		})

		t.Run("delete", func(t *testing.T) {
			e := e.in(t)
			gone := extras[1]
			resp := e.do(req{method: "DELETE", path: "/v1/customer_referral_links/" + gone.ID, key: e.sk})
			if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
				t.Fatalf("DELETE: %d %q, want 204 with no body", resp.Status, resp.Body)
			}
			want := append([]link{def, extras[0]}, extras[2:]...)
			if diff := cmp.Diff(want, e.links("cust_123")); diff != "" {
				t.Errorf("links after delete (-want +got):\n%s", diff)
			}

			before := e.counts()
			for _, tc := range []struct {
				name, id string
				status   int
				code     string
			}{
				{"again", gone.ID, 404, "referral_link_not_found"},
				{"unknown", "rl_nope", 404, "referral_link_not_found"},
				{"default link", def.ID, 422, "default_link_not_deletable"},
			} {
				resp := e.do(req{method: "DELETE", path: "/v1/customer_referral_links/" + tc.id, key: e.sk})
				if p := resp.problem(t); resp.Status != tc.status || p.Code != tc.code {
					t.Errorf("%s: %d %+v, want %d %s", tc.name, resp.Status, p, tc.status, tc.code)
				}
			}
			e.unchanged(before)
			if got := e.links("cust_123"); len(got) != len(want) || !got[0].Default {
				t.Errorf("links after refused deletes: %+v", got)
			}

			// A shared code never changes hands, even after its link is gone.
			resp = e.do(req{method: "POST", path: "/v1/customer_referral_links", key: e.sk,
				body: map[string]any{"customer_key": "bob", "destination_url": "https://yoursite.com/x", "code": gone.Code}})
			if p := resp.problem(t); resp.Status != 409 || p.Code != "referral_code_taken" {
				t.Errorf("reusing a deleted link's code: %d %+v, want 409 referral_code_taken", resp.Status, p)
			}
		})

		t.Run("extra codes refer", func(t *testing.T) {
			e := e.in(t)
			for i, code := range []string{extras[0].Code, strings.ToLower(extras[0].Code), extras[1].Code} {
				c := e.createCustomer(map[string]any{"key": fmt.Sprintf("friend%d", i), "email": fmt.Sprintf("friend%d@example.com", i), "referred_by": code})
				if c.ReferrerKey == nil || *c.ReferrerKey != "cust_123" || c.ReferredBy == nil || *c.ReferredBy != strings.ToUpper(code) {
					t.Errorf("referred by %s: referred_by %v, referrer_key %v, want %s and cust_123", code, c.ReferredBy, c.ReferrerKey, strings.ToUpper(code))
				}
			}
		})
	})
}

// TestLinkDestinations: a destination is an absolute http(s) URL on the
// program's website domain, a subdomain of it, or an allowed domain;
// anything else would turn short links into an open redirect.
func TestLinkDestinations(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane"})
		resp := e.do(req{method: "PUT", path: "/v1/program", key: e.sk, body: map[string]any{"allowed_domains": []string{"partner.example.org"}}})
		if resp.Status != 200 {
			t.Fatalf("set allowed_domains: %d %s", resp.Status, resp.Body)
		}
		tests := []struct {
			name, destination string
			ok                bool
		}{
			{"website domain", "https://yoursite.com/signup", true},
			{"plain http", "http://yoursite.com/", true},
			{"host in upper case", "https://YourSite.COM/x", true},
			{"with port", "https://yoursite.com:8443/x", true},
			{"subdomain", "https://app.yoursite.com/welcome", true},
			{"deep subdomain", "https://eu.app.yoursite.com/", true},
			{"allowed domain", "https://partner.example.org/offer", true},
			{"subdomain of allowed domain", "https://shop.partner.example.org/", true},

			{"javascript", "javascript:alert(1)", false},
			{"javascript with slashes", "javascript://yoursite.com/%0aalert(1)", false},
			{"data", "data:text/html,<script>alert(1)</script>", false},
			{"ftp", "ftp://yoursite.com/file", false},
			{"other domain", "https://evil.com/", false},
			{"website domain as prefix", "https://yoursite.com.evil.com/", false},
			{"website domain as suffix without dot", "https://evilyoursite.com/", false},
			{"website domain as user info", "https://yoursite.com@evil.com/", false},
			{"user info with port", "https://yoursite.com:443@evil.com/", false},
			{"backslash trick", `https://evil.com\@yoursite.com/`, false},
			{"parent of allowed domain", "https://example.org/", false},
			{"scheme-relative", "//yoursite.com/signup", false},
			{"relative path", "/signup", false},
			{"no scheme", "yoursite.com/signup", false},
			{"no host", "https:///signup", false},
			{"IP address", "http://127.0.0.1/", false},
			{"too long", "https://yoursite.com/" + strings.Repeat("a", 2048), false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.counts()
				resp := e.do(req{method: "POST", path: "/v1/customer_referral_links", key: e.sk,
					body: map[string]any{"customer_key": "cust_123", "destination_url": tc.destination}})
				if tc.ok {
					if resp.Status != 201 {
						t.Errorf("status %d, want 201; body %s", resp.Status, resp.Body)
					}
					return
				}
				if resp.Status != 422 {
					t.Fatalf("status %d, want 422; body %s", resp.Status, resp.Body)
				}
				if p := resp.problem(t); p.Code != "invalid_referral_link" || p.Errors["destination_url"] == "" {
					t.Errorf("problem %+v, want invalid_referral_link naming destination_url", p)
				}
				e.unchanged(before)
			})
		}

		t.Run("www website covers the bare domain", func(t *testing.T) {
			e := e.in(t)
			w := e.newProgramEnv("WWW", "https://www.shop.example.net")
			w.createCustomer(map[string]any{"key": "k", "email": "k@example.com", "name": "K"})
			for _, dest := range []string{"https://shop.example.net/a", "https://www.shop.example.net/b", "https://m.shop.example.net/"} {
				w.createLink("k", dest, "")
			}
		})
	})
}
