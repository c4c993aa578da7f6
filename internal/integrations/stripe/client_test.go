package stripe_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
)

func newClient(fake *stripetest.Server) *stripe.Client {
	return &stripe.Client{BaseURL: fake.URL, SecretKey: stripetest.SecretKey}
}

// TestAPIVersion: the fake requires the version the client pins.
func TestAPIVersion(t *testing.T) {
	if stripe.APIVersion != stripetest.APIVersion {
		t.Errorf("stripe.APIVersion = %s, stripetest.APIVersion = %s", stripe.APIVersion, stripetest.APIVersion)
	}
}

// TestClientCalls: each call's exact form body, path and headers, as the
// fake received and accepted them.
func TestClientCalls(t *testing.T) {
	ctx := t.Context()
	fake := stripetest.NewServer(t)
	fake.AddCustomer("cus_jane", "usd")
	c := newClient(fake)
	expires := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	exp := func() string { return jsonInt(expires.Unix()) }

	btx, err := c.CreateBalanceTransaction(ctx, "cus_jane", -2000, "USD", "Referral reward", "key-credit",
		map[string]string{"advocate_reward_id": "rw_1"})
	if err != nil || btx == "" {
		t.Fatalf("CreateBalanceTransaction = %q, %v", btx, err)
	}
	coupon, err := c.CreateCoupon(ctx, stripe.CouponParams{PercentOff: 1250, Name: "Referral reward", ExpiresAt: &expires,
		Metadata: map[string]string{"advocate_reward_id": "rw_2"}}, "key-coupon")
	if err != nil || coupon == "" {
		t.Fatalf("CreateCoupon = %q, %v", coupon, err)
	}
	amountCoupon, err := c.CreateCoupon(ctx, stripe.CouponParams{AmountOff: 500, Currency: "usd"}, "key-coupon-2")
	if err != nil {
		t.Fatal(err)
	}
	promo, err := c.CreatePromotionCode(ctx, coupon, "GIFT-ABCD2345", "cus_jane", &expires, "key-promo")
	if err != nil || promo == "" {
		t.Fatalf("CreatePromotionCode = %q, %v", promo, err)
	}
	if err := c.DeactivatePromotionCode(ctx, promo, "key-void"); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, _, err := c.ListEvents(ctx, since, "", []string{"invoice.paid", "charge.refunded"}); err != nil {
		t.Fatal(err)
	}

	want := []struct{ route, path, body, key string }{
		{stripetest.RouteBalanceTransactions, "/v1/customers/cus_jane/balance_transactions",
			"amount=-2000&currency=usd&description=Referral+reward&metadata%5Badvocate_reward_id%5D=rw_1", "key-credit"},
		{stripetest.RouteCoupons, "/v1/coupons",
			"duration=once&max_redemptions=1&metadata%5Badvocate_reward_id%5D=rw_2&name=Referral+reward&percent_off=12.5&redeem_by=" + exp(), "key-coupon"},
		{stripetest.RouteCoupons, "/v1/coupons", "amount_off=500&currency=usd&duration=once&max_redemptions=1", "key-coupon-2"},
		{stripetest.RoutePromotionCodes, "/v1/promotion_codes",
			"code=GIFT-ABCD2345&coupon=" + coupon + "&customer=cus_jane&expires_at=" + exp() + "&max_redemptions=1", "key-promo"},
		{stripetest.RoutePromotionCode, "/v1/promotion_codes/" + promo, "active=false", "key-void"},
	}
	calls := fake.Calls("")
	if len(calls) != len(want)+1 {
		t.Fatalf("%d calls, want %d", len(calls), len(want)+1)
	}
	for i, w := range want {
		got := calls[i]
		if got.Route != w.route || got.Path != w.path || got.Body != w.body || got.Status != http.StatusOK {
			t.Errorf("call %d: %s %s %q → %d\nwant %s %s %q", i, got.Route, got.Path, got.Body, got.Status, w.route, w.path, w.body)
		}
		checkHeaders(t, got, "application/x-www-form-urlencoded", w.key)
	}
	list := calls[len(want)]
	if list.Route != stripetest.RouteEvents || list.Body != "" ||
		list.Form.Encode() != "created%5Bgte%5D=1740787200&limit=100&types%5B%5D=invoice.paid&types%5B%5D=charge.refunded" {
		t.Errorf("list events: %s %q %q", list.Route, list.Body, list.Form.Encode())
	}
	checkHeaders(t, list, "", "")

	if _, ok := fake.Coupons()[amountCoupon]; !ok {
		t.Errorf("coupon %s not in the fake", amountCoupon)
	}
	pcs := fake.PromotionCodes()
	if len(pcs) != 1 || pcs[0].Active || pcs[0].Code != "GIFT-ABCD2345" || pcs[0].Customer != "cus_jane" || pcs[0].MaxRedemptions != 1 {
		t.Errorf("promotion codes = %+v", pcs)
	}
	if got := fake.Balance("cus_jane"); got != -2000 {
		t.Errorf("balance = %d, want -2000", got)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func checkHeaders(t *testing.T, c stripetest.Call, contentType, idemKey string) {
	t.Helper()
	want := map[string]string{
		"Authorization":   "Bearer " + stripetest.SecretKey,
		"Stripe-Version":  stripe.APIVersion,
		"User-Agent":      "Advocate",
		"Content-Type":    contentType,
		"Idempotency-Key": idemKey,
	}
	for k, v := range want {
		if got := c.Header.Get(k); got != v {
			t.Errorf("%s %s: %s = %q, want %q", c.Method, c.Path, k, got, v)
		}
	}
}

// TestPercentOff: basis points become Stripe's decimal percent_off.
func TestPercentOff(t *testing.T) {
	fake := stripetest.NewServer(t)
	c := newClient(fake)
	for _, tt := range []struct {
		bp   int64
		want string
	}{{1250, "12.5"}, {1000, "10"}, {5, "0.05"}, {1, "0.01"}, {1234, "12.34"}, {1210, "12.1"}, {10000, "100"}} {
		if _, err := c.CreateCoupon(t.Context(), stripe.CouponParams{PercentOff: tt.bp}, "k"+jsonInt(tt.bp)); err != nil {
			t.Errorf("%d bp: %v", tt.bp, err)
			continue
		}
		calls := fake.Calls(stripetest.RouteCoupons)
		if got := calls[len(calls)-1].Form.Get("percent_off"); got != tt.want {
			t.Errorf("%d bp: percent_off = %q, want %q", tt.bp, got, tt.want)
		}
	}
	for _, cp := range []stripe.CouponParams{{PercentOff: 10001}, {}, {PercentOff: 100, AmountOff: 100, Currency: "usd"}, {AmountOff: 100}} {
		if _, err := c.CreateCoupon(t.Context(), cp, "bad"); !errors.Is(err, stripe.ErrInvalidParams) {
			t.Errorf("CreateCoupon(%+v) = %v, want ErrInvalidParams", cp, err)
		}
	}
}

// TestErrors: Stripe's error responses, as APIError, Retryable and a
// message for the dashboard.
func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		retryable bool
		code      string
		message   string // a part of Error()
	}{
		{"bad param", 400, `{"error":{"type":"invalid_request_error","code":"parameter_unknown","param":"foo","message":"Received unknown parameter: foo"}}`,
			nil, false, "parameter_unknown", "Received unknown parameter: foo (400 invalid_request_error parameter_unknown, param foo)"},
		{"invalid key", 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****abcd"}}`,
			nil, false, "", "The Stripe key was refused (invalid, expired or revoked)"},
		{"no permission", 403, `{"error":{"type":"invalid_request_error","message":"The provided key 'rk_test_***abcd' does not have the required permissions"}}`,
			nil, false, "", `The Stripe key cannot create coupons: it lacks permission for Coupons; give the restricted key write access to Coupons ("Coupons: write")`},
		{"missing", 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"coupon","message":"No such coupon: 'x'"}}`,
			nil, false, "resource_missing", "No such coupon"},
		{"key reused", 400, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}`,
			nil, false, "", "idempotency_error"},
		{"key in use", 409, `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request"}}`,
			nil, true, "idempotency_key_in_use", "in-progress"},
		{"lock timeout", 429, `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"This object cannot be accessed right now"}}`,
			nil, true, "lock_timeout", "lock_timeout"},
		{"rate limit", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Request rate limit exceeded."}}`,
			nil, true, "rate_limit", "rate limit"},
		{"stripe error", 500, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`, nil, true, "", "unknown error"},
		{"gateway, not json", 502, `<html>Bad Gateway</html>`, nil, true, "", "Bad Gateway (502)"},
		{"should not retry", 500, `{"error":{"type":"api_error","message":"no"}}`, map[string]string{"Stripe-Should-Retry": "false"}, false, "", "no"},
		{"should retry", 400, `{"error":{"type":"invalid_request_error","message":"later"}}`, map[string]string{"Stripe-Should-Retry": "true"}, true, "", "later"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Request-Id", "req_123")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := &stripe.Client{BaseURL: srv.URL, SecretKey: "sk_test_x"}
			_, err := c.CreateCoupon(t.Context(), stripe.CouponParams{PercentOff: 1000}, "k")
			var ae *stripe.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code || ae.RequestID != "req_123" {
				t.Errorf("APIError = %+v", ae)
			}
			if got := stripe.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v", got, tt.retryable)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tt.message)
			}
		})
	}
}

// TestNetworkErrors: no answer is retryable (Stripe may have applied the
// call); a cancelled caller and a huge response are not.
func TestNetworkErrors(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow/v1/coupons":
			select {
			case <-block:
			case <-r.Context().Done():
			}
		case "/huge/v1/coupons":
			w.Write([]byte(`{"id":"` + strings.Repeat("x", 2<<20) + `"}`))
		}
	}))
	defer srv.Close()
	defer close(block)
	call := func(ctx context.Context, c *stripe.Client) error {
		_, err := c.CreateCoupon(ctx, stripe.CouponParams{PercentOff: 1000}, "k")
		return err
	}

	err := call(t.Context(), &stripe.Client{BaseURL: srv.URL + "/slow", SecretKey: "sk_x", Timeout: 50 * time.Millisecond})
	var ne *stripe.NetworkError
	if !errors.As(err, &ne) || !ne.Timeout || !stripe.Retryable(err) {
		t.Errorf("timeout: err = %v (%T), want a retryable NetworkError with Timeout", err, err)
	}
	err = call(t.Context(), &stripe.Client{BaseURL: srv.URL + "/slow", SecretKey: "sk_x",
		HTTP: &http.Client{Timeout: 50 * time.Millisecond}})
	if !errors.As(err, &ne) || !ne.Timeout || !stripe.Retryable(err) {
		t.Errorf("HTTP client's timeout: err = %v, want a retryable NetworkError with Timeout", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	err = call(ctx, &stripe.Client{BaseURL: srv.URL + "/slow", SecretKey: "sk_x"})
	if !errors.Is(err, context.Canceled) || stripe.Retryable(err) {
		t.Errorf("cancelled: err = %v, want context.Canceled, not retryable", err)
	}

	err = call(t.Context(), &stripe.Client{BaseURL: srv.URL + "/huge", SecretKey: "sk_x"})
	if err == nil || !strings.Contains(err.Error(), "larger than") || stripe.Retryable(err) {
		t.Errorf("huge response: err = %v", err)
	}

	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	err = call(t.Context(), &stripe.Client{BaseURL: dead.URL, SecretKey: "sk_x"})
	if !errors.As(err, &ne) || ne.Timeout || !stripe.Retryable(err) {
		t.Errorf("connection refused: err = %v, want a retryable NetworkError", err)
	}

	for _, c := range []*stripe.Client{{BaseURL: srv.URL}, {BaseURL: srv.URL, SecretKey: "sk_x"}} {
		_, err := c.CreateBalanceTransaction(t.Context(), "cus_1", -100, "usd", "", "", nil)
		if !errors.Is(err, stripe.ErrInvalidParams) {
			t.Errorf("no key or no Idempotency-Key: err = %v, want ErrInvalidParams", err)
		}
	}
}

// TestClientAgainstFake: the fake's refusals reach the caller as Stripe's
// would: keys, permissions, idempotency, unknown objects.
func TestClientAgainstFake(t *testing.T) {
	ctx := t.Context()
	fake := stripetest.NewServer(t)
	fake.AddCustomer("cus_jane", "usd")
	fake.AddKey("rk_test_nocoupons", stripetest.PermCustomerWrite, stripetest.PermPromotionCodeWrite)
	fake.AddKey("rk_test_revoked", stripetest.PermCouponWrite)
	fake.RevokeKey("rk_test_revoked")
	fake.AddKey("rk_test_noevents")

	restricted := &stripe.Client{BaseURL: fake.URL, SecretKey: "rk_test_nocoupons"}
	if _, err := restricted.CreateBalanceTransaction(ctx, "cus_jane", -100, "usd", "", "k1", nil); err != nil {
		t.Errorf("a key with Customers: write: %v", err)
	}
	_, err := restricted.CreateCoupon(ctx, stripe.CouponParams{PercentOff: 1000}, "k2")
	var ae *stripe.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || stripe.Retryable(err) ||
		!strings.Contains(err.Error(), `"Coupons: write"`) || !strings.Contains(err.Error(), "rak_coupon_write") {
		t.Errorf("a key without Coupons: write: %v", err)
	}
	_, _, err = (&stripe.Client{BaseURL: fake.URL, SecretKey: "rk_test_noevents"}).ListEvents(ctx, time.Time{}, "", nil)
	if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(err.Error(), `"Events: read"`) {
		t.Errorf("a key without Events: read: %v", err)
	}
	_, err = (&stripe.Client{BaseURL: fake.URL, SecretKey: "rk_test_revoked"}).CreateCoupon(ctx, stripe.CouponParams{PercentOff: 1000}, "k3")
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a revoked key: %v", err)
	}

	c := newClient(fake)
	id1, err1 := c.CreateBalanceTransaction(ctx, "cus_jane", -500, "usd", "", "same", nil)
	id2, err2 := c.CreateBalanceTransaction(ctx, "cus_jane", -500, "usd", "", "same", nil)
	if err1 != nil || err2 != nil || id1 != id2 {
		t.Errorf("same key, same params: %q %v, %q %v; want the same transaction", id1, err1, id2, err2)
	}
	if n := len(fake.BalanceTransactions("cus_jane")); n != 2 {
		t.Errorf("%d balance transactions, want 2 (k1 and one for key same)", n)
	}
	_, err = c.CreateBalanceTransaction(ctx, "cus_jane", -600, "usd", "", "same", nil)
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Type != "idempotency_error" || stripe.Retryable(err) {
		t.Errorf("same key, other params: %v", err)
	}
	_, err = c.CreateBalanceTransaction(ctx, "cus_nobody", -600, "usd", "", "k4", nil)
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "resource_missing" {
		t.Errorf("unknown customer: %v", err)
	}
	_, err = c.CreateBalanceTransaction(ctx, "cus_jane", -600, "eur", "", "k5", nil)
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Param != "currency" {
		t.Errorf("another currency than the customer's: %v", err)
	}
	_, err = c.CreatePromotionCode(ctx, "nope", "CODE", "cus_jane", nil, "k6")
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Param != "coupon" {
		t.Errorf("unknown coupon: %v", err)
	}
	if got := fake.Balance("cus_jane"); got != -600 {
		t.Errorf("balance = %d, want -600", got)
	}
}

// TestFakeStrict: the fake refuses what Stripe refuses, so that a client
// sending it passes for a reason.
func TestFakeStrict(t *testing.T) {
	fake := stripetest.NewServer(t)
	fake.AddCustomer("cus_jane", "usd")
	tests := []struct {
		name, method, path, body, contentType, key, auth string
		status                                           int
		param                                            string
	}{
		{"unknown param", "POST", "/v1/coupons", "percent_off=10&foo=1", "form", "k", "ok", 400, "foo"},
		{"missing param", "POST", "/v1/customers/cus_jane/balance_transactions", "currency=usd", "form", "k", "ok", 400, "amount"},
		{"not an integer", "POST", "/v1/customers/cus_jane/balance_transactions", "amount=1.5&currency=usd", "form", "k", "ok", 400, "amount"},
		{"upper-case currency", "POST", "/v1/customers/cus_jane/balance_transactions", "amount=-1&currency=USD", "form", "k", "ok", 400, "currency"},
		{"both offs", "POST", "/v1/coupons", "percent_off=10&amount_off=5&currency=usd", "form", "k", "ok", 400, "percent_off"},
		{"percent above 100", "POST", "/v1/coupons", "percent_off=100.5", "form", "k", "ok", 400, "percent_off"},
		{"redeem_by past", "POST", "/v1/coupons", "percent_off=10&redeem_by=1000", "form", "k", "ok", 400, "redeem_by"},
		{"json body", "POST", "/v1/coupons", `{"percent_off":10}`, "application/json", "k", "ok", 400, ""},
		{"no idempotency key", "POST", "/v1/coupons", "percent_off=10", "form", "", "ok", 400, ""},
		{"no key", "POST", "/v1/coupons", "percent_off=10", "form", "k", "", 401, ""},
		{"bad key", "POST", "/v1/coupons", "percent_off=10", "form", "k", "sk_test_wrong", 401, ""},
		{"unknown route", "POST", "/v1/customers", "email=x", "form", "k", "ok", 404, ""},
		{"bad limit", "GET", "/v1/events?limit=1000", "", "", "", "ok", 400, "limit"},
		{"bad metadata key", "POST", "/v1/coupons", "percent_off=10&metadata%5B%5D=x", "form", "k", "ok", 400, "metadata[]"},
		{"ok", "POST", "/v1/coupons", "percent_off=10&metadata%5Ba%5D=b", "form", "k2", "ok", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, fake.URL+tt.path, strings.NewReader(tt.body))
			if tt.contentType == "form" {
				tt.contentType = "application/x-www-form-urlencoded"
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key+" "+tt.name)
			}
			switch tt.auth {
			case "ok":
				req.Header.Set("Authorization", "Bearer "+stripetest.SecretKey)
			case "":
			default:
				req.Header.Set("Authorization", "Bearer "+tt.auth)
			}
			req.Header.Set("Stripe-Version", stripetest.APIVersion)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env struct {
				Error struct{ Type, Param, Message string }
			}
			json.NewDecoder(resp.Body).Decode(&env)
			if resp.StatusCode != tt.status || env.Error.Param != tt.param {
				t.Errorf("%d param %q (%s), want %d param %q", resp.StatusCode, env.Error.Param, env.Error.Message, tt.status, tt.param)
			}
		})
	}
}

// TestListEventsEnvelope: a listed event carries its envelope, its object
// and its raw JSON.
func TestListEventsEnvelope(t *testing.T) {
	fake := stripetest.NewServer(t)
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	raw := stripetest.NewEvent("evt_1", "invoice.paid", at, map[string]any{"id": "in_1", "object": "invoice"})
	fake.AddEvent(raw)
	page, more, err := newClient(fake).ListEvents(t.Context(), time.Time{}, "", stripe.HandledTypes)
	if err != nil || more || len(page) != 1 {
		t.Fatalf("ListEvents = %v, %v, %v", page, more, err)
	}
	ev := page[0]
	if ev.ID != "evt_1" || ev.Type != "invoice.paid" || !ev.Created.Equal(at) || ev.APIVersion != stripe.APIVersion ||
		ev.Livemode || string(ev.Object) != `{"id":"in_1","object":"invoice"}` || string(ev.Raw) != string(raw) {
		t.Errorf("event = %+v", ev)
	}
}
