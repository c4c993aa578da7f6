package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// spec is api/openapi.yaml, loaded and validated once.
var spec = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	return legacy.NewRouter(doc)
})

// metricsToken is what the scraper of every test env presents on /metrics.
const metricsToken = "metrics-token-for-tests"

// env is one API under test: a real database, a real HTTP server, and a
// program with a secret and a publishable key.
type env struct {
	t       *testing.T
	db      *store.DB
	clock   *clock
	srv     *httptest.Server
	api     *httpapi.Server
	program *referral.Program
	sk, pk  string
	// stop ends the API's background work (writing clicks), as the end
	// of the test does.
	stop func()
}

// eachEngine runs fn against a fresh API on every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db, httpapi.Config{})) })
}

// newEnv starts the API on db. cfg.Now, if set, is the clock the test
// starts with; the store and the server share it (env.clock).
func newEnv(t *testing.T, db *store.DB, cfg httpapi.Config) *env {
	t.Helper()
	// One clock per database, set on the store once: a second env on the
	// same database shares it, instead of rewriting db.Now while the
	// first env's group commit reads it (a data race).
	c, loaded := dbClocks.LoadOrStore(db, &clock{})
	clk := c.(*clock)
	if cfg.Now != nil {
		clk.set(cfg.Now)
	}
	if !loaded {
		db.Now = clk.Now
	}
	cfg.Now = clk.Now
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://adv.example.com"
	}
	if cfg.MetricsToken == "" {
		cfg.MetricsToken = metricsToken
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a := httpapi.New(db, log, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	stop := sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	e := &env{t: t, db: db, clock: clk, api: a, srv: httptest.NewServer(web.APIHandler(a)), stop: stop}
	t.Cleanup(e.srv.Close)
	e.program, e.sk, e.pk = e.newProgram("Acme", "USD", "https://yoursite.com")
	return e
}

// newProgram creates another program with its keys.
func (e *env) newProgram(name, currency, website string) (*referral.Program, string, string) {
	e.t.Helper()
	return storetest.Program(e.t, e.db, name, currency, website)
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// response is what a request got back.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// json decodes the body into v, failing the test if it cannot.
func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body.
func (r *response) problem(t *testing.T) problemDoc {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p problemDoc
	r.json(t, &p)
	return p
}

type problemDoc struct {
	Status int               `json:"status"`
	Code   string            `json:"code"`
	Detail string            `json:"detail"`
	Errors map[string]string `json:"errors"`
}

// req describes one request; body is JSON-encoded unless it is a string,
// which is sent as it is.
type req struct {
	method, path, key string
	body              any
	header            map[string]string
}

// do sends r and checks both sides against api/openapi.yaml: every response
// must match the spec, and a request the spec rejects must be answered 4xx.
func (e *env) do(r req) *response {
	e.t.Helper()
	var body []byte
	switch b := r.body.(type) {
	case nil:
	case string:
		body = []byte(b)
	case []byte:
		body = b
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	// Redirects are answers too: the exchange checked is the server's own,
	// not wherever a Location leads.
	client := *e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hresp, err := client.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer hresp.Body.Close()
	respBody, err := io.ReadAll(hresp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp := &response{Status: hresp.StatusCode, Header: hresp.Header, Body: respBody}
	checkSpec(e.t, hr, body, resp)
	return resp
}

// checkSpec validates one exchange against the OpenAPI document.
func checkSpec(t *testing.T, hr *http.Request, body []byte, resp *response) {
	t.Helper()
	router, err := spec()
	if err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	vr := hr.Clone(context.Background())
	vr.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(vr)
	for _, v := range params {
		// The router lets a path variable match nothing ("/v1/customers"
		// matches "/v1/customers/{key}"), but that is not the operation.
		if v == "" {
			err = routers.ErrPathNotFound
		}
	}
	if err != nil {
		if resp.Status != http.StatusNotFound && resp.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s is not in api/openapi.yaml (%v) but answered %d", hr.Method, hr.URL.Path, err, resp.Status)
		}
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && (resp.Status < 400 || resp.Status >= 500) {
		t.Errorf("%s %s: the spec rejects this request (%v) but it was answered %d", hr.Method, hr.URL.Path, err, resp.Status)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.Status, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(resp.Body)), Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s → %d does not match api/openapi.yaml: %v\nbody: %s", hr.Method, hr.URL.Path, resp.Status, err, resp.Body)
	}
}

// in returns e reporting to t, for requests made inside a subtest.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// customer is a customer as the API returns it.
type customer struct {
	Key          string         `json:"key"`
	Email        string         `json:"email"`
	Name         string         `json:"name"`
	Metadata     map[string]any `json:"metadata"`
	ReferralCode string         `json:"referral_code"`
	ReferralURL  string         `json:"referral_url"`
	ReferredBy   *string        `json:"referred_by"`
	ReferrerKey  *string        `json:"referrer_key"`
	NotRewarded  *string        `json:"not_rewarded_reason"`
	// ReferralStatus is successful, pending or rejected; null when not
	// referred.
	ReferralStatus *string   `json:"referral_status"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// createCustomer creates a customer with the secret key and fails the test
// unless that succeeds.
func (e *env) createCustomer(body map[string]any) customer {
	e.t.Helper()
	return e.createCustomerAs(e.sk, body)
}

// createCustomerAs creates a customer with the given API key.
func (e *env) createCustomerAs(key string, body map[string]any) customer {
	e.t.Helper()
	resp := e.do(req{method: "POST", path: "/v1/customers", key: key, body: body})
	if resp.Status != http.StatusCreated {
		e.t.Fatalf("create customer %v: %d %s", body, resp.Status, resp.Body)
	}
	var out struct{ Customer customer }
	resp.json(e.t, &out)
	return out.Customer
}

// getCustomer returns a customer, failing the test unless it exists.
func (e *env) getCustomer(key string) customer {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/customers/" + key, key: e.sk})
	if resp.Status != http.StatusOK {
		e.t.Fatalf("get customer %s: %d %s", key, resp.Status, resp.Body)
	}
	var out struct{ Customer customer }
	resp.json(e.t, &out)
	return out.Customer
}

// customerPage is one page of GET /v1/customers.
type customerPage struct {
	Data       []customer `json:"data"`
	HasMore    bool       `json:"has_more"`
	NextCursor *string    `json:"next_cursor"`
}

// allCustomers follows the cursor through every page of GET /v1/customers
// with the given query (such as "email=x&limit=2") and returns the keys in
// the order served.
func (e *env) allCustomers(apiKey, query string) []string {
	e.t.Helper()
	var keys []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			e.t.Fatal("more than 100 pages: the cursor does not advance")
		}
		q := query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := e.do(req{method: "GET", path: "/v1/customers?" + q, key: apiKey})
		if resp.Status != http.StatusOK {
			e.t.Fatalf("list customers ?%s: %d %s", q, resp.Status, resp.Body)
		}
		var p customerPage
		resp.json(e.t, &p)
		for _, c := range p.Data {
			keys = append(keys, c.Key)
		}
		if !p.HasMore {
			return keys
		}
		if p.NextCursor == nil {
			e.t.Fatalf("has_more without next_cursor: %s", resp.Body)
		}
		cursor = *p.NextCursor
	}
}

// counts returns how many rows the tables that API writes hold, so that a
// test can show a failed request wrote nothing. It reads the database
// directly, below the API, so that soft-deleted or hidden rows count too.
func (e *env) counts() map[string]int {
	e.t.Helper()
	tables := []string{"programs", "api_keys", "customers", "referral_links", "events", "idempotency_keys", "webhook_endpoints"}
	var sel []string
	for _, table := range tables {
		sel = append(sel, "(SELECT count(*) FROM "+table+")")
	}
	n := make([]int, len(tables))
	dest := make([]any, len(tables))
	for i := range n {
		dest[i] = &n[i]
	}
	if err := e.db.ReadStats().QueryRow("SELECT " + strings.Join(sel, ", ")).Scan(dest...); err != nil {
		e.t.Fatalf("count rows: %v", err)
	}
	out := map[string]int{}
	for i, table := range tables {
		out[table] = n[i]
	}
	return out
}

// unchanged fails the test if any table's row count differs from before.
func (e *env) unchanged(before map[string]int) {
	e.t.Helper()
	if diff := cmp.Diff(before, e.counts()); diff != "" {
		e.t.Errorf("a failed request wrote rows (-before +after):\n%s", diff)
	}
}

// clock is an env's one clock: the store stamps rows with it and the
// server reads it, so that a test moving it moves both. It reads time.Now
// until a test sets another.
// dbClocks holds the clock of each database an env runs on.
var dbClocks sync.Map // *store.DB → *clock

type clock struct {
	now atomic.Pointer[func() time.Time]
}

func (c *clock) Now() time.Time {
	if now := c.now.Load(); now != nil {
		return (*now)()
	}
	return time.Now()
}

// set makes now the clock of the store and the server from here on.
func (c *clock) set(now func() time.Time) { c.now.Store(&now) }

// tickingClock returns a clock that starts at start and moves on one
// millisecond each time it is read, so that rows made one after another
// get increasing times and ids. Pass it as httpapi.Config.Now to newEnv.
func tickingClock(start time.Time) func() time.Time {
	var ms atomic.Int64
	return func() time.Time { return start.Add(time.Duration(ms.Add(1)) * time.Millisecond) }
}
