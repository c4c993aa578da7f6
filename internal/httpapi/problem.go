package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// problem is an RFC 9457 problem document with Advocate's machine code and
// per-field messages.
type problem struct {
	Type   string            `json:"type"`
	Title  string            `json:"title"`
	Status int               `json:"status"`
	Detail string            `json:"detail"`
	Code   string            `json:"code"`
	Errors map[string]string `json:"errors,omitempty"`
}

var kindStatus = map[referral.Kind]int{
	referral.KindInvalid:      http.StatusUnprocessableEntity,
	referral.KindMalformed:    http.StatusBadRequest,
	referral.KindNotFound:     http.StatusNotFound,
	referral.KindConflict:     http.StatusConflict,
	referral.KindUnauthorized: http.StatusUnauthorized,
	referral.KindForbidden:    http.StatusForbidden,
	referral.KindTooMany:      http.StatusTooManyRequests,
}

// problemTypeBase prefixes every problem type; the docs explain each code.
const problemTypeBase = "https://advocate.dev/problems/"

// writeError turns any error into a problem response. Errors a client caused
// carry their code and message; anything else is logged and answered with
// a generic 500 that leaks nothing.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := referral.AsError(err)
	if !ok && store.BadText(err) {
		e, ok = referral.ErrBadText, true
	}
	if !ok || kindStatus[e.Kind] == 0 {
		if errors.Is(err, r.Context().Err()) {
			s.Log.InfoContext(r.Context(), "request canceled", "err", err)
		} else {
			s.Log.ErrorContext(r.Context(), "internal error", "err", err)
		}
		e = &referral.Error{Code: "internal_error", Message: "Something went wrong on our side. The request was not applied; it is safe to retry."}
		writeProblem(w, http.StatusInternalServerError, e)
		return
	}
	writeProblem(w, kindStatus[e.Kind], e)
}

func writeProblem(w http.ResponseWriter, status int, e *referral.Error) {
	p := problem{
		Type: problemTypeBase + e.Code, Title: http.StatusText(status), Status: status,
		Detail: e.Message, Code: e.Code, Errors: e.Fields,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// Errors the HTTP layer itself raises.
var (
	errUnauthorized = referral.Errorf(referral.KindUnauthorized, "invalid_api_key",
		"Send a valid API key as 'Authorization: Bearer <key>'.")
	errSecretKeyRequired = referral.Errorf(referral.KindForbidden, "secret_key_required",
		"This endpoint needs a secret key (sk_…); publishable keys may only be used by the browser SDK.")
	errNotFound = referral.Errorf(referral.KindNotFound, "not_found", "No such endpoint. See /openapi.yaml for the API.")
)
