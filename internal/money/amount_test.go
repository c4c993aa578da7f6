package money

import (
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name, n, currency string
		want              int64
		err               error
	}{
		{"ordinary", "45.00", "USD", 4500, nil},
		{"the maximum", "10000000000.00", "USD", MaxAmount, nil},
		{"the maximum in yen", "1000000000000", "JPY", MaxAmount, nil},
		{"the maximum in dinar", "1000000000.000", "KWD", MaxAmount, nil},
		{"minus the maximum", "-10000000000", "USD", -MaxAmount, nil},
		{"a cent above", "10000000000.01", "USD", 0, ErrTooLarge},
		{"a cent below minus the maximum", "-10000000000.01", "USD", 0, ErrTooLarge},
		{"int64 maximum", "92233720368547758.07", "USD", 0, ErrTooLarge},
		{"above int64", "92233720368547758.08", "USD", 0, ErrTooLarge},
		{"beyond float64", "1e400", "USD", 0, ErrTooLarge},
		{"fraction after the exponent", "1e400.001", "USD", 0, ErrInvalid},
		{"too precise", "0.001", "USD", 0, ErrTooPrecise},
		{"unknown currency", "10", "usd", 0, ErrUnknownCurrency},
		{"not a number", "ten", "USD", 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAmount(json.Number(tt.n), tt.currency)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d, %v", tt.n, tt.currency, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestNumberUnmarshal(t *testing.T) {
	tests := []struct {
		name, body string
		want       Number
		kind       string // the JSON type refused, "" if accepted
	}{
		{"integer", `{"a":10}`, "10", ""},
		{"decimal", `{"a":45.00}`, "45.00", ""},
		{"negative exponent", `{"a":-1.5e-3}`, "-1.5e-3", ""},
		{"null leaves it", `{"a":null}`, "", ""},
		{"string", `{"a":"10"}`, "", "string"},
		{"empty string", `{"a":""}`, "", "string"},
		{"bool", `{"a":true}`, "", "bool"},
		{"array", `{"a":[10]}`, "", "array"},
		{"object", `{"a":{"v":10}}`, "", "object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct {
				A Number `json:"a"`
			}
			err := json.Unmarshal([]byte(tt.body), &v)
			if tt.kind == "" {
				if err != nil || v.A != tt.want {
					t.Errorf("got %q, %v; want %q", v.A, err, tt.want)
				}
				return
			}
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &typ) || typ.Field != "a" || typ.Value != tt.kind {
				t.Errorf("got %#v, want a type error about field a holding a %s", err, tt.kind)
			}
		})
	}
}

// FuzzAmount decodes an amount as the API does (a Number field of a JSON
// body, then ParseAmount) and checks: only JSON numbers are accepted; an
// accepted amount is within MaxAmount, equals the exact value written
// (math/big), and formats back to itself; ErrTooLarge is only for values
// beyond MaxAmount.
//
//	go test -run XXX -fuzz FuzzAmount -fuzztime 30s ./internal/money/
func FuzzAmount(f *testing.F) {
	for i, s := range []string{
		`10`, `"10"`, `45.00`, `92233720368547758.07`, `-92233720368547758.08`, `1e400`, `-1e309`,
		`10000000000.00`, `10000000000.01`, `1000000000000`, `1e12`, `1e-400`, `0.001`, `-0`, `true`,
		`null`, `[10]`, `{"v":10}`, `1e99999999999999999999`, `0e-99999999999`, "\"\xff\"", `1.0000000000000000001`,
	} {
		f.Add([]byte(s), uint8(i))
	}
	f.Fuzz(func(t *testing.T, raw []byte, c uint8) {
		cur := fuzzCurrencies[int(c)%len(fuzzCurrencies)]
		digits, _ := Digits(cur)
		var in struct {
			Amount Number `json:"amount"`
		}
		body := append(append([]byte(`{"amount":`), raw...), '}')
		if err := json.Unmarshal(body, &in); err != nil || in.Amount == "" {
			return
		}
		s := string(in.Amount)
		if s[0] != '-' && (s[0] < '0' || s[0] > '9') {
			t.Fatalf("%q decoded to the non-number %q", raw, s)
		}
		minor, err := ParseAmount(json.Number(s), cur)
		exact, ok := exactMinor(s, digits)
		switch {
		case err == nil:
			if minor > MaxAmount || minor < -MaxAmount {
				t.Fatalf("ParseAmount(%q, %s) = %d, beyond MaxAmount", s, cur, minor)
			}
			if ok && (!exact.IsInt() || exact.Num().Cmp(big.NewInt(minor)) != 0) {
				t.Fatalf("ParseAmount(%q, %s) = %d, want %s", s, cur, minor, exact.RatString())
			}
			if back, err := ParseAmount(Format(minor, cur), cur); err != nil || back != minor {
				t.Fatalf("ParseAmount(Format(%d, %s)) = %d, %v", minor, cur, back, err)
			}
		case errors.Is(err, ErrTooLarge):
			limit := new(big.Rat).SetInt64(MaxAmount)
			if ok && new(big.Rat).Abs(exact).Cmp(limit) <= 0 {
				t.Fatalf("ParseAmount(%q, %s) = ErrTooLarge, but it is %s minor units", s, cur, exact.RatString())
			}
		case errors.Is(err, ErrTooPrecise), errors.Is(err, ErrInvalid):
		default:
			t.Fatalf("ParseAmount(%q, %s): unexpected error %v", s, cur, err)
		}
	})
}

// exactMinor returns s × 10^digits exactly, when the exponent is small
// enough to compute cheaply.
func exactMinor(s string, digits int) (*big.Rat, bool) {
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 1000 || e < -1000 {
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, false
	}
	return r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil))), true
}

// TestProblem: each way a positive amount can be wrong has its code and a
// message naming the currency's own limits, the same for every caller.
func TestProblem(t *testing.T) {
	tests := []struct {
		name, n, currency string
		code, msg         string
	}{
		{"fine", "45.00", "USD", "", ""},
		{"too large", "10000000000.01", "USD", "amount_too_large", "The amount must be at most 10000000000.00 USD."},
		{"too large in yen", "1e13", "JPY", "amount_too_large", "The amount must be at most 1000000000000 JPY."},
		{"too precise", "0.001", "USD", "amount_too_precise", "USD amounts have at most 2 decimals."},
		{"too precise in yen", "1.5", "JPY", "amount_too_precise", "JPY amounts have no decimals."},
		{"unknown currency", "10", "usd", "invalid_currency", "Currency must be an ISO 4217 code such as USD."},
		{"not a number", "1,000", "USD", "invalid_amount", "The amount must be a plain number in USD, such as 10 or 45.00."},
		{"zero", "0", "USD", "invalid_amount", "The amount must be more than 0."},
		{"negative", "-5", "USD", "invalid_amount", "The amount must be more than 0."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			minor, err := ParseAmount(json.Number(tt.n), tt.currency)
			if code, msg := Problem(minor, err, tt.currency); code != tt.code || msg != tt.msg {
				t.Errorf("Problem(ParseAmount(%q, %s)) = %q, %q; want %q, %q", tt.n, tt.currency, code, msg, tt.code, tt.msg)
			}
		})
	}
}
