package secrets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key, _ := ParseKey(NewKey())
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	s := b.Seal("whsec_abc")
	if strings.Contains(s, "whsec") || !strings.HasPrefix(s, prefix) {
		t.Fatalf("sealed %q shows its plaintext or lacks the prefix", s)
	}
	if s2 := b.Seal("whsec_abc"); s2 == s {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := b.Open(s); err != nil || got != "whsec_abc" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if b.Seal("") != "" {
		t.Fatal("the empty secret seals to something")
	}
	other, _ := ParseKey(NewKey())
	ob, _ := New(other)
	if _, err := ob.Open(s); !errors.Is(err, ErrOpen) {
		t.Fatalf("another key opened it: %v", err)
	}
	tampered := s[:len(s)-2] + "AA"
	if _, err := b.Open(tampered); !errors.Is(err, ErrOpen) {
		t.Fatalf("a changed value opened: %v", err)
	}
	for _, bad := range []string{"plain", "v1:!!", "v1:AAAA"} {
		if _, err := b.Open(bad); !errors.Is(err, ErrOpen) {
			t.Errorf("Open(%q) = %v", bad, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	for _, s := range []string{
		"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
		"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s",
		strings.Repeat("ab", KeySize),
		" q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
	} {
		k, err := ParseKey(s)
		if err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "short", strings.Repeat("zz", KeySize), "q6urq6urq6urq6ur"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a short key")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "advocate.key")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first = %x, %v, %v", k1, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Fatalf("second = %x, %v, %v", k2, created, err)
	}
	if err := os.WriteFile(path, []byte("nonsense"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("a bad key file: %v", err)
	}
}
