package referral

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"strings"
	"time"
)

// API key kinds. Secret keys drive the whole API from the business's
// backend; publishable keys are safe in a browser and may only do what
// the SDK needs.
const (
	SecretKey      = "secret"
	PublishableKey = "publishable"
)

// APIKey is a stored key: never the key itself, only its SHA-256 and a
// prefix to recognise it by.
type APIKey struct {
	ID         string
	ProgramID  string
	Kind       string
	Prefix     string
	Hash       string
	CreatedAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

const (
	base62      = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	keyBodyLen  = 30 // ≈178 random bits
	keyCheckLen = 6  // CRC32 of the body, base62
	prefixLen   = 12 // "sk_" and the first 9 body characters
)

// NewAPIKey makes a key of the given kind and returns the plaintext (shown
// once) and what is stored.
func NewAPIKey(kind string) (plain string, k APIKey) {
	body := make([]byte, keyBodyLen)
	rand.Read(body)
	for i, b := range body {
		body[i] = base62[int(b)%len(base62)] // 256 % 62 bias is negligible at this length
	}
	plain = keyPrefix(kind) + string(body) + checksum(body)
	return plain, APIKey{Kind: kind, Prefix: plain[:prefixLen], Hash: HashAPIKey(plain)}
}

func keyPrefix(kind string) string {
	if kind == PublishableKey {
		return "pk_"
	}
	return "sk_"
}

func checksum(body []byte) string {
	c := crc32.ChecksumIEEE(body)
	out := make([]byte, keyCheckLen)
	for i := keyCheckLen - 1; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return string(out)
}

// ParseAPIKey checks a presented key's shape and checksum without touching
// the database, and returns its kind. A typo or a truncated key fails here.
func ParseAPIKey(plain string) (kind string, ok bool) {
	if len(plain) != 3+keyBodyLen+keyCheckLen {
		return "", false
	}
	switch {
	case strings.HasPrefix(plain, "sk_"):
		kind = SecretKey
	case strings.HasPrefix(plain, "pk_"):
		kind = PublishableKey
	default:
		return "", false
	}
	body := plain[3 : 3+keyBodyLen]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return "", false
		}
	}
	return kind, checksum([]byte(body)) == plain[3+keyBodyLen:]
}

// HashAPIKey is how keys are stored and looked up.
func HashAPIKey(plain string) string {
	h := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(h[:])
}
