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

	s.route(mux, "GET /healthz", public, s.healthz)
	s.route(mux, "GET /readyz", public, s.readyz)
	if s.Config.MetricsToken != "" {
		s.route(mux, "GET /metrics", public, s.metricsWithToken)
	}
	s.route(mux, "GET /openapi.yaml", public, serveOpenAPI)

	s.route(mux, "GET /v1/program", secretOnly, s.getProgram)
	s.route(mux, "PUT /v1/program", secretOnly, s.updateProgram)
	s.route(mux, "POST /v1/program/widget_secret/rotate", secretOnly, s.rotateWidgetSecret)

	s.route(mux, "POST /v1/customers", browserSafe, s.createCustomer)
	s.route(mux, "GET /v1/customers", secretOnly, s.listCustomers)
	s.route(mux, "GET /v1/customers/{key}", secretOnly, s.getCustomer)
	s.route(mux, "PUT /v1/customers/{key}", secretOnly, s.updateCustomer)
	s.route(mux, "DELETE /v1/customers/{key}", secretOnly, s.deleteCustomer)

	s.route(mux, "GET /v1/customers/{key}/referral_links", secretOnly, s.listCustomerLinks)
	s.route(mux, "POST /v1/customer_referral_links", secretOnly, s.createLink)
	s.route(mux, "DELETE /v1/customer_referral_links/{id}", secretOnly, s.deleteLink)

	s.route(mux, "GET /v1/reward_rules", secretOnly, s.listRules)
	s.route(mux, "POST /v1/reward_rules", secretOnly, s.createRule)
	s.route(mux, "GET /v1/reward_rules/{id}", secretOnly, s.getRule)
	s.route(mux, "PUT /v1/reward_rules/{id}", secretOnly, s.updateRule)
	s.route(mux, "DELETE /v1/reward_rules/{id}", secretOnly, s.deleteRule)

	s.route(mux, "POST /v1/transactions", secretOnly, s.createTransaction)
	s.route(mux, "GET /v1/transactions", secretOnly, s.listTransactions)
	s.route(mux, "GET /v1/transactions/{key}", secretOnly, s.getTransaction)
	s.route(mux, "POST /v1/transactions/{key}/refund", secretOnly, s.refundTransaction)
	s.route(mux, "DELETE /v1/transactions/{key}", secretOnly, s.refundTransaction)
	s.route(mux, "GET /v1/customers/{key}/transactions", secretOnly, s.listCustomerTransactions)

	s.route(mux, "GET /v1/rewards", secretOnly, s.listRewards)
	s.route(mux, "GET /v1/rewards/{id}", secretOnly, s.getReward)
	s.route(mux, "POST /v1/rewards/{id}/approve", secretOnly, s.approveReward)
	s.route(mux, "POST /v1/rewards/{id}/reject", secretOnly, s.rejectReward)

	s.route(mux, "GET /v1/customers/{key}/stats", secretOnly, s.customerStats)
	s.route(mux, "GET /v1/customers/{key}/balance", secretOnly, s.customerBalance)
	s.route(mux, "POST /v1/customers/{key}/balance/credit", secretOnly, s.creditBalance)
	s.route(mux, "POST /v1/customers/{key}/balance/debit", secretOnly, s.debitBalance)
	s.route(mux, "GET /v1/customers/{key}/ledger", secretOnly, s.customerLedger)

	s.route(mux, "GET /v1/customers/{key}/discount_codes", secretOnly, s.listDiscountCodes)
	s.route(mux, "POST /v1/discount_codes/{code}/redeem", secretOnly, s.redeemDiscountCode)

	s.hot(mux, "GET /r/{code}", s.shortLink)
	s.route(mux, "GET /js/po.js", public, s.poJS)
	s.route(mux, "GET /v1/sdk/config", browserSafe, s.sdkConfig)
	s.route(mux, "POST /v1/track/click", browserPublic, s.trackClick)
	s.route(mux, "GET /v1/widget", browserSafe, s.widget)

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

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz says whether this node can serve traffic: the database answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
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
