// Package secrets seals the credentials Advocate keeps for a business (a
// Stripe webhook secret and API key) so that a copy of the database alone
// does not give them away. It is AES-256-GCM from the standard library,
// keyed with 32 bytes from the server's configuration (--encryption-key) or,
// for the zero-config SQLite start, from a key file made beside the
// database on first use.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the length of a key in bytes.
const KeySize = 32

// prefix marks a sealed value and its format, so that a later format can
// be told apart.
const prefix = "v1:"

// ErrOpen means a sealed value could not be opened: it was sealed with
// another key, or it was changed.
var ErrOpen = errors.New("secrets: the value cannot be opened with this key (was --encryption-key changed?)")

// Box seals and opens values with one key. The zero Box is not usable; a
// nil *Box means no key is configured.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: a key is %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey reads a key as given in configuration: 32 bytes in standard or
// URL-safe base64 (with or without padding), or 64 hexadecimal digits.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	if len(s) == 2*KeySize {
		b := make([]byte, KeySize)
		if _, err := fmt.Sscanf(s, "%x", &b); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, errors.New("an encryption key is 32 random bytes in base64 (openssl rand -base64 32)")
}

// NewKey returns a new random key in the form ParseKey reads.
func NewKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

// LoadOrCreateKeyFile reads the key in path, creating the file with a new
// key (mode 0600) when there is none. created reports that it did.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) { // another process made it first
			return LoadOrCreateKeyFile(path)
		}
		if err != nil {
			return nil, false, err
		}
		s := NewKey()
		if _, err := f.WriteString(s + "\n"); err != nil {
			f.Close()
			return nil, false, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, false, err
		}
		if err := f.Close(); err != nil {
			return nil, false, err
		}
		key, err := ParseKey(s)
		return key, true, err
	}
	if err != nil {
		return nil, false, err
	}
	key, err = ParseKey(string(b))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return key, false, nil
}

// Seal returns plaintext sealed with a fresh random nonce, as text fit for
// a TEXT column. The empty string seals to the empty string (no secret).
func (b *Box) Seal(plaintext string) string {
	if plaintext == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open returns the plaintext of a value Seal returned.
func (b *Box) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", ErrOpen
	}
	data, err := base64.RawStdEncoding.DecodeString(raw)
	n := b.aead.NonceSize()
	if err != nil || len(data) < n {
		return "", ErrOpen
	}
	plain, err := b.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return "", ErrOpen
	}
	return string(plain), nil
}
