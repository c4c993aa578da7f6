package referral_test

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestNewProgram(t *testing.T) {
	p, err := referral.NewProgram(" Acme ", "eur", " https://yoursite.com ")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Acme" || p.Currency != "EUR" || p.WebsiteURL != "https://yoursite.com" ||
		p.RefParam != "ref" || p.CookieDays != 30 || p.Attribution != referral.FirstClick || !p.RequireHash {
		t.Errorf("got %+v, want trimmed values and the documented defaults", p)
	}
}

func TestProgramValidate(t *testing.T) {
	valid := func() *referral.Program {
		p, err := referral.NewProgram("Acme", "USD", "https://yoursite.com")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name   string
		change func(p *referral.Program)
		fields []string
	}{
		{"valid", func(p *referral.Program) {}, nil},
		{"valid with everything set", func(p *referral.Program) {
			p.AllowedDomains = []string{"app.example.com", "partner.io"}
			p.RefParam, p.CookieDays, p.Attribution = "via_code", 365, referral.LastClick
		}, nil},
		{"empty name", func(p *referral.Program) { p.Name = "" }, []string{"name"}},
		{"long name", func(p *referral.Program) { p.Name = strings.Repeat("n", 201) }, []string{"name"}},
		{"four letter currency", func(p *referral.Program) { p.Currency = "EURO" }, []string{"currency"}},
		{"lower case currency", func(p *referral.Program) { p.Currency = "usd" }, []string{"currency"}},
		{"unknown currency", func(p *referral.Program) { p.Currency = "XYZ" }, []string{"currency"}},
		{"ftp website", func(p *referral.Program) { p.WebsiteURL = "ftp://x.com" }, []string{"website_url"}},
		{"relative website", func(p *referral.Program) { p.WebsiteURL = "yoursite.com" }, []string{"website_url"}},
		{"website with userinfo", func(p *referral.Program) { p.WebsiteURL = "https://u@yoursite.com" }, []string{"website_url"}},
		{"domain with scheme", func(p *referral.Program) { p.AllowedDomains = []string{"https://x.com"} }, []string{"allowed_domains"}},
		{"upper case domain", func(p *referral.Program) { p.AllowedDomains = []string{"X.com"} }, []string{"allowed_domains"}},
		{"empty domain label", func(p *referral.Program) { p.AllowedDomains = []string{"a..com"} }, []string{"allowed_domains"}},
		{"bad ref param", func(p *referral.Program) { p.RefParam = "r f" }, []string{"referral_param"}},
		{"empty ref param", func(p *referral.Program) { p.RefParam = "" }, []string{"referral_param"}},
		{"no cookie days", func(p *referral.Program) { p.CookieDays = 0 }, []string{"cookie_days"}},
		{"too many cookie days", func(p *referral.Program) { p.CookieDays = 366 }, []string{"cookie_days"}},
		{"unknown attribution", func(p *referral.Program) { p.Attribution = "linear" }, []string{"attribution"}},
		{"everything wrong", func(p *referral.Program) {
			*p = referral.Program{Currency: "EURO", WebsiteURL: "ftp://x", AllowedDomains: []string{"a..b"}, Attribution: "x"}
		}, []string{"allowed_domains", "attribution", "cookie_days", "currency", "name", "referral_param", "website_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid()
			tt.change(p)
			err := p.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			e, ok := referral.AsError(err)
			if !ok || e.Kind != referral.KindInvalid {
				t.Fatalf("got %v, want a validation error", err)
			}
			if got := slices.Sorted(maps.Keys(e.Fields)); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v, want %v", got, tt.fields)
			}
			wantCode := "invalid_program"
			if len(tt.fields) > 1 {
				wantCode = "validation_failed"
			}
			if e.Code != wantCode {
				t.Errorf("code %q, want %q", e.Code, wantCode)
			}
		})
	}
}

// The test vector printed in docs/sdk.md, so that integrators can check
// their backend's code: HMAC-SHA256 keyed with the widget secret over the
// customer key. Swapping key and message gives dcde0c29…, which must fail.
const (
	vectorSecret = "whsec_K7XQ3M2TNPB4EFZ9WJ6RDA5HYC"
	vectorKey    = "cust_123"
	vectorHash   = "51e60c5c0e2015a49e889fe31ae0f675ee5b9f7eccd3f5fe09d7c7e8c8899ed0"
	swappedHash  = "dcde0c29ae2e4492a03a1e1a6180b065f5c329f951002c63dd7b2326848965d6"
)

func TestCustomerHashVector(t *testing.T) {
	p := &referral.Program{WidgetSecret: vectorSecret}
	if got := p.CustomerHash(vectorKey); got != vectorHash {
		t.Errorf("CustomerHash(%q) with secret %q = %s, want %s", vectorKey, vectorSecret, got, vectorHash)
	}
	if !strings.Contains(sdkDoc(t), vectorHash) || !strings.Contains(sdkDoc(t), vectorSecret) {
		t.Error("docs/sdk.md does not show the test vector")
	}
}

func TestValidCustomerHash(t *testing.T) {
	rotated := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := &referral.Program{WidgetSecret: "whsec_NEW", PreviousWidgetSecret: vectorSecret, WidgetSecretRotatedAt: rotated}
	current := p.CustomerHash(vectorKey)
	end := rotated.Add(referral.WidgetSecretGrace)
	tests := []struct {
		name string
		hash string
		now  time.Time
		want bool
	}{
		{"current secret", current, rotated, true},
		{"current secret in upper case", strings.ToUpper(current), rotated, true},
		{"current secret long after", current, end.Add(365 * 24 * time.Hour), true},
		{"missing", "", rotated, false},
		{"key and message swapped", swappedHash, rotated, false},
		{"another customer's", p.CustomerHash("cust_124"), rotated, false},
		{"previous secret in the grace period", vectorHash, rotated, true},
		{"previous secret just before the end", vectorHash, end.Add(-time.Nanosecond), true},
		{"previous secret at the end", vectorHash, end, false},
		{"previous secret after", vectorHash, end.Add(time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.ValidCustomerHash(vectorKey, tc.hash, tc.now); got != tc.want {
				t.Errorf("ValidCustomerHash(%q, %q, %v) = %v, want %v", vectorKey, tc.hash, tc.now, got, tc.want)
			}
		})
	}
}

func sdkDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/sdk.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
