package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestRouteTables checks the tables themselves: every route says its
// method, its access level and its handler, and no listener has a
// method and pattern twice.
func TestRouteTables(t *testing.T) {
	type row struct {
		pattern string
		access  int
		handler bool
	}
	listeners := map[string][]row{}
	for _, r := range API {
		listeners["public"] = append(listeners["public"], row{r.Pattern, int(r.Access), r.Handler != nil})
	}
	for _, r := range Dashboard {
		listeners["public"] = append(listeners["public"], row{r.Pattern, int(r.Access), r.Handler != nil})
	}
	for _, r := range Metrics {
		listeners["metrics"] = append(listeners["metrics"], row{r.Pattern, int(r.Access), r.Handler != nil})
	}
	for name, rows := range listeners {
		seen := map[string]bool{}
		for _, r := range rows {
			method, path, ok := strings.Cut(r.pattern, " ")
			if !ok || method == "" || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") {
				t.Errorf("%s: %q does not start with a method and a path", name, r.pattern)
			}
			if seen[r.pattern] {
				t.Errorf("%s: %q is listed twice", name, r.pattern)
			}
			seen[r.pattern] = true
			if r.access == 0 {
				t.Errorf("%s: %q has no access level", name, r.pattern)
			}
			if !r.handler {
				t.Errorf("%s: %q has no handler", name, r.pattern)
			}
		}
	}
}

// caller is who sends a request in TestEveryRouteIsServed, by the
// credentials presented.
type caller string

const (
	none           caller = "no credentials"
	secretKey      caller = "a secret key"
	publishableKey caller = "a publishable key"
	metricsToken   caller = "the metrics token"
	owner          caller = "an owner's session"
	viewer         caller = "a viewer's session"
)

// TestEveryRouteIsServed composes the listeners as Handler and
// MetricsHandler do, from the tables with every handler replaced by a
// probe that names its route, and requests every route with its path
// values filled in: with the credentials its access level asks for, the
// route's own handler answers (no 404 or 405 fallback); with less, the
// middleware refuses before the handler runs. So the tables list what is
// served, and the access levels are what is enforced.
func TestEveryRouteIsServed(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	_, sk, pk := storetest.Program(t, db, "Acme", "USD", "https://yoursite.com")
	ctx := context.Background()
	session := map[caller]string{}
	for who, role := range map[caller]string{owner: store.RoleOwner, viewer: store.RoleViewer} {
		email := role + "@example.com"
		if _, err := db.CreateAdmin(ctx, email, "correct horse battery staple", role); err != nil {
			t.Fatal(err)
		}
		var err error
		if session[who], _, err = db.SignIn(ctx, email, "correct horse battery staple"); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	api := httpapi.New(db, log, httpapi.Config{MetricsToken: "metrics-token"})
	dash := dashboard.New(db, log, dashboard.Config{})

	const answered = "X-Probe"
	probe := func(pattern string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set(answered, pattern)
			w.WriteHeader(http.StatusTeapot)
		}
	}
	probeAPI := func(table []APIRoute) []APIRoute {
		var out []APIRoute
		for _, r := range table {
			p := probe(r.Pattern)
			out = append(out, APIRoute{r.Pattern, r.Access, func(_ *httpapi.Server, w http.ResponseWriter, _ *http.Request) error {
				p(w)
				return nil
			}})
		}
		return out
	}
	var pages []DashboardRoute
	for _, r := range Dashboard {
		p := probe(r.Pattern)
		pages = append(pages, DashboardRoute{r.Pattern, r.Access, func(_ *dashboard.Dashboard, w http.ResponseWriter, _ *http.Request) {
			p(w)
		}})
	}
	public := handler(api, dash, probeAPI(API), pages)
	private := api.Handler(apiRoutes(probeAPI(Metrics)))

	// send requests pattern, filled in, as who; it reports whether the
	// route's own handler answered, and the status.
	send := func(h http.Handler, pattern string, who caller) (bool, int) {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.ReplaceAll(path, "{$}", "")
		path = regexp.MustCompile(`\{[a-z_]+(\.\.\.)?\}`).ReplaceAllString(path, "x")
		r := httptest.NewRequest(method, path, nil)
		if method == http.MethodPost {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		switch who {
		case secretKey:
			r.Header.Set("Authorization", "Bearer "+sk)
		case publishableKey:
			r.Header.Set("Authorization", "Bearer "+pk)
		case metricsToken:
			r.Header.Set("Authorization", "Bearer metrics-token")
		case owner, viewer:
			r.AddCookie(&http.Cookie{Name: "adv_session", Value: session[who]})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get(answered); got != "" && got != pattern {
			t.Errorf("%s: answered by the handler of %s", pattern, got)
		}
		return w.Header().Get(answered) == pattern, w.Code
	}

	// Who is let through (true) or refused (false) at each access level.
	apiCallers := map[httpapi.Access]map[caller]bool{
		httpapi.Public:         {none: true},
		httpapi.Visitor:        {none: true},
		httpapi.BrowserPublic:  {none: true},
		httpapi.SecretKey:      {secretKey: true, publishableKey: false, none: false},
		httpapi.PublishableKey: {publishableKey: true, secretKey: true, none: false},
		httpapi.MetricsToken:   {metricsToken: true, secretKey: false, none: false},
	}
	for _, tt := range []struct {
		listener string
		h        http.Handler
		table    []APIRoute
	}{{"public", public, API}, {"metrics", private, Metrics}} {
		for _, r := range tt.table {
			t.Run(tt.listener+" "+r.Pattern, func(t *testing.T) {
				callers, ok := apiCallers[r.Access]
				if !ok {
					t.Fatalf("access level %d is not tested", r.Access)
				}
				for who, want := range callers {
					if got, status := send(tt.h, r.Pattern, who); got != want {
						t.Errorf("with %s: handler answered %v (status %d), want %v", who, got, status, want)
					}
				}
				if r.Access.CrossOrigin() {
					_, path, _ := strings.Cut(r.Pattern, " ")
					if _, status := send(tt.h, "OPTIONS "+path, none); status != http.StatusNoContent {
						t.Errorf("CORS preflight: status %d, want 204", status)
					}
				}
			})
		}
	}
	for _, r := range Dashboard {
		t.Run("public "+r.Pattern, func(t *testing.T) {
			method, _, _ := strings.Cut(r.Pattern, " ")
			var callers map[caller]bool
			switch r.Access {
			case dashboard.Public:
				callers = map[caller]bool{none: true}
			case dashboard.Admin:
				// Viewers may only look.
				callers = map[caller]bool{owner: true, viewer: method == http.MethodGet, none: false}
			default:
				t.Fatalf("access level %d is not tested", r.Access)
			}
			for who, want := range callers {
				if got, status := send(public, r.Pattern, who); got != want {
					t.Errorf("with %s: handler answered %v (status %d), want %v", who, got, status, want)
				}
			}
		})
	}

	t.Run("the probe tells a route from the fallback", func(t *testing.T) {
		for _, pattern := range []string{"GET /v1/nosuch", "GET /dashboard/nosuch", "PATCH /v1/customers"} {
			if got, status := send(public, pattern, secretKey); got || status/100 != 4 {
				t.Errorf("%s: handler answered %v, status %d", pattern, got, status)
			}
		}
	})
	t.Run("no metrics token, no public /metrics", func(t *testing.T) {
		open := handler(httpapi.New(db, log, httpapi.Config{}), dash, probeAPI(API), pages)
		if got, status := send(open, "GET /metrics", metricsToken); got || status != http.StatusNotFound {
			t.Errorf("handler answered %v, status %d; want a 404", got, status)
		}
	})
}
