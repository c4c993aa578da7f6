package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// The fuzz tests run every input against the API on every engine (NUL
// bites on PostgreSQL), calling the handler directly so that an input
// costs microseconds, not a connection. Their property: never a 5xx or a
// panic, and a refused request writes nothing. With ADVOCATE_TEST_POSTGRES set:
//
//	go test -run XXX -fuzz FuzzClickBeacon -fuzztime 60s -fuzzminimizetime 0 ./internal/httpapi/
//	go test -run XXX -fuzz FuzzCursor -fuzztime 60s -fuzzminimizetime 0 ./internal/httpapi/
//	go test -run XXX -fuzz FuzzPathSegment -fuzztime 60s -fuzzminimizetime 0 ./internal/httpapi/
//
// -fuzzminimizetime 0: the coverage of the SQLite and PostgreSQL drivers
// makes nearly every input new, and minimizing each (database round trips
// every time) would leave no time to fuzz.

// fuzzEnv is one engine's API with a program and a customer jane whose
// code is JANE20.
type fuzzEnv struct {
	engine store.Engine
	db     *store.DB
	api    *httpapi.Server
	h      http.Handler
	sk, pk string
	// programID is the program's, whose Stripe webhook path the body
	// fuzzer posts to.
	programID string
}

func fuzzEnvs(f *testing.F) []*fuzzEnv {
	f.Helper()
	var out []*fuzzEnv
	for _, engine := range storetest.Engines(f) {
		fe := &fuzzEnv{engine: engine, db: storetest.Open(f, engine)}
		box, err := secrets.New(bytes.Repeat([]byte{9}, secrets.KeySize))
		if err != nil {
			f.Fatal(err)
		}
		fe.db.Secrets = box // before any request: the integration can be connected
		fe.api = httpapi.New(fe.db, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Config{BaseURL: "https://adv.example.com"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { fe.api.Run(ctx); close(done) }()
		f.Cleanup(func() { cancel(); <-done })
		fe.h = web.APIHandler(fe.api)
		var p *referral.Program
		p, fe.sk, fe.pk = storetest.Program(f, fe.db, "Acme", "USD", "https://yoursite.com")
		fe.programID = p.ID
		w := fe.serve(fe.request("POST", "/v1/customers", fe.sk,
			[]byte(`{"key": "jane", "email": "jane@example.com", "name": "Jane", "referral_code": "JANE20"}`)))
		if w.Code != http.StatusCreated {
			f.Fatalf("%s: create jane: %d %s", engine, w.Code, w.Body)
		}
		out = append(out, fe)
	}
	return out
}

// request builds a request; a nil body sends none.
func (fe *fuzzEnv) request(method, target, key string, body []byte) *http.Request {
	r := httptest.NewRequest(method, "http://adv.example.com/", bytes.NewReader(body))
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.RequestURI = u.Path, u.RawPath, u.RawQuery, u.RequestURI()
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	return r
}

func (fe *fuzzEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	fe.h.ServeHTTP(w, r)
	return w
}

// rows summarises everything the API writes (storetest.Fingerprint), once
// the buffered clicks are written. A refused request must leave it as it was.
func (fe *fuzzEnv) rows(t testing.TB) map[string]int64 {
	t.Helper()
	fe.api.FlushClicks(context.Background())
	return storetest.Fingerprint(t, fe.db)
}

// goodClicks counts the clicks of the visitor that only good beacons use.
func (fe *fuzzEnv) goodClicks(t testing.TB) int {
	t.Helper()
	fe.api.FlushClicks(context.Background())
	var n int
	if err := fe.db.ReadStats().QueryRow(`SELECT count(*) FROM clicks WHERE visitor = 'good-visitor-1'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// FuzzClickBeacon sends a fuzzed click beacon (body and headers) and a
// fuzzed short-link visit, then a good beacon: nothing may answer 5xx or
// write anything but clicks, a refused beacon stores nothing, and the good
// click is stored whatever came before it in its batch.
func FuzzClickBeacon(f *testing.F) {
	const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	beacon := func(url string) []byte {
		return []byte(`{"publishable_key": "{{pk}}", "code": "JANE20", "url": "` + url + `", "referrer": "", "visitor_id": "v_3kq9x7m2p8t4w6y1"}`)
	}
	split := "https://yoursite.com/?ref=JANE20&x=" + strings.Repeat("a", 1000-len("https://yoursite.com/?ref=JANE20&x=")-1) + "é"
	for _, seed := range []struct {
		body               []byte
		code, ua, referrer string
	}{
		{beacon("https://yoursite.com/?ref=JANE20"), "JANE20", ua, ""},
		{beacon(`https://yoursite.com/\u0000`), "JANE20", ua, ""},
		{beacon("https://yoursite.com/\xff\xfe"), "jane20", ua, "https://news.example/\xff"},
		{beacon(split), "JANE20", ua, ""},
		{[]byte(`{"publishable_key": "{{pk}}", "code": "JANE20\u0000", "visitor_id": "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}`), "JANE20\x00", ua + "\x00", ""},
		{[]byte(`{"publishable_key": "{{pk}}", "code": "JANE20", "referrer": "\ud800"}`), "%00", "Mozilla\xff", "\x00"},
		{[]byte(`{"publishable_key": "{{pk}}\u0000"}`), "../JANE20", "", ""},
		{[]byte("not json"), "", ua, ""},
		{nil, strings.Repeat("J", 40), ua, ""},
	} {
		f.Add(seed.body, seed.code, seed.ua, seed.referrer)
	}
	envs := fuzzEnvs(f)
	f.Fuzz(func(t *testing.T, body []byte, code, userAgent, referrer string) {
		for _, fe := range envs {
			before := fe.rows(t)
			good := fe.goodClicks(t)
			r := fe.request("POST", "/v1/track/click", "", bytes.ReplaceAll(body, []byte("{{pk}}"), []byte(fe.pk)))
			r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			r.Header.Set("User-Agent", userAgent)
			r.Header.Set("Referer", referrer)
			w := fe.serve(r)
			if w.Code >= 500 {
				t.Fatalf("%s: beacon %q: %d %s", fe.engine, body, w.Code, w.Body)
			}
			after := fe.rows(t)
			if w.Code != http.StatusAccepted && !cmp.Equal(before, after) {
				t.Errorf("%s: refused beacon (%d) wrote rows: %s", fe.engine, w.Code, cmp.Diff(before, after))
			}
			if after["clicks"] > before["clicks"]+1 {
				t.Errorf("%s: one beacon stored %d clicks", fe.engine, after["clicks"]-before["clicks"])
			}

			r = fe.request("GET", "/r/"+url.PathEscape(code), "", nil)
			r.Header.Set("User-Agent", userAgent)
			r.Header.Set("Referer", referrer)
			r.Header.Set("Cookie", "adv_vid="+referrer)
			if w := fe.serve(r); w.Code >= 500 {
				t.Fatalf("%s: /r/%q: %d %s", fe.engine, code, w.Code, w.Body)
			}

			r = fe.request("POST", "/v1/track/click", "", []byte(`{"publishable_key": "`+fe.pk+`", "code": "JANE20", "url": "https://yoursite.com/?ref=JANE20", "visitor_id": "good-visitor-1"}`))
			r.RemoteAddr = "198.51.100.7:4242" // not the fuzzed visitor, whose short-link visit would make this its echo
			r.Header.Set("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15")
			if w := fe.serve(r); w.Code != http.StatusAccepted {
				t.Fatalf("%s: good beacon: %d %s", fe.engine, w.Code, w.Body)
			}
			if got := fe.goodClicks(t); got != good+1 {
				t.Fatalf("%s: good clicks %d, want %d: a fuzzed click cost a good one", fe.engine, got, good+1)
			}
			if d := cmp.Diff(before, fe.rows(t), cmp.FilterPath(func(p cmp.Path) bool {
				return strings.Contains(p.GoString(), `"clicks"`)
			}, cmp.Ignore())); d != "" {
				t.Errorf("%s: clicks wrote other rows: %s", fe.engine, d)
			}
		}
	})
}

// specOperations lists api/openapi.yaml's operations (TestOpenAPICoversEveryRoute
// keeps them equal to web.API).
func specOperations(f *testing.F) []specOp {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		f.Fatal(err)
	}
	var out []specOp
	for path, item := range doc.Paths.Map() {
		for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			so := specOp{method: method, path: path}
			for _, p := range slices.Concat(item.Parameters, op.Parameters) {
				switch p.Value.In {
				case "path":
					so.pathParams = append(so.pathParams, p.Value.Name)
				case "query":
					so.query = append(so.query, p.Value.Name)
				}
			}
			out = append(out, so)
		}
	}
	slices.SortFunc(out, func(a, b specOp) int { return strings.Compare(a.method+a.path, b.method+b.path) })
	return out
}

type specOp struct {
	method, path string
	pathParams   []string
	query        []string
}

// fill puts values into the path's wildcards: seg (escaped) into the one
// named bad, fixtures into the others.
func (op specOp) fill(bad, seg string) string {
	fixtures := map[string]string{"key": "jane", "code": "JANE20"}
	out := op.path
	for _, p := range op.pathParams {
		v := fixtures[p]
		if v == "" {
			v = "nosuch"
		}
		if p == bad {
			v = url.PathEscape(seg)
		}
		out = strings.ReplaceAll(out, "{"+p+"}", v)
	}
	return out
}

// FuzzPathSegment puts a fuzzed segment into every path parameter of
// every operation: never a 5xx, and a refused request writes nothing.
func FuzzPathSegment(f *testing.F) {
	for _, s := range []string{"jane", "\x00", "a\x00b", "\xff", "JANE20", "..", "%00", "é", strings.Repeat("k", 300), "a/b", " ", ""} {
		f.Add(s)
	}
	ops := specOperations(f)
	envs := fuzzEnvs(f)
	f.Fuzz(func(t *testing.T, seg string) {
		for _, fe := range envs {
			for _, op := range ops {
				for _, p := range op.pathParams {
					var body []byte
					if op.method == "POST" || op.method == "PUT" {
						body = []byte(`{}`)
					}
					before := fe.rows(t)
					w := fe.serve(fe.request(op.method, op.fill(p, seg), fe.sk, body))
					if w.Code >= 500 {
						t.Fatalf("%s: %s %s with %s=%q: %d %s", fe.engine, op.method, op.path, p, seg, w.Code, w.Body)
					}
					if w.Code >= 400 {
						if d := cmp.Diff(before, fe.rows(t)); d != "" {
							t.Errorf("%s: refused %s %s (%d) wrote rows: %s", fe.engine, op.method, op.fill(p, seg), w.Code, d)
						}
					}
				}
			}
		}
	})
}

// FuzzCursor sends fuzzed cursors and limits, as they come and wrapped as
// this API wraps its cursors, to every listing: never a 5xx.
func FuzzCursor(f *testing.F) {
	for _, s := range []struct{ cursor, limit string }{
		{"", "20"}, {"Y3VzXzAw", "1"}, {"cus_\x00", "100"}, {"\xff\xfe", "0"}, {"txn_é", "-1"}, {"rwd_" + strings.Repeat("9", 70), "1e3"},
		{"ent_01", "%00"}, {"=====", "\x00"},
	} {
		f.Add(s.cursor, s.limit)
	}
	var lists []specOp
	for _, op := range specOperations(f) {
		if op.method == "GET" && slices.Contains(op.query, "cursor") {
			lists = append(lists, op)
		}
	}
	if len(lists) < 4 {
		f.Fatalf("found only %d listings with a cursor", len(lists))
	}
	envs := fuzzEnvs(f)
	f.Fuzz(func(t *testing.T, cursor, limit string) {
		for _, fe := range envs {
			for _, op := range lists {
				for _, prefix := range []string{"", "cus_", "txn_", "rwd_", "ent_"} {
					c := cursor
					if prefix != "" {
						c = base64.RawURLEncoding.EncodeToString([]byte(prefix + cursor))
					}
					target := op.fill("", "") + "?cursor=" + url.QueryEscape(c) + "&limit=" + url.QueryEscape(limit)
					if w := fe.serve(fe.request("GET", target, fe.sk, nil)); w.Code >= 500 {
						t.Fatalf("%s: GET %s: %d %s", fe.engine, target, w.Code, w.Body)
					}
				}
			}
		}
	})
}

// FuzzWidgetHash asks for the widget with a fuzzed customer key and hash:
// never a 5xx, and a 200 only when the hash is the one the program's
// widget secret gives for that key (in either case of hex digits), so that
// no hash can be forged or reused for another customer.
func FuzzWidgetHash(f *testing.F) {
	envs := fuzzEnvs(f)
	for _, s := range []struct{ key, hash string }{
		{"jane", ""}, {"jane", "00"}, {"jane", strings.Repeat("0", 64)}, {"jane\x00", ""}, {"", "x"},
		{"JANE", ""}, {"jane ", ""}, {"\xff", "\xff"}, {"jane", strings.Repeat("g", 64)},
	} {
		f.Add(s.key, s.hash)
	}
	secrets := map[*fuzzEnv]string{}
	for _, fe := range envs {
		var out struct {
			Program struct {
				WidgetSecret string `json:"widget_secret"`
			} `json:"program"`
		}
		w := fe.serve(fe.request("GET", "/v1/program", fe.sk, nil))
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Program.WidgetSecret == "" {
			f.Fatalf("%s: widget secret: %v %s", fe.engine, err, w.Body)
		}
		secrets[fe] = out.Program.WidgetSecret
		// jane's own hash is a seed too, so the accepted path is fuzzed.
		f.Add("jane", (&referral.Program{WidgetSecret: out.Program.WidgetSecret}).CustomerHash("jane"))
	}
	f.Fuzz(func(t *testing.T, key, hash string) {
		for _, fe := range envs {
			target := "/v1/widget?customer_key=" + url.QueryEscape(key) + "&customer_hash=" + url.QueryEscape(hash)
			w := fe.serve(fe.request("GET", target, fe.pk, nil))
			if w.Code >= 500 {
				t.Fatalf("%s: GET %s: %d %s", fe.engine, target, w.Code, w.Body)
			}
			want := (&referral.Program{WidgetSecret: secrets[fe]}).CustomerHash(key)
			if w.Code == http.StatusOK && strings.ToLower(hash) != want {
				t.Fatalf("%s: the widget showed %q for hash %q, which is not its hash", fe.engine, key, hash)
			}
		}
	})
}
