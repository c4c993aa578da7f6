package dashboard_test

import (
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/web"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		tests := []struct {
			name, email, password string
			status                int
		}{
			{"right password", ownerEmail, password, http.StatusSeeOther},
			{"email in another case, with spaces", "  Owner@Example.COM ", password, http.StatusSeeOther},
			{"viewer", viewerEmail, password, http.StatusSeeOther},
			{"wrong password", ownerEmail, password + "x", http.StatusUnauthorized},
			{"unknown email", "nobody@example.com", password, http.StatusUnauthorized},
			{"empty form", "", "", http.StatusUnauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.client()
				p := c.post("/dashboard/login", url.Values{"email": {tt.email}, "password": {tt.password}}).want(t, tt.status)
				session := sessionCookie(p)
				if tt.status != http.StatusSeeOther {
					if session != nil {
						t.Errorf("a failed sign-in set a session cookie: %v", session)
					}
					// One message for a wrong password and an unknown email,
					// so that sign-in does not reveal who has an account.
					if got := p.text(); !strings.Contains(got, "Wrong email or password.") {
						t.Errorf("page says %q, want the one sign-in error", got)
					}
					if strings.Contains(p.Body, tt.password) && tt.password != "" {
						t.Error("the page repeats the password")
					}
					c.get(e.path("")).want(t, http.StatusSeeOther)
					return
				}
				if p.Location != "/dashboard/" {
					t.Errorf("redirected to %q, want /dashboard/", p.Location)
				}
				switch {
				case session == nil:
					t.Fatal("no session cookie")
				case !session.HttpOnly:
					t.Error("session cookie is readable by scripts (not HttpOnly)")
				case session.SameSite != http.SameSiteLaxMode:
					t.Errorf("session cookie SameSite = %v, want Lax", session.SameSite)
				case session.Path != "/dashboard/":
					t.Errorf("session cookie path = %q, want /dashboard/", session.Path)
				case session.Secure:
					t.Error("session cookie is Secure on a plain-http install: the browser would never send it back")
				case len(session.Value) < 32:
					t.Errorf("session token %q is too short", session.Value)
				}
				c.follow(c.get("/dashboard/")).want(t, http.StatusOK)
			})
		}
	})
}

func sessionCookie(p *page) *http.Cookie {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "adv_session" {
			return c
		}
	}
	return nil
}

// Behind TLS, or with an https public URL (TLS ending at a proxy), the
// session cookie is Secure.
func TestSessionCookieSecure(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		d := dashboard.New(e.db, slog.New(slog.NewTextHandler(io.Discard, nil)), dashboard.Config{BaseURL: "https://advocate.example.com", Now: e.clock.Now})
		req := httptest.NewRequest(http.MethodPost, "/dashboard/login",
			strings.NewReader(url.Values{"email": {ownerEmail}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		web.DashboardHandler(d).ServeHTTP(rec, req)
		session := sessionCookie(&page{Header: rec.Result().Header})
		if rec.Code != http.StatusSeeOther || session == nil {
			t.Fatalf("sign-in: status %d, cookie %v", rec.Code, session)
		}
		if !session.Secure || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
			t.Errorf("session cookie %q: want Secure, HttpOnly and SameSite=Lax", rec.Result().Header.Get("Set-Cookie"))
		}
	})
}

// Failed sign-ins slow down further tries per account and per address
// with a short, growing delay, never a lock: an attacker who knows an
// admin's email costs that admin a few minutes at most, and nothing at all
// at an address the admin signed in from before (unless the attacker is
// there too, see TestSignInKnownAddress).
func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		from := func(ip string) *client { return e.clientFrom(&net.TCPAddr{IP: net.ParseIP(ip)}) }
		signIn := func(c *client, email, pw string) *page {
			t.Helper()
			return c.post("/dashboard/login", url.Values{"email": {email}, "password": {pw}})
		}
		// guess fails n times, each time after waiting out the delay, so
		// that every try is a real failure.
		guess := func(c *client, email string, n int) {
			t.Helper()
			for i := 0; i < n; i++ {
				p := signIn(c, email, "guess")
				if p.Status == http.StatusTooManyRequests {
					e.clock.advance(retryAfter(t, p))
					i--
					continue
				}
				p.want(t, http.StatusUnauthorized)
			}
		}
		const limited = "Too many failed attempts."

		t.Run("an attacker delays the admin elsewhere by minutes at most", func(t *testing.T) {
			guess(from("127.0.0.2"), ownerEmail, 30)
			p := signIn(from("127.0.0.3"), ownerEmail, password).want(t, http.StatusTooManyRequests)
			if !strings.Contains(p.text(), limited) || sessionCookie(p) != nil {
				t.Errorf("delayed sign-in: %q, cookie %v", p.text(), sessionCookie(p))
			}
			wait := retryAfter(t, p)
			if wait > 5*time.Minute {
				t.Errorf("Retry-After %v, want at most 5 minutes", wait)
			}
			// Another account from another address is not affected.
			signIn(from("127.0.0.3"), viewerEmail, password).want(t, http.StatusSeeOther)
			e.clock.advance(wait)
			signIn(from("127.0.0.3"), ownerEmail, password).want(t, http.StatusSeeOther)
		})
		t.Run("the admin's own address is not held back by the account's delay", func(t *testing.T) {
			signIn(from("127.0.0.7"), viewerEmail, password).want(t, http.StatusSeeOther)
			guess(from("127.0.0.8"), viewerEmail, 10)
			signIn(from("127.0.0.9"), viewerEmail, password).want(t, http.StatusTooManyRequests)
			signIn(from("127.0.0.7"), viewerEmail, password).want(t, http.StatusSeeOther)
		})
		t.Run("per address", func(t *testing.T) {
			attacker := from("127.0.0.4")
			for _, email := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com", "e@example.com", "f@example.com"} {
				signIn(attacker, email, "guess").want(t, http.StatusUnauthorized)
			}
			signIn(attacker, ownerEmail, password).want(t, http.StatusTooManyRequests)
			signIn(from("127.0.0.5"), ownerEmail, password).want(t, http.StatusSeeOther)
		})
		// The address is not forgotten: it may be shared, and whoever
		// signs in there could otherwise clear it for a guesser.
		t.Run("a success forgets the account's failures, not the address's", func(t *testing.T) {
			c := from("127.0.0.6")
			for range 5 {
				signIn(c, viewerEmail, "guess").want(t, http.StatusUnauthorized)
			}
			signIn(c, viewerEmail, password).want(t, http.StatusSeeOther)
			for range 5 {
				signIn(from("127.0.0.10"), viewerEmail, "guess").want(t, http.StatusUnauthorized)
			}
			signIn(c, ownerEmail, "guess").want(t, http.StatusUnauthorized)
			signIn(c, ownerEmail, password).want(t, http.StatusTooManyRequests)
		})
	})
}

func retryAfter(t *testing.T, p *page) time.Duration {
	t.Helper()
	secs, err := strconv.Atoi(p.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("Retry-After %q, want whole seconds ≥ 1", p.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

// Behind a reverse proxy every sign-in comes from the proxy's address; the
// limit must fall on the client the trusted proxy saw, not on everyone,
// and not on an address the client wrote into X-Forwarded-For itself.
func TestSignInRateLimitBehindProxy(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		var logs strings.Builder
		var mu sync.Mutex
		log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
		tests := []struct {
			name    string
			proxies string
			// Each failure comes from the proxy with this header...
			attackerXFF string
			// ...then the admin signs in through the same proxy.
			adminXFF string
			want     int
		}{
			{name: "proxy trusted: the attacker's address is limited, not the admin's", proxies: "1",
				attackerXFF: "198.51.100.1", adminXFF: "198.51.100.2", want: http.StatusSeeOther},
			{name: "proxy trusted: a prepended fake entry does not move the limit", proxies: "1",
				attackerXFF: "198.51.100.2, 198.51.100.1", adminXFF: "198.51.100.2", want: http.StatusSeeOther},
			{name: "CIDR trust skips inner proxies", proxies: "10.0.0.0/8",
				attackerXFF: "198.51.100.1, 10.1.1.1", adminXFF: "198.51.100.2, 10.1.1.1", want: http.StatusSeeOther},
			{name: "proxy not trusted: a spoofed header is ignored", proxies: "",
				attackerXFF: "198.51.100.1", adminXFF: "198.51.100.2", want: http.StatusTooManyRequests},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				proxies, err := clientip.Parse(tt.proxies)
				if err != nil {
					t.Fatal(err)
				}
				d := dashboard.New(e.db, log, dashboard.Config{BaseURL: "https://advocate.example.com", Proxies: proxies, Now: e.clock.Now})
				post := func(xff, email, pw string) int {
					req := httptest.NewRequest(http.MethodPost, "/dashboard/login",
						strings.NewReader(url.Values{"email": {email}, "password": {pw}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.RemoteAddr = "10.0.0.1:40000"
					req.Header.Set("X-Forwarded-For", xff)
					rec := httptest.NewRecorder()
					web.DashboardHandler(d).ServeHTTP(rec, req)
					return rec.Code
				}
				// Failures for many accounts, so that only the address
				// limit can catch them.
				for n := range 6 {
					if got := post(tt.attackerXFF, fmt.Sprintf("nobody%d-%d@example.com", i, n), "guess"); got != http.StatusUnauthorized {
						t.Fatalf("failure %d: status %d, want 401", n+1, got)
					}
				}
				if got := post(tt.attackerXFF, ownerEmail, password); got != http.StatusTooManyRequests {
					t.Errorf("the attacker's next try: status %d, want 429", got)
				}
				if got := post(tt.adminXFF, ownerEmail, password); got != tt.want {
					t.Errorf("the admin: status %d, want %d", got, tt.want)
				}
			})
		}
		t.Run("the admins are told", func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "address=198.51.100.1") ||
				!strings.Contains(logs.String(), "account=nobody0-5@example.com") {
				t.Errorf("log has no warning with the account and address:\n%s", logs.String())
			}
		})
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		settings := url.Values{"name": {"Changed"}, "website_url": {"https://acme.example"}, "referral_param": {"ref"},
			"cookie_days": {"30"}, "attribution": {"first_click"}}
		t.Run("idle", func(t *testing.T) {
			c := e.asOwner(t)
			c.get(e.path("")).want(t, http.StatusOK)
			e.clock.advance(store.SessionIdle + time.Minute)
			p := c.get(e.path("rules")).want(t, http.StatusSeeOther)
			if want := "/dashboard/login?next=" + url.QueryEscape(e.path("rules")); p.Location != want {
				t.Errorf("redirected to %q, want %q", p.Location, want)
			}
			p = c.post(e.path("settings"), settings).want(t, http.StatusUnauthorized)
			if !strings.Contains(p.text(), "Sign in again") {
				t.Errorf("expired session POST says %q", p.text())
			}
			if got := e.programName(); got != "Acme Rewards" {
				t.Errorf("an expired session changed the program name to %q", got)
			}
		})
		t.Run("use keeps it alive until its maximum age", func(t *testing.T) {
			c := e.asOwner(t)
			var used time.Duration
			for used+11*time.Hour < store.SessionMax {
				e.clock.advance(11 * time.Hour)
				used += 11 * time.Hour
				c.get(e.path("")).want(t, http.StatusOK)
			}
			e.clock.advance(store.SessionMax - used + time.Minute)
			c.get(e.path("")).want(t, http.StatusSeeOther)
		})
	})
}

func (e *env) programName() string {
	e.t.Helper()
	p, err := e.db.Program(e.t.Context(), e.program.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Name
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		for _, who := range []string{ownerEmail, viewerEmail} {
			t.Run(who, func(t *testing.T) {
				c := e.signIn(t, who, password)
				token := c.cookie("adv_session").Value
				p := c.post("/dashboard/logout", nil).want(t, http.StatusSeeOther)
				if p.Location != "/dashboard/login" {
					t.Errorf("signed out to %q", p.Location)
				}
				if k := sessionCookie(p); k == nil || k.MaxAge >= 0 {
					t.Errorf("sign-out did not delete the cookie: %v", k)
				}
				c.get(e.path("")).want(t, http.StatusSeeOther)
				// The session ended on the server: the old token is dead even
				// if someone kept a copy of the cookie.
				stolen := e.client()
				u, _ := url.Parse(e.srv.URL + "/dashboard/")
				stolen.http.Jar.SetCookies(u, []*http.Cookie{{Name: "adv_session", Value: token, Path: "/dashboard/"}})
				stolen.get(e.path("")).want(t, http.StatusSeeOther)
				stolen.post(e.path("settings"), nil).want(t, http.StatusUnauthorized)
			})
		}
	})
}

// The page someone wanted before signing in is where sign-in leads, but
// only if it is a dashboard page on this site: never an open redirect.
func TestSignInNext(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		rules := e.path("rules")
		tests := []struct{ name, next, want string }{
			{"dashboard page", rules, rules},
			{"page with a query", e.path("?days=7&x=1"), e.path("?days=7&x=1")},
			{"protocol-relative", "//evil.com/dashboard/", "/dashboard/"},
			{"absolute URL", "https://evil.com/dashboard/", "/dashboard/"},
			{"backslashes", "/\\evil.com/dashboard/", "/dashboard/"},
			{"dashboard backslash", "/dashboard/\\\\evil.com", "/dashboard/"},
			{"dot segments", "/dashboard/../..//evil.com", ""},
			{"scheme-like", "javascript:alert(1)", "/dashboard/"},
			{"outside the dashboard", "/v1/customers", "/dashboard/"},
			{"empty", "", "/dashboard/"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				login := e.client().get("/dashboard/login?next="+url.QueryEscape(tt.next)).want(t, http.StatusOK)
				c := e.client()
				p := c.post("/dashboard/login", url.Values{"email": {ownerEmail}, "password": {password}, "next": {tt.next}}).
					want(t, http.StatusSeeOther)
				if tt.want != "" && p.Location != tt.want {
					t.Errorf("signed in to %q, want %q", p.Location, tt.want)
				}
				for _, loc := range []string{p.Location, hiddenNext(login)} {
					if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") {
						t.Errorf("next %q led to %q, which may leave the site", tt.next, loc)
					}
					u, err := url.Parse(e.srv.URL + "/")
					if err != nil {
						t.Fatal(err)
					}
					if to, err := u.Parse(loc); err != nil || to.Host != u.Host {
						t.Errorf("next %q led off-site to %v (%v)", tt.next, to, err)
					}
				}
			})
		}
		t.Run("a signed-out visit comes back to the page after sign-in", func(t *testing.T) {
			c := e.client()
			want := e.path("?days=7&x=1")
			p := c.get(want).want(t, http.StatusSeeOther)
			login := c.follow(p).want(t, http.StatusOK)
			p = c.post("/dashboard/login", url.Values{"email": {ownerEmail}, "password": {password}, "next": {hiddenNext(login)}}).
				want(t, http.StatusSeeOther)
			if p.Location != want {
				t.Errorf("after sign-in went to %q, want %q", p.Location, want)
			}
		})
	})
}

// hiddenNext is the next field the sign-in form carries.
func hiddenNext(p *page) string {
	const marker = `name="next" value="`
	i := strings.Index(p.Body, marker)
	if i < 0 {
		return ""
	}
	v := p.Body[i+len(marker):]
	v = v[:strings.IndexByte(v, '"')]
	return html.UnescapeString(v)
}

// Every state-changing request from another site is refused and changes
// nothing: a form on evil.com posting to the dashboard, with the victim's
// cookie attached, must fail.
func TestCrossSitePost(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		form := url.Values{"name": {"Hacked"}, "website_url": {"https://evil.com"}, "referral_param": {"ref"},
			"cookie_days": {"30"}, "attribution": {"first_click"}}
		tests := []struct {
			name   string
			header []string
		}{
			{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
			{"Sec-Fetch-Site same-site (a sibling subdomain)", []string{"Sec-Fetch-Site", "same-site"}},
			{"foreign Origin, no Sec-Fetch-Site", []string{"Sec-Fetch-Site", "", "Origin", "https://evil.com"}},
			{"null Origin (sandboxed frame)", []string{"Sec-Fetch-Site", "", "Origin", "null"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := c.post(e.path("settings"), form, tt.header...).want(t, http.StatusForbidden)
				if !strings.Contains(p.text(), "came from another site") {
					t.Errorf("refusal says %q", p.text())
				}
				if got := e.programName(); got != "Acme Rewards" {
					t.Fatalf("a cross-site post renamed the program to %q", got)
				}
				// Signing someone in or out from another site is refused too.
				e.client().post("/dashboard/login", url.Values{"email": {ownerEmail}, "password": {password}}, tt.header...).
					want(t, http.StatusForbidden)
				c.post("/dashboard/logout", nil, tt.header...).want(t, http.StatusForbidden)
				c.get(e.path("")).want(t, http.StatusOK)
			})
		}
		t.Run("same origin is let through", func(t *testing.T) {
			c.post(e.path("settings"), form).want(t, http.StatusSeeOther)
			if got := e.programName(); got != "Hacked" {
				t.Errorf("program name %q after a same-origin post", got)
			}
		})
	})
}

// Viewers see every page and change nothing: every POST route, including
// ones added later, answers them 403.
func TestViewerCannotChangeAnything(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		owner, viewer := e.asOwner(t), e.asViewer(t)
		before := e.snapshot()
		for _, pattern := range routes(t, "POST") {
			if pattern == "/dashboard/login" || pattern == "/dashboard/logout" {
				continue
			}
			path := fill(pattern, e.program.ID)
			t.Run(pattern, func(t *testing.T) {
				form := url.Values{"name": {"Viewer was here"}, "kind": {"secret"}, "email": {"new@example.com"},
					"role": {"owner"}, "amount": {"10"}, "note": {"x"}}
				p := viewer.post(path, form).want(t, http.StatusForbidden)
				if !strings.Contains(p.text(), "Viewers can look") {
					t.Errorf("refusal says %q", p.text())
				}
			})
		}
		if after := e.snapshot(); after != before {
			t.Errorf("viewer posts changed data:\nbefore %s\nafter  %s", before, after)
		}
		for _, pattern := range routes(t, "GET") {
			if recordPage(pattern) || pattern == "/dashboard/assets/" {
				continue // pages of one record are tested with their area
			}
			path := fill(pattern, e.program.ID)
			if path == "/dashboard/switch" {
				path += "?pid=" + e.program.ID
			}
			t.Run("GET "+pattern, func(t *testing.T) {
				p := viewer.get(path)
				for i := 0; i < 3 && p.Status == http.StatusSeeOther; i++ {
					p = viewer.follow(p)
				}
				p.want(t, http.StatusOK)
				if op := owner.get(path); op.Status >= 400 {
					t.Errorf("owner GET %s: %d", path, op.Status)
				}
			})
		}
	})
}

// snapshot sums up what a viewer could try to change.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := e.t.Context()
	ps, err := e.db.Programs(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range ps {
		keys, _ := e.db.APIKeys(ctx, p.ID)
		rules, _ := e.db.Rules(ctx, p.ID)
		b.WriteString(p.ID + " " + p.Name + " " + p.WebsiteURL + " keys:" + strconv.Itoa(len(keys)) + " rules:" + strconv.Itoa(len(rules)))
		for _, k := range keys {
			if k.RevokedAt != nil {
				b.WriteString(" revoked:" + k.ID)
			}
		}
		hooks, _, _ := e.db.WebhookEndpoints(ctx, p.ID, store.Page{Limit: store.MaxLimit})
		for _, h := range hooks {
			fmt.Fprintf(&b, " hook:%s %s %q %v %v %s", h.ID, h.URL, h.Description, h.Events, h.Active, h.Secret)
			deliveries, _, _ := e.db.WebhookDeliveries(ctx, p.ID, h.ID, store.Page{Limit: store.MaxLimit})
			for _, d := range deliveries {
				fmt.Fprintf(&b, " delivery:%s %s %d %v", d.ID, d.Status, d.Attempts, d.NextAttemptAt.UnixMicro())
			}
		}
	}
	admins, _ := e.db.Admins(ctx)
	b.WriteString(" admins:" + strconv.Itoa(len(admins)))
	return b.String()
}

// An unknown program id in any program URL is a 404, on every route.
func TestUnknownProgram(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		for _, method := range []string{"GET", "POST"} {
			for _, pattern := range routes(t, method) {
				if !strings.Contains(pattern, "{pid}") {
					continue
				}
				t.Run(method+" "+pattern, func(t *testing.T) {
					path := fill(pattern, "prg_unknown")
					var p *page
					if method == "GET" {
						p = c.get(path)
					} else {
						p = c.post(path, url.Values{"name": {"x"}, "kind": {"secret"}})
					}
					p.want(t, http.StatusNotFound)
				})
			}
		}
		c.get("/dashboard/switch?pid=prg_unknown").want(t, http.StatusNotFound)
	})
}

// Pages carry a strict content security policy and are never framed or
// cached.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		pages := []string{"/dashboard/login", e.path(""), e.path("settings"), e.path("rules"), e.path("developers"),
			"/dashboard/team", "/dashboard/programs", "/dashboard/programs/new", "/dashboard/p/prg_unknown/"}
		for _, path := range pages {
			t.Run(path, func(t *testing.T) {
				h := c.get(path).Header
				csp := h.Get("Content-Security-Policy")
				for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
					}
				}
				if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
					t.Errorf("Content-Security-Policy %q allows inline or eval'd code", csp)
				}
				for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
					"Cache-Control": "no-store", "Content-Type": "text/html; charset=utf-8"} {
					if got := h.Get(name); got != want {
						t.Errorf("%s = %q, want %q", name, got, want)
					}
				}
			})
		}
	})
}

// signInFrom posts a sign-in straight to d as if from addr, so that a test
// can pick any address and fire many at once.
func signInFrom(d *dashboard.Dashboard, addr, email, pw string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/dashboard/login",
		strings.NewReader(url.Values{"email": {email}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = addr + ":40000"
	rec := httptest.NewRecorder()
	web.DashboardHandler(d).ServeHTTP(rec, req)
	return rec
}

// Guesses fired all at once when a delay ends must not each get their
// password checked: the check and the count are one step, so a burst gets
// the free tries left and one more, and every other request waits.
func TestSignInParallelGuesses(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		tests := []struct {
			name     string
			accounts int // the burst spreads over this many accounts
			before   int // failures one by one before the burst
			checked  int // at most this many of the burst reach the password check
		}{
			{name: "one account after its free tries", accounts: 1, before: 5, checked: 1},
			{name: "one account from fresh", accounts: 1, before: 0, checked: 6},
			{name: "many accounts from one address", accounts: 20, before: 5, checked: 1},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := dashboard.New(e.db, slog.New(slog.NewTextHandler(io.Discard, nil)), dashboard.Config{BaseURL: "https://advocate.example.com", Now: e.clock.Now})
				addr := fmt.Sprintf("198.51.100.%d", i+1)
				email := func(n int) string { return fmt.Sprintf("burst%d-%d@example.com", i, n%tt.accounts) }
				for n := range tt.before {
					if rec := signInFrom(d, addr, email(0), "guess"); rec.Code != http.StatusUnauthorized {
						t.Fatalf("failure %d: status %d, want 401", n+1, rec.Code)
					}
				}
				// Two windows: the burst at the start, and another when the
				// delay it earned has passed.
				for window := range 2 {
					codes, retry := make([]int, 20), make([]string, 20)
					var wg sync.WaitGroup
					start := make(chan struct{})
					for n := range codes {
						wg.Go(func() {
							<-start
							rec := signInFrom(d, addr, email(n), "guess")
							codes[n], retry[n] = rec.Code, rec.Header().Get("Retry-After")
						})
					}
					close(start)
					wg.Wait()
					checked, limited := 0, 0
					var wait time.Duration
					for n, code := range codes {
						switch code {
						case http.StatusUnauthorized:
							checked++
						case http.StatusTooManyRequests:
							limited++
							secs, err := strconv.Atoi(retry[n])
							if err != nil || secs < 1 {
								t.Fatalf("429 with Retry-After %q", retry[n])
							}
							wait = max(wait, time.Duration(secs)*time.Second)
						default:
							t.Fatalf("status %d, want 401 or 429", code)
						}
					}
					if checked > tt.checked || checked == 0 {
						t.Errorf("window %d: %d of 20 guesses reached the password check, want 1 to %d", window, checked, tt.checked)
					}
					if window == 0 {
						e.clock.advance(wait)
					}
				}
			})
		}
	})
}

// An address the admin signed in from before may be shared: an office or
// carrier NAT, or the proxy's address when no proxy is trusted. Guesses
// from there are still delayed per account and address, even when the
// guesser signs into an account of their own between tries; only a
// guesser elsewhere leaves the admin's usual address alone.
func TestSignInKnownAddress(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		const home, elsewhere = "10.0.0.1", "203.0.113.9"
		tests := []struct {
			name string
			// attack runs against a fresh dashboard where the owner last
			// signed in from home.
			attack func(t *testing.T, d *dashboard.Dashboard)
			// then the owner signs in from here...
			from string
			// ...with this answer.
			want int
		}{
			{name: "a guesser at the owner's address who signs into their own account is delayed",
				attack: func(t *testing.T, d *dashboard.Dashboard) {
					checked := 0
					for n := range 30 {
						if n%4 == 3 { // the guesser's own account, to reset what a success resets
							signInFrom(d, home, viewerEmail, password)
							continue
						}
						switch code := signInFrom(d, home, ownerEmail, "guess").Code; code {
						case http.StatusUnauthorized:
							checked++
						case http.StatusTooManyRequests:
						default:
							t.Fatalf("guess %d: status %d", n, code)
						}
					}
					if checked > 6 {
						t.Errorf("%d guesses at the owner's password reached the check without delay, want at most 6", checked)
					}
				},
				from: home, want: http.StatusTooManyRequests},
			{name: "a guesser elsewhere does not delay the owner at home",
				attack: func(t *testing.T, d *dashboard.Dashboard) {
					for n := 0; n < 30; n++ {
						rec := signInFrom(d, elsewhere, ownerEmail, "guess")
						if rec.Code == http.StatusTooManyRequests {
							secs, _ := strconv.Atoi(rec.Header().Get("Retry-After"))
							e.clock.advance(time.Duration(secs) * time.Second)
							n--
						}
					}
					if code := signInFrom(d, "203.0.113.10", ownerEmail, password).Code; code != http.StatusTooManyRequests {
						t.Errorf("owner at a new address: status %d, want 429", code)
					}
				},
				from: home, want: http.StatusSeeOther},
			{name: "the owner's own typos at home are delayed by the pair limit",
				attack: func(t *testing.T, d *dashboard.Dashboard) {
					for range 6 {
						signInFrom(d, home, ownerEmail, "typo")
					}
				},
				from: home, want: http.StatusTooManyRequests},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := dashboard.New(e.db, slog.New(slog.NewTextHandler(io.Discard, nil)), dashboard.Config{BaseURL: "https://advocate.example.com", Now: e.clock.Now})
				if code := signInFrom(d, home, ownerEmail, password).Code; code != http.StatusSeeOther {
					t.Fatalf("the owner's first sign-in: status %d", code)
				}
				tt.attack(t, d)
				if code := signInFrom(d, tt.from, ownerEmail, password).Code; code != tt.want {
					t.Errorf("the owner from %s: status %d, want %d", tt.from, code, tt.want)
				}
			})
		}
	})
}
