package httpapi

import (
	"net/http"

	"github.com/advocate-oss/advocate/api"
	"github.com/advocate-oss/advocate/internal/referral"
)

// Handler returns every route of the API. This function is the one place
// to go from a URL to its handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()

	s.route(mux, "GET /healthz", public, s.Healthz)
	s.route(mux, "GET /readyz", public, s.Readyz)
	if s.Config.MetricsToken != "" {
		s.route(mux, "GET /metrics", public, s.metricsWithToken)
	}
	s.route(mux, "GET /openapi.yaml", public, serveOpenAPI)

	s.route(mux, "GET /v1/program", secretOnly, s.GetProgram)
	s.route(mux, "PUT /v1/program", secretOnly, s.UpdateProgram)
	s.route(mux, "POST /v1/program/widget_secret/rotate", secretOnly, s.RotateWidgetSecret)

	s.route(mux, "POST /v1/customers", browserSafe, s.CreateCustomer)
	s.route(mux, "GET /v1/customers", secretOnly, s.ListCustomers)
	s.route(mux, "GET /v1/customers/{key}", secretOnly, s.GetCustomer)
	s.route(mux, "PUT /v1/customers/{key}", secretOnly, s.UpdateCustomer)
	s.route(mux, "DELETE /v1/customers/{key}", secretOnly, s.DeleteCustomer)

	s.route(mux, "GET /v1/customers/{key}/referral_links", secretOnly, s.ListCustomerLinks)
	s.route(mux, "POST /v1/customer_referral_links", secretOnly, s.CreateLink)
	s.route(mux, "DELETE /v1/customer_referral_links/{id}", secretOnly, s.DeleteLink)

	s.route(mux, "GET /v1/reward_rules", secretOnly, s.ListRules)
	s.route(mux, "POST /v1/reward_rules", secretOnly, s.CreateRule)
	s.route(mux, "GET /v1/reward_rules/{id}", secretOnly, s.GetRule)
	s.route(mux, "PUT /v1/reward_rules/{id}", secretOnly, s.UpdateRule)
	s.route(mux, "DELETE /v1/reward_rules/{id}", secretOnly, s.DeleteRule)

	s.route(mux, "POST /v1/transactions", secretOnly, s.CreateTransaction)
	s.route(mux, "GET /v1/transactions", secretOnly, s.ListTransactions)
	s.route(mux, "GET /v1/transactions/{key}", secretOnly, s.GetTransaction)
	s.route(mux, "POST /v1/transactions/{key}/refund", secretOnly, s.RefundTransaction)
	s.route(mux, "DELETE /v1/transactions/{key}", secretOnly, s.RefundTransaction)
	s.route(mux, "GET /v1/customers/{key}/transactions", secretOnly, s.ListCustomerTransactions)

	s.route(mux, "GET /v1/rewards", secretOnly, s.ListRewards)
	s.route(mux, "GET /v1/rewards/{id}", secretOnly, s.GetReward)
	s.route(mux, "POST /v1/rewards/{id}/approve", secretOnly, s.ApproveReward)
	s.route(mux, "POST /v1/rewards/{id}/reject", secretOnly, s.RejectReward)

	s.route(mux, "GET /v1/customers/{key}/stats", secretOnly, s.CustomerStats)
	s.route(mux, "GET /v1/customers/{key}/balance", secretOnly, s.CustomerBalance)
	s.route(mux, "POST /v1/customers/{key}/balance/credit", secretOnly, s.CreditBalance)
	s.route(mux, "POST /v1/customers/{key}/balance/debit", secretOnly, s.DebitBalance)
	s.route(mux, "GET /v1/customers/{key}/ledger", secretOnly, s.CustomerLedger)

	s.route(mux, "GET /v1/customers/{key}/discount_codes", secretOnly, s.ListDiscountCodes)
	s.route(mux, "POST /v1/discount_codes/{code}/redeem", secretOnly, s.RedeemDiscountCode)

	s.hot(mux, "GET /r/{code}", s.ShortLink)
	s.route(mux, "GET /js/po.js", public, s.PoJS)
	s.route(mux, "GET /v1/sdk/config", browserSafe, s.SDKConfig)
	s.route(mux, "POST /v1/track/click", browserPublic, s.TrackClick)
	s.route(mux, "GET /v1/widget", browserSafe, s.Widget)

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

func serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(api.OpenAPI)
	return nil
}

func (s *Server) Healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// Readyz says whether this node can serve traffic: the database answers.
func (s *Server) Readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.DB.Ping(r.Context()); err != nil {
		s.Log.WarnContext(r.Context(), "not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// probe captures what the mux's own 404/405 handler would answer.
type probe struct {
	header http.Header
	Code   int
}

func (p *probe) Header() http.Header         { return p.header }
func (p *probe) Write(b []byte) (int, error) { return len(b), nil }
func (p *probe) WriteHeader(code int)        { p.Code = code }
