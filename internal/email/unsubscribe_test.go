package email_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/referral"
)

// TestUnsubscribeToken: a token round-trips; a forged one (another
// program, customer or MAC, another key, garbage) is refused.
func TestUnsubscribeToken(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	const prog, cus = "prg_01jd8xk0000000000000000000", "cus_01jd8xk0000000000000000001"
	tok := email.UnsubscribeToken(key, prog, cus)
	if strings.ContainsAny(tok, "+/=") {
		t.Errorf("token %q is not URL-safe base64 without padding", tok)
	}
	if tok != email.UnsubscribeToken(key, prog, cus) {
		t.Error("the token of the same program and customer changed")
	}
	p, c, err := email.ParseUnsubscribeToken(tok)
	if err != nil || p != prog || c != cus {
		t.Fatalf("ParseUnsubscribeToken = %q, %q, %v", p, c, err)
	}
	// Replaying a valid link is harmless: it verifies every time.
	for range 2 {
		if err := email.VerifyUnsubscribeToken(key, tok); err != nil {
			t.Fatalf("VerifyUnsubscribeToken: %v", err)
		}
	}

	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	enc := base64.RawURLEncoding.EncodeToString
	mac := raw[len(raw)-32:]
	flip := func(i int) string { b := bytes.Clone(raw); b[i] ^= 1; return enc(b) }
	forged := map[string]string{
		"other program":       enc(append([]byte("prg_01jd8xk0000000000000000009|"+cus+"|"), mac...)),
		"other customer":      enc(append([]byte(prog+"|cus_01jd8xk0000000000000000002|"), mac...)),
		"mac first byte":      flip(len(raw) - 32),
		"mac last byte":       flip(len(raw) - 1),
		"truncated mac":       enc(raw[:len(raw)-1]),
		"signed by other key": email.UnsubscribeToken(other, prog, cus),
	}
	for name, f := range forged {
		t.Run(name, func(t *testing.T) {
			if _, _, err := email.ParseUnsubscribeToken(f); err != nil && name != "truncated mac" {
				t.Errorf("ParseUnsubscribeToken: %v (the ids are readable)", err)
			}
			if err := email.VerifyUnsubscribeToken(key, f); !errors.Is(err, email.ErrBadUnsubscribeToken) {
				t.Errorf("VerifyUnsubscribeToken = %v, want ErrBadUnsubscribeToken", err)
			}
		})
	}
	if err := email.VerifyUnsubscribeToken(nil, tok); !errors.Is(err, email.ErrBadUnsubscribeToken) {
		t.Errorf("no key: %v", err)
	}

	garbage := []string{
		"", "x", "!!!!", tok + "=", tok[:10], strings.Repeat("A", 100),
		enc(append([]byte("noseparators"), mac...)),
		enc(append([]byte("|"+cus+"|"), mac...)),
		enc(append([]byte(prog+"||"), mac...)),
		enc(append([]byte(prog+"|"+cus), mac...)),      // no "|" before the MAC
		enc(append([]byte(prog+"|a|b|"), mac...)),      // three ids
		enc(append([]byte(prog+"|\xff\x00|"), mac...)), // not text
	}
	for _, g := range garbage {
		if _, _, err := email.ParseUnsubscribeToken(g); !errors.Is(err, email.ErrBadUnsubscribeToken) {
			t.Errorf("ParseUnsubscribeToken(%q) = %v, want ErrBadUnsubscribeToken", g, err)
		}
		if err := email.VerifyUnsubscribeToken(key, g); !errors.Is(err, email.ErrBadUnsubscribeToken) {
			t.Errorf("VerifyUnsubscribeToken(%q) = %v, want ErrBadUnsubscribeToken", g, err)
		}
	}
	if e, ok := referral.AsError(email.ErrBadUnsubscribeToken); !ok || e.Kind != referral.KindNotFound || e.Code != "unsubscribe_link_invalid" {
		t.Errorf("ErrBadUnsubscribeToken = %#v", email.ErrBadUnsubscribeToken)
	}
}
