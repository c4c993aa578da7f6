package httpapi_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// specDoc loads api/openapi.yaml, failing the test if it does not load or
// is not a valid OpenAPI 3.0 document.
func specDoc(t *testing.T) *openapi3.T {
	t.Helper()
	if _, err := spec(); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := specDoc(t)
	// kin-openapi checks 3.0 documents most thoroughly; the harness relies on it.
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi: %q, want 3.0.x", doc.OpenAPI)
	}
	// Examples too, so that the reference never shows a body the schemas reject.
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Errorf("examples: %v", err)
	}
}

// registeredRoutes returns "METHOD /path" for every route of web.API, with
// Go's wildcards written as OpenAPI path templates. A browser route brings
// the OPTIONS route that the server adds for its CORS preflight.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range web.API {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") {
			t.Errorf("web.API: pattern %q has no method; every route must say its method", r.Pattern)
			continue
		}
		path = strings.ReplaceAll(path, "{$}", "")
		path = strings.ReplaceAll(path, "...}", "}")
		out = append(out, method+" "+path)
		if r.Access.CrossOrigin() {
			out = append(out, "OPTIONS "+path)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestOpenAPICoversEveryRoute keeps the document and web.API in step:
// every route is documented and every documented operation is served.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	doc := specDoc(t)
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(documented)
	if diff := cmp.Diff(registeredRoutes(t), documented); diff != "" {
		t.Errorf("web.API (-) and api/openapi.yaml (+) differ:\n%s", diff)
	}
}

// TestOpenAPIConventions checks what every operation of a kind must
// document, so that a new endpoint cannot forget the shared behaviour.
func TestOpenAPIConventions(t *testing.T) {
	doc := specDoc(t)
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			t.Run(method+" "+path, func(t *testing.T) {
				if op.OperationID == "" || op.Summary == "" || op.Description == "" {
					t.Error("needs an operationId, a summary and a description")
				}
				// No security of its own means the document's: a key is needed,
				// and so the key's failures and the rate limit apply.
				authenticated := op.Security == nil || len(*op.Security) > 0
				var want []string
				if authenticated {
					want = append(want, "401", "403", "429", "500")
				}
				// A PUT reads a body, and so does a POST with an Idempotency-Key.
				if method == http.MethodPost || method == http.MethodPut {
					want = append(want, "400", "422")
				}
				// Every POST made with an API key takes an Idempotency-Key;
				// the click beacon, which carries its key in the body, does not.
				idem := slices.ContainsFunc(op.Parameters, func(p *openapi3.ParameterRef) bool {
					return p.Value.In == openapi3.ParameterInHeader && p.Value.Name == "Idempotency-Key"
				})
				if want := method == http.MethodPost && authenticated; idem != want {
					t.Errorf("Idempotency-Key parameter: %v, want %v", idem, want)
				}
				// A retry while the first request runs is a 409 idempotency_key_in_use.
				if idem {
					want = append(want, "409")
				}
				for _, status := range want {
					if op.Responses.Value(status) == nil {
						t.Errorf("does not document status %s", status)
					}
				}
			})
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		r := e.do(req{method: http.MethodGet, path: "/openapi.yaml"})
		if r.Status != http.StatusOK {
			t.Fatalf("status %d, want 200", r.Status)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/yaml" {
			t.Errorf("Content-Type %q, want application/yaml", ct)
		}
		if !bytes.Equal(r.Body, api.OpenAPI) {
			t.Errorf("GET /openapi.yaml served %d bytes that differ from api.OpenAPI (%d bytes)", len(r.Body), len(api.OpenAPI))
		}
	})
}

// TestOpenAPIStatusesServed drives every operation through every status
// api/openapi.yaml documents for it, each exchange checked against the
// document by e.do, and fails on a documented status that no request
// produced: the document lists what the server answers, no more, no less.
func TestOpenAPIStatusesServed(t *testing.T) {
	doc := specDoc(t)
	router, err := spec()
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			db := storetest.Open(t, engine)
			// A clock that stands still unless a case moves it: the
			// rate-limited server below never gets a new request's worth of
			// time, so its 429s are certain, and a discount code can be made
			// to expire.
			var clock atomic.Int64 // Unix microseconds
			clock.Store(time.Now().UnixMicro())
			e := newEnv(t, db, httpapi.Config{Now: func() time.Time { return time.UnixMicro(clock.Load()).UTC() }})

			served := map[string]bool{} // "METHOD /path STATUS" by the document's paths
			do := func(t *testing.T, e *env, r req) *response {
				t.Helper()
				resp := e.in(t).do(r)
				hr, err := http.NewRequest(r.method, e.srv.URL+r.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if route, _, err := router.FindRoute(hr); err == nil {
					served[fmt.Sprintf("%s %s %d", route.Method, route.Path, resp.Status)] = true
				}
				return resp
			}

			jane := map[string]any{"email": "jane@example.com", "name": "Jane Doe", "key": "cust_123",
				"referral_code": "JANE20", "metadata": map[string]any{"plan": "basic", "seats": 3}}
			replay := map[string]string{"Idempotency-Key": "6b1f0a52-create-john"}
			sk, pk := e.sk, e.pk
			for _, c := range []struct {
				name   string
				r      req
				status int
			}{
				{"healthz", req{method: "GET", path: "/healthz"}, 200},
				{"readyz", req{method: "GET", path: "/readyz"}, 200},
				{"metrics", req{method: "GET", path: "/metrics", key: metricsToken}, 200},
				{"metrics without the token", req{method: "GET", path: "/metrics"}, 401},
				{"openapi", req{method: "GET", path: "/openapi.yaml"}, 200},

				{"get program", req{method: "GET", path: "/v1/program", key: sk}, 200},
				{"update program", req{method: "PUT", path: "/v1/program", key: sk,
					body: map[string]any{"allowed_domains": []string{"app.example.com"}, "cookie_days": 60, "require_approval": false, "name": nil}}, 200},
				{"update program malformed", req{method: "PUT", path: "/v1/program", key: sk, body: `{"name":`}, 400},
				{"update program invalid", req{method: "PUT", path: "/v1/program", key: sk, body: map[string]any{"cookie_days": 0}}, 422},

				{"create customer", req{method: "POST", path: "/v1/customers", key: sk, body: jane}, 201},
				{"create referred customer", req{method: "POST", path: "/v1/customers", key: pk, header: replay,
					body: map[string]any{"email": "john@example.com", "name": "John Smith", "key": "cust_456", "referred_by": "jane20", "metadata": nil}}, 201},
				{"create customer replayed", req{method: "POST", path: "/v1/customers", key: pk, header: replay,
					body: map[string]any{"email": "john@example.com", "name": "John Smith", "key": "cust_456", "referred_by": "jane20", "metadata": nil}}, 201},
				{"create customer again from the browser", req{method: "POST", path: "/v1/customers", key: pk,
					body: map[string]any{"email": "John@example.com", "name": "John Smith", "key": "cust_456"}}, 200},
				{"create customer as text", req{method: "POST", path: "/v1/customers", key: sk, body: `{}`,
					header: map[string]string{"Content-Type": "text/plain"}}, 400},
				{"create customer key taken", req{method: "POST", path: "/v1/customers", key: sk,
					body: map[string]any{"email": "other@example.com", "key": "cust_123"}}, 409},
				{"create customer bad email", req{method: "POST", path: "/v1/customers", key: sk,
					body: map[string]any{"email": "jane", "key": "cust_789"}}, 422},

				{"list customers", req{method: "GET", path: "/v1/customers?limit=1", key: sk}, 200},
				{"list referred customers", req{method: "GET", path: "/v1/customers?referred=true&email=JOHN@example.com", key: sk}, 200},
				{"list customers bad cursor", req{method: "GET", path: "/v1/customers?cursor=bm9wZQ", key: sk}, 400},
				{"list customers bad limit", req{method: "GET", path: "/v1/customers?limit=101", key: sk}, 422},

				{"get customer", req{method: "GET", path: "/v1/customers/cust_456", key: sk}, 200},
				{"get unknown customer", req{method: "GET", path: "/v1/customers/nobody", key: sk}, 404},

				{"update customer", req{method: "PUT", path: "/v1/customers/cust_123", key: sk,
					body: map[string]any{"name": "Jane Smith", "metadata": map[string]any{"plan": "premium", "seats": nil}}}, 200},
				{"update customer malformed", req{method: "PUT", path: "/v1/customers/cust_123", key: sk, body: `[]`}, 400},
				{"update unknown customer", req{method: "PUT", path: "/v1/customers/nobody", key: sk, body: map[string]any{}}, 404},
				{"update customer email taken", req{method: "PUT", path: "/v1/customers/cust_456", key: sk,
					body: map[string]any{"email": "JANE@example.com"}}, 409},
				{"update customer referrer", req{method: "PUT", path: "/v1/customers/cust_123", key: sk,
					body: map[string]any{"referred_by": "NOSUCH"}}, 422},

				{"list links", req{method: "GET", path: "/v1/customers/cust_123/referral_links", key: sk}, 200},
				{"list unknown customer's links", req{method: "GET", path: "/v1/customers/nobody/referral_links", key: sk}, 404},

				{"create link", req{method: "POST", path: "/v1/customer_referral_links", key: sk,
					body: map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/signup", "code": "jane-signup"}}, 201},
				{"create link without body", req{method: "POST", path: "/v1/customer_referral_links", key: sk}, 400},
				{"create link code taken", req{method: "POST", path: "/v1/customer_referral_links", key: sk,
					body: map[string]any{"customer_key": "cust_456", "destination_url": "https://yoursite.com/", "code": "JANE-SIGNUP"}}, 409},
				{"create link elsewhere", req{method: "POST", path: "/v1/customer_referral_links", key: sk,
					body: map[string]any{"customer_key": "cust_123", "destination_url": "https://evil.example.net/"}}, 422},

				{"delete unknown link", req{method: "DELETE", path: "/v1/customer_referral_links/rl_nosuch", key: sk}, 404},
				{"leaderboard", req{method: "GET", path: "/v1/leaderboard?period=month&limit=5", key: sk}, 200},
				{"leaderboard bad period", req{method: "GET", path: "/v1/leaderboard?period=week", key: sk}, 422},
				{"delete customer", req{method: "DELETE", path: "/v1/customers/cust_456", key: sk}, 204},
				{"delete deleted customer", req{method: "DELETE", path: "/v1/customers/cust_456", key: sk}, 404},
			} {
				t.Run(c.name, func(t *testing.T) {
					if r := do(t, e, c.r); r.Status != c.status {
						t.Errorf("status %d, want %d: %s", r.Status, c.status, r.Body)
					}
				})
			}

			t.Run("delete links", func(t *testing.T) {
				var links struct {
					Data []struct {
						ID      string `json:"id"`
						Default bool   `json:"default"`
					} `json:"data"`
				}
				do(t, e, req{method: "GET", path: "/v1/customers/cust_123/referral_links", key: sk}).json(t, &links)
				if len(links.Data) != 2 {
					t.Fatalf("got %d links, want the default and one extra", len(links.Data))
				}
				for _, l := range links.Data {
					want := http.StatusNoContent
					if l.Default {
						want = http.StatusUnprocessableEntity
					}
					if r := do(t, e, req{method: "DELETE", path: "/v1/customer_referral_links/" + l.ID, key: sk}); r.Status != want {
						t.Errorf("delete link (default %v): status %d, want %d: %s", l.Default, r.Status, want, r.Body)
					}
				}
			})

			t.Run("rewards", func(t *testing.T) {
				serveRewardStatuses(t, e, do, func(d time.Duration) { clock.Add(d.Microseconds()) })
			})
			t.Run("browser", func(t *testing.T) { serveBrowserStatuses(t, e, do) })
			t.Run("webhooks", func(t *testing.T) { serveWebhookStatuses(t, e, do) })
			t.Run("events", func(t *testing.T) { serveEventStatuses(t, e, do) })
			t.Run("stripe", func(t *testing.T) { serveStripeStatuses(t, e, engine, do) })
			// After the widget steps, which sign with the first secret.
			t.Run("rotate widget secret", func(t *testing.T) {
				rotate := "/v1/program/widget_secret/rotate"
				for _, c := range []struct {
					name   string
					r      req
					status int
				}{
					{"rotated", req{method: "POST", path: rotate, key: sk}, 200},
					{"malformed", req{method: "POST", path: rotate, key: sk, body: `{"x":`}, 400},
					{"unknown field", req{method: "POST", path: rotate, key: sk, body: map[string]any{"widget_secret": "x"}}, 422},
				} {
					if r := do(t, e, c.r); r.Status != c.status {
						t.Errorf("%s: status %d, want %d: %s", c.name, r.Status, c.status, r.Body)
					}
				}
			})

			// One request per authenticated operation, for the statuses
			// every one of them can answer.
			samples := []req{
				{method: "GET", path: "/v1/program"},
				{method: "PUT", path: "/v1/program", body: map[string]any{}},
				{method: "POST", path: "/v1/program/widget_secret/rotate"},
				{method: "POST", path: "/v1/customers", body: map[string]any{"email": "ann@example.com", "key": "ann", "referral_code": "ANN"}},
				{method: "GET", path: "/v1/customers"},
				{method: "GET", path: "/v1/customers/cust_123"},
				{method: "PUT", path: "/v1/customers/cust_123", body: map[string]any{}},
				{method: "DELETE", path: "/v1/customers/cust_123"},
				{method: "GET", path: "/v1/customers/cust_123/referral_links"},
				{method: "POST", path: "/v1/customer_referral_links", body: map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/"}},
				{method: "DELETE", path: "/v1/customer_referral_links/rl_nosuch"},
				{method: "GET", path: "/v1/reward_rules"},
				{method: "POST", path: "/v1/reward_rules", body: map[string]any{"reward_type": "credit", "amount": 1}},
				{method: "GET", path: "/v1/reward_rules/rule_nosuch"},
				{method: "PUT", path: "/v1/reward_rules/rule_nosuch", body: map[string]any{}},
				{method: "DELETE", path: "/v1/reward_rules/rule_nosuch"},
				{method: "POST", path: "/v1/transactions", body: map[string]any{"customer_key": "cust_123", "key": "in_sample", "amount": 1}},
				{method: "GET", path: "/v1/transactions"},
				{method: "GET", path: "/v1/transactions/in_nosuch"},
				{method: "POST", path: "/v1/transactions/in_nosuch/refund"},
				{method: "DELETE", path: "/v1/transactions/in_nosuch"},
				{method: "GET", path: "/v1/customers/cust_123/transactions"},
				{method: "GET", path: "/v1/rewards"},
				{method: "GET", path: "/v1/rewards/rwd_nosuch"},
				{method: "POST", path: "/v1/rewards/rwd_nosuch/approve"},
				{method: "POST", path: "/v1/rewards/rwd_nosuch/reject", body: map[string]any{"reason": "Fraud"}},
				{method: "GET", path: "/v1/customers/cust_123/stats"},
				{method: "GET", path: "/v1/leaderboard"},
				{method: "GET", path: "/v1/customers/cust_123/balance"},
				{method: "POST", path: "/v1/customers/cust_123/balance/credit", body: map[string]any{"amount": 1}},
				{method: "POST", path: "/v1/customers/cust_123/balance/debit", body: map[string]any{"amount": 1}},
				{method: "GET", path: "/v1/customers/cust_123/ledger"},
				{method: "GET", path: "/v1/customers/cust_123/discount_codes"},
				{method: "POST", path: "/v1/discount_codes/GIFT-NOSUCH/redeem"},
				{method: "GET", path: "/v1/sdk/config"},
				{method: "GET", path: "/v1/widget?customer_key=cust_123"},
				{method: "GET", path: "/v1/webhook_endpoints"},
				{method: "POST", path: "/v1/webhook_endpoints", body: map[string]any{"url": "https://example.com/", "events": []string{"*"}}},
				{method: "GET", path: "/v1/webhook_endpoints/we_nosuch"},
				{method: "PUT", path: "/v1/webhook_endpoints/we_nosuch", body: map[string]any{}},
				{method: "DELETE", path: "/v1/webhook_endpoints/we_nosuch"},
				{method: "POST", path: "/v1/webhook_endpoints/we_nosuch/rotate_secret"},
				{method: "GET", path: "/v1/events"},
				{method: "GET", path: "/v1/events/evt_nosuch"},
				{method: "GET", path: "/v1/webhook_endpoints/we_nosuch/deliveries"},
				{method: "POST", path: "/v1/webhook_deliveries/whd_nosuch/retry"},
				{method: "POST", path: "/v1/webhook_endpoints/we_nosuch/test"},
				{method: "GET", path: "/v1/integrations/stripe"},
				{method: "PUT", path: "/v1/integrations/stripe", body: map[string]any{}},
				{method: "DELETE", path: "/v1/integrations/stripe"},
				{method: "POST", path: "/v1/integrations/stripe/sync", body: map[string]any{"since": time.Now().Format(time.DateOnly)}},
			}
			// On e's database, so on e's clock too.
			limited := newEnv(t, db, httpapi.Config{RateLimit: 1, RateBurst: 1, IPRateLimit: 1, IPRateBurst: 1})
			do(t, limited, req{method: "GET", path: "/v1/program", key: limited.sk}) // spends the one request allowed
			beacon := func(key string) req {
				return req{method: "POST", path: "/v1/track/click", body: map[string]any{"publishable_key": key, "code": "NOSUCH"}}
			}
			// The click beacon is limited per address instead: its first
			// request spends what this address is allowed.
			if r := do(t, limited, beacon(limited.pk)); r.Status != http.StatusAccepted {
				t.Fatalf("first beacon: status %d, want 202: %s", r.Status, r.Body)
			}
			// Opened without storetest.Open, whose cleanup would close it again.
			brokenDB, err := store.Open(t.Context(), storetest.DSN(t, engine))
			if err != nil {
				t.Fatal(err)
			}
			if err := brokenDB.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			// Before it has a program, a short link has nowhere to go.
			t.Run("short link on a server without programs", func(t *testing.T) {
				bare := &env{t: t, db: brokenDB, api: httpapi.New(brokenDB, slog.New(slog.DiscardHandler), httpapi.Config{})}
				bare.srv = httptest.NewServer(web.APIHandler(bare.api))
				defer bare.srv.Close()
				if r := do(t, bare, req{method: "GET", path: "/r/JANE20"}); r.Status != http.StatusNotFound {
					t.Errorf("status %d, want 404: %s", r.Status, r.Body)
				}
			})
			broken := newEnv(t, brokenDB, httpapi.Config{})
			if err := brokenDB.Close(); err != nil {
				t.Fatal(err)
			}
			// A publishable key is refused by secret-key endpoints, and by
			// browser endpoints when it is used from another site.
			evil := map[string]string{"Origin": "https://evil.example.net"}
			for _, c := range []struct {
				name   string
				e      *env
				key    string
				header map[string]string
				status int
			}{
				{"without a key", e, "", nil, http.StatusUnauthorized},
				{"with a publishable key", e, pk, evil, http.StatusForbidden},
				{"over the rate limit", limited, limited.sk, nil, http.StatusTooManyRequests},
				{"with the database down", broken, broken.sk, nil, http.StatusInternalServerError},
			} {
				t.Run(c.name, func(t *testing.T) {
					for _, r := range samples {
						r.key, r.header = c.key, c.header
						if resp := do(t, c.e, r); resp.Status != c.status {
							t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, resp.Status, c.status, resp.Body)
						}
					}
				})
			}
			t.Run("beacon over the rate limit", func(t *testing.T) {
				if r := do(t, limited, beacon(limited.pk)); r.Status != http.StatusTooManyRequests {
					t.Errorf("status %d, want 429: %s", r.Status, r.Body)
				}
			})
			t.Run("unsubscribe links", func(t *testing.T) {
				e := e.in(t)
				e.db.Emails = true
				ann := e.createCustomer(map[string]any{"key": "ann", "email": "ann@example.com"})
				e.createCustomer(map[string]any{"key": "ann-friend", "email": "annf@example.com", "referred_by": ann.ReferralCode})
				if _, err := e.db.DispatchEvents(t.Context(), time.UnixMicro(clock.Load()), 100); err != nil {
					t.Fatal(err)
				}
				qs, err := e.db.ClaimEmails(t.Context(), time.UnixMicro(clock.Load()), 10, time.Minute)
				if err != nil || len(qs) == 0 {
					t.Fatalf("claim: %v %v", qs, err)
				}
				pr, err := e.db.PrepareEmail(t.Context(), qs[0])
				if err != nil {
					t.Fatal(err)
				}
				link := "/unsubscribe/" + pr.UnsubscribeToken
				form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
				for _, c := range []struct {
					e      *env
					r      req
					status int
				}{
					{e, req{method: "GET", path: link}, 200},
					{e, req{method: "GET", path: "/unsubscribe/forged"}, 404},
					{e, req{method: "POST", path: "/unsubscribe/forged", body: "List-Unsubscribe=One-Click", header: form}, 404},
					{e, req{method: "POST", path: link, body: "List-Unsubscribe=Yes", header: form}, 422},
					{e, req{method: "POST", path: link, body: strings.Repeat("x", 5000), header: form}, 400},
					{e, req{method: "POST", path: link, body: "List-Unsubscribe=One-Click", header: form}, 200},
					{limited, req{method: "GET", path: "/unsubscribe/forged"}, 404},
					{limited, req{method: "GET", path: "/unsubscribe/forged"}, 429},
					{limited, req{method: "POST", path: "/unsubscribe/forged", body: "List-Unsubscribe=One-Click", header: form}, 429},
				} {
					if r := do(t, c.e, c.r); r.Status != c.status {
						t.Errorf("%s %s: status %d, want %d: %s", c.r.method, c.r.path, r.Status, c.status, r.Body)
					}
				}
			})
			t.Run("stripe webhook with the database down", func(t *testing.T) {
				r := req{method: "POST", path: "/integrations/stripe/webhook/" + broken.program.ID, header: map[string]string{"Stripe-Signature": "t=1,v1=00"},
					body: map[string]any{"id": "evt_1", "type": "invoice.paid", "data": map[string]any{"object": map[string]any{}}}}
				if r := do(t, broken, r); r.Status != http.StatusInternalServerError {
					t.Errorf("status %d, want 500: %s", r.Status, r.Body)
				}
			})
			t.Run("beacon with the database down", func(t *testing.T) {
				if r := do(t, broken, beacon(broken.pk)); r.Status != http.StatusInternalServerError {
					t.Errorf("status %d, want 500: %s", r.Status, r.Body)
				}
			})
			t.Run("short link with the database down", func(t *testing.T) {
				if r := do(t, broken, req{method: "GET", path: "/r/JANE20"}); r.Status != http.StatusInternalServerError {
					t.Errorf("status %d, want 500: %s", r.Status, r.Body)
				}
			})

			// Every POST takes an Idempotency-Key; a retry while the first
			// request still runs (claimed here as a running request would)
			// is a 409 idempotency_key_in_use, whatever the endpoint.
			t.Run("idempotency key in use", func(t *testing.T) {
				for i, r := range samples {
					if r.method != http.MethodPost {
						continue
					}
					var body []byte
					if r.body != nil {
						var err error
						if body, err = json.Marshal(r.body); err != nil {
							t.Fatal(err)
						}
						r.body = body
					}
					ikey := fmt.Sprintf("in-flight-%d", i)
					sum := sha256.Sum256(append([]byte("POST "+r.path+"\n"), body...))
					release := e.api.HoldIdempotencyKey(e.program.ID, ikey, hex.EncodeToString(sum[:]))
					defer release()
					r.key, r.header = sk, map[string]string{"Idempotency-Key": ikey}
					if resp := do(t, e, r); resp.Status != http.StatusConflict || resp.problem(t).Code != "idempotency_key_in_use" {
						t.Errorf("POST %s: status %d, want 409 idempotency_key_in_use: %s", r.path, resp.Status, resp.Body)
					}
				}
			})

			t.Run("readyz with the database down", func(t *testing.T) {
				if r := do(t, broken, req{method: "GET", path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
					t.Errorf("status %d, want 503", r.Status)
				}
			})

			for path, item := range doc.Paths.Map() {
				for method, op := range item.Operations() {
					for status := range op.Responses.Map() {
						if key := method + " " + path + " " + status; !served[key] {
							t.Errorf("api/openapi.yaml documents %s, but no request here was answered so", key)
						}
					}
				}
			}
		})
	}
}

// serveRewardStatuses walks the rewards engine through every status
// api/openapi.yaml documents for it: rules, transactions and refunds,
// approval, balances and discount codes. do records what was served;
// advance moves the server's clock on.
func serveRewardStatuses(t *testing.T, e *env, do func(*testing.T, *env, req) *response, advance func(time.Duration)) {
	step := func(name string, r req, status int) *response {
		t.Helper()
		var resp *response
		t.Run(name, func(t *testing.T) {
			if r.key == "" {
				r.key = e.sk
			}
			resp = do(t, e, r)
			if resp.Status != status {
				t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, resp.Status, status, resp.Body)
			}
		})
		return resp
	}
	asText := map[string]string{"Content-Type": "text/plain"}

	// A credit and a percent-off discount for the referrer's first
	// purchase (the seed's objects as they are), 10% cash held 30 days on
	// every purchase, and an expiring welcome discount for the friend.
	ruleIDs := map[string]string{}
	for _, c := range []struct {
		name string
		body map[string]any
	}{
		{"credit", map[string]any{"reward_type": "credit", "amount": 10, "currency": "USD"}},
		{"discount", map[string]any{"reward_type": "discount", "amount": 20, "unit": "percentage"}},
		{"held cash", map[string]any{"reward_type": "cash", "amount": 10, "unit": "percentage", "recurrence": "every",
			"holding_days": 30, "payout_method": "paypal"}},
		{"welcome", map[string]any{"trigger": "signup", "recipient": "friend", "reward_type": "discount", "amount": 5,
			"currency": "USD", "expires_in_days": 1}},
		{"doomed", map[string]any{"reward_type": "credit", "amount": 1, "active": false}},
	} {
		resp := step("create rule "+c.name, req{method: "POST", path: "/v1/reward_rules", body: c.body}, 201)
		var out struct {
			RewardRule struct{ ID string } `json:"reward_rule"`
		}
		resp.json(t, &out)
		ruleIDs[c.name] = out.RewardRule.ID
	}
	step("create rule malformed", req{method: "POST", path: "/v1/reward_rules", body: `{"amount":`}, 400)
	step("create percentage signup rule", req{method: "POST", path: "/v1/reward_rules",
		body: map[string]any{"trigger": "signup", "reward_type": "credit", "amount": 10, "unit": "percentage"}}, 422)
	step("list rules", req{method: "GET", path: "/v1/reward_rules"}, 200)
	step("get rule", req{method: "GET", path: "/v1/reward_rules/" + ruleIDs["credit"]}, 200)
	step("get unknown rule", req{method: "GET", path: "/v1/reward_rules/rule_nosuch"}, 404)
	step("update rule", req{method: "PUT", path: "/v1/reward_rules/" + ruleIDs["credit"],
		body: map[string]any{"name": "Referrer credit", "amount": 10, "min_amount": 0}}, 200)
	step("update rule malformed", req{method: "PUT", path: "/v1/reward_rules/" + ruleIDs["credit"], body: `[`}, 400)
	step("update unknown rule", req{method: "PUT", path: "/v1/reward_rules/rule_nosuch", body: map[string]any{}}, 404)
	step("update rule invalid", req{method: "PUT", path: "/v1/reward_rules/" + ruleIDs["credit"],
		body: map[string]any{"holding_days": 366}}, 422)
	step("delete rule", req{method: "DELETE", path: "/v1/reward_rules/" + ruleIDs["doomed"]}, 204)
	step("delete deleted rule", req{method: "DELETE", path: "/v1/reward_rules/" + ruleIDs["doomed"]}, 404)

	// Amy refers Bob and Cid, who get their welcome codes at once.
	step("create referrer", req{method: "POST", path: "/v1/customers",
		body: map[string]any{"email": "amy@example.com", "key": "amy", "referral_code": "AMY"}}, 201)
	for _, friend := range []string{"bob", "cid"} {
		step("create friend "+friend, req{method: "POST", path: "/v1/customers",
			body: map[string]any{"email": friend + "@example.com", "key": friend, "referred_by": "amy"}}, 201)
	}

	purchase := func(key string, amount any) map[string]any {
		return map[string]any{"customer_key": "bob", "key": key, "amount": amount, "currency": "USD", "metadata": map[string]any{"order": key}}
	}
	step("record transaction", req{method: "POST", path: "/v1/transactions", body: purchase("in_1", 100)}, 201)
	step("record transaction again", req{method: "POST", path: "/v1/transactions", body: purchase("in_1", 100)}, 200)
	step("record transaction key conflict", req{method: "POST", path: "/v1/transactions", body: purchase("in_1", 99)}, 409)
	step("record transaction without body", req{method: "POST", path: "/v1/transactions"}, 400)
	step("record transaction too precise", req{method: "POST", path: "/v1/transactions", body: purchase("in_x", 1.005)}, 422)
	step("record second transaction", req{method: "POST", path: "/v1/transactions", body: purchase("in_2", 50)}, 201)
	step("record third transaction", req{method: "POST", path: "/v1/transactions", body: purchase("in_3", 30)}, 201)
	step("list transactions", req{method: "GET", path: "/v1/transactions?limit=2"}, 200)
	step("list transactions bad cursor", req{method: "GET", path: "/v1/transactions?cursor=bm9wZQ"}, 400)
	step("list transactions bad limit", req{method: "GET", path: "/v1/transactions?limit=0"}, 422)
	step("get transaction", req{method: "GET", path: "/v1/transactions/in_1"}, 200)
	step("get unknown transaction", req{method: "GET", path: "/v1/transactions/in_nosuch"}, 404)

	step("refund part", req{method: "POST", path: "/v1/transactions/in_1/refund", body: map[string]any{"amount": 10, "reason": "Damaged item"}}, 200)
	step("refund too much", req{method: "POST", path: "/v1/transactions/in_1/refund", body: map[string]any{"amount": 1000}}, 422)
	step("refund unknown", req{method: "POST", path: "/v1/transactions/in_nosuch/refund"}, 404)
	step("refund as text", req{method: "POST", path: "/v1/transactions/in_1/refund", body: `{}`, header: asText}, 400)
	step("refund the rest", req{method: "DELETE", path: "/v1/transactions/in_1"}, 200)
	step("refund again", req{method: "POST", path: "/v1/transactions/in_1/refund", body: map[string]any{"reason": nil}}, 409)
	step("delete refunded", req{method: "DELETE", path: "/v1/transactions/in_1"}, 409)
	step("delete unknown transaction", req{method: "DELETE", path: "/v1/transactions/in_nosuch"}, 404)

	step("list customer transactions", req{method: "GET", path: "/v1/customers/bob/transactions"}, 200)
	step("list unknown customer's transactions", req{method: "GET", path: "/v1/customers/nobody/transactions"}, 404)
	step("list customer transactions bad cursor", req{method: "GET", path: "/v1/customers/bob/transactions?cursor=bm9wZQ"}, 400)
	step("list customer transactions bad limit", req{method: "GET", path: "/v1/customers/bob/transactions?limit=101"}, 422)

	// in_2 and in_3 left Amy two held cash rewards: one to approve, one to reject.
	step("list rewards", req{method: "GET", path: "/v1/rewards"}, 200)
	var pending struct {
		Data []struct{ ID string } `json:"data"`
	}
	step("list pending rewards", req{method: "GET", path: "/v1/rewards?status=pending&customer_key=amy"}, 200).json(t, &pending)
	if len(pending.Data) != 2 {
		t.Fatalf("got %d pending rewards, want 2 (the held cash of in_2 and in_3)", len(pending.Data))
	}
	approve, reject := pending.Data[0].ID, pending.Data[1].ID
	step("list rewards bad status", req{method: "GET", path: "/v1/rewards?status=lost"}, 422)
	step("list unknown customer's rewards", req{method: "GET", path: "/v1/rewards?customer_key=nobody"}, 404)
	step("list rewards bad cursor", req{method: "GET", path: "/v1/rewards?cursor=bm9wZQ"}, 400)
	step("get reward", req{method: "GET", path: "/v1/rewards/" + approve}, 200)
	step("get unknown reward", req{method: "GET", path: "/v1/rewards/rwd_nosuch"}, 404)

	step("approve reward", req{method: "POST", path: "/v1/rewards/" + approve + "/approve"}, 200)
	step("approve reward again", req{method: "POST", path: "/v1/rewards/" + approve + "/approve", body: map[string]any{}}, 409)
	step("approve unknown reward", req{method: "POST", path: "/v1/rewards/rwd_nosuch/approve"}, 404)
	step("approve with a field", req{method: "POST", path: "/v1/rewards/" + reject + "/approve", body: map[string]any{"note": "ok"}}, 422)
	step("approve as text", req{method: "POST", path: "/v1/rewards/" + reject + "/approve", body: `{}`, header: asText}, 400)
	step("reject reward", req{method: "POST", path: "/v1/rewards/" + reject + "/reject", body: map[string]any{"reason": "Same household"}}, 200)
	step("reject reward again", req{method: "POST", path: "/v1/rewards/" + reject + "/reject", body: map[string]any{"reason": "Again"}}, 409)
	step("reject unknown reward", req{method: "POST", path: "/v1/rewards/rwd_nosuch/reject", body: map[string]any{"reason": "Fraud"}}, 404)
	step("reject without reason", req{method: "POST", path: "/v1/rewards/" + approve + "/reject", body: map[string]any{"reason": " "}}, 422)
	step("reject without body", req{method: "POST", path: "/v1/rewards/" + approve + "/reject"}, 400)

	for _, what := range []string{"stats", "balance"} {
		step("get "+what, req{method: "GET", path: "/v1/customers/amy/" + what}, 200)
		step("get "+what+" in EUR", req{method: "GET", path: "/v1/customers/amy/" + what + "?currency=EUR"}, 200)
		step("get "+what+" bad currency", req{method: "GET", path: "/v1/customers/amy/" + what + "?currency=EURO"}, 422)
		step("get unknown customer's "+what, req{method: "GET", path: "/v1/customers/nobody/" + what}, 404)
	}
	step("credit balance", req{method: "POST", path: "/v1/customers/amy/balance/credit",
		body: map[string]any{"amount": 10, "currency": "USD", "note": "Referral bonus"}}, 200)
	step("credit balance malformed", req{method: "POST", path: "/v1/customers/amy/balance/credit", body: `{"amount": 10,}`}, 400)
	step("credit unknown customer", req{method: "POST", path: "/v1/customers/nobody/balance/credit", body: map[string]any{"amount": 10}}, 404)
	step("credit too precise", req{method: "POST", path: "/v1/customers/amy/balance/credit", body: map[string]any{"amount": 0.001}}, 422)
	step("debit balance", req{method: "POST", path: "/v1/customers/amy/balance/debit",
		body: map[string]any{"amount": 5, "currency": nil, "note": "Order 1042"}}, 200)
	step("debit too much", req{method: "POST", path: "/v1/customers/amy/balance/debit", body: map[string]any{"amount": 1000000}}, 422)
	step("debit as text", req{method: "POST", path: "/v1/customers/amy/balance/debit", body: `{"amount": 5}`, header: asText}, 400)
	step("debit unknown customer", req{method: "POST", path: "/v1/customers/nobody/balance/debit", body: map[string]any{"amount": 5}}, 404)
	step("list ledger", req{method: "GET", path: "/v1/customers/amy/ledger?limit=3"}, 200)
	step("list ledger bad cursor", req{method: "GET", path: "/v1/customers/amy/ledger?cursor=bm9wZQ"}, 400)
	step("list ledger bad limit", req{method: "GET", path: "/v1/customers/amy/ledger?limit=0"}, 422)
	step("list unknown customer's ledger", req{method: "GET", path: "/v1/customers/nobody/ledger"}, 404)

	// Amy's percent-off code was voided when in_1 was refunded in full;
	// the friends' welcome codes are active until a day has passed.
	code := func(customer string) string {
		t.Helper()
		var codes struct {
			Data []struct{ Code string } `json:"data"`
		}
		step("list "+customer+"'s discount codes", req{method: "GET", path: "/v1/customers/" + customer + "/discount_codes"}, 200).json(t, &codes)
		if len(codes.Data) != 1 {
			t.Fatalf("%s has %d discount codes, want 1", customer, len(codes.Data))
		}
		return codes.Data[0].Code
	}
	step("list unknown customer's discount codes", req{method: "GET", path: "/v1/customers/nobody/discount_codes"}, 404)
	bob := code("bob")
	step("redeem code", req{method: "POST", path: "/v1/discount_codes/" + strings.ToLower(bob) + "/redeem"}, 200)
	step("redeem code again", req{method: "POST", path: "/v1/discount_codes/" + bob + "/redeem", body: map[string]any{}}, 409)
	step("redeem void code", req{method: "POST", path: "/v1/discount_codes/" + code("amy") + "/redeem"}, 409)
	step("redeem unknown code", req{method: "POST", path: "/v1/discount_codes/GIFT-NOSUCH/redeem"}, 404)
	step("redeem as text", req{method: "POST", path: "/v1/discount_codes/" + bob + "/redeem", body: `{}`, header: asText}, 400)
	cid := code("cid")
	advance(49 * time.Hour)
	step("redeem expired code", req{method: "POST", path: "/v1/discount_codes/" + cid + "/redeem"}, 422)
}

// serveBrowserStatuses drives what the browser SDK uses: the script, short
// links, CORS preflights, the SDK's settings, the click beacon and the
// widget, with the publishable key from the program's own site.
func serveBrowserStatuses(t *testing.T, e *env, do func(*testing.T, *env, req) *response) {
	step := func(name string, r req, status int) *response {
		t.Helper()
		var resp *response
		t.Run(name, func(t *testing.T) {
			resp = do(t, e, r)
			if resp.Status != status {
				t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, resp.Status, status, resp.Body)
			}
		})
		return resp
	}
	site := func(more ...string) map[string]string {
		h := map[string]string{"Origin": "https://yoursite.com", "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
		for i := 0; i+1 < len(more); i += 2 {
			h[more[i]] = more[i+1]
		}
		return h
	}

	step("script", req{method: "GET", path: "/js/po.js"}, 200)
	step("script gzipped", req{method: "GET", path: "/js/po.js", header: map[string]string{"Accept-Encoding": "gzip"}}, 200)
	step("short link", req{method: "GET", path: "/r/jane20", header: site()}, 302)
	step("short link of an unknown code", req{method: "GET", path: "/r/NOSUCH"}, 302)
	for _, path := range []string{"/v1/customers", "/v1/sdk/config", "/v1/track/click", "/v1/widget"} {
		step("preflight "+path, req{method: "OPTIONS", path: path, header: site("Access-Control-Request-Method", "POST")}, 204)
	}
	step("sdk config", req{method: "GET", path: "/v1/sdk/config", key: e.pk, header: site()}, 200)

	click := map[string]any{"publishable_key": e.pk, "code": "JANE20", "url": "https://yoursite.com/?ref=JANE20",
		"referrer": "", "visitor_id": "v_3kq9x7m2p8t4w6y1"}
	step("beacon", req{method: "POST", path: "/v1/track/click", body: click, header: site()}, 202)
	text, err := json.Marshal(click)
	if err != nil {
		t.Fatal(err)
	}
	step("beacon as text", req{method: "POST", path: "/v1/track/click", body: string(text), header: site("Content-Type", "text/plain;charset=UTF-8")}, 202)
	step("beacon malformed", req{method: "POST", path: "/v1/track/click", body: `{"publishable_key":`, header: site()}, 400)
	step("beacon with an unknown key", req{method: "POST", path: "/v1/track/click", body: map[string]any{"publishable_key": "pk_nosuch"}}, 401)
	step("beacon from another site", req{method: "POST", path: "/v1/track/click", body: click,
		header: map[string]string{"Origin": "https://evil.example.net"}}, 403)
	step("beacon with an unknown field", req{method: "POST", path: "/v1/track/click",
		body: map[string]any{"publishable_key": e.pk, "campaign": "spring"}}, 422)

	hash := e.program.CustomerHash("cust_123")
	step("widget", req{method: "GET", path: "/v1/widget?customer_key=cust_123&customer_hash=" + hash, key: e.pk, header: site()}, 200)
	step("widget with a wrong hash", req{method: "GET", path: "/v1/widget?customer_key=cust_123&customer_hash=" + strings.Repeat("0", 64), key: e.pk}, 403)
	step("widget of an unknown customer", req{method: "GET", path: "/v1/widget?customer_key=nobody&customer_hash=" + e.program.CustomerHash("nobody"), key: e.pk}, 404)
	step("widget without a customer", req{method: "GET", path: "/v1/widget", key: e.pk}, 422)
}

// serveWebhookStatuses drives the webhook endpoints through every status
// api/openapi.yaml documents for them.
func serveWebhookStatuses(t *testing.T, e *env, do func(*testing.T, *env, req) *response) {
	step := func(name string, r req, status int) *response {
		t.Helper()
		var resp *response
		t.Run(name, func(t *testing.T) {
			r.key = e.sk
			resp = do(t, e, r)
			if resp.Status != status {
				t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, resp.Status, status, resp.Body)
			}
		})
		return resp
	}
	const list = "/v1/webhook_endpoints"
	ep := map[string]any{"url": "https://example.com/webhooks/advocate", "events": []string{"reward.created", "reward.available"}, "description": "Fulfilment"}
	var created struct {
		Endpoint struct{ ID string } `json:"webhook_endpoint"`
	}
	step("create endpoint", req{method: "POST", path: list, body: ep}, 201).json(t, &created)
	one := list + "/" + created.Endpoint.ID
	var all struct {
		Endpoint struct{ ID string } `json:"webhook_endpoint"`
	}
	step("create endpoint for all events", req{method: "POST", path: list, body: map[string]any{"url": "http://example.org:8080/", "events": []string{"*"}}}, 201).json(t, &all)
	step("create endpoint malformed", req{method: "POST", path: list, body: `{"url":`}, 400)
	step("create endpoint unknown event", req{method: "POST", path: list, body: map[string]any{"url": "https://example.com/", "events": []string{"reward.paid"}}}, 422)
	step("list endpoints", req{method: "GET", path: list + "?limit=1"}, 200)
	step("list endpoints bad cursor", req{method: "GET", path: list + "?cursor=bm9wZQ"}, 400)
	step("list endpoints bad limit", req{method: "GET", path: list + "?limit=0"}, 422)
	step("get endpoint", req{method: "GET", path: one}, 200)
	step("get unknown endpoint", req{method: "GET", path: list + "/we_nosuch"}, 404)
	step("update endpoint", req{method: "PUT", path: one, body: map[string]any{"active": false, "events": []string{"*"}}}, 200)
	step("update endpoint malformed", req{method: "PUT", path: one, body: `[`}, 400)
	step("update endpoint with credentials", req{method: "PUT", path: one, body: map[string]any{"url": "https://u:p@example.com/"}}, 422)
	step("update unknown endpoint", req{method: "PUT", path: list + "/we_nosuch", body: map[string]any{}}, 404)
	step("rotate secret", req{method: "POST", path: one + "/rotate_secret"}, 200)
	step("rotate secret malformed", req{method: "POST", path: one + "/rotate_secret", body: `{"x":`}, 400)
	step("rotate secret with a field", req{method: "POST", path: one + "/rotate_secret", body: map[string]any{"secret": "whsec_x"}}, 422)
	step("rotate unknown secret", req{method: "POST", path: list + "/we_nosuch/rotate_secret"}, 404)
	step("create customer", req{method: "POST", path: "/v1/customers", body: map[string]any{"key": "hooked", "email": "hooked@example.com"}}, 201)
	if _, err := e.db.DispatchEvents(t.Context(), e.db.Now(), 100); err != nil {
		t.Fatal(err)
	}
	deliveries := list + "/" + all.Endpoint.ID + "/deliveries"
	var log struct {
		Data []struct{ ID string } `json:"data"`
	}
	step("list deliveries", req{method: "GET", path: deliveries}, 200).json(t, &log)
	if len(log.Data) == 0 {
		t.Fatal("no delivery to the endpoint for all events")
	}
	step("list deliveries bad cursor", req{method: "GET", path: deliveries + "?cursor=bm9wZQ"}, 400)
	step("list deliveries bad limit", req{method: "GET", path: deliveries + "?limit=0"}, 422)
	step("list deliveries of an unknown endpoint", req{method: "GET", path: list + "/we_nosuch/deliveries"}, 404)
	retry := "/v1/webhook_deliveries/" + log.Data[0].ID + "/retry"
	step("retry delivery", req{method: "POST", path: retry}, 200)
	step("retry delivery malformed", req{method: "POST", path: retry, body: `{"x":`}, 400)
	step("retry delivery with a field", req{method: "POST", path: retry, body: map[string]any{"now": true}}, 422)
	step("retry unknown delivery", req{method: "POST", path: "/v1/webhook_deliveries/whd_nosuch/retry"}, 404)
	test := list + "/" + all.Endpoint.ID + "/test"
	step("send test event", req{method: "POST", path: test}, 202)
	step("send test event malformed", req{method: "POST", path: test, body: `{"x":`}, 400)
	step("send test event with a field", req{method: "POST", path: test, body: map[string]any{"x": 1}}, 422)
	step("send test event to a paused endpoint", req{method: "POST", path: one + "/test"}, 409)
	step("send test event to an unknown endpoint", req{method: "POST", path: list + "/we_nosuch/test"}, 404)
	step("delete endpoint", req{method: "DELETE", path: one}, 204)
	step("delete deleted endpoint", req{method: "DELETE", path: one}, 404)
}

// serveEventStatuses drives the events API through every status
// api/openapi.yaml documents for it; the steps before made events.
func serveEventStatuses(t *testing.T, e *env, do func(*testing.T, *env, req) *response) {
	step := func(name string, r req, status int) *response {
		t.Helper()
		var resp *response
		t.Run(name, func(t *testing.T) {
			r.key = e.sk
			resp = do(t, e, r)
			if resp.Status != status {
				t.Errorf("%s %s: status %d, want %d: %s", r.method, r.path, resp.Status, status, resp.Body)
			}
		})
		return resp
	}
	var events page[struct{ ID string }]
	step("list events", req{method: "GET", path: "/v1/events?limit=1"}, 200).json(t, &events)
	if len(events.Data) != 1 {
		t.Fatalf("no event listed after the other steps: %+v", events)
	}
	step("list events of a type", req{method: "GET", path: "/v1/events?type=customer.created"}, 200)
	step("list events bad cursor", req{method: "GET", path: "/v1/events?cursor=bm9wZQ"}, 400)
	step("list events unknown type", req{method: "GET", path: "/v1/events?type=reward.paid"}, 422)
	step("get event", req{method: "GET", path: "/v1/events/" + events.Data[0].ID}, 200)
	step("get unknown event", req{method: "GET", path: "/v1/events/evt_nosuch"}, 404)
}
