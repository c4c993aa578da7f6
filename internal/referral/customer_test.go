package referral_test

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestNormalizeEmail(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com" // 254 characters
	tests := []struct {
		name, email, want string
		ok                bool
	}{
		{"plain", "jane@example.com", "jane@example.com", true},
		{"trimmed", "  jane@example.com ", "jane@example.com", true},
		{"case kept", "Jane.Doe+2@Example.com", "Jane.Doe+2@Example.com", true},
		{"254 characters", long, long, true},
		{"255 characters", "a" + long, "", false},
		{"empty", "  ", "", false},
		{"display name", "Jane <jane@x.com>", "", false},
		{"angle brackets", "<jane@x.com>", "", false},
		{"no domain dot", "jane@localhost", "", false},
		{"no at", "jane.example.com", "", false},
		{"two addresses", "a@x.com, b@x.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := referral.NormalizeEmail(tt.email)
			if (msg == "") != tt.ok || got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, %q; want %q, ok=%v", tt.email, got, msg, tt.want, tt.ok)
			}
		})
	}
}

func TestEmailIdentity(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{"case", "Jane@X.com", "jane@x.com", true},
		{"dots in local part", "jane.doe@x.com", "janedoe@x.com", true},
		{"plus tag", "janedoe+promo@x.com", "janedoe@x.com", true},
		{"dots, plus and case", "Jane.Doe+2@X.com", "janedoe@x.com", true},
		{"dots in domain matter", "jane@x.co.uk", "jane@xco.uk", false},
		{"different person", "jane@x.com", "john@x.com", false},
		{"different domain", "jane@x.com", "jane@y.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := referral.EmailIdentity(tt.a), referral.EmailIdentity(tt.b)
			if (a == b) != tt.same {
				t.Errorf("EmailIdentity(%q) = %q, EmailIdentity(%q) = %q; want same=%v", tt.a, a, tt.b, b, tt.same)
			}
		})
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		name, key string
		ok        bool
	}{
		{"stripe id", "cus_NffrFeUfNV2Hib", true},
		{"email as key", "jane@x.com", true},
		{"longest", strings.Repeat("k", 255), true},
		{"empty", "", false},
		{"too long", strings.Repeat("k", 256), false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"percent", "a%20", false},
		{"non ascii", "ключ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := referral.ValidKey(tt.key); (msg == "") != tt.ok {
				t.Errorf("ValidKey(%q) = %q, want ok=%v", tt.key, msg, tt.ok)
			}
		})
	}
}

func TestNewCustomerNormalize(t *testing.T) {
	t.Run("stored form", func(t *testing.T) {
		n := referral.NewCustomer{Key: "cus_1", Email: " jane@x.com ", Name: "  Jane Doe ", ReferralCode: "jane-vip", ReferredBy: " john20"}
		if err := n.Normalize(); err != nil {
			t.Fatal(err)
		}
		want := referral.NewCustomer{Key: "cus_1", Email: "jane@x.com", Name: "Jane Doe", ReferralCode: "JANE-VIP", ReferredBy: "JOHN20", Metadata: map[string]any{}}
		if !reflect.DeepEqual(n, want) {
			t.Errorf("got %+v, want %+v", n, want)
		}
	})
	t.Run("names every bad field", func(t *testing.T) {
		n := referral.NewCustomer{Key: "a b", Email: "nope", Name: "x\x00", ReferralCode: "no", ReferredBy: strings.Repeat("A", 33)}
		e, ok := referral.AsError(n.Normalize())
		if !ok {
			t.Fatal("want a *referral.Error")
		}
		got := slices.Sorted(maps.Keys(e.Fields))
		want := []string{"email", "key", "name", "referral_code", "referred_by"}
		if !slices.Equal(got, want) || e.Code != "validation_failed" || e.Kind != referral.KindInvalid {
			t.Errorf("got %s %v, want validation_failed %v", e.Code, got, want)
		}
	})
	t.Run("one bad field has a specific code", func(t *testing.T) {
		n := referral.NewCustomer{Key: "k", Email: "jane@x.com", Name: strings.Repeat("n", 201)}
		e, ok := referral.AsError(n.Normalize())
		if !ok || e.Code != "invalid_customer" || e.Fields["name"] == "" || len(e.Fields) != 1 {
			t.Errorf("got %v, want invalid_customer naming name", n.Normalize())
		}
	})
}

func TestErrorsAreMatchable(t *testing.T) {
	err := fmt.Errorf("create customer: %w", referral.ErrSelfReferral)
	if !errors.Is(err, referral.ErrSelfReferral) {
		t.Error("a wrapped sentinel is not found by errors.Is")
	}
	e, ok := referral.AsError(err)
	if !ok || e.Code != "self_referral" || e.Fields["referred_by"] == "" {
		t.Errorf("AsError = %v, %v", e, ok)
	}
	if got := e.Error(); !strings.Contains(got, "self_referral") || !strings.Contains(got, "referred_by") {
		t.Errorf("Error() = %q, want the code and the field", got)
	}
}
