package stripe

import (
	"errors"
	"math"
	"testing"

	"github.com/advocate-oss/advocate/internal/money"
)

func TestFromStripeAmount(t *testing.T) {
	tests := []struct {
		name     string
		amount   int64
		currency string
		want     int64
		err      error
	}{
		{"dollars", 4900, "usd", 4900, nil},
		{"upper-case code", 4900, "USD", 4900, nil},
		{"yen are zero-decimal in both", 12000, "jpy", 12000, nil},
		{"dinar have three decimals in both", 12345, "kwd", 12345, nil},
		{"negative", -4900, "usd", -4900, nil},
		{"zero", 0, "idr", 0, nil},
		// Stripe counts IDR, COP and ISK in hundredths; CLDR (money.Digits) in units.
		{"rupiah", 150000, "idr", 1500, nil},
		{"rupiah with sen", 150050, "idr", 0, ErrInexact},
		{"negative rupiah", -150000, "idr", -1500, nil},
		{"pesos", 990000, "cop", 9900, nil},
		{"pesos with centavos", 990001, "cop", 0, ErrInexact},
		{"krónur", 500000, "isk", 5000, nil},
		// LYD: three decimals in CLDR, two in Stripe.
		{"Libyan dinar", 1234, "lyd", 12340, nil},
		{"the maximum", money.MaxAmount, "usd", money.MaxAmount, nil},
		{"minus the maximum", -money.MaxAmount, "jpy", -money.MaxAmount, nil},
		{"a cent above", money.MaxAmount + 1, "usd", 0, money.ErrTooLarge},
		{"a cent below", -money.MaxAmount - 1, "usd", 0, money.ErrTooLarge},
		{"the maximum, scaled down", money.MaxAmount * 100, "idr", money.MaxAmount, nil},
		{"above it, scaled down", (money.MaxAmount + 1) * 100, "idr", 0, money.ErrTooLarge},
		{"scaled up past it", money.MaxAmount/10 + 1, "lyd", 0, money.ErrTooLarge},
		{"int64 maximum", math.MaxInt64, "lyd", 0, money.ErrTooLarge},
		{"int64 minimum", math.MinInt64, "usd", 0, money.ErrTooLarge},
		{"unknown currency", 100, "zzz", 0, money.ErrUnknownCurrency},
		{"empty currency", 100, "", 0, money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromStripeAmount(tt.amount, tt.currency)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("FromStripeAmount(%d, %s) = %d, %v; want %d, %v", tt.amount, tt.currency, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestToStripeAmount(t *testing.T) {
	tests := []struct {
		name     string
		amount   int64
		currency string
		want     int64
		err      error
	}{
		{"dollars", 1000, "USD", 1000, nil},
		{"lower-case code", 1000, "usd", 1000, nil},
		{"yen", 500, "JPY", 500, nil},
		{"dinar", 2005, "KWD", 2005, nil},
		{"a credit is negative", -1000, "USD", -1000, nil},
		{"rupiah", 1500, "IDR", 150000, nil},
		{"minus rupiah", -1500, "IDR", -150000, nil},
		{"the maximum in rupiah", money.MaxAmount, "IDR", money.MaxAmount * 100, nil},
		{"Libyan dinar", 12340, "LYD", 1234, nil},
		{"Libyan dirhams", 12345, "LYD", 0, ErrInexact},
		{"beyond the maximum", money.MaxAmount + 1, "USD", 0, money.ErrTooLarge},
		{"int64 minimum", math.MinInt64, "IDR", 0, money.ErrTooLarge},
		{"unknown currency", 100, "ABC", 0, money.ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ToStripeAmount(tt.amount, tt.currency)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("ToStripeAmount(%d, %s) = %d, %v; want %d, %v", tt.amount, tt.currency, got, err, tt.want, tt.err)
			}
		})
	}
}

// TestStripeDigitsLists: every currency on Stripe's lists is one Advocate
// knows, and the conversion round-trips across the whole range.
func TestStripeDigitsLists(t *testing.T) {
	for _, cur := range []string{"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
		"BHD", "JOD", "KWD", "OMR", "TND", "USD", "EUR", "IDR", "HUF", "TWD", "ISK", "LYD"} {
		for _, v := range []int64{0, 1, -1, 7, 1000, money.MaxAmount, -money.MaxAmount} {
			s, err := ToStripeAmount(v, cur)
			if errors.Is(err, ErrInexact) {
				continue
			}
			if err != nil {
				t.Fatalf("ToStripeAmount(%d, %s): %v", v, cur, err)
			}
			if back, err := FromStripeAmount(s, cur); err != nil || back != v {
				t.Errorf("%s: %d -> Stripe %d -> %d, %v", cur, v, s, back, err)
			}
		}
	}
}
