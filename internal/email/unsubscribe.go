package email

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/advocate-oss/advocate/internal/referral"
)

// ErrBadUnsubscribeToken is an unsubscribe link that is garbled or not
// signed by the program's key. It says no more than "not found" so that a
// forger learns nothing.
var ErrBadUnsubscribeToken = referral.Errorf(referral.KindNotFound, "unsubscribe_link_invalid",
	"This unsubscribe link is not valid. Use the link in your most recent email.")

// UnsubscribeToken returns the token of an unsubscribe link naming a
// program and a customer, signed with HMAC-SHA256 under the program's
// unsubscribe key (32 random bytes the store keeps per program). It does
// not expire: a link in an old email must keep working, and using it twice
// unsubscribes once. The token is URL-safe base64 (no padding) of
// programID|customerID|mac; ids must not contain "|".
func UnsubscribeToken(key []byte, programID, customerID string) string {
	payload := programID + "|" + customerID
	return base64.RawURLEncoding.EncodeToString(append([]byte(payload+"|"), unsubscribeMAC(key, payload)...))
}

// ParseUnsubscribeToken returns the program and customer a token names,
// so that the program's key can be looked up; the token is not trusted
// until VerifyUnsubscribeToken accepts it.
func ParseUnsubscribeToken(token string) (programID, customerID string, err error) {
	programID, customerID, _, err = split(token)
	return programID, customerID, err
}

// VerifyUnsubscribeToken checks the token's MAC under key in constant time:
// ErrBadUnsubscribeToken on any mismatch.
func VerifyUnsubscribeToken(key []byte, token string) error {
	programID, customerID, mac, err := split(token)
	if err != nil {
		return err
	}
	if len(key) == 0 || !hmac.Equal(mac, unsubscribeMAC(key, programID+"|"+customerID)) {
		return ErrBadUnsubscribeToken
	}
	return nil
}

// split decodes a token into its ids and MAC.
func split(token string) (programID, customerID string, mac []byte, err error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < sha256.Size+4 {
		return "", "", nil, ErrBadUnsubscribeToken
	}
	ids, mac := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	ids, ok := bytes.CutSuffix(ids, []byte("|"))
	if !ok {
		return "", "", nil, ErrBadUnsubscribeToken
	}
	programID, customerID, ok = strings.Cut(string(ids), "|")
	if !ok || programID == "" || customerID == "" || strings.Contains(customerID, "|") || !referral.ValidText(string(ids)) {
		return "", "", nil, ErrBadUnsubscribeToken
	}
	return programID, customerID, mac, nil
}

// unsubscribeMAC signs payload; the prefix keeps these MACs apart from any
// other use the key might get.
func unsubscribeMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("advocate-unsubscribe|" + payload))
	return m.Sum(nil)
}
