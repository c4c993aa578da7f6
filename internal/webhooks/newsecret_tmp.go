package webhooks

// replaced by signature.go at merge

import (
	"crypto/rand"
	"encoding/base64"
)

// NewSecret returns a fresh endpoint secret: "whsec_" and the base64 of 32
// random bytes.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}
