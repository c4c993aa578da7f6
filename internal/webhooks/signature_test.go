package webhooks_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// The specification's published test vector, as the reference libraries
// test it (libraries/go/webhook_test.go, TestWebhookSign, and the same
// values in the other languages' tests).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorUnix      = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func mustSecret(t *testing.T, s string) webhooks.Secret {
	t.Helper()
	sec, err := webhooks.ParseSecret(s)
	if err != nil {
		t.Fatalf("ParseSecret(%q): %v", s, err)
	}
	return sec
}

func newSecret(t *testing.T) (string, webhooks.Secret) {
	t.Helper()
	s, err := webhooks.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s, mustSecret(t, s)
}

func TestSignSpecVector(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	ts := time.Unix(vectorUnix, 0)
	if got := webhooks.Sign(vectorID, ts, []byte(vectorBody), sec); got != vectorSignature {
		t.Errorf("Sign = %q, want %q", got, vectorSignature)
	}
	// Sub-second parts of the attempt time are not signed.
	if got := webhooks.Sign(vectorID, ts.Add(999*time.Millisecond), []byte(vectorBody), sec); got != vectorSignature {
		t.Errorf("Sign at .999 s = %q, want %q", got, vectorSignature)
	}
}

func TestHeaders(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	h := webhooks.Headers(vectorID, time.Unix(vectorUnix, 0), []byte(vectorBody), sec)
	want := map[string]string{
		"webhook-id":        vectorID,
		"webhook-timestamp": strconv.Itoa(vectorUnix),
		"webhook-signature": vectorSignature,
		"Content-Type":      "application/json",
		"User-Agent":        "Advocate-Webhooks/1",
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want [%q]", k, got, v)
		}
	}
	if len(h) != len(want) {
		t.Errorf("got %d headers, want %d: %v", len(h), len(want), h)
	}
}

func TestSignRotationOrder(t *testing.T) {
	_, newer := newSecret(t)
	_, older := newSecret(t)
	ts, body := time.Unix(vectorUnix, 0), []byte(vectorBody)
	got := webhooks.Sign(vectorID, ts, body, newer, older)
	want := webhooks.Sign(vectorID, ts, body, newer) + " " + webhooks.Sign(vectorID, ts, body, older)
	if got != want {
		t.Errorf("Sign with two secrets = %q, want %q", got, want)
	}
}

func TestNewSecret(t *testing.T) {
	a, _ := newSecret(t)
	b, _ := newSecret(t)
	if a == b {
		t.Errorf("two NewSecret calls gave the same secret %q", a)
	}
	enc, ok := strings.CutPrefix(a, "whsec_")
	if !ok {
		t.Fatalf("NewSecret() = %q, want the whsec_ prefix", a)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) != 32 {
		t.Errorf("NewSecret() key: %d bytes, err %v; want 32 bytes of standard base64", len(key), err)
	}
}

func TestParseSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, n)) }
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"spec vector", vectorSecret, true},
		{"24 bytes", "whsec_" + b64(24), true},
		{"64 bytes", "whsec_" + b64(64), true},
		{"no prefix", strings.TrimPrefix(vectorSecret, "whsec_"), false},
		{"upper-case prefix", "WHSEC_" + b64(32), false},
		{"asymmetric prefix", "whsk_" + b64(32), false},
		{"empty", "", false},
		{"prefix only", "whsec_", false},
		{"bad base64", "whsec_!!!!" + b64(30), false},
		{"url base64", "whsec_" + strings.NewReplacer("+", "-", "/", "_").Replace(b64(32)), false},
		{"unpadded", "whsec_" + strings.TrimRight(b64(32), "="), false},
		{"newline inside", "whsec_" + b64(30)[:20] + "\n" + b64(30)[20:], false},
		{"trailing space", "whsec_" + b64(32) + " ", false},
		{"23 bytes", "whsec_" + b64(23), false},
		{"65 bytes", "whsec_" + b64(65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhooks.ParseSecret(tt.in)
			if (err == nil) != tt.ok {
				t.Errorf("ParseSecret(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestSecretStringHidesKey(t *testing.T) {
	s, sec := newSecret(t)
	enc := strings.TrimPrefix(s, "whsec_")
	for _, out := range []string{fmt.Sprint(sec), fmt.Sprintf("%v %+v %s", sec, sec, sec)} {
		if strings.Contains(out, enc) {
			t.Errorf("printing a Secret shows its key: %q", out)
		}
	}
}

func TestVerify(t *testing.T) {
	_, sec := newSecret(t)
	_, other := newSecret(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"customer.created","data":{"key":"c1"}}`)
	valid := func() http.Header { return webhooks.Headers("evt_1", now, body, sec) }
	with := func(k, v string) http.Header { h := valid(); h.Set(k, v); return h }
	without := func(k string) http.Header { h := valid(); h.Del(k); return h }
	at := func(ts time.Time) http.Header { return webhooks.Headers("evt_1", ts, body, sec) }
	sig := valid().Get("webhook-signature")

	tests := []struct {
		name      string
		secret    webhooks.Secret
		h         http.Header
		body      []byte
		tolerance time.Duration
		want      error
	}{
		{"valid", sec, valid(), body, 0, nil},
		{"rotation: new and old", sec, webhooks.Headers("evt_1", now, body, other, sec), body, 0, nil},
		{"unknown versions skipped", sec, with("webhook-signature", "v1a,AAAA v2,"+strings.TrimPrefix(sig, "v1,")+" "+sig), body, 0, nil},
		{"at the tolerance", sec, at(now.Add(-webhooks.DefaultTolerance)), body, 0, nil},
		{"tampered body", sec, valid(), []byte(`{"type":"customer.created","data":{"key":"c2"}}`), 0, webhooks.ErrSignature},
		{"empty body", sec, valid(), nil, 0, webhooks.ErrSignature},
		{"another secret", other, valid(), body, 0, webhooks.ErrSignature},
		{"another id", sec, with("webhook-id", "evt_2"), body, 0, webhooks.ErrSignature},
		{"another timestamp", sec, with("webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10)), body, 0, webhooks.ErrSignature},
		{"too old", sec, at(now.Add(-webhooks.DefaultTolerance - time.Second)), body, 0, webhooks.ErrTimestamp},
		{"too new", sec, at(now.Add(webhooks.DefaultTolerance + time.Second)), body, 0, webhooks.ErrTimestamp},
		{"outside a shorter tolerance", sec, at(now.Add(-31 * time.Second)), body, 30 * time.Second, webhooks.ErrTimestamp},
		{"missing id", sec, without("webhook-id"), body, 0, webhooks.ErrHeaders},
		{"missing timestamp", sec, without("webhook-timestamp"), body, 0, webhooks.ErrHeaders},
		{"missing signature", sec, without("webhook-signature"), body, 0, webhooks.ErrHeaders},
		{"timestamp not a number", sec, with("webhook-timestamp", "1.5e9"), body, 0, webhooks.ErrHeaders},
		{"signature without version", sec, with("webhook-signature", strings.TrimPrefix(sig, "v1,")), body, 0, webhooks.ErrSignature},
		{"signature only a version", sec, with("webhook-signature", "v1"), body, 0, webhooks.ErrSignature},
		{"signature not base64", sec, with("webhook-signature", "v1,!!!"), body, 0, webhooks.ErrSignature},
		{"right signature, wrong version", sec, with("webhook-signature", "v1a,"+strings.TrimPrefix(sig, "v1,")), body, 0, webhooks.ErrSignature},
		{"truncated signature", sec, with("webhook-signature", sig[:len(sig)-4]), body, 0, webhooks.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhooks.Verify(tt.secret, tt.h, tt.body, now, tt.tolerance)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestReferenceLibrary asks the Standard Webhooks Go reference library, an
// outside judge, whether receivers using it accept what we send.
func TestReferenceLibrary(t *testing.T) {
	newText, newer := newSecret(t)
	oldText, older := newSecret(t)
	strangerText, _ := newSecret(t)
	reference := func(s string) *standardwebhooks.Webhook {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatalf("reference NewWebhook: %v", err)
		}
		return wh
	}
	for i, n := range []int{0, 1, 2, 31, 64, 1000, 20_000} {
		body := make([]byte, n)
		rand.Read(body)
		// The reference library checks the timestamp against its own clock.
		h := webhooks.Headers(fmt.Sprintf("evt_%d", i), time.Now(), body, newer, older)
		for _, s := range []string{newText, oldText} {
			if err := reference(s).Verify(body, h); err != nil {
				t.Errorf("%d-byte body: reference Verify with one of the two secrets: %v", n, err)
			}
		}
		if err := reference(strangerText).Verify(body, h); err == nil {
			t.Errorf("%d-byte body: reference Verify accepted a secret we did not sign with", n)
		}
		if err := reference(newText).Verify(append(body, ' '), h); err == nil {
			t.Errorf("%d-byte body: reference Verify accepted a tampered body", n)
		}

		// And the other way: our Verify accepts what the reference signs.
		now := time.Now()
		sig, err := reference(oldText).Sign("evt_ref", now, body)
		if err != nil {
			t.Fatal(err)
		}
		rh := http.Header{}
		rh.Set(standardwebhooks.HeaderWebhookID, "evt_ref")
		rh.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		rh.Set(standardwebhooks.HeaderWebhookSignature, sig)
		if err := webhooks.Verify(older, rh, body, now, 0); err != nil {
			t.Errorf("%d-byte body: Verify of the reference's signature: %v", n, err)
		}
	}
}
