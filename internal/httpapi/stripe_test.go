package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

const testWebhookSecret = "whsec_test_0123456789abcdefghijklmnop"

// stripeEngines runs fn on every engine against an API whose store can
// seal integration secrets, on a clock that ticks from now (Stripe
// signatures are checked against it).
func stripeEngines(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		key, err := secrets.ParseKey(secrets.NewKey())
		if err != nil {
			t.Fatal(err)
		}
		if db.Secrets, err = secrets.New(key); err != nil {
			t.Fatal(err)
		}
		fn(t, newEnv(t, db, httpapi.Config{Now: tickingClock(time.Now())}))
	})
}

// connectStripe connects the env's program with the test signing secret
// and any other fields, and returns the webhook path.
func (e *env) connectStripe(fields map[string]any) string {
	e.t.Helper()
	body := map[string]any{"webhook_secret": testWebhookSecret}
	for k, v := range fields {
		body[k] = v
	}
	resp := e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: body})
	e.want(resp, http.StatusOK, "connect stripe")
	return "/integrations/stripe/webhook/" + e.program.ID
}

// stripeEvent is a Stripe event envelope around object.
func stripeEvent(id, typ, apiVersion string, object map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"id": id, "object": "event", "type": typ, "api_version": apiVersion,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1,
		"request": map[string]any{"id": nil, "idempotency_key": nil}, "data": map[string]any{"object": object}})
	if err != nil {
		panic(err)
	}
	return b
}

// sendStripe posts a signed event (signed by stripe-go's own test helper,
// an independent check of our verifier) at the env's time.
func (e *env) sendStripe(path string, body []byte) *response {
	e.t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: testWebhookSecret,
		Timestamp: e.clock.Now()})
	return e.do(req{method: "POST", path: path, body: body, header: map[string]string{"Stripe-Signature": signed.Header}})
}

// outcome is what the webhook endpoint answered a delivery.
func (r *response) outcome(t *testing.T) string {
	t.Helper()
	var out struct {
		Received bool   `json:"received"`
		Outcome  string `json:"outcome"`
	}
	r.json(t, &out)
	return out.Outcome
}

var stripeSeq atomic.Int64

func nextID(prefix string) string { return fmt.Sprintf("%s_%d", prefix, stripeSeq.Add(1)) }

func checkoutSession(mode, status, customer, code string, amount int64, pi string) map[string]any {
	o := map[string]any{"id": nextID("cs_test"), "object": "checkout.session", "mode": mode, "payment_status": status,
		"status": "complete", "amount_total": amount, "amount_subtotal": amount, "currency": "usd", "customer": customer,
		"customer_details":    map[string]any{"email": customer + "@example.com", "name": "Buyer " + customer},
		"client_reference_id": code, "metadata": map[string]any{}, "payment_intent": pi}
	if customer == "" {
		o["customer"] = nil
		o["customer_details"] = map[string]any{"email": "guest@example.com", "name": "Guest"}
	}
	if pi == "" {
		o["payment_intent"] = nil
	}
	return o
}

// invoiceBasil is a paid subscription invoice in the current shape.
func invoiceBasil(id, customer, sub, reason string, amount int64, pi, ch string) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "customer_email": customer + "@example.com",
		"amount_paid": amount, "amount_due": amount, "currency": "usd", "billing_reason": reason, "status": "paid",
		"status_transitions": map[string]any{"paid_at": time.Now().Unix()}, "metadata": map[string]any{},
		"parent": map[string]any{"type": "subscription_details", "subscription_details": map[string]any{"subscription": sub, "metadata": map[string]any{}}},
		"payments": map[string]any{"object": "list", "data": []any{map[string]any{"id": nextID("inpay"), "object": "invoice_payment",
			"payment": map[string]any{"type": "payment_intent", "payment_intent": pi, "charge": ch}}}}}
}

// invoiceLegacy is a paid subscription invoice in the pre-2025 shape.
func invoiceLegacy(id, customer, sub, reason string, amount int64, pi, ch string) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "customer_email": customer + "@example.com",
		"amount_paid": amount, "amount_due": amount, "currency": "usd", "billing_reason": reason, "status": "paid",
		"status_transitions": map[string]any{"paid_at": time.Now().Unix()}, "metadata": map[string]any{},
		"subscription": sub, "subscription_details": map[string]any{"metadata": map[string]any{}}, "payment_intent": pi, "charge": ch}
}

func chargeRefunded(ch, pi string, amount, refunded int64) map[string]any {
	return map[string]any{"id": ch, "object": "charge", "amount": amount, "amount_refunded": refunded, "currency": "usd",
		"payment_intent": pi, "refunded": refunded == amount, "refunds": map[string]any{"object": "list", "data": []any{}}}
}

func TestStripeWebhookRefusesBadDeliveries(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		path := e.connectStripe(nil)
		body := stripeEvent(nextID("evt"), "checkout.session.completed", "2025-03-31.basil",
			checkoutSession("payment", "paid", "cus_bad", "", 5000, "pi_bad"))
		now := e.clock.Now()
		sign := func(secret string, at time.Time, b []byte) string {
			return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: secret, Timestamp: at}).Header
		}
		tampered := []byte(strings.Replace(string(body), "5000", "9000", 1))
		for _, tc := range []struct {
			name, path, sig string
			body            []byte
			status          int
			code            string
		}{
			{"no signature", path, "", body, 400, "missing_signature"},
			{"garbled signature", path, "nonsense", body, 400, "missing_signature"},
			{"wrong secret", path, sign("whsec_someone_else", now, body), body, 400, "invalid_signature"},
			{"body changed after signing", path, sign(testWebhookSecret, now, body), tampered, 400, "invalid_signature"},
			{"stale", path, sign(testWebhookSecret, now.Add(-6*time.Minute), body), body, 400, "stale_signature"},
			{"from the future", path, sign(testWebhookSecret, now.Add(6*time.Minute), body), body, 400, "stale_signature"},
			{"not an event", path, sign(testWebhookSecret, now, []byte(`{"hello":"world"}`)), []byte(`{"hello":"world"}`), 400, "malformed_event"},
			{"not JSON", path, sign(testWebhookSecret, now, []byte(`{"id":`)), []byte(`{"id":`), 400, "malformed_event"},
			{"unknown program", "/integrations/stripe/webhook/prg_nope", sign(testWebhookSecret, now, body), body, 404, "integration_not_found"},
			{"too large", path, "t=1,v1=00", []byte(`{"x":"` + strings.Repeat("a", 1<<20) + `"}`), 400, "body_too_large"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.stripeCounts()
				resp := e.do(req{method: "POST", path: tc.path, body: tc.body, header: map[string]string{"Stripe-Signature": tc.sig}})
				if p := resp.problem(t); resp.Status != tc.status || p.Code != tc.code {
					t.Fatalf("got %d %q (%s), want %d %q", resp.Status, p.Code, p.Detail, tc.status, tc.code)
				}
				if after := e.stripeCounts(); after != before {
					t.Errorf("a refused delivery wrote rows: %v → %v", before, after)
				}
			})
		}
		// The dashboard learns why deliveries fail.
		var got struct {
			Integration struct {
				LastError *string `json:"last_error"`
			} `json:"integration"`
		}
		e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}).json(t, &got)
		// (The first refusal; more within a minute are not written.)
		if got.Integration.LastError == nil || !strings.Contains(*got.Integration.LastError, "Stripe-Signature") {
			t.Errorf("last_error = %v, want the signature problem", got.Integration.LastError)
		}
	})
}

// stripeCounts counts what applying an event writes.
func (e *env) stripeCounts() [4]int {
	e.t.Helper()
	var n [4]int
	err := e.db.ReadStats().QueryRow(`SELECT (SELECT count(*) FROM stripe_events), (SELECT count(*) FROM customers),
		(SELECT count(*) FROM transactions), (SELECT count(*) FROM rewards)`).Scan(&n[0], &n[1], &n[2], &n[3])
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestStripeWebhookOutcomes(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		path := e.connectStripe(nil)
		for _, tc := range []struct {
			name    string
			typ     string
			object  map[string]any
			outcome string
		}{
			{"unknown type", "payout.paid", map[string]any{"id": "po_1", "object": "payout"}, "unhandled_type"},
			{"setup mode", "checkout.session.completed", checkoutSession("setup", "no_payment_required", "cus_s", "", 0, ""), "mode_setup"},
			{"unpaid", "checkout.session.completed", checkoutSession("payment", "unpaid", "cus_u", "", 5000, "pi_u"), "unpaid"},
			{"zero amount", "checkout.session.completed", checkoutSession("payment", "paid", "cus_z", "", 0, "pi_z"), "zero_amount"},
			{"zero invoice", "invoice.paid", invoiceBasil("in_zero", "cus_z", "sub_z", "subscription_create", 0, "", ""), "zero_amount"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.stripeCounts()
				resp := e.sendStripe(path, stripeEvent(nextID("evt"), tc.typ, "2025-03-31.basil", tc.object))
				e.want(resp, http.StatusOK, tc.name)
				if got := resp.outcome(t); got != tc.outcome {
					t.Errorf("outcome %q, want %q", got, tc.outcome)
				}
				after := e.stripeCounts()
				if after[0] != before[0]+1 || after[1] != before[1] || after[2] != before[2] || after[3] != before[3] {
					t.Errorf("an ignored event changed more than its record: %v → %v", before, after)
				}
			})
		}
		t.Run("NUL in a signed event", func(t *testing.T) {
			body := stripeEvent(nextID("evt"), "customer.created", "2025-03-31.basil", map[string]any{"id": "cus_nul", "object": "customer",
				"email": "nul@example.com", "name": "Nul\x00Name", "metadata": map[string]any{"advocate_referral_code": "A\x00B"}})
			if !strings.Contains(string(body), `\u0000`) {
				t.Fatalf("the body carries no NUL: %s", body)
			}
			resp := e.sendStripe(path, body)
			e.want(resp, http.StatusOK, "NUL")
			if got := resp.outcome(t); got != "applied" {
				t.Errorf("outcome %q", got)
			}
		})
		t.Run("unknown currency", func(t *testing.T) {
			o := checkoutSession("payment", "paid", "cus_x", "", 5000, "pi_x")
			o["currency"] = "xyz"
			resp := e.sendStripe(path, stripeEvent(nextID("evt"), "checkout.session.completed", "2025-03-31.basil", o))
			e.want(resp, http.StatusOK, "unknown currency")
			if got := resp.outcome(t); got != "unsupported_currency" {
				t.Errorf("outcome %q", got)
			}
		})
	})
}

func TestStripeRefundBeforePayment(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		path := e.connectStripe(nil)
		refund := stripeEvent(nextID("evt"), "charge.refunded", "2025-03-31.basil", chargeRefunded("ch_early", "pi_early", 5000, 2000))
		before := e.stripeCounts()
		resp := e.sendStripe(path, refund)
		if p := resp.problem(t); resp.Status != http.StatusConflict || p.Code != "payment_not_received" {
			t.Fatalf("refund before its payment: %d %q", resp.Status, p.Code)
		}
		if after := e.stripeCounts(); after != before {
			t.Fatalf("the early refund wrote rows: %v → %v", before, after)
		}
		// The payment arrives; Stripe's retry of the refund then applies.
		pay := stripeEvent(nextID("evt"), "checkout.session.completed", "2025-03-31.basil",
			checkoutSession("payment", "paid", "cus_early", "", 5000, "pi_early"))
		e.want(e.sendStripe(path, pay), http.StatusOK, "payment")
		resp = e.sendStripe(path, refund)
		e.want(resp, http.StatusOK, "refund retried")
		if got := resp.outcome(t); got != "applied" {
			t.Fatalf("retried refund: %q", got)
		}
		var txn struct {
			Transaction struct {
				RefundedAmount json.Number `json:"refunded_amount"`
				Status         string      `json:"status"`
			} `json:"transaction"`
		}
		e.do(req{method: "GET", path: "/v1/transactions/pi_early", key: e.sk}).json(t, &txn)
		if txn.Transaction.RefundedAmount != "20.00" || txn.Transaction.Status != "partially_refunded" {
			t.Errorf("transaction after the refund: %+v", txn.Transaction)
		}
		// Stripe redelivers it: nothing more.
		resp = e.sendStripe(path, refund)
		if got := resp.outcome(t); got != "replay" {
			t.Errorf("redelivery: %q", got)
		}
	})
}

func TestStripeIntegrationAPI(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		resp := e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk})
		if p := resp.problem(t); resp.Status != 404 || p.Code != "integration_not_found" {
			t.Fatalf("before connecting: %d %q", resp.Status, p.Code)
		}
		for _, tc := range []struct {
			name        string
			body        any
			code, field string
		}{
			{"no webhook secret", map[string]any{}, "invalid_webhook_secret", "webhook_secret"},
			{"not a whsec", map[string]any{"webhook_secret": "sk_test_123"}, "invalid_webhook_secret", "webhook_secret"},
			{"publishable key", map[string]any{"webhook_secret": testWebhookSecret, "secret_key": "pk_test_123"}, "invalid_secret_key", "secret_key"},
			{"apply without key", map[string]any{"webhook_secret": testWebhookSecret, "apply_rewards": true}, "secret_key_required", "secret_key"},
			{"bad base url", map[string]any{"webhook_secret": testWebhookSecret, "api_base_url": "ftp://x"}, "invalid_api_base_url", "api_base_url"},
			{"unknown field", map[string]any{"webhook_secret": testWebhookSecret, "secret": "x"}, "unknown_field", "secret"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp := e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: tc.body})
				p := resp.problem(t)
				if resp.Status != 422 || p.Code != tc.code || p.Errors[tc.field] == "" {
					t.Fatalf("got %d %q %v, want 422 %q at %s", resp.Status, p.Code, p.Errors, tc.code, tc.field)
				}
				if r := e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}); r.Status != 404 {
					t.Fatalf("a refused connect connected: %d", r.Status)
				}
			})
		}
		resp = e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk,
			body: map[string]any{"webhook_secret": testWebhookSecret, "secret_key": "rk_test_abc123", "apply_rewards": true}})
		e.want(resp, http.StatusOK, "connect")
		if strings.Contains(string(resp.Body), "whsec_") || strings.Contains(string(resp.Body), "rk_test") {
			t.Fatalf("a secret came back: %s", resp.Body)
		}
		var got struct {
			Integration struct {
				WebhookURL       string   `json:"webhook_url"`
				Events           []string `json:"events"`
				WebhookSecretSet bool     `json:"webhook_secret_set"`
				SecretKeySet     bool     `json:"secret_key_set"`
				ApplyRewards     bool     `json:"apply_rewards"`
				APIBaseURL       string   `json:"api_base_url"`
			} `json:"integration"`
		}
		resp.json(t, &got)
		in := got.Integration
		if in.WebhookURL != "https://adv.example.com/integrations/stripe/webhook/"+e.program.ID || !in.WebhookSecretSet ||
			!in.SecretKeySet || !in.ApplyRewards || in.APIBaseURL != "https://api.stripe.com" || len(in.Events) < 8 {
			t.Fatalf("integration: %+v", in)
		}
		// The secrets are sealed in the database.
		var sealed string
		if err := e.db.ReadStats().QueryRow(`SELECT webhook_secret || secret_key FROM stripe_integrations`).Scan(&sealed); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sealed, "whsec_") || strings.Contains(sealed, "rk_test") {
			t.Fatalf("secrets stored in the clear: %s", sealed)
		}
		// Leaving the secrets out keeps them; "" removes the key.
		e.want(e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: map[string]any{"apply_rewards": false}}), 200, "update")
		e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}).json(t, &got)
		if !got.Integration.WebhookSecretSet || !got.Integration.SecretKeySet || got.Integration.ApplyRewards {
			t.Fatalf("after an update without secrets: %+v", got.Integration)
		}
		e.want(e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: map[string]any{"secret_key": ""}}), 200, "remove key")
		e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}).json(t, &got)
		if got.Integration.SecretKeySet {
			t.Fatal("the key was not removed")
		}
		// A sync needs a key.
		resp = e.do(req{method: "POST", path: "/v1/integrations/stripe/sync", key: e.sk, body: map[string]any{"since": time.Now().AddDate(0, 0, -1).Format(time.DateOnly)}})
		if p := resp.problem(t); resp.Status != 422 || p.Code != "secret_key_required" {
			t.Fatalf("sync without key: %d %q", resp.Status, p.Code)
		}
		e.want(e.do(req{method: "DELETE", path: "/v1/integrations/stripe", key: e.sk}), http.StatusNoContent, "disconnect")
		if r := e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}); r.Status != 404 {
			t.Fatalf("after disconnecting: %d", r.Status)
		}
		resp = e.do(req{method: "DELETE", path: "/v1/integrations/stripe", key: e.sk})
		if p := resp.problem(t); resp.Status != 404 || p.Code != "integration_not_found" {
			t.Fatalf("second disconnect: %d %q", resp.Status, p.Code)
		}
		// The publishable key cannot touch it.
		if r := e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.pk}); r.Status != 403 {
			t.Fatalf("publishable key: %d", r.Status)
		}
	})
}

func TestStripeNeedsEncryptionKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, httpapi.Config{})
		resp := e.do(req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: map[string]any{"webhook_secret": testWebhookSecret}})
		if p := resp.problem(t); resp.Status != http.StatusConflict || p.Code != "encryption_key_required" {
			t.Fatalf("got %d %q", resp.Status, p.Code)
		}
	})
}

func TestStripeSyncAPI(t *testing.T) {
	stripeEngines(t, func(t *testing.T, e *env) {
		fake := stripetest.NewServer(t)
		e.connectStripe(map[string]any{"secret_key": stripetest.SecretKey, "api_base_url": fake.URL})
		now := time.Now()
		for i := range 3 {
			fake.AddEvent(stripetest.NewEvent(fmt.Sprintf("evt_sync_%d", i), "checkout.session.completed", now.Add(time.Duration(i-30)*time.Hour),
				checkoutSession("payment", "paid", fmt.Sprintf("cus_sync_%d", i), "", 1500, fmt.Sprintf("pi_sync_%d", i))))
		}
		body := map[string]any{"since": now.AddDate(0, 0, -2).Format(time.DateOnly)}
		for _, bad := range []struct {
			body any
			code string
		}{
			{map[string]any{"since": "yesterday"}, "invalid_since"},
			{map[string]any{"since": now.AddDate(0, 0, -45).Format(time.DateOnly)}, "invalid_since"},
			{map[string]any{"since": now.Add(time.Hour).Format(time.RFC3339)}, "invalid_since"},
		} {
			resp := e.do(req{method: "POST", path: "/v1/integrations/stripe/sync", key: e.sk, body: bad.body})
			if p := resp.problem(t); resp.Status != 422 || p.Code != bad.code || p.Errors["since"] == "" {
				t.Errorf("%v: %d %q %v", bad.body, resp.Status, p.Code, p.Errors)
			}
		}
		resp := e.do(req{method: "POST", path: "/v1/integrations/stripe/sync", key: e.sk, body: body})
		e.want(resp, http.StatusAccepted, "sync")
		type syncState struct {
			Integration struct {
				Sync *struct {
					Status string `json:"status"`
					Done   int    `json:"done"`
					Total  int    `json:"total"`
				} `json:"sync"`
			} `json:"integration"`
		}
		var st syncState
		deadline := time.Now().Add(20 * time.Second)
		for {
			e.do(req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}).json(t, &st)
			if s := st.Integration.Sync; s != nil && s.Status != "running" {
				if s.Status != "done" || s.Done != 3 || s.Total != 3 {
					t.Fatalf("sync ended %+v", *s)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the sync did not finish: %+v", st.Integration.Sync)
			}
			time.Sleep(20 * time.Millisecond)
		}
		for i := range 3 {
			e.want(e.do(req{method: "GET", path: fmt.Sprintf("/v1/transactions/pi_sync_%d", i), key: e.sk}), 200, "synced payment")
		}
	})
}

// serveStripeStatuses answers the Stripe integration's operations with
// each status the document gives them that a request of its own can cause
// (TestOpenAPIStatusesServed): on e, whose store has no encryption key, and
// on an env with one.
func serveStripeStatuses(t *testing.T, e *env, engine store.Engine, do func(*testing.T, *env, req) *response) {
	db := storetest.Open(t, engine)
	key, err := secrets.ParseKey(secrets.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	if db.Secrets, err = secrets.New(key); err != nil {
		t.Fatal(err)
	}
	se := newEnv(t, db, httpapi.Config{Now: tickingClock(time.Now())})
	fake := stripetest.NewServer(t)
	_, otherSK, _ := se.newProgram("Other", "USD", "https://other.example.com")
	since := map[string]any{"since": time.Now().AddDate(0, 0, -1).Format(time.DateOnly)}
	hookPath := "/integrations/stripe/webhook/" + se.program.ID
	for _, c := range []struct {
		name   string
		e      *env
		r      req
		status int
	}{
		{"not connected", e, req{method: "GET", path: "/v1/integrations/stripe", key: e.sk}, 404},
		{"no encryption key", e, req{method: "PUT", path: "/v1/integrations/stripe", key: e.sk, body: map[string]any{"webhook_secret": testWebhookSecret}}, 409},
		{"disconnect unconnected", e, req{method: "DELETE", path: "/v1/integrations/stripe", key: e.sk}, 404},
		{"connect malformed", se, req{method: "PUT", path: "/v1/integrations/stripe", key: se.sk, body: `{"webhook_secret":`}, 400},
		{"connect invalid", se, req{method: "PUT", path: "/v1/integrations/stripe", key: se.sk, body: map[string]any{"webhook_secret": "nope"}}, 422},
		{"connect", se, req{method: "PUT", path: "/v1/integrations/stripe", key: se.sk,
			body: map[string]any{"webhook_secret": testWebhookSecret, "secret_key": stripetest.SecretKey, "api_base_url": fake.URL}}, 200},
		{"get", se, req{method: "GET", path: "/v1/integrations/stripe", key: se.sk}, 200},
		{"sync malformed", se, req{method: "POST", path: "/v1/integrations/stripe/sync", key: se.sk, body: `[`}, 400},
		{"sync invalid", se, req{method: "POST", path: "/v1/integrations/stripe/sync", key: se.sk, body: map[string]any{"since": "soon"}}, 422},
		{"sync unconnected", se, req{method: "POST", path: "/v1/integrations/stripe/sync", key: otherSK, body: since}, 404},
		{"webhook unsigned", se, req{method: "POST", path: hookPath, body: map[string]any{"id": "evt_1"}}, 400},
		{"webhook unknown program", se, req{method: "POST", path: "/integrations/stripe/webhook/prg_nosuch", body: map[string]any{"id": "evt_1"}}, 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			if r := do(t, c.e, c.r); r.Status != c.status {
				t.Errorf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
		})
	}
	signed := func(body []byte) req {
		h := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: testWebhookSecret, Timestamp: se.clock.Now()}).Header
		return req{method: "POST", path: hookPath, body: body, header: map[string]string{"Stripe-Signature": h}}
	}
	refund := stripeEvent(nextID("evt"), "charge.refunded", "2025-03-31.basil", chargeRefunded("ch_served", "pi_served", 100, 100))
	if r := do(t, se, signed(refund)); r.Status != http.StatusConflict {
		t.Errorf("refund before payment: %d %s", r.Status, r.Body)
	}
	pay := stripeEvent(nextID("evt"), "checkout.session.completed", "2025-03-31.basil", checkoutSession("payment", "paid", "cus_served", "", 100, "pi_served"))
	if r := do(t, se, signed(pay)); r.Status != http.StatusOK {
		t.Errorf("payment: %d %s", r.Status, r.Body)
	}
	bad := stripeEvent(nextID("evt"), "invoice.paid", "2025-03-31.basil", map[string]any{"object": "invoice", "amount_paid": -5, "currency": "usd"})
	if r := do(t, se, signed(bad)); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("an invoice without an id: %d %s", r.Status, r.Body)
	}
	// The sync: started, and let finish before the integration goes.
	if r := do(t, se, req{method: "POST", path: "/v1/integrations/stripe/sync", key: se.sk, body: since}); r.Status != http.StatusAccepted {
		t.Fatalf("sync: %d %s", r.Status, r.Body)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		in, err := se.db.StripeIntegration(t.Context(), se.program.ID)
		if err != nil {
			t.Fatal(err)
		}
		if in.Sync.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sync did not end")
		}
	}
	if r := do(t, se, req{method: "DELETE", path: "/v1/integrations/stripe", key: se.sk}); r.Status != http.StatusNoContent {
		t.Errorf("disconnect: %d %s", r.Status, r.Body)
	}
}
