package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// event is an event as GET /v1/events returns it, its data kept as sent.
type event struct {
	ID        string                     `json:"id"`
	Type      string                     `json:"type"`
	Timestamp time.Time                  `json:"timestamp"`
	Data      map[string]json.RawMessage `json:"data"`
	// Raw is the event as listed; RawData its data.
	Raw, RawData json.RawMessage `json:"-"`
}

// allEvents follows the cursor through GET /v1/events?query, a few events
// a page, and returns them in the order served.
func (e *env) allEvents(query string) []event {
	e.t.Helper()
	var out []event
	cursor := ""
	for range 100 {
		q := "limit=4&" + query
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		resp := e.do(req{method: "GET", path: "/v1/events?" + q, key: e.sk})
		e.want(resp, http.StatusOK, "list events ?"+q)
		var p page[json.RawMessage]
		resp.json(e.t, &p)
		for _, raw := range p.Data {
			var ev event
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(raw, &ev); err != nil {
				e.t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &fields); err != nil {
				e.t.Fatal(err)
			}
			ev.Raw, ev.RawData = raw, fields["data"]
			out = append(out, ev)
		}
		if !p.HasMore {
			return out
		}
		cursor = *p.NextCursor
	}
	e.t.Fatal("more than 100 pages: the cursor does not advance")
	return nil
}

// field returns one field of the JSON object a GET answers, as sent.
func (e *env) field(path, name string) json.RawMessage {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: path, key: e.sk})
	e.want(resp, http.StatusOK, "GET "+path)
	var m map[string]json.RawMessage
	resp.json(e.t, &m)
	return m[name]
}

// sameJSON fails the test unless got and want are the same JSON bytes
// (insignificant space aside).
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w bytes.Buffer
	if err := json.Compact(&g, got); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Compact(&w, want); err != nil {
		t.Fatalf("%s: %v: %s", what, err, want)
	}
	if !bytes.Equal(g.Bytes(), w.Bytes()) {
		t.Errorf("%s differs:\n got  %s\n want %s", what, g.Bytes(), w.Bytes())
	}
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return s
}

// TestEvents causes every event type through the API, then reads the
// events back: listed newest first, by type, one by one, and as webhook
// bodies, each object equal to what its own GET endpoint returns now and
// each body valid against the OpenAPI schema of its type.
func TestEvents(t *testing.T) {
	doc := specDoc(t)
	mapping := doc.Components.Schemas["Event"].Value.Discriminator.Mapping
	for _, et := range webhooks.EventTypes {
		if mapping[et.Type].Ref == "" {
			t.Errorf("the Event schema has no payload schema for %s", et.Type)
		}
	}
	if len(mapping) != len(webhooks.EventTypes) {
		t.Errorf("the Event schema maps %d types, webhooks.EventTypes lists %d", len(mapping), len(webhooks.EventTypes))
	}
	eachEngine(t, func(t *testing.T, e *env) {
		// Every request at a later millisecond: events sort as caused.
		e.clock.set(tickingClock(time.Now().UTC()))
		ctx := context.Background()
		e.createRule(`{"trigger": "signup", "recipient": "friend", "reward_type": "discount", "amount": 20, "unit": "percentage"}`)
		credit := e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.referrer("ann")
		e.friend("bob", "ann")
		e.want(e.do(req{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: `{"name": "Bob B."}`}), 200, "update bob")
		e.purchase("bob", "o1", "50")
		e.refund("o1", "")
		e.want(e.do(req{method: "POST", path: "/v1/customers/ann/balance/credit", key: e.sk, body: `{"amount": 5, "note": "goodwill"}`}), 200, "credit")
		e.want(e.do(req{method: "POST", path: "/v1/customers/ann/balance/debit", key: e.sk, body: `{"amount": 2}`}), 200, "debit")
		code := e.discountCodes("bob")[0].Code
		e.want(e.do(req{method: "POST", path: "/v1/discount_codes/" + code + "/redeem", key: e.sk}), 200, "redeem")
		e.updateRule(credit.ID, `{"require_approval": true}`)
		e.friend("cat", "ann")
		held := e.purchase("cat", "o2", "50").Rewards
		for _, rw := range held {
			if rw.CustomerKey == "ann" {
				e.want(e.do(req{method: "POST", path: "/v1/rewards/" + rw.ID + "/reject", key: e.sk, body: `{"reason": "fraud"}`}), 200, "reject")
			}
		}
		// Cat disputes the payment in Stripe: transaction.disputed.
		if _, err := e.db.ApplyStripeEvent(ctx, e.program, &stripe.Event{ID: "evt_dispute", Type: "charge.dispute.created"},
			stripe.Change{Dispute: &stripe.Dispute{ID: "du_1", PaymentIntentID: "o2", Amount: 5000, Currency: "USD", Status: "needs_response"}}); err != nil {
			t.Fatal(err)
		}
		// An endpoint answering 410 is disabled: webhook_endpoint.disabled.
		e.want(e.do(req{method: "POST", path: "/v1/webhook_endpoints", key: e.sk,
			body: `{"url": "https://gone.example.com/hooks", "events": ["customer.created"]}`}), 201, "create endpoint")
		if _, err := e.db.DispatchEvents(t.Context(), e.clock.Now(), 1000); err != nil {
			t.Fatal(err)
		}
		out, err := e.db.ClaimDeliveries(t.Context(), webhooks.Claim{Now: e.clock.Now().Add(time.Second), Limit: 1, Lease: time.Minute, PerEndpoint: 1})
		if err != nil || len(out) != 1 {
			t.Fatalf("claim deliveries: %v, %v", out, err)
		}
		if err := e.db.RecordAttempt(t.Context(), out[0].Delivery.ID, webhooks.Attempt{StatusCode: http.StatusGone}); err != nil {
			t.Fatal(err)
		}
		hook := e.createEndpoint(map[string]any{"url": "https://example.com/hooks", "events": []string{"reward.created"}})
		e.want(e.do(req{method: "POST", path: "/v1/webhook_endpoints/" + hook.ID + "/test", key: e.sk}), 202, "send test event")
		// A customer who is then deleted: their events keep no personal data.
		const goneKey, goneEmail, goneName = "erased-key-7q", "erased.person@example.org", "Erased Person"
		e.createCustomer(map[string]any{"key": goneKey, "email": goneEmail, "name": goneName})
		e.want(e.do(req{method: "POST", path: "/v1/customers/" + goneKey + "/balance/credit", key: e.sk, body: `{"amount": 3}`}), 200, "credit the doomed")
		e.want(e.do(req{method: "DELETE", path: "/v1/customers/" + goneKey, key: e.sk}), 204, "delete")

		all := e.allEvents("")
		seen := map[string]int{}
		for i, ev := range all {
			seen[ev.Type]++
			if i > 0 && (ev.ID >= all[i-1].ID || ev.Timestamp.After(all[i-1].Timestamp)) {
				t.Errorf("event %d (%s %s) is not older than the one before (%s)", i, ev.ID, ev.Type, all[i-1].ID)
			}
		}
		for _, et := range webhooks.EventTypes {
			if seen[et.Type] == 0 {
				t.Errorf("no %s event listed; seen %v", et.Type, seen)
			}
		}
		if all[0].Type != "customer.deleted" {
			t.Errorf("newest event %s, want customer.deleted", all[0].Type)
		}

		for _, et := range webhooks.EventTypes {
			var want []string
			for _, ev := range all {
				if ev.Type == et.Type {
					want = append(want, ev.ID)
				}
			}
			var got []string
			for _, ev := range e.allEvents("type=" + et.Type) {
				got = append(got, ev.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("?type=%s: %v, want %v", et.Type, got, want)
			}
		}

		gone := 0 // events rendered from their record: the deleted customer's
		for _, ev := range all {
			t.Run(ev.Type+" "+ev.ID, func(t *testing.T) {
				e := e.in(t)
				one := e.field("/v1/events/"+ev.ID, "event")
				sameJSON(t, "GET /v1/events/{id}", one, ev.Raw)

				stored, err := e.db.Event(ctx, e.program.ID, ev.ID)
				if err != nil {
					t.Fatal(err)
				}
				body, err := e.api.EventBody(ctx, stored)
				if err != nil {
					t.Fatal(err)
				}
				var top map[string]json.RawMessage
				if err := json.Unmarshal(body, &top); err != nil {
					t.Fatal(err)
				}
				if len(top) != 3 || top["type"] == nil || top["timestamp"] == nil || top["data"] == nil {
					t.Errorf("webhook body %s: want exactly type, timestamp and data", body)
				}
				if str(t, top["type"]) != ev.Type {
					t.Errorf("type %s, want %s", top["type"], ev.Type)
				}
				if ts, err := time.Parse(time.RFC3339Nano, str(t, top["timestamp"])); err != nil || !ts.Equal(ev.Timestamp) || ts.Location() != time.UTC {
					t.Errorf("timestamp %s (%v), want %v in UTC", top["timestamp"], err, ev.Timestamp)
				}
				sameJSON(t, "webhook data", top["data"], ev.RawData)

				var decoded any
				if err := json.Unmarshal(body, &decoded); err != nil {
					t.Fatal(err)
				}
				name := strings.TrimPrefix(mapping[ev.Type].Ref, "#/components/schemas/")
				if err := doc.Components.Schemas[name].Value.VisitJSON(decoded); err != nil {
					t.Errorf("webhook body does not match %s: %v\n%s", name, err, body)
				}

				if _, recorded := ev.Data["customer_id"]; recorded {
					for _, personal := range []string{goneKey, goneEmail, goneName} {
						if bytes.Contains(body, []byte(personal)) {
							t.Errorf("a deleted customer's event shows %q: %s", personal, body)
						}
					}
					gone++
					return
				}
				e.checkCurrent(ev)
			})
		}

		// customer.created, balance.credited and customer.deleted.
		if gone != 3 {
			t.Errorf("%d events rendered without their object, want the deleted customer's 3", gone)
		}

		t.Run("unknown type", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.do(req{method: "GET", path: "/v1/events?type=reward.paid", key: e.sk}), 422, "invalid_parameter", "type")
		})
		t.Run("unknown id", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.do(req{method: "GET", path: "/v1/events/evt_nosuch", key: e.sk}), 404, "event_not_found", "")
		})
		t.Run("another program's events", func(t *testing.T) {
			other := e.inProgram(t, "USD")
			if got := other.allEvents(""); len(got) != 0 {
				t.Errorf("another program lists %d events", len(got))
			}
			other.wantProblem(other.do(req{method: "GET", path: "/v1/events/" + all[0].ID, key: other.sk}), 404, "event_not_found", "")
		})
		t.Run("publishable key", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.do(req{method: "GET", path: "/v1/events", key: e.pk}), 403, "secret_key_required", "")
			e.wantProblem(e.do(req{method: "GET", path: "/v1/events/" + all[0].ID, key: e.pk}), 403, "secret_key_required", "")
		})
	})
}

// checkCurrent fails the test unless the object in ev's data is what its
// own GET endpoint returns now, byte for byte.
func (e *env) checkCurrent(ev event) {
	t := e.t
	t.Helper()
	d := ev.Data
	switch {
	case strings.HasPrefix(ev.Type, "reward."):
		var rw struct{ ID string }
		if err := json.Unmarshal(d["reward"], &rw); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "reward", d["reward"], e.field("/v1/rewards/"+rw.ID, "reward"))
		if _, ok := d["amount"]; ok != (ev.Type == "reward.reversed") {
			t.Errorf("amount in %s: %v", ev.Type, ok)
		}
	case strings.HasPrefix(ev.Type, "transaction."):
		var tx struct{ Key string }
		if err := json.Unmarshal(d["transaction"], &tx); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "transaction", d["transaction"], e.field("/v1/transactions/"+tx.Key, "transaction"))
		if ev.Type == "transaction.refunded" {
			sameJSON(t, "refund", d["refund"], []byte(`{"amount": 50.00, "currency": "USD", "refunded_amount": 50.00}`))
		}
	case strings.HasPrefix(ev.Type, "customer.") || strings.HasPrefix(ev.Type, "referral."):
		var c struct{ Key string }
		if err := json.Unmarshal(d["customer"], &c); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "customer", d["customer"], e.field("/v1/customers/"+c.Key, "customer"))
	case strings.HasPrefix(ev.Type, "balance."):
		key, cur := str(t, d["customer_key"]), str(t, d["currency"])
		resp := e.do(req{method: "GET", path: "/v1/customers/" + key + "/balance?currency=" + cur, key: e.sk})
		e.want(resp, http.StatusOK, "balance")
		sameJSON(t, "balance", d["balance"], resp.Body)
		if cur != "USD" {
			t.Errorf("currency %s, want USD", cur)
		}
	case ev.Type == "discount_code.redeemed":
		var dc discountCode
		if err := json.Unmarshal(d["discount_code"], &dc); err != nil {
			t.Fatal(err)
		}
		resp := e.do(req{method: "GET", path: "/v1/customers/" + dc.CustomerKey + "/discount_codes", key: e.sk})
		var codes page[json.RawMessage]
		resp.json(t, &codes)
		for _, raw := range codes.Data {
			if bytes.Contains(raw, []byte(`"`+dc.Code+`"`)) {
				sameJSON(t, "discount code", d["discount_code"], raw)
				return
			}
		}
		t.Errorf("discount code %s not listed for %s", dc.Code, dc.CustomerKey)
	case ev.Type == "webhook_endpoint.disabled":
		// What the event recorded: the endpoint, its URL, and why.
		resp := e.do(req{method: "GET", path: "/v1/webhook_endpoints/" + str(t, d["endpoint_id"]), key: e.sk})
		e.want(resp, http.StatusOK, "endpoint")
		var got struct {
			Endpoint struct {
				URL            string `json:"url"`
				Active         bool   `json:"active"`
				DisabledReason string `json:"disabled_reason"`
			} `json:"webhook_endpoint"`
		}
		resp.json(t, &got)
		if got.Endpoint.Active || got.Endpoint.URL != str(t, d["url"]) || got.Endpoint.DisabledReason != str(t, d["reason"]) {
			t.Errorf("endpoint %+v, event data %s", got.Endpoint, ev.RawData)
		}
	case ev.Type == "webhook_endpoint.test":
		var we struct{ ID string }
		if err := json.Unmarshal(d["webhook_endpoint"], &we); err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "webhook endpoint", d["webhook_endpoint"], e.field("/v1/webhook_endpoints/"+we.ID, "webhook_endpoint"))
	default:
		t.Errorf("unexpected type %s", ev.Type)
	}
}
