package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// fuzzDash is one engine's dashboard, signed in as an owner, called
// directly rather than over a connection so that an input is cheap.
type fuzzDash struct {
	engine  store.Engine
	db      *store.DB
	h       http.Handler
	session string
	pid     string
}

func (fd *fuzzDash) serve(method, target string, form url.Values) int {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://dash.example/", body)
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.RequestURI = u.Path, u.RawPath, u.RawQuery, u.RequestURI()
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.AddCookie(&http.Cookie{Name: "adv_session", Value: fd.session})
	w := httptest.NewRecorder()
	fd.h.ServeHTTP(w, r)
	return w.Code
}

// FuzzDashboard puts a fuzzed segment into every wildcard of every
// dashboard route (web.Dashboard), with a fuzzed query parameter and form
// fields: never a 5xx, and a refused request writes nothing.
//
//	go test -run XXX -fuzz FuzzDashboard -fuzztime 60s -fuzzminimizetime 0 ./internal/dashboard/
func FuzzDashboard(f *testing.F) {
	for _, s := range []struct{ seg, value string }{
		{"jane", "Jane"}, {"\x00", "a\x00b"}, {"\xff", "\xff"}, {"%00", "%00"}, {"..", ""}, {"é", strings.Repeat("é", 300)},
	} {
		f.Add(s.seg, s.value)
	}
	var patterns [][2]string
	for _, m := range []string{"GET", "POST"} {
		for _, p := range routes(f, m) {
			if p != "/dashboard/logout" { // would end the fuzzing session
				patterns = append(patterns, [2]string{m, p})
			}
		}
	}
	wild := regexp.MustCompile(`\{[a-z_]+\.{0,3}\}`)
	var envs []*fuzzDash
	for _, engine := range storetest.Engines(f) {
		fd := &fuzzDash{engine: engine, db: storetest.Open(f, engine)}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		api := httpapi.New(fd.db, log, httpapi.Config{BaseURL: "http://dash.example"})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { api.Run(ctx); close(done) }()
		f.Cleanup(func() { cancel(); <-done })
		d := dashboard.New(fd.db, log, dashboard.Config{BaseURL: "http://dash.example"})
		d.OnLinksChanged = api.ForgetLinks
		fd.h = web.Handler(api, d)
		err := fd.db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.CreateAdmin(ctx, ownerEmail, password, store.RoleOwner)
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
		if fd.session, _, err = fd.db.SignIn(ctx, ownerEmail, password); err != nil {
			f.Fatal(err)
		}
		p, _, _ := storetest.Program(f, fd.db, "Acme Rewards", "USD", "https://acme.example")
		fd.pid = p.ID
		if status := fd.serve("GET", "/dashboard/p/"+p.ID+"/customers", nil); status != http.StatusOK {
			f.Fatalf("%s: customers page: %d, want 200 (signed in)", engine, status)
		}
		envs = append(envs, fd)
	}
	f.Fuzz(func(t *testing.T, seg, value string) {
		for _, fd := range envs {
			for _, route := range patterns {
				method, pattern := route[0], route[1]
				path := strings.ReplaceAll(strings.ReplaceAll(pattern, "{$}", ""), "{pid}", fd.pid)
				path = wild.ReplaceAllLiteralString(path, url.PathEscape(seg))
				for _, target := range []string{
					path + "?q=" + url.QueryEscape(value) + "&after=" + url.QueryEscape(value) + "&filter=" + url.QueryEscape(value),
					path + "?before=" + url.QueryEscape(value) + "&ledger_after=" + url.QueryEscape(value) + "&status=" + url.QueryEscape(value) + "&days=" + url.QueryEscape(value),
					strings.Replace(path, fd.pid, url.PathEscape(seg), 1),
				} {
					var form url.Values
					if method == "POST" {
						form = url.Values{"name": {value}, "note": {value}, "amount": {value}, "email": {value}, "reason": {value},
							"subject": {value}, "body": {value}, "brand_color": {value}, "reply_to": {value}, "email_opt_out": {value}}
					}
					before := storetest.Fingerprint(t, fd.db)
					status := fd.serve(method, target, form)
					if status >= 500 {
						t.Fatalf("%s: %s %s: %d", fd.engine, method, target, status)
					}
					if status >= 400 {
						if d := cmp.Diff(before, storetest.Fingerprint(t, fd.db)); d != "" {
							t.Errorf("%s: refused %s %s (%d) wrote rows: %s", fd.engine, method, target, status, d)
						}
					}
				}
			}
		}
	})
}
