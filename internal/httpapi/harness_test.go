package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
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

// env is one API under test: a real database, a real HTTP server, and a
// program with a secret and a publishable key.
type env struct {
	t       *testing.T
	db      *store.DB
	srv     *httptest.Server
	api     *httpapi.Server
	program *referral.Program
	sk, pk  string
}

// eachEngine runs fn against a fresh API on every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db, httpapi.Config{})) })
}

func newEnv(t *testing.T, db *store.DB, cfg httpapi.Config) *env {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://adv.example.com"
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a := httpapi.New(db, log, cfg)
	e := &env{t: t, db: db, api: a, srv: httptest.NewServer(a.Handler())}
	t.Cleanup(e.srv.Close)
	e.program, e.sk, e.pk = e.newProgram("Acme", "USD", "https://yoursite.com")
	return e
}

// newProgram creates another program with its keys.
func (e *env) newProgram(name, currency, website string) (*referral.Program, string, string) {
	e.t.Helper()
	ctx := context.Background()
	p, err := referral.NewProgram(name, currency, website)
	if err != nil {
		e.t.Fatal(err)
	}
	var sk, pk string
	err = e.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return err
		}
		if sk, _, err = tx.CreateAPIKey(ctx, p.ID, referral.SecretKey); err != nil {
			return err
		}
		pk, _, err = tx.CreateAPIKey(ctx, p.ID, referral.PublishableKey)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return p, sk, pk
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) { w.t.Log(strings.TrimSpace(string(b))); return len(b), nil }

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
	hresp, err := e.srv.Client().Do(hr)
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
