package referral_test

import (
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestNewAPIKey(t *testing.T) {
	tests := []struct {
		kind, prefix string
	}{
		{referral.SecretKey, "sk_"},
		{referral.PublishableKey, "pk_"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			plain, k := referral.NewAPIKey(tt.kind)
			if !strings.HasPrefix(plain, tt.prefix) || len(plain) != 39 {
				t.Fatalf("key %q: want %s and 36 characters", plain, tt.prefix)
			}
			kind, ok := referral.ParseAPIKey(plain)
			if !ok || kind != tt.kind {
				t.Errorf("ParseAPIKey(NewAPIKey) = %q, %v; want %q, true", kind, ok, tt.kind)
			}
			if k.Kind != tt.kind || k.Hash != referral.HashAPIKey(plain) || len(k.Hash) != 64 {
				t.Errorf("stored key = %+v, want kind %s and the SHA-256 of the key", k, tt.kind)
			}
			if k.Prefix != plain[:12] || strings.Contains(k.Hash, plain) {
				t.Errorf("prefix %q, want the first 12 characters of %q", k.Prefix, plain)
			}
			other, _ := referral.NewAPIKey(tt.kind)
			if other == plain {
				t.Error("two keys are equal")
			}
		})
	}
}

func TestParseAPIKey(t *testing.T) {
	plain, _ := referral.NewAPIKey(referral.SecretKey)
	t.Run("every single changed character fails", func(t *testing.T) {
		for i := 3; i < len(plain); i++ {
			for _, c := range []byte{'0', 'z', 'A'} {
				if plain[i] == c {
					continue
				}
				bad := plain[:i] + string(c) + plain[i+1:]
				if _, ok := referral.ParseAPIKey(bad); ok {
					t.Fatalf("%q (character %d changed) passes the checksum", bad, i)
				}
			}
		}
	})
	tests := []struct {
		name, key string
	}{
		{"empty", ""},
		{"truncated", plain[:len(plain)-1]},
		{"extended", plain + "a"},
		{"unknown prefix", "rk_" + plain[3:]},
		{"no prefix", "xx" + plain[2:]},
		{"non base62 character", plain[:10] + "-" + plain[11:]},
		{"surrounding space", " " + plain[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kind, ok := referral.ParseAPIKey(tt.key); ok {
				t.Errorf("ParseAPIKey(%q) = %q, true; want false", tt.key, kind)
			}
		})
	}
}
