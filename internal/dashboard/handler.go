package dashboard

import (
	"fmt"
	"net/http"
)

// Access says who may use a dashboard route. The check that enforces it
// is chosen from it (see Handler), so a route table cannot claim one level
// while the dashboard enforces another. The zero value is no level at
// all: Handler refuses a route without one.
type Access int

const (
	_      Access = iota
	Public        // anyone: sign-in and sign-out, assets, the redirect from /
	Admin         // a signed-in admin; viewers may only look (GET), owners may change
)

// Route is one route of the dashboard: a ServeMux pattern with its method,
// who may use it, and its handler (a method expression such as
// (*Dashboard).Overview). internal/web lists them all.
type Route struct {
	Pattern string
	Access  Access
	Handler func(d *Dashboard, w http.ResponseWriter, r *http.Request)
}

// Handler serves routes, each behind the check its Access calls for.
// Every state-changing request is checked by http.CrossOriginProtection
// (Sec-Fetch-Site / Origin), and session cookies are SameSite=Lax.
func (d *Dashboard) Handler(routes []Route) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.Handler
		var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(d, w, r) })
		switch rt.Access {
		case Public:
		case Admin:
			next = d.signedIn(next)
		default:
			panic(fmt.Sprintf("dashboard: route %q has no access level", rt.Pattern))
		}
		mux.Handle(rt.Pattern, next)
	}
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, r, http.StatusForbidden, "This request came from another site and was refused.")
	}))
	return csrf.Handler(d.checkText(mux))
}

// Assets serves the embedded stylesheets, scripts and images under
// /dashboard/assets/.
func (d *Dashboard) Assets(w http.ResponseWriter, r *http.Request) { d.assets.ServeHTTP(w, r) }

// Root sends visitors of the bare root to the dashboard.
func (d *Dashboard) Root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/dashboard/", http.StatusFound)
}

func assets() http.Handler {
	fs := http.StripPrefix("/dashboard/", http.FileServerFS(assetFS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fs.ServeHTTP(w, r)
	})
}
