package stripe

import (
	"errors"
	"strings"

	"github.com/advocate-oss/advocate/internal/money"
)

// toStripeAmountTemp stands in for ToStripeAmount (currency.go) until it
// is merged: Stripe's minor units are ours for two-decimal currencies and
// for JPY and KRW.
func toStripeAmountTemp(amount int64, currency string) (int64, error) {
	c := strings.ToUpper(currency)
	digits, err := money.Digits(c)
	if err != nil {
		return 0, err
	}
	stripeDigits := 2
	if c == "JPY" || c == "KRW" {
		stripeDigits = 0
	}
	if digits != stripeDigits {
		return 0, errors.New("stripe: unsupported currency " + c)
	}
	return amount, nil
}
