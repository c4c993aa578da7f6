package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// webhookDeliveryJSON is a delivery on the wire: the delivery log of an
// endpoint, what a developer reads to learn why a receiver got nothing.
type webhookDeliveryJSON struct {
	ID             string     `json:"id"`
	EndpointID     string     `json:"webhook_endpoint_id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
	LastDurationMS *int64     `json:"last_duration_ms"`
	LastResponse   *string    `json:"last_response"`
	LastError      *string    `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
}

func toWebhookDeliveryJSON(d *webhooks.Delivery) webhookDeliveryJSON {
	out := webhookDeliveryJSON{ID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID, EventType: d.EventType,
		Status: d.Status, Attempts: d.Attempts, LastResponse: optString(d.LastResponse), LastError: optString(d.LastError),
		CreatedAt: d.CreatedAt}
	if !d.NextAttemptAt.IsZero() {
		out.NextAttemptAt = &d.NextAttemptAt
	}
	if !d.LastAttemptAt.IsZero() {
		out.LastAttemptAt = &d.LastAttemptAt
		ms := d.LastDuration.Milliseconds()
		out.LastDurationMS = &ms
	}
	if d.LastStatusCode != 0 {
		out.LastStatusCode = &d.LastStatusCode
	}
	return out
}

type webhookDeliveryEnvelope struct {
	Delivery webhookDeliveryJSON `json:"webhook_delivery"`
}

func (s *Server) ListWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "whd")
	if err != nil {
		return err
	}
	ds, more, err := s.DB.WebhookDeliveries(r.Context(), program(r).ID, r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(ds, more, toWebhookDeliveryJSON, func(d *webhooks.Delivery) string { return d.ID }))
	return nil
}

func (s *Server) RetryWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := readNoFields(r); err != nil {
		return err
	}
	p := program(r)
	return respond(w, r, func(ctx context.Context) (*webhooks.Delivery, error) {
		return s.DB.RetryWebhookDelivery(ctx, p.ID, r.PathValue("id"))
	}, func(d *webhooks.Delivery) (int, any) {
		return http.StatusOK, webhookDeliveryEnvelope{toWebhookDeliveryJSON(d)}
	})
}

// SendTestWebhook sends a webhook_endpoint.test event to the endpoint
// alone, signed and retried like any other: 202, for it is sent by the
// deliverer, which the delivery's log then shows.
func (s *Server) SendTestWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := readNoFields(r); err != nil {
		return err
	}
	p := program(r)
	return respond(w, r, func(ctx context.Context) (*webhooks.Delivery, error) {
		return s.DB.SendTestWebhook(ctx, p.ID, r.PathValue("id"))
	}, func(d *webhooks.Delivery) (int, any) {
		return http.StatusAccepted, webhookDeliveryEnvelope{toWebhookDeliveryJSON(d)}
	})
}
