package httpapi

import (
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripesync"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// stripeIntegrationJSON is a program's Stripe integration on the wire. The
// secrets are never sent back: only whether each is set.
type stripeIntegrationJSON struct {
	Provider         string          `json:"provider"`
	WebhookURL       string          `json:"webhook_url"`
	Events           []string        `json:"events"`
	WebhookSecretSet bool            `json:"webhook_secret_set"`
	SecretKeySet     bool            `json:"secret_key_set"`
	ApplyRewards     bool            `json:"apply_rewards"`
	APIBaseURL       string          `json:"api_base_url"`
	EventsReceived   int64           `json:"events_received"`
	LastEventAt      *time.Time      `json:"last_event_at"`
	LastEventType    *string         `json:"last_event_type"`
	LastError        *string         `json:"last_error"`
	LastErrorAt      *time.Time      `json:"last_error_at"`
	Sync             *stripeSyncJSON `json:"sync"`
	CreatedAt        time.Time       `json:"created_at"`
	UpdatedAt        time.Time       `json:"updated_at"`
}

type stripeSyncJSON struct {
	Status     string     `json:"status"`
	Since      *time.Time `json:"since"`
	Done       int        `json:"done"`
	Total      int        `json:"total"`
	Error      *string    `json:"error"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

type stripeIntegrationEnvelope struct {
	Integration stripeIntegrationJSON `json:"integration"`
}

func (s *Server) toStripeIntegrationJSON(in *store.StripeIntegration) stripeIntegrationJSON {
	out := stripeIntegrationJSON{Provider: "stripe", WebhookURL: s.Config.BaseURL + stripe.WebhookPath(in.ProgramID),
		Events: stripe.HandledTypes, WebhookSecretSet: in.WebhookSecret != "", SecretKeySet: in.SecretKey != "",
		ApplyRewards: in.ApplyRewards, APIBaseURL: in.APIBaseURL, EventsReceived: in.EventsReceived,
		LastEventAt: in.LastEventAt, LastEventType: optString(in.LastEventType), LastError: optString(in.LastError),
		LastErrorAt: in.LastErrorAt, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}
	if sy := in.Sync; sy.Status != "" {
		out.Sync = &stripeSyncJSON{Status: sy.Status, Since: sy.Since, Done: sy.Done, Total: sy.Total, Error: optString(sy.Error),
			StartedAt: sy.StartedAt, FinishedAt: sy.FinishedAt}
	}
	return out
}

func (s *Server) GetStripeIntegration(w http.ResponseWriter, r *http.Request) error {
	in, err := s.DB.StripeIntegration(r.Context(), program(r).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stripeIntegrationEnvelope{s.toStripeIntegrationJSON(in)})
	return nil
}

// PutStripeIntegration connects Stripe or changes the connection. A secret
// left out keeps its stored value; "secret_key": "" removes the key.
func (s *Server) PutStripeIntegration(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		WebhookSecret *string `json:"webhook_secret"`
		SecretKey     *string `json:"secret_key"`
		ApplyRewards  *bool   `json:"apply_rewards"`
		APIBaseURL    *string `json:"api_base_url"`
	}
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	if err := decode(raw, &body); err != nil {
		return err
	}
	in, err := s.DB.ConnectStripe(r.Context(), program(r).ID, store.StripeSettings{WebhookSecret: body.WebhookSecret,
		SecretKey: body.SecretKey, ApplyRewards: body.ApplyRewards, APIBaseURL: body.APIBaseURL})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stripeIntegrationEnvelope{s.toStripeIntegrationJSON(in)})
	return nil
}

func (s *Server) DeleteStripeIntegration(w http.ResponseWriter, r *http.Request) error {
	if err := s.DB.DisconnectStripe(r.Context(), program(r).ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// SyncStripe starts a reconcile sync in the background: 202 with the
// integration, whose sync field then shows its progress.
func (s *Server) SyncStripe(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Since string `json:"since"`
	}
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	if err := decode(raw, &body); err != nil {
		return err
	}
	since, ok := stripesync.ParseSince(body.Since)
	if !ok {
		return referral.FieldError("invalid_since", "since", "Since must be a date (2026-12-01) or a time (2026-12-01T09:00:00Z).")
	}
	p := program(r)
	if err := s.Stripe.StartSync(r.Context(), p.ID, since); err != nil {
		return err
	}
	in, err := s.DB.StripeIntegration(r.Context(), p.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, stripeIntegrationEnvelope{s.toStripeIntegrationJSON(in)})
	return nil
}

// StripeWebhook receives a program's Stripe events. The signature is the
// credential: no API key; it is verified over the raw body before the
// body is parsed.
func (s *Server) StripeWebhook(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	res, err := s.Stripe.HandleWebhook(r.Context(), r.PathValue("program_id"), r.Header.Get("Stripe-Signature"), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"received": true, "event_id": res.EventID, "outcome": res.Outcome})
	return nil
}
