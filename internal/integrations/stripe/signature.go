package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a Stripe-Signature timestamp may be from now
// (either way) before the event is refused as a possible replay: Stripe's
// own libraries use the same 5 minutes.
const DefaultTolerance = 300 * time.Second

// Signature errors. All three mean the request did not come from Stripe
// (or not recently) and must change nothing.
var (
	// ErrNoSignature: no Stripe-Signature header, or one without a usable
	// timestamp (t=) or any v1 signature (a v0-only header).
	ErrNoSignature = errors.New("stripe: no Stripe-Signature with a t= timestamp and a v1= signature")
	// ErrBadSignature: no v1 signature matches the body and the secret.
	ErrBadSignature = errors.New("stripe: Stripe-Signature does not match the body")
	// ErrStaleSignature: a genuine signature, but its timestamp is more
	// than the tolerance away from now.
	ErrStaleSignature = errors.New("stripe: Stripe-Signature timestamp is outside the tolerance")
)

// maxTimestamp bounds t= so time arithmetic cannot overflow; anything
// beyond it (the year 36812) is stale anyway.
const maxTimestamp = 1 << 40

// VerifySignature checks a Stripe-Signature header value against the raw
// body: "t=<unix>,v1=<hex>[,v1=<hex>…]" where each v1 is HMAC-SHA256 over
// "<t>.<body>" keyed with the whole endpoint secret (including "whsec_").
// Any matching v1 passes (Stripe sends several while a secret is being
// rolled); other schemes (v0) are ignored. The match is checked before the
// age, so ErrStaleSignature is only reported for a genuine signature.
func VerifySignature(header string, body []byte, secret string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	v1 := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" || !isDigits(v) {
				return ErrNoSignature // two timestamps, or not a number: not a header Stripe makes
			}
			ts = v
		case "v1":
			v1 = true
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	if ts == "" || !v1 {
		return ErrNoSignature
	}
	want := mac(ts, body, secret)
	match := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return ErrBadSignature
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || t > maxTimestamp {
		return ErrStaleSignature
	}
	if d := now.Sub(time.Unix(t, 0)); d > tolerance || d < -tolerance {
		return ErrStaleSignature
	}
	return nil
}

// Sign returns the Stripe-Signature header value Stripe would send for
// body at time t: for tests and the load generator.
func Sign(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(ts, body, secret))
}

func mac(ts string, body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

func isDigits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
