package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// TestInvalidAPIKeys: every way of not having a valid key gets one and the
// same 401, so that a caller learns nothing about which keys exist.
func TestInvalidAPIKeys(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		var revoked string
		var revokedID string
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			plain, k, err := tx.CreateAPIKey(ctx, e.program.ID, referral.SecretKey)
			revoked, revokedID = plain, k.ID
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := e.do(req{method: "GET", path: "/v1/customers", key: revoked}); r.Status != 200 {
			t.Fatalf("new key before revoking: %d %s", r.Status, r.Body)
		}
		if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, e.program.ID, revokedID) }); err != nil {
			t.Fatal(err)
		}
		unknown, _ := referral.NewAPIKey(referral.SecretKey)
		unknownPK, _ := referral.NewAPIKey(referral.PublishableKey)
		last := e.sk[len(e.sk)-1]
		other := byte('A')
		if last == 'A' {
			other = 'B'
		}
		badChecksum := e.sk[:len(e.sk)-1] + string(other)
		body := []byte(e.sk) // one body character changed, the checksum kept
		if body[10] == 'a' {
			body[10] = 'b'
		} else {
			body[10] = 'a'
		}

		tests := []struct {
			name   string
			header string // the Authorization header; "" sends none
		}{
			{"no header", ""},
			{"empty bearer", "Bearer "},
			{"no scheme", e.sk},
			{"basic auth", "Basic " + base64.StdEncoding.EncodeToString([]byte(e.sk+":"))},
			{"malformed", "Bearer not-a-key"},
			{"truncated", "Bearer " + e.sk[:len(e.sk)-1]},
			{"too long", "Bearer " + e.sk + "x"},
			{"wrong checksum", "Bearer " + badChecksum},
			{"changed character", "Bearer " + string(body)},
			{"unknown secret key", "Bearer " + unknown},
			{"unknown publishable key", "Bearer " + unknownPK},
			{"publishable key posing as secret", "Bearer sk_" + e.pk[3:]},
			{"revoked", "Bearer " + revoked},
			{"huge", "Bearer " + strings.Repeat("k", 4096)},
		}
		var first []byte
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.counts()
				for _, r := range []req{
					{method: "GET", path: "/v1/customers"},
					{method: "GET", path: "/v1/program"},
					{method: "POST", path: "/v1/customers", body: map[string]any{"key": "k", "email": "k@example.com"}},
				} {
					if tc.header != "" {
						r.header = map[string]string{"Authorization": tc.header}
					}
					resp := e.do(r)
					if resp.Status != http.StatusUnauthorized {
						t.Fatalf("%s %s: status %d, want 401; body %s", r.method, r.path, resp.Status, resp.Body)
					}
					if p := resp.problem(t); p.Code != "invalid_api_key" {
						t.Errorf("code %q, want invalid_api_key", p.Code)
					}
					if resp.Header.Get("WWW-Authenticate") == "" {
						t.Error("no WWW-Authenticate header")
					}
					if first == nil {
						first = resp.Body
					} else if !bytes.Equal(first, resp.Body) {
						t.Errorf("body differs from the other 401s:\n got %s\nwant %s", resp.Body, first)
					}
				}
				e.unchanged(before)
			})
		}
	})
}

// browserSafe lists the operations a publishable key may call.
var browserSafe = map[string]bool{
	"POST /v1/customers": true,
	"GET /v1/sdk/config": true,
	"GET /v1/widget":     true,
}

// TestPublishableKey: a publishable key lives in browsers, so it may only
// create customers and serve the SDK; every other operation needs the
// secret key.
func TestPublishableKey(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane := e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane", "referral_code": "JANE20"})
		extra := e.createLink("cust_123", "https://yoursite.com/x", "")

		// Every operation that needs a key, from the spec (so that a new
		// route is covered without editing this test) and from the issue
		// (in case the spec misses one). A new route that publishable keys
		// may call belongs in browserSafe.
		ops := map[string]req{
			"GET /v1/program":                         {body: nil},
			"PUT /v1/program":                         {body: map[string]any{"name": "Hacked"}},
			"GET /v1/customers":                       {},
			"GET /v1/customers/{key}":                 {},
			"PUT /v1/customers/{key}":                 {body: map[string]any{"name": "Hacked"}},
			"DELETE /v1/customers/{key}":              {},
			"GET /v1/customers/{key}/referral_links":  {},
			"POST /v1/customer_referral_links":        {body: map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/y"}},
			"DELETE /v1/customer_referral_links/{id}": {},
		}
		for _, op := range securedOperations(t) {
			if _, ok := ops[op]; !ok && !browserSafe[op] {
				ops[op] = req{body: map[string]any{}}
			}
		}
		names := make([]string, 0, len(ops))
		for op := range ops {
			names = append(names, op)
		}
		sort.Strings(names)
		params := regexp.MustCompile(`\{[^}]+\}`)
		for _, op := range names {
			t.Run(op, func(t *testing.T) {
				e := e.in(t)
				r := ops[op]
				method, path, _ := strings.Cut(op, " ")
				r.method, r.key = method, e.pk
				r.path = params.ReplaceAllStringFunc(path, func(p string) string {
					switch p {
					case "{key}":
						return "cust_123"
					case "{id}":
						return extra.ID
					}
					return "x"
				})
				before := e.counts()
				resp := e.do(r)
				if resp.Status != http.StatusForbidden {
					t.Fatalf("status %d, want 403; body %s", resp.Status, resp.Body)
				}
				if p := resp.problem(t); p.Code != "secret_key_required" {
					t.Errorf("code %q, want secret_key_required", p.Code)
				}
				e.unchanged(before)
			})
		}
		if diff := cmp.Diff(jane, e.getCustomer("cust_123")); diff != "" {
			t.Errorf("the publishable key changed a customer (-before +after):\n%s", diff)
		}
		if got := e.links("cust_123"); len(got) != 2 {
			t.Errorf("the publishable key changed links: %+v", got)
		}

		t.Run("creates customers", func(t *testing.T) {
			e := e.in(t)
			c := e.createCustomerAs(e.pk, map[string]any{"key": "browser", "email": "browser@example.com", "name": "Browser", "referred_by": "jane20"})
			if c.Key != "browser" || c.ReferralURL != "https://yoursite.com/?ref="+c.ReferralCode || c.ReferralCode == "" {
				t.Errorf("the browser got %+v, want the new customer's key and referral link", c)
			}
			got := e.getCustomer("browser")
			if got.Email != "browser@example.com" || got.ReferralCode != c.ReferralCode ||
				got.ReferrerKey == nil || *got.ReferrerKey != "cust_123" || got.ReferredBy == nil || *got.ReferredBy != "JANE20" {
				t.Errorf("stored customer %+v, want browser@example.com referred by cust_123 with JANE20", got)
			}
		})

		t.Run("may not choose a code", func(t *testing.T) {
			e := e.in(t)
			before := e.counts()
			resp := e.do(req{method: "POST", path: "/v1/customers", key: e.pk,
				body: map[string]any{"key": "vanity", "email": "vanity@example.com", "referral_code": "VIP"}})
			if resp.Status != http.StatusForbidden {
				t.Fatalf("status %d, want 403; body %s", resp.Status, resp.Body)
			}
			if p := resp.problem(t); p.Code != "secret_key_required" || p.Errors["referral_code"] == "" {
				t.Errorf("problem %+v, want secret_key_required naming referral_code", p)
			}
			e.unchanged(before)
		})
	})
}

// securedOperations lists "METHOD /path" for every operation in
// api/openapi.yaml that needs an API key.
func securedOperations(t *testing.T) []string {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	var out []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Security == nil || len(*op.Security) > 0 {
				out = append(out, method+" "+path)
			}
		}
	}
	return out
}

// TestProgramScoping: a key sees only its own program. Another program's
// customers, links and codes do not exist for it.
func TestProgramScoping(t *testing.T) {
	eachEngine(t, func(t *testing.T, a *env) {
		jane := a.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane", "referral_code": "JANE20"})
		extra := a.createLink("cust_123", "https://yoursite.com/x", "JANE-X")
		aLinks := a.links("cust_123")
		b := a.newProgramEnv("Other", "https://other.example.com")
		b.createCustomer(map[string]any{"key": "bob", "email": "bob@other.example.com", "name": "Bob"})

		tests := []struct {
			name   string
			r      req
			status int
			code   string
		}{
			{"get", req{method: "GET", path: "/v1/customers/cust_123"}, 404, "customer_not_found"},
			{"update", req{method: "PUT", path: "/v1/customers/cust_123", body: map[string]any{"name": "Hacked"}}, 404, "customer_not_found"},
			{"delete", req{method: "DELETE", path: "/v1/customers/cust_123"}, 404, "customer_not_found"},
			{"list links", req{method: "GET", path: "/v1/customers/cust_123/referral_links"}, 404, "customer_not_found"},
			{"delete link", req{method: "DELETE", path: "/v1/customer_referral_links/" + extra.ID}, 404, "referral_link_not_found"},
			{"delete default link", req{method: "DELETE", path: "/v1/customer_referral_links/" + aLinks[0].ID}, 404, "referral_link_not_found"},
			{"create link", req{method: "POST", path: "/v1/customer_referral_links",
				body: map[string]any{"customer_key": "cust_123", "destination_url": "https://other.example.com/y"}}, 422, "customer_not_found"},
			{"refer with A's code", req{method: "POST", path: "/v1/customers",
				body: map[string]any{"key": "friend", "email": "friend@example.com", "referred_by": "JANE20"}}, 422, "unknown_referral_code"},
			{"refer with A's extra code", req{method: "POST", path: "/v1/customers",
				body: map[string]any{"key": "friend", "email": "friend@example.com", "referred_by": "jane-x"}}, 422, "unknown_referral_code"},
			{"refer later with A's code", req{method: "PUT", path: "/v1/customers/bob", body: map[string]any{"referred_by": "JANE20"}}, 422, "unknown_referral_code"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				b := b.in(t)
				before := b.counts()
				for _, key := range []string{b.sk, b.pk} {
					r := tc.r
					r.key = key
					if key == b.pk && !browserSafe[r.method+" "+r.path] {
						continue // a 403, covered by TestPublishableKey
					}
					resp := b.do(r)
					if resp.Status != tc.status {
						t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
					}
					if p := resp.problem(t); p.Code != tc.code {
						t.Errorf("code %q, want %q", p.Code, tc.code)
					}
				}
				b.unchanged(before)
			})
		}

		t.Run("lists", func(t *testing.T) {
			b := b.in(t)
			if diff := cmp.Diff([]string{"bob"}, b.allCustomers(b.sk, "")); diff != "" {
				t.Errorf("B's list (-want +got):\n%s", diff)
			}
			if got := b.allCustomers(b.sk, "email=jane%40example.com"); len(got) != 0 {
				t.Errorf("B finds A's customer by email: %v", got)
			}
		})

		t.Run("A unchanged", func(t *testing.T) {
			a := a.in(t)
			if diff := cmp.Diff(jane, a.getCustomer("cust_123")); diff != "" {
				t.Errorf("A's customer (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(aLinks, a.links("cust_123")); diff != "" {
				t.Errorf("A's links (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"cust_123"}, a.allCustomers(a.sk, "")); diff != "" {
				t.Errorf("A's list (-want +got):\n%s", diff)
			}
		})

		t.Run("B's publishable key creates in B", func(t *testing.T) {
			b := b.in(t)
			b.createCustomerAs(b.pk, map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane in B"})
			if got := b.getCustomer("cust_123"); got.Name != "Jane in B" {
				t.Errorf("B's cust_123 is %+v", got)
			}
			if got := a.in(t).getCustomer("cust_123"); got.Name != "Jane" {
				t.Errorf("A's cust_123 became %+v", got)
			}
		})
	})
}
