package stripe

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/advocate-oss/advocate/internal/money"
)

// ErrInexact reports an amount that has no exact value in the other side's
// minor units: Stripe counts IDR in hundredths, Advocate (CLDR) in whole
// rupiahs, so 150050 Stripe-minor IDR (1500.50) cannot be recorded.
var ErrInexact = errors.New("stripe: amount not exact in the currency's minor units")

// stripeDigits is how many decimals Stripe's amounts carry in currency
// (upper-case): Stripe's zero-decimal and three-decimal lists, else 2.
// Stripe's list, not CLDR's, decides: they disagree for IDR, COP, ISK, …
func stripeDigits(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "JOD", "KWD", "OMR", "TND":
		return 3
	}
	return 2
}

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

// FromStripeAmount converts amount, in Stripe's minor units of currency
// (either case), into Advocate's (money.Digits). The result is exact and
// within money.MaxAmount, or an error wrapping ErrInexact,
// money.ErrTooLarge or money.ErrUnknownCurrency.
func FromStripeAmount(amount int64, currency string) (int64, error) {
	cur := strings.ToUpper(currency)
	ours, err := money.Digits(cur)
	if err != nil {
		return 0, fmt.Errorf("stripe currency %q: %w", currency, err)
	}
	v, err := rescale(amount, stripeDigits(cur), ours)
	if err == nil && (v > money.MaxAmount || v < -money.MaxAmount) {
		err = money.ErrTooLarge
	}
	if err != nil {
		return 0, fmt.Errorf("stripe amount %d %s: %w", amount, cur, err)
	}
	return v, nil
}

// ToStripeAmount converts amount, in Advocate's minor units of currency
// (either case) and within money.MaxAmount, into Stripe's. The errors are
// FromStripeAmount's.
func ToStripeAmount(amount int64, currency string) (int64, error) {
	cur := strings.ToUpper(currency)
	ours, err := money.Digits(cur)
	if err != nil {
		return 0, fmt.Errorf("currency %q: %w", currency, err)
	}
	if amount > money.MaxAmount || amount < -money.MaxAmount {
		return 0, fmt.Errorf("amount %d %s: %w", amount, cur, money.ErrTooLarge)
	}
	v, err := rescale(amount, ours, stripeDigits(cur))
	if err != nil {
		return 0, fmt.Errorf("amount %d %s: %w", amount, cur, err)
	}
	return v, nil
}

// rescale moves amount from one number of decimals to another exactly:
// ErrInexact when digits would be lost, money.ErrTooLarge when scaling up
// would overflow int64.
func rescale(amount int64, from, to int) (int64, error) {
	switch {
	case to > from:
		p := pow10[to-from]
		if amount > math.MaxInt64/p || amount < math.MinInt64/p {
			return 0, money.ErrTooLarge
		}
		return amount * p, nil
	case to < from:
		p := pow10[from-to]
		if amount%p != 0 {
			return 0, ErrInexact
		}
		return amount / p, nil
	}
	return amount, nil
}
