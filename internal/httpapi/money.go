package httpapi

import (
	"encoding/json"
	"strings"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
)

// currencyOr validates a given currency or falls back to the program's.
func currencyOr(given, programCurrency string) (string, error) {
	if given == "" {
		return programCurrency, nil
	}
	given = referral.NormalizeCurrency(given)
	if referral.ValidCurrency(given) != nil {
		return "", referral.FieldError("invalid_currency", "currency", "Currency must be an ISO 4217 code such as USD.")
	}
	return given, nil
}

// queryCurrency reads ?currency=, defaulting to the program's.
func queryCurrency(v, programCurrency string) (string, error) {
	return currencyOr(strings.TrimSpace(v), programCurrency)
}

// amountJSON renders minor units of currency as a JSON number in major
// units; percent-off amounts (no currency) render as a percentage.
func amountJSON(minor int64, currency string) json.Number {
	if currency == "" {
		return money.FormatPercent(minor)
	}
	return money.Format(minor, currency)
}
