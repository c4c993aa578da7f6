package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// secretPrefix marks a symmetric Standard Webhooks secret, so that a person
// (or a secret scanner) can tell it apart from our API keys.
const secretPrefix = "whsec_"

// The specification's bounds on a symmetric key: 24 to 64 bytes.
const (
	minKeyLen = 24
	maxKeyLen = 64
)

// DefaultTolerance is how far a webhook-timestamp may be from the verifier's
// clock, as the specification recommends: it bounds how long a captured
// delivery can be replayed.
const DefaultTolerance = 5 * time.Minute

// UserAgent names our deliveries in receivers' logs; the number is the
// version of the delivery format.
const UserAgent = "Advocate-Webhooks/1"

// The headers the specification names.
const (
	headerID        = "webhook-id"
	headerTimestamp = "webhook-timestamp"
	headerSignature = "webhook-signature"
)

// Reasons Verify refuses a delivery.
var (
	ErrHeaders   = errors.New("webhooks: missing or malformed webhook headers")
	ErrTimestamp = errors.New("webhooks: webhook-timestamp outside the tolerance")
	ErrSignature = errors.New("webhooks: no matching signature")
)

// NewSecret returns a fresh endpoint secret: "whsec_" and the standard base64
// of 32 random bytes, above the specification's minimum of 24.
func NewSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Secret is a parsed endpoint secret: the HMAC key behind the whsec_ text.
type Secret struct {
	key []byte
}

// ParseSecret reads a secret as NewSecret writes it. It refuses anything
// without the whsec_ prefix, any base64 other than standard padded base64
// (so that one key has one spelling), and keys outside the specification's
// 24 to 64 bytes.
func ParseSecret(s string) (Secret, error) {
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, errors.New("webhook secret: does not start with " + secretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(enc)
	// DecodeString skips newlines; re-encoding refuses them too.
	if err != nil || base64.StdEncoding.EncodeToString(key) != enc {
		return Secret{}, errors.New("webhook secret: not standard base64 after " + secretPrefix)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return Secret{}, fmt.Errorf("webhook secret: key is %d bytes, want %d to %d", len(key), minKeyLen, maxKeyLen)
	}
	return Secret{key: key}, nil
}

// String hides the key so that a Secret printed into a log gives nothing away.
func (Secret) String() string { return secretPrefix + "[redacted]" }

// Sign returns the webhook-signature header value for one delivery: "v1,"
// and the base64 HMAC-SHA256 of "msgID.timestamp.body" (timestamp in unix
// seconds) for each secret, separated by spaces. During a rotation pass the
// new secret first and the old one second, so that receivers holding either
// accept the delivery. msgID must not contain a "." (our event ids do not),
// or the signed text could be read two ways. With no secrets the result is
// empty, which every receiver refuses.
func Sign(msgID string, ts time.Time, body []byte, secrets ...Secret) string {
	var b strings.Builder
	for i, s := range secrets {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(mac(s, msgID, ts.Unix(), body)))
	}
	return b.String()
}

// mac writes the signed text piece by piece, so the body is never copied.
func mac(s Secret, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(msgID))
	h.Write(strconv.AppendInt([]byte{'.'}, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Headers returns the headers of one delivery attempt: the three the
// specification names, signed with Sign, and our content type and user
// agent. msgID is the event's id, the same on every retry so receivers can
// deduplicate; ts is the attempt's time, new on every retry.
func Headers(msgID string, ts time.Time, body []byte, secrets ...Secret) http.Header {
	h := make(http.Header, 5)
	h.Set(headerID, msgID)
	h.Set(headerTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(headerSignature, Sign(msgID, ts, body, secrets...))
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	return h
}

// Verify checks a delivery as a receiver would: the headers are present, the
// timestamp is within tolerance of now (DefaultTolerance when tolerance is
// zero or less), and one of the v1 signatures is the secret's, compared in
// constant time. Signatures of other versions are skipped, as the
// specification asks.
func Verify(secret Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	msgID, tsText, sigs := h.Get(headerID), h.Get(headerTimestamp), h.Get(headerSignature)
	if msgID == "" || tsText == "" || sigs == "" {
		return ErrHeaders
	}
	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrHeaders
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(secret, msgID, unix, body)
	for _, sig := range strings.Fields(sigs) {
		enc, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
