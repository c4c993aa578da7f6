package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// post sends a JSON POST with an Idempotency-Key (none when ikey is "").
func (e *env) post(path, apiKey, ikey string, body any) *response {
	e.t.Helper()
	r := req{method: "POST", path: path, key: apiKey, body: body}
	if ikey != "" {
		r.header = map[string]string{"Idempotency-Key": ikey}
	}
	return e.do(r)
}

func TestIdempotency(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const jane = `{"email": "jane@example.com", "name": "Jane Doe", "key": "cust_123"}`

		t.Run("replay", func(t *testing.T) {
			e := e.in(t)
			first := e.post("/v1/customers", e.sk, "idem-1", jane)
			if first.Status != 201 || first.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first: %d, Idempotent-Replayed %q; body %s", first.Status, first.Header.Get("Idempotent-Replayed"), first.Body)
			}
			before := e.counts()
			for i := range 2 {
				again := e.post("/v1/customers", e.sk, "idem-1", jane)
				if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
					t.Errorf("retry %d: %d %s, want the first response %d %s", i, again.Status, again.Body, first.Status, first.Body)
				}
				if got := again.Header.Get("Idempotent-Replayed"); got != "true" {
					t.Errorf("retry %d: Idempotent-Replayed %q, want true", i, got)
				}
				if got, want := again.Header.Get("Content-Type"), first.Header.Get("Content-Type"); got != want {
					t.Errorf("retry %d: Content-Type %q, want %q", i, got, want)
				}
			}
			e.unchanged(before)
			if diff := cmp.Diff([]string{"cust_123"}, e.allCustomers(e.sk, "")); diff != "" {
				t.Errorf("customers (-want +got):\n%s", diff)
			}
		})

		// The key and its response are stored by the change's own
		// transaction: a keyed write costs one write transaction, as an
		// unkeyed one does, and a replay none.
		t.Run("no extra write transaction", func(t *testing.T) {
			e := e.in(t)
			if r := e.post("/v1/customers", e.sk, "", `{"key": "payer", "email": "payer@example.com"}`); r.Status != 201 {
				t.Fatalf("customer: %d %s", r.Status, r.Body)
			}
			for _, tc := range []struct {
				name, path, ikey, body string
				status                 int
				writes                 int64
			}{
				{"payment", "/v1/transactions", "idem-pay", `{"customer_key": "payer", "key": "o-1", "amount": 10}`, 201, 1},
				{"its retry", "/v1/transactions", "idem-pay", `{"customer_key": "payer", "key": "o-1", "amount": 10}`, 201, 0},
				{"credit", "/v1/customers/payer/balance/credit", "idem-credit", `{"amount": 5}`, 200, 1},
				{"refund", "/v1/transactions/o-1/refund", "idem-refund", `{"amount": 2}`, 200, 1},
			} {
				before := e.db.WriteTransactions()
				r := e.post(tc.path, e.sk, tc.ikey, tc.body)
				if r.Status != tc.status {
					t.Fatalf("%s: %d %s", tc.name, r.Status, r.Body)
				}
				if got := e.db.WriteTransactions() - before; got != tc.writes {
					t.Errorf("%s: %d write transactions, want %d", tc.name, got, tc.writes)
				}
			}
		})

		t.Run("same key, different request", func(t *testing.T) {
			e := e.in(t)
			before := e.counts()
			for _, tc := range []struct {
				name, path string
				body       any
			}{
				{"other body", "/v1/customers", `{"email": "john@example.com", "name": "John", "key": "cust_456"}`},
				{"same fields, other spacing", "/v1/customers", `{"email":"jane@example.com","name":"Jane Doe","key":"cust_123"}`},
				{"other endpoint", "/v1/customer_referral_links", map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x"}},
			} {
				resp := e.post(tc.path, e.sk, "idem-1", tc.body)
				if p := resp.problem(t); resp.Status != 422 || p.Code != "idempotency_key_reused" {
					t.Errorf("%s: %d %+v, want 422 idempotency_key_reused", tc.name, resp.Status, p)
				}
			}
			e.unchanged(before)
		})

		t.Run("in flight", func(t *testing.T) {
			e := e.in(t)
			body := `{"email": "slow@example.com", "name": "Slow", "key": "slow"}`
			// The middleware's request hash: method, path and body.
			sum := sha256.Sum256([]byte("POST /v1/customers\n" + body))
			release := e.api.HoldIdempotencyKey(e.program.ID, "idem-2", hex.EncodeToString(sum[:]))
			defer release()
			before := e.counts()
			resp := e.post("/v1/customers", e.sk, "idem-2", body)
			if p := resp.problem(t); resp.Status != 409 || p.Code != "idempotency_key_in_use" {
				t.Errorf("got %d %+v, want 409 idempotency_key_in_use", resp.Status, p)
			}
			resp = e.post("/v1/customers", e.sk, "idem-2", `{"email": "other@example.com", "key": "other"}`)
			if p := resp.problem(t); resp.Status != 422 || p.Code != "idempotency_key_reused" {
				t.Errorf("other body while in flight: %d %+v, want 422 idempotency_key_reused", resp.Status, p)
			}
			e.unchanged(before)
		})

		t.Run("keys are per program", func(t *testing.T) {
			e := e.in(t)
			b := e.newProgramEnv("Other", "https://other.example.com")
			resp := b.post("/v1/customers", b.sk, "idem-1", jane)
			if resp.Status != 201 || resp.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("B: %d replayed=%q; body %s", resp.Status, resp.Header.Get("Idempotent-Replayed"), resp.Body)
			}
			var got struct{ Customer customer }
			resp.json(t, &got)
			if got.Customer.ReferralURL != "https://other.example.com/?ref="+got.Customer.ReferralCode {
				t.Errorf("B got %s: not its own customer", resp.Body)
			}
			resp = b.post("/v1/customers", b.sk, "idem-1", jane)
			if resp.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("B's retry was not replayed: %d %s", resp.Status, resp.Body)
			}
		})

		t.Run("failures are replayed", func(t *testing.T) {
			e := e.in(t)
			bad := `{"email": "not-an-email", "key": "bad"}`
			first := e.post("/v1/customers", e.sk, "idem-3", bad)
			if first.Status != 422 {
				t.Fatalf("first: %d %s, want 422", first.Status, first.Body)
			}
			again := e.post("/v1/customers", e.sk, "idem-3", bad)
			if again.Status != 422 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry: %d replayed=%q %s, want the first 422 replayed", again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
			}
			if ct := again.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("replayed Content-Type %q, want application/problem+json", ct)
			}
			fixed := `{"email": "fixed@example.com", "key": "bad"}`
			resp := e.post("/v1/customers", e.sk, "idem-3", fixed)
			if p := resp.problem(t); resp.Status != 422 || p.Code != "idempotency_key_reused" {
				t.Errorf("fixed body, same key: %d %+v, want 422 idempotency_key_reused", resp.Status, p)
			}
			if resp := e.post("/v1/customers", e.sk, "idem-3b", fixed); resp.Status != 201 {
				t.Errorf("fixed body, new key: %d %s", resp.Status, resp.Body)
			}
		})

		t.Run("every POST", func(t *testing.T) {
			e := e.in(t)
			body := map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x"}
			first := e.post("/v1/customer_referral_links", e.sk, "idem-4", body)
			if first.Status != 201 {
				t.Fatalf("first: %d %s", first.Status, first.Body)
			}
			again := e.post("/v1/customer_referral_links", e.sk, "idem-4", body)
			if !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retry: %d %s, want the first response replayed", again.Status, again.Body)
			}
			if n := len(e.links("cust_123")); n != 2 {
				t.Errorf("%d links, want the default and one extra", n)
			}
			// The publishable key's POST is idempotent too.
			pkBody := `{"email": "browser@example.com", "key": "browser"}`
			first = e.post("/v1/customers", e.pk, "idem-5", pkBody)
			again = e.post("/v1/customers", e.pk, "idem-5", pkBody)
			if first.Status != 201 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("publishable key: %d then %d %s", first.Status, again.Status, again.Body)
			}
		})

		t.Run("key format", func(t *testing.T) {
			e := e.in(t)
			for _, tc := range []struct {
				name, ikey string
				status     int
			}{
				{"255 characters", strings.Repeat("k", 255), 201},
				{"UUID", "6f1c1f53-2b7c-4b8e-9a4e-1d5f0c7a9b21", 201},
				{"256 characters", strings.Repeat("k", 256), 400},
				{"with a space", "idem key", 400},
			} {
				before := e.counts()
				body := fmt.Sprintf(`{"email": "%d@example.com", "key": "fmt-%d"}`, len(tc.name), len(tc.name))
				resp := e.post("/v1/customers", e.sk, tc.ikey, body)
				if resp.Status != tc.status {
					t.Errorf("%s: %d %s, want %d", tc.name, resp.Status, resp.Body, tc.status)
					continue
				}
				if tc.status == 400 {
					if p := resp.problem(t); p.Code != "invalid_idempotency_key" {
						t.Errorf("%s: code %q, want invalid_idempotency_key", tc.name, p.Code)
					}
					e.unchanged(before)
				}
			}
		})
	})
}

// TestIdempotencyConcurrent fires the same request with the same
// Idempotency-Key from several clients at once: it runs exactly once, and
// every client gets its result or a 409 asking it to retry.
func TestIdempotencyConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const body = `{"email": "jane@example.com", "name": "Jane Doe", "key": "cust_123"}`
		resps := make([]*response, 8)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range resps {
			wg.Go(func() {
				<-start
				resps[i] = e.post("/v1/customers", e.sk, "same-key", body)
			})
		}
		close(start)
		wg.Wait()
		var created []byte
		for i, r := range resps {
			switch r.Status {
			case 201:
				if created == nil {
					created = r.Body
				} else if !bytes.Equal(r.Body, created) {
					t.Errorf("response %d: %s, differs from another 201 %s", i, r.Body, created)
				}
			case 409:
				if p := r.problem(t); p.Code != "idempotency_key_in_use" {
					t.Errorf("response %d: 409 %s, want idempotency_key_in_use", i, p.Code)
				}
			default:
				t.Errorf("response %d: %d %s, want 201 or 409", i, r.Status, r.Body)
			}
		}
		if created == nil {
			t.Error("no request succeeded")
		}
		if diff := cmp.Diff([]string{"cust_123"}, e.allCustomers(e.sk, "")); diff != "" {
			t.Errorf("customers (-want +got):\n%s", diff)
		}
		if n := e.counts()["customers"]; n != 1 {
			t.Errorf("%d customer rows, want 1", n)
		}
	})
}

// TestCreateConcurrent creates one customer key from several clients at
// once without idempotency: one wins, the others are told it exists.
func TestCreateConcurrent(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		resps := make([]*response, 8)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range resps {
			wg.Go(func() {
				<-start
				resps[i] = e.post("/v1/customers", e.sk, "", map[string]any{"key": "cust_123", "name": "Jane", "email": fmt.Sprintf("jane%d@example.com", i)})
			})
		}
		close(start)
		wg.Wait()
		statuses := map[int]int{}
		for i, r := range resps {
			statuses[r.Status]++
			if r.Status == 409 {
				if p := r.problem(t); p.Code != "customer_key_taken" {
					t.Errorf("response %d: code %q, want customer_key_taken", i, p.Code)
				}
			}
		}
		if diff := cmp.Diff(map[int]int{201: 1, 409: 7}, statuses); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"cust_123"}, e.allCustomers(e.sk, "")); diff != "" {
			t.Errorf("customers (-want +got):\n%s", diff)
		}
		if got := e.counts(); got["customers"] != 1 || got["referral_links"] != 1 {
			t.Errorf("rows %v, want one customer with one link", got)
		}
	})
}

// fakeClock is a clock that moves only when told to.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration)  { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }

func TestRateLimit(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			db := storetest.Open(t, engine)
			clock := newFakeClock(time.Now())
			e := newEnv(t, db, httpapi.Config{RateLimit: 5, RateBurst: 5, Now: clock.Now})
			list := req{method: "GET", path: "/v1/customers", key: e.sk}
			for i := range 5 {
				if r := e.do(list); r.Status != 200 {
					t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
				}
			}
			resp := e.do(list)
			if resp.Status != http.StatusTooManyRequests {
				t.Fatalf("6th request: %d %s, want 429", resp.Status, resp.Body)
			}
			if p := resp.problem(t); p.Code != "rate_limited" {
				t.Errorf("code %q, want rate_limited", p.Code)
			}
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || retry < 1 {
				t.Fatalf("Retry-After %q, want whole seconds ≥ 1", resp.Header.Get("Retry-After"))
			}
			before := e.counts()
			if r := e.post("/v1/customers", e.sk, "", map[string]any{"key": "k", "email": "k@example.com"}); r.Status != 429 {
				t.Errorf("POST while limited: %d, want 429", r.Status)
			}
			e.unchanged(before)

			// Limits are per key: the program's other key and another
			// program's key still pass.
			if r := e.post("/v1/customers", e.pk, "", map[string]any{"key": "pk", "email": "pk@example.com"}); r.Status != 201 {
				t.Errorf("publishable key: %d %s, want 201", r.Status, r.Body)
			}
			b := e.newProgramEnv("Other", "https://other.example.com")
			if r := b.do(req{method: "GET", path: "/v1/customers", key: b.sk}); r.Status != 200 {
				t.Errorf("other program's key: %d %s, want 200", r.Status, r.Body)
			}

			clock.Add(time.Duration(retry) * time.Second)
			if r := e.do(list); r.Status != 200 {
				t.Errorf("after Retry-After: %d %s, want 200", r.Status, r.Body)
			}
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		tests := []struct {
			name, method, path string
			status             int
			code               string
			allow              []string
		}{
			{"unknown path", "GET", "/nope", 404, "not_found", nil},
			{"unknown API path", "GET", "/v1/nope", 404, "not_found", nil},
			{"too deep", "GET", "/v1/customers/a/b/c", 404, "not_found", nil},
			{"wrong method on a customer", "PATCH", "/v1/customers/cust_123", 405, "method_not_allowed", []string{"GET", "PUT", "DELETE"}},
			{"wrong method on the list", "DELETE", "/v1/customers", 405, "method_not_allowed", []string{"GET", "POST"}},
			{"wrong method on the program", "POST", "/v1/program", 405, "method_not_allowed", []string{"GET", "PUT"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				resp := e.in(t).do(req{method: tc.method, path: tc.path, key: e.sk})
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
				}
				if p := resp.problem(t); p.Code != tc.code || p.Status != tc.status {
					t.Errorf("problem %+v, want %d %s", p, tc.status, tc.code)
				}
				allow := resp.Header.Get("Allow")
				for _, m := range tc.allow {
					if !strings.Contains(allow, m) {
						t.Errorf("Allow %q lacks %s", allow, m)
					}
				}
			})
		}
	})
}

func TestRequestID(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com"})
		requests := []struct {
			name string
			r    req
		}{
			{"ok", req{method: "GET", path: "/v1/customers/cust_123", key: e.sk}},
			{"created", req{method: "POST", path: "/v1/customers", key: e.sk, body: map[string]any{"key": "rid", "email": "rid@example.com"}}},
			{"no content", req{method: "DELETE", path: "/v1/customers/rid", key: e.sk}},
			{"invalid", req{method: "POST", path: "/v1/customers", key: e.sk, body: map[string]any{"key": "x"}}},
			{"unauthorized", req{method: "GET", path: "/v1/customers"}},
			{"forbidden", req{method: "GET", path: "/v1/customers", key: e.pk}},
			{"not found", req{method: "GET", path: "/v1/customers/nobody", key: e.sk}},
			{"unknown path", req{method: "GET", path: "/nope"}},
			{"wrong method", req{method: "PATCH", path: "/v1/customers/cust_123", key: e.sk}},
			{"health", req{method: "GET", path: "/healthz"}},
			{"metrics", req{method: "GET", path: "/metrics", key: metricsToken}},
		}
		seen := map[string]bool{}
		for _, tc := range requests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				resp := e.do(tc.r)
				id := resp.Header.Get("X-Request-Id")
				if !strings.HasPrefix(id, "req_") || seen[id] {
					t.Errorf("X-Request-Id %q, want a fresh req_… id", id)
				}
				seen[id] = true

				r := tc.r
				r.header = map[string]string{"X-Request-Id": "client-id_42.abc"}
				if got := e.do(r).Header.Get("X-Request-Id"); got != "client-id_42.abc" {
					t.Errorf("sent X-Request-Id client-id_42.abc, got back %q", got)
				}
				for _, bad := range []string{"has space", strings.Repeat("x", 129), "üñí"} {
					r.header = map[string]string{"X-Request-Id": bad}
					if got := e.do(r).Header.Get("X-Request-Id"); got == bad || !strings.HasPrefix(got, "req_") {
						t.Errorf("sent X-Request-Id %q, got back %q, want a fresh id", bad, got)
					}
				}
			})
		}
	})
}

func TestHealthAndMetrics(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.do(req{method: "GET", path: "/v1/customers", key: e.sk})
		e.do(req{method: "GET", path: "/v1/customers"})
		tests := []struct {
			path, contentType string
			want              []string // substrings of the body
		}{
			{"/healthz", "application/json", []string{`{"status":"ok"}`}},
			{"/readyz", "application/json", []string{`{"status":"ok"}`}},
			{"/metrics", "text/plain", []string{
				"# TYPE advocate_http_requests_total counter",
				`advocate_http_requests_total{route="GET /v1/customers",status="200"} 1`,
				`advocate_http_requests_total{route="GET /v1/customers",status="401"} 1`,
				"advocate_http_request_duration_seconds_bucket",
			}},
			{"/openapi.yaml", "application/yaml", []string{string(api.OpenAPI)}},
		}
		for _, tc := range tests {
			t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
				r := req{method: "GET", path: tc.path}
				if tc.path == "/metrics" {
					r.key = metricsToken // see TestMetricsAccess
				}
				resp := e.in(t).do(r)
				if resp.Status != 200 {
					t.Fatalf("status %d; body %s", resp.Status, resp.Body)
				}
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
					t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
				}
				for _, w := range tc.want {
					if !strings.Contains(string(resp.Body), w) {
						t.Errorf("body lacks %q", w)
					}
				}
			})
		}
	})
}
