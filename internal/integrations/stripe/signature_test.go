package stripe

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

const testSecret = "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"

// TestVerifySignatureStripeGo checks our verifier against headers made by
// Stripe's own Go library, an independent implementation.
func TestVerifySignatureStripeGo(t *testing.T) {
	body := readFixture(t, "invoice.paid.subscription_create.basil.json")
	now := time.Now()
	tests := []struct {
		name    string
		payload webhook.UnsignedPayload
		secret  string // the endpoint's secret we verify with
		now     time.Time
		want    error
	}{
		{"default timestamp", webhook.UnsignedPayload{Payload: body, Secret: testSecret}, testSecret, now, nil},
		{"custom timestamp", webhook.UnsignedPayload{Payload: body, Secret: testSecret, Timestamp: time.Unix(1744155603, 0)}, testSecret, time.Unix(1744155603+120, 0), nil},
		{"another secret", webhook.UnsignedPayload{Payload: body, Secret: "whsec_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"}, "whsec_Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0", now, nil},
		{"empty body", webhook.UnsignedPayload{Payload: []byte{}, Secret: testSecret}, testSecret, now, nil},
		{"wrong secret", webhook.UnsignedPayload{Payload: body, Secret: testSecret}, testSecret + "x", now, ErrBadSignature},
		{"secret without its whsec_ prefix", webhook.UnsignedPayload{Payload: body, Secret: strings.TrimPrefix(testSecret, "whsec_")}, testSecret, now, ErrBadSignature},
		{"v0 only", webhook.UnsignedPayload{Payload: body, Secret: testSecret, Scheme: "v0"}, testSecret, now, ErrNoSignature},
		{"stale", webhook.UnsignedPayload{Payload: body, Secret: testSecret, Timestamp: now.Add(-301 * time.Second)}, testSecret, now, ErrStaleSignature},
		{"from the future", webhook.UnsignedPayload{Payload: body, Secret: testSecret, Timestamp: now.Add(301 * time.Second)}, testSecret, now, ErrStaleSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := webhook.GenerateTestSignedPayload(&tt.payload)
			err := VerifySignature(p.Header, p.Payload, tt.secret, tt.now, DefaultTolerance)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("VerifySignature(%q) = %v, want %v", p.Header, err, tt.want)
			}
			if tt.want == nil && p.Header != Sign(p.Payload, tt.secret, p.Timestamp) {
				t.Errorf("Sign = %q, stripe-go made %q", Sign(p.Payload, tt.secret, p.Timestamp), p.Header)
			}
		})
	}
	// And stripe-go accepts what Sign makes.
	if err := webhook.ValidatePayload(body, Sign(body, testSecret, time.Now()), testSecret); err != nil {
		t.Errorf("stripe-go refuses Sign's header: %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","type":"invoice.paid"}`)
	t0 := time.Unix(1744155603, 0)
	good := Sign(body, testSecret, t0)
	goodSig := strings.TrimPrefix(good[strings.Index(good, "v1="):], "v1=")
	other := strings.TrimPrefix(Sign(body, "whsec_old", t0)[len("t=1744155603,"):], "v1=")
	ts := "t=" + strconv.FormatInt(t0.Unix(), 10)
	flipped := append([]byte(nil), body...)
	flipped[len(flipped)-2] ^= 1
	tests := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"round trip", good, body, t0, nil},
		{"secret being rolled: new first", ts + ",v1=" + goodSig + ",v1=" + other, body, t0, nil},
		{"secret being rolled: new second", ts + ",v1=" + other + ",v1=" + goodSig, body, t0, nil},
		{"v0 beside v1", ts + ",v1=" + goodSig + ",v0=" + other, body, t0, nil},
		{"upper-case hex", ts + ",v1=" + strings.ToUpper(goodSig), body, t0, nil},
		{"spaces after commas", ts + ", v1=" + goodSig, body, t0, nil},
		{"unknown scheme ignored", ts + ",v9=zz,v1=" + goodSig, body, t0, nil},
		{"exactly at the tolerance, behind", good, body, t0.Add(DefaultTolerance), nil},
		{"exactly at the tolerance, ahead", good, body, t0.Add(-DefaultTolerance), nil},
		{"a second past it", good, body, t0.Add(DefaultTolerance + time.Second), ErrStaleSignature},
		{"a nanosecond past it", good, body, t0.Add(DefaultTolerance + 1), ErrStaleSignature},
		{"ahead by a second past it", good, body, t0.Add(-DefaultTolerance - time.Second), ErrStaleSignature},
		{"missing", "", body, t0, ErrNoSignature},
		{"garbled", "garbage", body, t0, ErrNoSignature},
		{"no timestamp", "v1=" + goodSig, body, t0, ErrNoSignature},
		{"no v1", ts, body, t0, ErrNoSignature},
		{"v0 only", ts + ",v0=" + goodSig, body, t0, ErrNoSignature},
		{"timestamp not a number", "t=soon,v1=" + goodSig, body, t0, ErrNoSignature},
		{"negative timestamp", "t=-1,v1=" + goodSig, body, t0, ErrNoSignature},
		{"two timestamps", ts + ",t=1,v1=" + goodSig, body, t0, ErrNoSignature},
		{"huge timestamp", "t=99999999999999999999,v1=" + goodSig, body, t0, ErrNoSignature},
		{"other timestamp, same signature", "t=1744155604,v1=" + goodSig, body, t0, ErrBadSignature},
		{"wrong secret", ts + ",v1=" + other, body, t0, ErrBadSignature},
		{"body changed by one byte", good, flipped, t0, ErrBadSignature},
		{"body with a trailing newline", good, append(append([]byte(nil), body...), '\n'), t0, ErrBadSignature},
		{"signature truncated", ts + ",v1=" + goodSig[:62], body, t0, ErrBadSignature},
		{"signature not hex", ts + ",v1=" + strings.Repeat("z", 64), body, t0, ErrBadSignature},
		{"empty v1", ts + ",v1=", body, t0, ErrBadSignature},
		// A forged header is bad, not stale, however old it claims to be.
		{"forged and old", "t=1,v1=" + other, body, t0, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifySignature(tt.header, tt.body, testSecret, tt.now, DefaultTolerance)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("VerifySignature(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

// FuzzVerifySignature: VerifySignature never panics, and a header Sign
// made for the body always verifies (and fails for any other secret).
//
//	go test -run XXX -fuzz FuzzVerifySignature -fuzztime 30s ./internal/integrations/stripe/
func FuzzVerifySignature(f *testing.F) {
	body := []byte(`{"id":"evt_1"}`)
	f.Add(Sign(body, testSecret, time.Unix(1744155603, 0)), body, testSecret, int64(1744155603), int64(0))
	f.Add("t=1,v1=00,v1=zz,v0=,=,,t", []byte{}, "", int64(0), int64(-1))
	f.Add("t=99999999999999999999,v1="+strings.Repeat("a", 64), []byte("x"), "whsec_", int64(1<<40), int64(1<<62))
	f.Fuzz(func(t *testing.T, header string, body []byte, secret string, unix, skew int64) {
		now := time.Unix(unix, 0)
		_ = VerifySignature(header, body, secret, now, DefaultTolerance)
		_ = VerifySignature(header, body, secret, now.Add(time.Duration(skew)), time.Duration(skew))
		if unix < 0 || unix > maxTimestamp {
			return
		}
		signed := Sign(body, secret, now)
		if err := VerifySignature(signed, body, secret, now, DefaultTolerance); err != nil {
			t.Fatalf("Sign's own header %q: %v", signed, err)
		}
		if err := VerifySignature(signed, body, secret+"x", now, DefaultTolerance); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("header %q verified with another secret: %v", signed, err)
		}
	})
}
