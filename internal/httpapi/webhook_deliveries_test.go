package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// webhookDelivery is a delivery as the API returns it.
type webhookDelivery struct {
	ID             string  `json:"id"`
	EndpointID     string  `json:"webhook_endpoint_id"`
	EventID        string  `json:"event_id"`
	EventType      string  `json:"event_type"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	LastStatusCode *int    `json:"last_status_code"`
	LastResponse   *string `json:"last_response"`
}

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// TestSendTestWebhook: POST /v1/webhook_endpoints/{id}/test queues a
// webhook_endpoint.test delivery to that endpoint alone, even one not
// subscribed to the type; a Deliverer sends it signed with the endpoint's
// secret, its body names the endpoint without the secret, and the log
// shows it succeeded. An Idempotency-Key replays; a paused endpoint is a
// 409, an unknown or another program's a 404, and none of them writes.
func TestSendTestWebhook(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		got := make(chan received, 4)
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- received{r.Header.Clone(), b}
			io.WriteString(w, "thanks")
		}))
		t.Cleanup(receiver.Close)
		target := e.createEndpoint(map[string]any{"url": receiver.URL + "/in", "events": []string{"reward.created"}})
		other := e.createEndpoint(map[string]any{"url": receiver.URL + "/other", "events": []string{"*"}})

		send := func(e *env, id string, header map[string]string) *response {
			return e.do(req{method: "POST", path: "/v1/webhook_endpoints/" + id + "/test", key: e.sk, header: header})
		}
		resp := send(e, target.ID, map[string]string{"Idempotency-Key": "ping-1"})
		e.want(resp, http.StatusAccepted, "send test event")
		var out struct {
			Delivery webhookDelivery `json:"webhook_delivery"`
		}
		resp.json(t, &out)
		d := out.Delivery
		if d.EndpointID != target.ID || d.EventType != "webhook_endpoint.test" || d.Status != webhooks.DeliveryPending || d.Attempts != 0 {
			t.Errorf("delivery %+v", d)
		}
		replay := send(e, target.ID, map[string]string{"Idempotency-Key": "ping-1"})
		e.want(replay, http.StatusAccepted, "replay")
		if replay.Header.Get("Idempotent-Replayed") != "true" || string(replay.Body) != string(resp.Body) {
			t.Errorf("replay %s %s, want the first response", replay.Header, replay.Body)
		}

		ctx, stop := context.WithCancel(t.Context())
		dl := &webhooks.Deliverer{Store: e.db, Client: receiver.Client(), Render: e.api.EventBody, Interval: 10 * time.Millisecond}
		done := make(chan struct{})
		go func() { dl.Run(ctx); close(done) }()
		var r received
		select {
		case r = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("the test event was not delivered")
		}
		// The log shows the outcome once the Deliverer has recorded it.
		var log page[webhookDelivery]
		for deadline := time.Now().Add(10 * time.Second); ; {
			log = page[webhookDelivery]{}
			e.do(req{method: "GET", path: "/v1/webhook_endpoints/" + target.ID + "/deliveries", key: e.sk}).json(t, &log)
			if len(log.Data) == 1 && log.Data[0].Status != webhooks.DeliveryPending || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		<-done
		if len(log.Data) != 1 || log.Data[0].ID != d.ID || log.Data[0].Status != webhooks.DeliverySucceeded ||
			log.Data[0].LastResponse == nil || *log.Data[0].LastResponse != "thanks" {
			t.Errorf("log %+v, want the one delivery, succeeded", log.Data)
		}
		select {
		case extra := <-got:
			t.Errorf("a second request reached the receiver: %s", extra.body)
		default:
		}

		stored, err := e.db.WebhookEndpoint(t.Context(), e.program.ID, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		secret, err := webhooks.ParseSecret(stored.Secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := webhooks.Verify(secret, r.header, r.body, time.Now(), time.Minute); err != nil || r.header.Get("webhook-id") != d.EventID {
			t.Errorf("signature: %v; webhook-id %q, want %q", err, r.header.Get("webhook-id"), d.EventID)
		}
		var body struct {
			Type string `json:"type"`
			Data struct {
				Endpoint map[string]any `json:"webhook_endpoint"`
				Message  string         `json:"message"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		if _, leaked := body.Data.Endpoint["secret"]; body.Type != "webhook_endpoint.test" || body.Data.Endpoint["id"] != target.ID ||
			body.Data.Endpoint["url"] != target.URL || leaked || body.Data.Message != webhooks.TestMessage {
			t.Errorf("body %s", r.body)
		}
		var empty page[webhookDelivery]
		e.do(req{method: "GET", path: "/v1/webhook_endpoints/" + other.ID + "/deliveries", key: e.sk}).json(t, &empty)
		if len(empty.Data) != 0 {
			t.Errorf("the other endpoint got %+v", empty.Data)
		}

		e.want(e.do(req{method: "PUT", path: "/v1/webhook_endpoints/" + other.ID, key: e.sk, body: map[string]any{"active": false}}), 200, "pause")
		deleted := e.createEndpoint(map[string]any{"url": receiver.URL + "/gone", "events": []string{"*"}})
		e.want(e.do(req{method: "DELETE", path: "/v1/webhook_endpoints/" + deleted.ID, key: e.sk}), 204, "delete")
		stranger := e.inProgram(t, "EUR")
		for _, c := range []struct {
			name, id string
			e        *env
			status   int
			code     string
		}{
			{"paused", other.ID, e, 409, "webhook_endpoint_paused"},
			{"unknown", "we_nosuch", e, 404, "webhook_endpoint_not_found"},
			{"deleted", deleted.ID, e, 404, "webhook_endpoint_not_found"},
			{"another program's", target.ID, stranger, 404, "webhook_endpoint_not_found"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := c.e.in(t)
				before, deliveries := e.counts(), deliveryCount(e)
				e.wantProblem(send(e, c.id, nil), c.status, c.code, "")
				e.unchanged(before)
				if n := deliveryCount(e); n != deliveries {
					t.Errorf("%d deliveries written", n-deliveries)
				}
			})
		}
		e.wantProblem(e.do(req{method: "POST", path: "/v1/webhook_endpoints/" + target.ID + "/test", key: e.pk}), 403, "secret_key_required", "")
	})
}

// deliveryCount counts every webhook delivery in the database.
func deliveryCount(e *env) int {
	e.t.Helper()
	var n int
	if err := e.db.ReadStats().QueryRow("SELECT count(*) FROM webhook_deliveries").Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}
