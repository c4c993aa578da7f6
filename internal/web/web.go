// Package web puts Advocate's HTTP parts together: the API
// (internal/httpapi) and the dashboard (internal/dashboard) behind one
// handler. routes.go lists every URL the binary serves.
package web

import (
	"net/http"
	"strings"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/httpapi"
)

// APIRoute is a route served by the API's middleware; see httpapi.Route.
// It is a type of this package so that the tables in routes.go can leave
// out field names.
type APIRoute httpapi.Route

// DashboardRoute is a route served by the dashboard; see dashboard.Route.
type DashboardRoute dashboard.Route

// Handler serves the public listener (--addr): the API and Dashboard
// tables.
func Handler(api *httpapi.Server, dash *dashboard.Dashboard) http.Handler {
	return handler(api, dash, API, Dashboard)
}

func handler(api *httpapi.Server, dash *dashboard.Dashboard, table []APIRoute, pages []DashboardRoute) http.Handler {
	root := http.NewServeMux()
	d := dash.Handler(dashboardRoutes(pages))
	// The dashboard answers every path under /dashboard/, its own 404s
	// included; its few routes elsewhere (the bare root) are added one by
	// one. The API answers everything else, with problem documents for
	// unknown paths.
	root.Handle("/dashboard/", api.Instrument("dashboard", d))
	for _, p := range pages {
		if _, path, _ := strings.Cut(p.Pattern, " "); !strings.HasPrefix(path, "/dashboard/") {
			root.Handle(p.Pattern, api.Instrument(p.Pattern, d))
		}
	}
	root.Handle("/", api.Handler(apiRoutes(table)))
	return root
}

// APIHandler serves only the API table, for tests of the API alone.
func APIHandler(api *httpapi.Server) http.Handler {
	return api.Handler(apiRoutes(API))
}

// DashboardHandler serves only the Dashboard table, for tests of the
// dashboard alone.
func DashboardHandler(dash *dashboard.Dashboard) http.Handler {
	return dash.Handler(dashboardRoutes(Dashboard))
}

// MetricsHandler serves the private --metrics-addr listener: the Metrics
// table.
func MetricsHandler(api *httpapi.Server) http.Handler {
	return api.Handler(apiRoutes(Metrics))
}

// apiRoutes and dashboardRoutes hand a table to the package that serves it.
func apiRoutes(table []APIRoute) []httpapi.Route {
	out := make([]httpapi.Route, len(table))
	for i, r := range table {
		out[i] = httpapi.Route(r)
	}
	return out
}

func dashboardRoutes(table []DashboardRoute) []dashboard.Route {
	out := make([]dashboard.Route, len(table))
	for i, r := range table {
		out[i] = dashboard.Route(r)
	}
	return out
}
