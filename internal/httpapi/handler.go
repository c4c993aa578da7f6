package httpapi

import (
	"net/http"

	"github.com/advocate-oss/advocate/internal/referral"
)

// Access says who may call a route. The middleware that enforces it is
// chosen from it (see route), so a route table cannot claim one level
// while the server enforces another. The zero value is no level at all:
// Handler refuses a route without one.
type Access int

const (
	_              Access = iota
	Public                // anyone, no key: health, the OpenAPI document, po.js
	Visitor               // anyone following a short link: the hot path, without text checks, its successes logged only at Debug
	SecretKey             // a secret key (sk_)
	PublishableKey        // a secret or a publishable key (pk_); a publishable one only from the program's site
	BrowserPublic         // pages on any site, no key in the header (the handler checks the one in the body)
	MetricsToken          // the metrics token (--metrics-token); without one configured the route is not served
)

// CrossOrigin reports whether browsers call routes of this level from
// other origins, so that they also answer CORS preflights (OPTIONS).
func (a Access) CrossOrigin() bool { return a == PublishableKey || a == BrowserPublic }

// Route is one route of the API: a ServeMux pattern with its method, who
// may call it, and its handler (a method expression such as
// (*Server).ListCustomers). internal/web lists them all.
type Route struct {
	Pattern string
	Access  Access
	Handler func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// Handler serves routes, each behind the middleware its Access calls for,
// and answers any other request with a problem document.
func (s *Server) Handler(routes []Route) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		h := rt.Handler
		s.route(mux, rt.Pattern, rt.Access, func(w http.ResponseWriter, r *http.Request) error { return h(s, w, r) })
	}
	return s.problemFallback(mux)
}

// problemFallback answers unknown paths (404) and wrong methods (405) with
// problem documents instead of the mux's plain text, instrumented like
// every route so that they too carry a request id and are logged.
func (s *Server) problemFallback(mux *http.ServeMux) http.Handler {
	unmatched := s.instrument("unmatched", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, _ := mux.Handler(r)
		rec := &probe{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeProblem(w, http.StatusMethodNotAllowed, &referral.Error{Code: "method_not_allowed",
				Message: "This endpoint does not accept " + r.Method + "; see the Allow header."})
			return
		}
		if rec.Code == http.StatusNotFound {
			writeProblem(w, http.StatusNotFound, errNotFound)
			return
		}
		mux.ServeHTTP(w, r) // a redirect the mux makes, such as a cleaned path
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		unmatched.ServeHTTP(w, r)
	})
}

// probe captures what the mux's own 404/405 handler would answer.
type probe struct {
	header http.Header
	Code   int
}

func (p *probe) Header() http.Header         { return p.header }
func (p *probe) Write(b []byte) (int, error) { return len(b), nil }
func (p *probe) WriteHeader(code int)        { p.Code = code }
