package dashboard_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// The admins every env has, and the password they share.
const (
	ownerEmail  = "owner@example.com"
	viewerEmail = "viewer@example.com"
	password    = "correct horse battery staple"
)

// env is the dashboard in front of the API, composed as `advocate serve`
// composes them, on a real database: an owner, a viewer, and one program
// with a secret and a publishable key.
type env struct {
	t       *testing.T
	db      *store.DB
	clock   *clock
	srv     *httptest.Server
	dash    *dashboard.Dashboard
	program *referral.Program
	sk, pk  string
	owner   *store.Admin
	viewer  *store.Admin
}

// eachEngine runs fn against a fresh dashboard on every engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) { fn(t, newEnv(t, db)) })
}

// clock is an env's one clock, shared by the store, the API and the
// dashboard: real time plus an offset that tests move forward, safe to
// change while the server runs.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// advance moves the clock forward by d.
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// newEnv starts an env; opts change the dashboard's Config.
func newEnv(t *testing.T, db *store.DB, opts ...func(*dashboard.Config)) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: &clock{}}
	// The clock is set before anything reads it.
	db.Now = e.clock.Now

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// The base URL is http, as in a local install: cookies are then not
	// Secure, so the client's cookie jar sends them over plain HTTP.
	e.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + e.srv.Listener.Addr().String()
	api := httpapi.New(db, log, httpapi.Config{BaseURL: base, Now: e.clock.Now})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { api.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	cfg := dashboard.Config{BaseURL: base, Now: e.clock.Now, CheckWebhookHost: webhooks.Guard{Resolver: names{}}.CheckHost}
	for _, o := range opts {
		o(&cfg)
	}
	e.dash = dashboard.New(db, log, cfg)
	e.dash.OnLinksChanged = api.ForgetLinks
	e.srv.Config.Handler = web.Handler(api, e.dash)
	e.srv.Start()
	t.Cleanup(e.srv.Close)

	e.owner = e.newAdmin(ownerEmail, store.RoleOwner)
	e.viewer = e.newAdmin(viewerEmail, store.RoleViewer)
	e.program, e.sk, e.pk = e.newProgram("Acme Rewards", "USD", "https://acme.example")
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (e *env) newAdmin(email, role string) *store.Admin {
	e.t.Helper()
	var a *store.Admin
	err := e.db.InTx(context.Background(), func(tx *store.Tx) (err error) {
		a, err = tx.CreateAdmin(context.Background(), email, password, role)
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// newProgram creates a program with its two keys directly in the store.
func (e *env) newProgram(name, currency, website string) (*referral.Program, string, string) {
	e.t.Helper()
	return storetest.Program(e.t, e.db, name, currency, website)
}

// customer creates a customer of the env's program in the store;
// referredBy is the referrer's code or "".
func (e *env) customer(key, name, referredBy string) *referral.Customer {
	e.t.Helper()
	c, err := e.db.CreateCustomer(context.Background(), e.program, referral.NewCustomer{
		Key: key, Name: name, Email: key + "@example.com", ReferredBy: referredBy})
	if err != nil {
		e.t.Fatalf("create customer %s: %v", key, err)
	}
	return c
}

// path is a page of the env's program: path("rules") is
// /dashboard/p/{id}/rules.
func (e *env) path(rest string) string { return "/dashboard/p/" + e.program.ID + "/" + rest }

// client is one browser: a cookie jar, no automatic redirects, and the
// headers a browser sends with a same-origin form post. A request that
// fails outright comes back as a page with status 0, so that the (sub)test
// checking the status reports it.
type client struct {
	e    *env
	http *http.Client
}

func (e *env) client() *client {
	return e.clientFrom(nil)
}

// clientFrom connects from a given local address, e.g. 127.0.0.2, so that
// tests can tell callers apart by address; nil picks any.
func (e *env) clientFrom(local net.Addr) *client {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: local, Timeout: 5 * time.Second}).DialContext}
	e.t.Cleanup(tr.CloseIdleConnections)
	return &client{e: e, http: &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signIn signs in through the form and fails t unless it works.
func (e *env) signIn(t *testing.T, email, pw string) *client {
	t.Helper()
	c := e.client()
	c.post("/dashboard/login", url.Values{"email": {email}, "password": {pw}}).want(t, http.StatusSeeOther)
	return c
}

func (e *env) asOwner(t *testing.T) *client  { t.Helper(); return e.signIn(t, ownerEmail, password) }
func (e *env) asViewer(t *testing.T) *client { t.Helper(); return e.signIn(t, viewerEmail, password) }

// page is one response.
type page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

func (c *client) get(path string) *page {
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		return &page{Body: err.Error()}
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// post submits a form as a browser on the dashboard's own pages does;
// header pairs replace, add or (with "") remove headers:
// post(path, form, "Sec-Fetch-Site", "cross-site").
func (c *client) post(path string, form url.Values, header ...string) *page {
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return &page{Body: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", c.e.srv.URL)
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	return c.do(req)
}

func (c *client) do(req *http.Request) *page {
	res, err := c.http.Do(req)
	if err != nil {
		return &page{Body: fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return &page{Body: fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err)}
	}
	return &page{Status: res.StatusCode, Header: res.Header, Body: string(body), Location: res.Header.Get("Location")}
}

// follow GETs where a redirect points.
func (c *client) follow(p *page) *page {
	if p.Status != http.StatusSeeOther && p.Status != http.StatusFound {
		return &page{Body: fmt.Sprintf("not a redirect: status %d: %s", p.Status, p.text())}
	}
	return c.get(p.Location)
}

// cookie returns the named cookie as the jar would send it to the dashboard.
func (c *client) cookie(name string) *http.Cookie {
	u, _ := url.Parse(c.e.srv.URL + "/dashboard/")
	for _, k := range c.http.Jar.Cookies(u) {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// want fails the test unless the page has status.
func (p *page) want(t *testing.T, status int) *page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d: %.2000s", p.Status, status, p.text())
	}
	return p
}

// has fails the test unless the body contains every fragment, as HTML.
func (p *page) has(t *testing.T, fragments ...string) {
	t.Helper()
	for _, f := range fragments {
		if !strings.Contains(p.Body, f) {
			t.Errorf("page lacks %q: %s", f, p.text())
		}
	}
}

var (
	tagRE   = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
	mainRE  = regexp.MustCompile(`(?s)<main[^>]*>(.*)</main>`)
)

// text is the visible text of the page's main area, for messages and
// for checks on what a person reads.
func (p *page) text() string {
	b := p.Body
	if m := mainRE.FindStringSubmatch(b); m != nil {
		b = m[1]
	}
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(b, " ")), " "))
}

// fieldError returns the error shown under a form field: the templates
// render it as <p class="error" id="FIELD_err">, which the field's input
// names in aria-describedby.
func (p *page) fieldError(field string) string {
	re := regexp.MustCompile(`<p class="error" id="` + regexp.QuoteMeta(field) + `_err">([^<]*)</p>`)
	m := re.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// flash returns the one-time message the page shows, if any.
func (p *page) flash() string {
	m := regexp.MustCompile(`(?s)<div class="flash[^"]*" role="status">(.*?)</div>`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(m[1]))
}

// routes returns the patterns of web.Dashboard's routes with method under
// /dashboard/ (the redirect from / aside), so that tests looping over
// routes also cover routes added later.
func routes(t testing.TB, method string) []string {
	t.Helper()
	var out []string
	for _, r := range web.Dashboard {
		if m, path, _ := strings.Cut(r.Pattern, " "); m == method && strings.HasPrefix(path, "/dashboard/") {
			out = append(out, path)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s routes in web.Dashboard", method)
	}
	return out
}

// recordPage says whether a route names a record besides the program.
func recordPage(pattern string) bool {
	return regexp.MustCompile(`\{[a-z_]+\.{0,3}\}`).MatchString(strings.NewReplacer("{pid}", "", "{$}", "").Replace(pattern))
}

// fill puts values into a route pattern: {pid} becomes pid, {$} nothing,
// and any other wildcard "x".
func fill(pattern, pid string) string {
	pattern = strings.ReplaceAll(pattern, "{$}", "")
	pattern = strings.ReplaceAll(pattern, "{pid}", pid)
	return regexp.MustCompile(`\{[a-z_]+\.{0,3}\}`).ReplaceAllString(pattern, "x")
}
