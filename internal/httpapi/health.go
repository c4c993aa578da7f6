package httpapi

import (
	"net/http"

	"github.com/advocate-oss/advocate/api"
)

// OpenAPI serves api/openapi.yaml, the document the API is tested against.
func (s *Server) OpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(api.OpenAPI)
	return nil
}

// Healthz says that the process answers, for a liveness probe.
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
