package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// webhookEndpointJSON is a webhook endpoint on the wire. Secret is set
// only in the responses that create it: creation and rotation.
type webhookEndpointJSON struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Description    string    `json:"description"`
	Events         []string  `json:"events"`
	Active         bool      `json:"active"`
	DisabledReason *string   `json:"disabled_reason"`
	Secret         string    `json:"secret,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

func toWebhookEndpointJSON(e *webhooks.Endpoint) webhookEndpointJSON {
	return webhookEndpointJSON{ID: e.ID, URL: e.URL, Description: e.Description, Events: e.Events, Active: e.Active,
		DisabledReason: optString(e.DisabledReason), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

type webhookEndpointEnvelope struct {
	Endpoint webhookEndpointJSON `json:"webhook_endpoint"`
}

// withSecret renders an endpoint with its secret, which only its creation
// and a rotation show.
func withSecret(status int) func(*webhooks.Endpoint) (int, any) {
	return func(e *webhooks.Endpoint) (int, any) {
		out := toWebhookEndpointJSON(e)
		out.Secret = e.Secret
		return status, webhookEndpointEnvelope{out}
	}
}

// checkWebhookHost asks Config.CheckWebhookHost whether the host of a URL
// given in a request is a public address. A URL that is wrong whatever its
// host resolves to is left to the store's validation, which names it with
// the request's other problems.
func (s *Server) checkWebhookHost(ctx context.Context, raw *string) error {
	if raw == nil || s.Config.CheckWebhookHost == nil {
		return nil
	}
	u, err := webhooks.CheckURL(*raw)
	if err != nil {
		return nil
	}
	return s.Config.CheckWebhookHost(ctx, u.Hostname())
}

// readEndpoint decodes an endpoint's body and checks its host.
func (s *Server) readEndpoint(r *http.Request) (webhooks.EndpointInput, error) {
	var in webhooks.EndpointInput
	body, err := readBody(r)
	if err != nil {
		return in, err
	}
	if err := decode(body, &in); err != nil {
		return in, err
	}
	return in, s.checkWebhookHost(r.Context(), in.URL)
}

func (s *Server) CreateWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readEndpoint(r)
	if err != nil {
		return err
	}
	p := program(r)
	return respond(w, r, func(ctx context.Context) (*webhooks.Endpoint, error) {
		return s.DB.CreateWebhookEndpoint(ctx, p.ID, in)
	},
		withSecret(http.StatusCreated))
}

func (s *Server) ListWebhookEndpoints(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "we")
	if err != nil {
		return err
	}
	es, more, err := s.DB.WebhookEndpoints(r.Context(), program(r).ID, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(es, more, toWebhookEndpointJSON, func(e *webhooks.Endpoint) string { return e.ID }))
	return nil
}

func (s *Server) GetWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	e, err := s.DB.WebhookEndpoint(r.Context(), program(r).ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEndpointEnvelope{toWebhookEndpointJSON(e)})
	return nil
}

func (s *Server) UpdateWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	in, err := s.readEndpoint(r)
	if err != nil {
		return err
	}
	e, err := s.DB.UpdateWebhookEndpoint(r.Context(), program(r).ID, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, webhookEndpointEnvelope{toWebhookEndpointJSON(e)})
	return nil
}

func (s *Server) DeleteWebhookEndpoint(w http.ResponseWriter, r *http.Request) error {
	if err := s.DB.DeleteWebhookEndpoint(r.Context(), program(r).ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) RotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	if err := readNoFields(r); err != nil {
		return err
	}
	p := program(r)
	return respond(w, r, func(ctx context.Context) (*webhooks.Endpoint, error) {
		return s.DB.RotateWebhookSecret(ctx, p.ID, r.PathValue("id"))
	}, withSecret(http.StatusOK))
}
