// Package money represents monetary values as an int64 count of minor units
// (cents, fils, yen, ...) together with an ISO 4217 currency code.
//
// Floating point is never used: binary floats cannot represent most decimal
// fractions (0.1 USD has no exact float64 value), so rounding errors would
// leak into balances and payouts. Instead, amounts travel on the wire as
// major-unit JSON numbers (45.00 means forty-five dollars) that are decoded
// with json.Decoder.UseNumber and converted to minor units by [Parse] with
// exact decimal arithmetic, and they are rendered back with [Format].
// Percentages are stored as integer basis points and applied with
// [Percent] and [Prorate], which round half away from zero using 128-bit
// intermediates so they cannot overflow silently.
package money

import (
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Amount is a monetary value: Minor is the number of minor units (for
// example cents for "USD", whole yen for "JPY") and Currency is the upper-case
// ISO 4217 code.
type Amount struct {
	Minor    int64
	Currency string
}

// ErrUnknownCurrency reports a currency code that is not an upper-case,
// three-letter ISO 4217 code known to golang.org/x/text/currency, or that is
// "XXX" (the ISO code for "no currency").
var ErrUnknownCurrency = errors.New("money: unknown currency")

// ErrInvalid reports a string that is not a JSON number literal.
var ErrInvalid = errors.New("money: invalid number")

// ErrTooPrecise reports a number with non-zero digits beyond the precision
// allowed: the currency's minor unit for [Parse], or two decimals for
// [ParsePercent].
var ErrTooPrecise = errors.New("money: too many decimal places")

// ErrOutOfRange reports a number that does not fit in an int64 count of
// minor units, or a percentage outside 0–100.
var ErrOutOfRange = errors.New("money: out of range")

// ErrTooLarge reports an amount whose magnitude is above [MaxAmount].
var ErrTooLarge = errors.New("money: amount too large")

// MaxAmount is the largest magnitude of any amount or balance Advocate
// holds, in minor units: 10^12, that is USD 10,000,000,000.00 or
// JPY 1,000,000,000,000. It is far above any real payment or reward and
// far below the int64 limit (9.2×10^18), so that adding an amount to a
// balance within it cannot overflow, sums over millions of amounts in SQL
// (totals, reports) cannot either, and every amount has at most 13
// significant digits: it survives a trip through a float64 (JavaScript's
// Number) exactly, in minor or major units.
const MaxAmount int64 = 1_000_000_000_000

// BasisPointsPerWhole is the number of basis points in 100%.
const BasisPointsPerWhole = 10000

// Digits reports the number of minor-unit digits of currency: 2 for "USD"
// (cents), 0 for "JPY", 3 for "KWD" and "BHD".
//
// The code must be exactly three upper-case ASCII letters; "usd" is rejected
// with ErrUnknownCurrency even though x/text would accept it, so that stored
// codes are canonical. "XXX" (no currency) is also rejected.
//
// Digits come from CLDR's standard (non-cash) rounding as exposed by
// golang.org/x/text/currency. They match ISO 4217 for the common currencies
// but differ for a few: CLDR uses 0 digits for IDR, COP, PKR, IRR, IQD, LAK,
// MGA and some others where ISO 4217 says 2 (or 3 for IQD), because the
// minor units are not used in practice. Cash rounding (CHF to 0.05, HUF and
// TWD to whole units) is deliberately ignored: HUF and TWD have 2 digits here.
// Since stored amounts are interpreted using these digits, an x/text upgrade
// that changes them would change the meaning of stored data; the tests pin
// the values relied upon.
func Digits(code string) (int, error) {
	if len(code) != 3 {
		return 0, ErrUnknownCurrency
	}
	for i := 0; i < len(code); i++ {
		if code[i] < 'A' || code[i] > 'Z' {
			return 0, ErrUnknownCurrency
		}
	}
	u, err := currency.ParseISO(code)
	if err != nil || u == (currency.Unit{}) { // the zero Unit is "XXX"
		return 0, ErrUnknownCurrency
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

// Parse converts n, a JSON number in major units of currency, into minor
// units exactly: with "USD", "10" gives 1000, "45.00" gives 4500, "0.1" gives
// 10 and "1.5e1" gives 1500.
//
// n must be a JSON number literal (RFC 8259): no leading "+", no leading
// zeros such as "00012", no bare "." at either end, no surrounding spaces;
// anything else is ErrInvalid. Exponents are applied exactly. Trailing zeros
// beyond the currency's digits are accepted because the value is still
// exact ("10.000" USD is 1000), but any non-zero digit beyond them is
// ErrTooPrecise ("10.005" USD, "1e-3" USD). The precision check comes before
// the range check. A value that does not fit in int64 is ErrOutOfRange.
// Negative numbers parse to negative values and "-0" is 0; callers decide
// whether negatives are allowed. An unknown currency is ErrUnknownCurrency.
// Errors are returned unwrapped so they can be compared with errors.Is.
func Parse(n json.Number, currency string) (int64, error) {
	digits, err := Digits(currency)
	if err != nil {
		return 0, err
	}
	d, err := parseDecimal(string(n))
	if err != nil {
		return 0, err
	}
	return d.scaled(digits)
}

// ParseAmount is [Parse] for an amount a client sends: it also refuses a
// magnitude above [MaxAmount] minor units with ErrTooLarge (ErrOutOfRange
// is never returned). Every amount that enters the system goes through it.
func ParseAmount(n json.Number, currency string) (int64, error) {
	v, err := Parse(n, currency)
	if errors.Is(err, ErrOutOfRange) || (err == nil && (v > MaxAmount || v < -MaxAmount)) {
		return 0, ErrTooLarge
	}
	return v, err
}

// TooLargeMessage says what the largest amount is, in currency: the API,
// the dashboard and reward rules refuse a larger one in the same words.
func TooLargeMessage(currency string) string {
	return "The amount must be at most " + string(Format(MaxAmount, currency)) + " " + currency + "."
}

// Problem says what is wrong with an amount that must be positive, from
// what ParseAmount answered for it: a machine code and a message a person
// can act on, or two "" when nothing is. The API and the dashboard answer
// each problem alike.
func Problem(minor int64, err error, currency string) (code, msg string) {
	switch {
	case errors.Is(err, ErrTooLarge):
		return "amount_too_large", TooLargeMessage(currency)
	case errors.Is(err, ErrTooPrecise):
		if digits, _ := Digits(currency); digits > 0 {
			return "amount_too_precise", currency + " amounts have at most " + strconv.Itoa(digits) + " decimals."
		}
		return "amount_too_precise", currency + " amounts have no decimals."
	case errors.Is(err, ErrUnknownCurrency):
		return "invalid_currency", "Currency must be an ISO 4217 code such as USD."
	case err != nil:
		return "invalid_amount", "The amount must be a plain number in " + currency + ", such as 10 or 45.00."
	case minor <= 0:
		return "invalid_amount", "The amount must be more than 0."
	}
	return "", ""
}

// Format renders minor units of currency as a JSON number in major units
// with exactly the currency's digits: 4500 "USD" is 45.00, 1000 "JPY" is
// 1000, -5 "USD" is -0.05. Every int64, including math.MinInt64, is handled.
//
// The result can be returned from a MarshalJSON method or stored in a struct
// field of type json.Number. Format panics if currency is unknown (see
// [Digits]): amounts must only be built from currencies that were validated
// on the way in, so an unknown one here is a programming error.
func Format(minor int64, currency string) json.Number {
	digits, err := Digits(currency)
	if err != nil {
		panic("money: Format: unknown currency " + strconv.Quote(currency))
	}
	return json.Number(formatFixed(minor, digits))
}

// Percent returns amount × basisPoints / 10000 (basisPoints are hundredths of
// a percent, so 12.5% is 1250), rounded half away from zero. It is exact for
// all inputs; it panics only if the result does not fit in int64, which
// cannot happen when basisPoints is within 0–10000 (as [ParsePercent]
// guarantees).
func Percent(amount, basisPoints int64) int64 {
	return Prorate(amount, basisPoints, BasisPointsPerWhole)
}

// Prorate returns amount × part / whole rounded half away from zero, for
// example to shrink a percentage reward when part of a purchase is refunded.
// The product is computed in 128 bits, so it is exact for all inputs. It
// panics if whole is zero or if the result does not fit in int64, which
// cannot happen when |part| ≤ |whole|.
func Prorate(amount, part, whole int64) int64 {
	if whole == 0 {
		panic("money: Prorate: zero whole")
	}
	neg := (amount < 0) != (part < 0) != (whole < 0)
	ua, up, uw := abs(amount), abs(part), abs(whole)
	hi, lo := bits.Mul64(ua, up)
	if hi >= uw { // quotient would not fit in 64 bits (and Div64 would panic)
		panic("money: Prorate: result out of range")
	}
	q, r := bits.Div64(hi, lo, uw)
	if r >= uw-r { // 2r ≥ whole: round the magnitude up (half away from zero)
		q++
		if q == 0 {
			panic("money: Prorate: result out of range")
		}
	}
	if neg {
		if q > 1<<63 {
			panic("money: Prorate: result out of range")
		}
		return int64(-q) // two's complement; q == 1<<63 gives math.MinInt64
	}
	if q > math.MaxInt64 {
		panic("money: Prorate: result out of range")
	}
	return int64(q)
}

// ParsePercent converts n, a JSON number giving a percentage between 0 and
// 100 inclusive with at most two decimals, into basis points: "12.5" is
// 1250, "100" is 10000. It follows the syntax rules of [Parse]. More than
// two non-zero decimals is ErrTooPrecise ("12.345"); negative values and
// values above 100 are ErrOutOfRange ("-1", "100.01"); "-0" is 0. As in
// Parse, the precision check comes first, so "-12.345" is ErrTooPrecise.
func ParsePercent(n json.Number) (int64, error) {
	d, err := parseDecimal(string(n))
	if err != nil {
		return 0, err
	}
	bp, err := d.scaled(2)
	if err != nil {
		return 0, err
	}
	if bp < 0 || bp > BasisPointsPerWhole {
		return 0, ErrOutOfRange
	}
	return bp, nil
}

// FormatPercent renders basis points as a JSON number giving the percentage
// with no trailing zeros: 1250 is 12.5, 10000 is 100, 20 is 0.2, 1 is 0.01.
// Any int64 is rendered, including values outside 0–10000.
func FormatPercent(bp int64) json.Number {
	s := formatFixed(bp, 2)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "" || s == "-" { // cannot happen: formatFixed(…, 2) yields "d.dd"
		s = "0"
	}
	return json.Number(s)
}

// abs returns |v| as a uint64; it is exact for math.MinInt64.
func abs(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

// formatFixed renders v / 10^digits with exactly digits decimals.
func formatFixed(v int64, digits int) string {
	mag := strconv.FormatUint(abs(v), 10)
	if digits > 0 && len(mag) <= digits {
		mag = strings.Repeat("0", digits+1-len(mag)) + mag
	}
	var b strings.Builder
	b.Grow(len(mag) + 2)
	if v < 0 {
		b.WriteByte('-')
	}
	if digits == 0 {
		b.WriteString(mag)
	} else {
		b.WriteString(mag[:len(mag)-digits])
		b.WriteByte('.')
		b.WriteString(mag[len(mag)-digits:])
	}
	return b.String()
}

// decimal is an exactly parsed number: (-1)^neg × sig × 10^exp, where sig is
// a string of decimal digits without leading or trailing zeros, or "" for 0.
type decimal struct {
	neg bool
	sig string
	exp int64
}

// maxInt64Digits is the number of decimal digits of math.MaxInt64.
const maxInt64Digits = 19

// parseDecimal parses a JSON number literal exactly.
//
// The exponent is clamped to ±(len(s)+64) while it is read, so absurd
// exponents such as "1e99999999999999999999" cost nothing. The clamp does
// not change any outcome: a non-zero significand has at most len(s) digits,
// so beyond the clamp the value is either at least 10^60 (out of range) or
// has a non-zero digit at least 60 places below the unit (too precise) for
// every scale up to 4 used here; zero stays zero.
func parseDecimal(s string) (decimal, error) {
	var d decimal
	i := 0
	if i < len(s) && s[i] == '-' {
		d.neg = true
		i++
	}
	// Integer part: "0" or [1-9][0-9]*.
	intStart := i
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return decimal{}, ErrInvalid
	}
	intPart := s[intStart:i]
	// Fraction: "." [0-9]+.
	var frac string
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == start {
			return decimal{}, ErrInvalid
		}
		frac = s[start:i]
	}
	// Exponent: [eE] [+-]? [0-9]+.
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		start := i
		limit := int64(len(s)) + 64
		for i < len(s) && isDigit(s[i]) {
			if exp <= limit {
				exp = exp*10 + int64(s[i]-'0')
			}
			i++
		}
		if i == start {
			return decimal{}, ErrInvalid
		}
		if exp > limit {
			exp = limit + 1
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return decimal{}, ErrInvalid
	}

	sig := strings.TrimLeft(intPart+frac, "0")
	trimmed := strings.TrimRight(sig, "0")
	d.exp = exp - int64(len(frac)) + int64(len(sig)-len(trimmed))
	d.sig = trimmed
	if d.sig == "" {
		return decimal{}, nil // zero, including "-0"
	}
	return d, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scaled returns d × 10^digits as an int64, or ErrTooPrecise if that is not
// an integer, or ErrOutOfRange if it does not fit.
func (d decimal) scaled(digits int) (int64, error) {
	if d.sig == "" {
		return 0, nil
	}
	e := d.exp + int64(digits)
	if e < 0 {
		return 0, ErrTooPrecise // sig has no trailing zeros, so a fraction remains
	}
	if int64(len(d.sig))+e > maxInt64Digits {
		return 0, ErrOutOfRange
	}
	var b strings.Builder
	b.Grow(maxInt64Digits + 1)
	if d.neg {
		b.WriteByte('-')
	}
	b.WriteString(d.sig)
	for ; e > 0; e-- {
		b.WriteByte('0')
	}
	v, err := strconv.ParseInt(b.String(), 10, 64)
	if err != nil {
		return 0, ErrOutOfRange // only a 19-digit value above the int64 limits gets here
	}
	return v, nil
}
