package money

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"
)

func TestDigits(t *testing.T) {
	tests := []struct {
		name     string
		currency string
		want     int
		wantErr  error
	}{
		{"USD", "USD", 2, nil},
		{"EUR", "EUR", 2, nil},
		{"GBP", "GBP", 2, nil},
		{"JPY zero digits", "JPY", 0, nil},
		{"KRW zero digits", "KRW", 0, nil},
		{"KWD three digits", "KWD", 3, nil},
		{"BHD three digits", "BHD", 3, nil},
		{"OMR three digits", "OMR", 3, nil},
		{"CLF four digits", "CLF", 4, nil},
		{"CHF standard not cash", "CHF", 2, nil},
		{"HUF standard not cash", "HUF", 2, nil},
		{"TWD standard not cash", "TWD", 2, nil},
		{"IDR CLDR zero", "IDR", 0, nil},
		{"lower case", "usd", 0, ErrUnknownCurrency},
		{"mixed case", "Usd", 0, ErrUnknownCurrency},
		{"unknown", "ZZZ", 0, ErrUnknownCurrency},
		{"no currency XXX", "XXX", 0, ErrUnknownCurrency},
		{"empty", "", 0, ErrUnknownCurrency},
		{"too short", "US", 0, ErrUnknownCurrency},
		{"too long", "USDX", 0, ErrUnknownCurrency},
		{"padded", " USD", 0, ErrUnknownCurrency},
		{"digits", "123", 0, ErrUnknownCurrency},
		{"non-ASCII", "ÜSD", 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Digits(tt.currency)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Digits(%q) error = %v, want %v", tt.currency, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Digits(%q) = %d, want %d", tt.currency, got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		currency string
		want     int64
		wantErr  error
	}{
		// Plain values.
		{"integer", "10", "USD", 1000, nil},
		{"exact cents", "45.00", "USD", 4500, nil},
		{"one decimal", "0.1", "USD", 10, nil},
		{"two decimals", "12.34", "USD", 1234, nil},
		{"zero", "0", "USD", 0, nil},
		{"zero with decimals", "0.00", "USD", 0, nil},
		{"negative zero", "-0", "USD", 0, nil},
		{"negative zero decimals", "-0.000", "USD", 0, nil},
		{"negative", "-12.34", "USD", -1234, nil},
		{"negative cent", "-0.05", "USD", -5, nil},
		{"trailing zeros beyond digits", "10.000", "USD", 1000, nil},
		{"many trailing zeros", "10.50000000000000000000000000", "USD", 1050, nil},
		{"leading zero fraction", "0.01", "USD", 1, nil},

		// Currencies with other digit counts.
		{"JPY integer", "1000", "JPY", 1000, nil},
		{"JPY trailing zero", "1000.0", "JPY", 1000, nil},
		{"JPY fraction", "1000.5", "JPY", 0, ErrTooPrecise},
		{"KWD three digits", "1.234", "KWD", 1234, nil},
		{"BHD one fil", "0.001", "BHD", 1, nil},
		{"BHD too precise", "0.0001", "BHD", 0, ErrTooPrecise},
		{"CLF four digits", "1.0001", "CLF", 10001, nil},

		// Exponents.
		{"exponent", "1e2", "USD", 10000, nil},
		{"upper exponent", "1E2", "USD", 10000, nil},
		{"plus exponent", "1e+2", "USD", 10000, nil},
		{"fraction with exponent", "1.5e1", "USD", 1500, nil},
		{"negative exponent", "150e-2", "USD", 150, nil},
		{"negative exponent to cents", "1e-2", "USD", 1, nil},
		{"zero exponent", "7e0", "USD", 700, nil},
		{"leading zero exponent", "7e007", "JPY", 70000000, nil},
		{"exponent too precise", "1e-3", "USD", 0, ErrTooPrecise},
		{"exponent cancels precision", "1.005e1", "USD", 1005, nil},
		{"huge exponent", "1e400", "USD", 0, ErrOutOfRange},
		{"absurd exponent", "1e99999999999999999999999999999", "USD", 0, ErrOutOfRange},
		{"absurd negative exponent", "1e-99999999999999999999999999999", "USD", 0, ErrTooPrecise},
		{"zero with absurd exponent", "0e99999999999999999999999999999", "USD", 0, nil},
		{"zero with absurd negative exponent", "-0.0e-99999999999999999999999999", "USD", 0, nil},
		{"trailing zeros and negative exponent", "1000e-5", "USD", 1, nil},

		// Precision.
		{"too precise", "10.005", "USD", 0, ErrTooPrecise},
		{"too precise tiny", "0.001", "USD", 0, ErrTooPrecise},
		{"too precise negative", "-10.005", "USD", 0, ErrTooPrecise},
		{"precision checked before range", "99999999999999999999.001", "USD", 0, ErrTooPrecise},

		// Range limits.
		{"max int64 JPY", "9223372036854775807", "JPY", math.MaxInt64, nil},
		{"min int64 JPY", "-9223372036854775808", "JPY", math.MinInt64, nil},
		{"above max JPY", "9223372036854775808", "JPY", 0, ErrOutOfRange},
		{"below min JPY", "-9223372036854775809", "JPY", 0, ErrOutOfRange},
		{"max int64 USD", "92233720368547758.07", "USD", math.MaxInt64, nil},
		{"above max USD", "92233720368547758.08", "USD", 0, ErrOutOfRange},
		{"min int64 USD", "-92233720368547758.08", "USD", math.MinInt64, nil},
		{"below min USD", "-92233720368547758.09", "USD", 0, ErrOutOfRange},
		{"max int64 KWD", "9223372036854775.807", "KWD", math.MaxInt64, nil},
		{"above max KWD", "9223372036854775.808", "KWD", 0, ErrOutOfRange},
		{"twenty digits", "10000000000000000000", "JPY", 0, ErrOutOfRange},
		{"max via exponent", "9.223372036854775807e18", "JPY", math.MaxInt64, nil},
		{"very long number", "1" + strings.Repeat("0", 10000), "JPY", 0, ErrOutOfRange},

		// Syntax.
		{"empty", "", "USD", 0, ErrInvalid},
		{"leading dot", ".5", "USD", 0, ErrInvalid},
		{"negative leading dot", "-.5", "USD", 0, ErrInvalid},
		{"trailing dot", "5.", "USD", 0, ErrInvalid},
		{"dot before exponent", "5.e1", "USD", 0, ErrInvalid},
		{"plus sign", "+5", "USD", 0, ErrInvalid},
		{"leading zeros", "00012", "USD", 0, ErrInvalid},
		{"leading zero before fraction", "01.5", "USD", 0, ErrInvalid},
		{"negative leading zeros", "-012", "USD", 0, ErrInvalid},
		{"leading space", " 5", "USD", 0, ErrInvalid},
		{"trailing space", "5 ", "USD", 0, ErrInvalid},
		{"trailing newline", "5\n", "USD", 0, ErrInvalid},
		{"lone minus", "-", "USD", 0, ErrInvalid},
		{"double minus", "--5", "USD", 0, ErrInvalid},
		{"exponent without digits", "1e", "USD", 0, ErrInvalid},
		{"exponent sign without digits", "1e+", "USD", 0, ErrInvalid},
		{"exponent only", "e5", "USD", 0, ErrInvalid},
		{"two dots", "1.2.3", "USD", 0, ErrInvalid},
		{"fraction in exponent", "1e1.5", "USD", 0, ErrInvalid},
		{"hex", "0x10", "USD", 0, ErrInvalid},
		{"underscore", "1_000", "USD", 0, ErrInvalid},
		{"comma", "1,000", "USD", 0, ErrInvalid},
		{"NaN", "NaN", "USD", 0, ErrInvalid},
		{"Infinity", "Infinity", "USD", 0, ErrInvalid},
		{"quoted", `"5"`, "USD", 0, ErrInvalid},
		{"non-ASCII digit", "١", "USD", 0, ErrInvalid},
		{"trailing garbage", "5x", "USD", 0, ErrInvalid},

		// Currency.
		{"lower-case currency", "5", "usd", 0, ErrUnknownCurrency},
		{"unknown currency", "5", "ZZZ", 0, ErrUnknownCurrency},
		{"empty currency", "5", "", 0, ErrUnknownCurrency},
		{"currency checked first", "garbage", "usd", 0, ErrUnknownCurrency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(json.Number(tt.in), tt.currency)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Parse(%q, %q) = %d, %v; want error %v", tt.in, tt.currency, got, err, tt.wantErr)
				}
				if got != 0 {
					t.Errorf("Parse(%q, %q) returned %d alongside an error", tt.in, tt.currency, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q, %q) = %d, %v; want %d", tt.in, tt.currency, got, err, tt.want)
			}
		})
	}
}

// TestParseFromDecoder checks the intended wire path: a JSON document decoded
// with UseNumber yields json.Number values that Parse converts exactly.
func TestParseFromDecoder(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want int64
	}{
		{"cents", `{"amount": 45.10}`, 4510},
		{"exponent", `{"amount": 1.5e1}`, 1500},
		{"not float-representable", `{"amount": 0.29}`, 29},
		{"beyond float64 precision", `{"amount": 90071992547409.93}`, 9007199254740993},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tt.doc))
			dec.UseNumber()
			var v struct {
				Amount json.Number `json:"amount"`
			}
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			got, err := Parse(v.Amount, "USD")
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %d, %v; want %d", v.Amount, got, err, tt.want)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		name     string
		minor    int64
		currency string
		want     string
	}{
		{"dollars", 4500, "USD", "45.00"},
		{"cents", 4510, "USD", "45.10"},
		{"one cent", 1, "USD", "0.01"},
		{"ten cents", 10, "USD", "0.10"},
		{"zero USD", 0, "USD", "0.00"},
		{"negative cents", -5, "USD", "-0.05"},
		{"negative dollars", -12345, "USD", "-123.45"},
		{"JPY", 1000, "JPY", "1000"},
		{"zero JPY", 0, "JPY", "0"},
		{"negative JPY", -7, "JPY", "-7"},
		{"KWD", 1234, "KWD", "1.234"},
		{"KWD one fil", 1, "KWD", "0.001"},
		{"CLF", 10001, "CLF", "1.0001"},
		{"max USD", math.MaxInt64, "USD", "92233720368547758.07"},
		{"min USD", math.MinInt64, "USD", "-92233720368547758.08"},
		{"max JPY", math.MaxInt64, "JPY", "9223372036854775807"},
		{"min JPY", math.MinInt64, "JPY", "-9223372036854775808"},
		{"min KWD", math.MinInt64, "KWD", "-9223372036854775.808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.minor, tt.currency)
			if string(got) != tt.want {
				t.Fatalf("Format(%d, %q) = %q, want %q", tt.minor, tt.currency, got, tt.want)
			}
			back, err := Parse(got, tt.currency)
			if err != nil || back != tt.minor {
				t.Errorf("Parse(Format(%d, %q)) = %d, %v", tt.minor, tt.currency, back, err)
			}
		})
	}
}

func TestFormatMarshalJSON(t *testing.T) {
	v := struct {
		Amount   json.Number `json:"amount"`
		Currency string      `json:"currency"`
	}{Format(4500, "USD"), "USD"}
	got, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"amount":45.00,"currency":"USD"}`; string(got) != want {
		t.Fatalf("json.Marshal = %s, want %s", got, want)
	}
}

func TestFormatUnknownCurrencyPanics(t *testing.T) {
	for _, cur := range []string{"usd", "ZZZ", ""} {
		t.Run(strconv.Quote(cur), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Format(1, %q) did not panic", cur)
				}
			}()
			Format(1, cur)
		})
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		name   string
		amount int64
		bp     int64
		want   int64
	}{
		{"ten percent", 10000, 1000, 1000},
		{"twelve and a half percent", 1000, 1250, 125},
		{"hundred percent", 4599, 10000, 4599},
		{"zero percent", 4599, 0, 0},
		{"zero amount", 0, 1250, 0},
		{"one basis point", 10000, 1, 1},
		{"exact half rounds up", 5, 1000, 1},           // 0.5
		{"below half rounds down", 14, 1000, 1},        // 1.4
		{"above half rounds up", 16, 1000, 2},          // 1.6
		{"negative half away from zero", -5, 1000, -1}, // -0.5
		{"negative below half", -14, 1000, -1},         // -1.4
		{"negative above half", -16, 1000, -2},         // -1.6
		{"tiny rounds to zero", 1, 4999, 0},            // 0.4999
		{"tiny half rounds up", 1, 5000, 1},            // 0.5
		{"max amount full", math.MaxInt64, 10000, math.MaxInt64},
		{"min amount full", math.MinInt64, 10000, math.MinInt64},
		{"max amount half", math.MaxInt64, 5000, 4611686018427387904},  // 4611686018427387903.5
		{"min amount half", math.MinInt64, 5000, -4611686018427387904}, // exact
		{"max amount one bp", math.MaxInt64, 1, 922337203685478},       // 922337203685477.5807
		{"more than hundred percent", 100, 25000, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percent(tt.amount, tt.bp); got != tt.want {
				t.Fatalf("Percent(%d, %d) = %d, want %d", tt.amount, tt.bp, got, tt.want)
			}
		})
	}
}

func TestProrate(t *testing.T) {
	tests := []struct {
		name                string
		amount, part, whole int64
		want                int64
	}{
		{"half", 1000, 1, 2, 500},
		{"third rounds down", 1000, 1, 3, 333},    // 333.33
		{"two thirds rounds up", 1000, 2, 3, 667}, // 666.67
		{"half cent rounds up", 1, 1, 2, 1},
		{"negative half cent", -1, 1, 2, -1},
		{"negative part", 1000, -1, 3, -333},
		{"negative whole", 1000, 1, -3, -333},
		{"all negative", -1000, -2, -3, -667},
		{"whole part", 4599, 4599, 4599, 4599},
		{"zero part", 4599, 0, 4599, 0},
		{"partial refund", 500, 2500, 10000, 125},
		{"large operands exact", math.MaxInt64, math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{"large product", math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64, math.MaxInt64 - 1},
		{"min int", math.MinInt64, math.MinInt64, math.MinInt64, math.MinInt64},
		{"min int negated fits when halved", math.MinInt64, -1, 2, 1 << 62},
		{"large half rounds away", math.MaxInt64, 1, 2, 1 << 62}, // 4611686018427387903.5
		{"large negative half rounds away", -math.MaxInt64, 1, 2, -(1 << 62)},
		{"rounds to min int", -65535, 281479271743489, 2, math.MinInt64}, // -(2^64-1)/2
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Prorate(tt.amount, tt.part, tt.whole)
			if got != tt.want {
				t.Fatalf("Prorate(%d, %d, %d) = %d, want %d", tt.amount, tt.part, tt.whole, got, tt.want)
			}
			if want := prorateOracle(tt.amount, tt.part, tt.whole); want.Cmp(big.NewInt(got)) != 0 {
				t.Errorf("oracle disagrees: %s", want)
			}
		})
	}
}

func TestProratePanics(t *testing.T) {
	tests := []struct {
		name                string
		amount, part, whole int64
	}{
		{"zero whole", 1, 1, 0},
		{"double", math.MaxInt64, 2, 1},
		{"min int negated", math.MinInt64, -1, 1},
		{"overflow", math.MaxInt64, 3, 2},
		{"overflow by rounding", 65535, 281479271743489, 2}, // (2^64-1)/2 = MaxInt64 + 0.5
		{"percent overflow", math.MaxInt64, 20000, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Prorate(%d, %d, %d) did not panic", tt.amount, tt.part, tt.whole)
				}
			}()
			Prorate(tt.amount, tt.part, tt.whole)
		})
	}
}

// prorateOracle computes amount*part/whole rounded half away from zero with
// math/big, for cross-checking Prorate.
func prorateOracle(amount, part, whole int64) *big.Int {
	num := new(big.Int).Mul(big.NewInt(amount), big.NewInt(part))
	den := big.NewInt(whole)
	if den.Sign() < 0 {
		num.Neg(num)
		den.Neg(den)
	}
	neg := num.Sign() < 0
	num.Abs(num)
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return q
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr error
	}{
		{"twelve and a half", "12.5", 1250, nil},
		{"hundred", "100", 10000, nil},
		{"hundred with decimals", "100.00", 10000, nil},
		{"zero", "0", 0, nil},
		{"negative zero", "-0", 0, nil},
		{"one basis point", "0.01", 1, nil},
		{"two decimals", "12.34", 1234, nil},
		{"trailing zeros", "12.3400", 1234, nil},
		{"exponent", "1.25e1", 1250, nil},
		{"hundred via exponent", "1e2", 10000, nil},
		{"above hundred", "100.01", 0, ErrOutOfRange},
		{"way above", "1e400", 0, ErrOutOfRange},
		{"negative", "-1", 0, ErrOutOfRange},
		{"negative cent", "-0.01", 0, ErrOutOfRange},
		{"too precise", "12.345", 0, ErrTooPrecise},
		{"too precise small", "0.001", 0, ErrTooPrecise},
		{"too precise beats negative", "-12.345", 0, ErrTooPrecise},
		{"empty", "", 0, ErrInvalid},
		{"percent sign", "12%", 0, ErrInvalid},
		{"leading dot", ".5", 0, ErrInvalid},
		{"plus", "+5", 0, ErrInvalid},
		{"spaces", " 5", 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePercent(json.Number(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != 0 {
					t.Fatalf("ParsePercent(%q) = %d, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePercent(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestFormatPercent(t *testing.T) {
	tests := []struct {
		name string
		bp   int64
		want string
	}{
		{"twelve and a half", 1250, "12.5"},
		{"hundred", 10000, "100"},
		{"fifth of a percent", 20, "0.2"},
		{"one basis point", 1, "0.01"},
		{"five basis points", 5, "0.05"},
		{"two decimals", 1234, "12.34"},
		{"whole percent", 1200, "12"},
		{"ten percent", 1000, "10"},
		{"zero", 0, "0"},
		{"negative", -1250, "-12.5"},
		{"min int", math.MinInt64, "-92233720368547758.08"},
		{"max int", math.MaxInt64, "92233720368547758.07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FormatPercent(tt.bp)
			if string(got) != tt.want {
				t.Fatalf("FormatPercent(%d) = %q, want %q", tt.bp, got, tt.want)
			}
			if tt.bp < 0 || tt.bp > BasisPointsPerWhole {
				return
			}
			back, err := ParsePercent(got)
			if err != nil || back != tt.bp {
				t.Errorf("ParsePercent(FormatPercent(%d)) = %d, %v", tt.bp, back, err)
			}
		})
	}
}

// fuzzCurrencies covers every digit count in use (0, 2, 3 and 4).
var fuzzCurrencies = []string{"USD", "JPY", "KWD", "CLF"}

// FuzzParseFormat checks that Parse accepts exactly the JSON number literals,
// agrees with a math/big oracle, and that Format(Parse(x)) re-parses to the
// same minor units.
func FuzzParseFormat(f *testing.F) {
	seeds := []string{
		"0", "-0", "10", "45.00", "0.1", "10.005", "10.000", "1e2", "1.5e1",
		"1e-3", "1e400", "-5.5", ".5", "5.", "+5", "00012", " 5", "",
		"9223372036854775807", "-9223372036854775808", "92233720368547758.08",
		"-92233720368547758.08", "1e99999999999999999999", "0e-99999999999",
	}
	for i, s := range seeds {
		f.Add(s, uint8(i))
	}
	f.Fuzz(func(t *testing.T, s string, c uint8) {
		cur := fuzzCurrencies[int(c)%len(fuzzCurrencies)]
		digits, err := Digits(cur)
		if err != nil {
			t.Fatal(err)
		}
		minor, err := Parse(json.Number(s), cur)

		isNumber := json.Valid([]byte(s)) && strings.TrimSpace(s) == s && s != "" &&
			(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
		if errors.Is(err, ErrInvalid) == isNumber {
			t.Fatalf("Parse(%q): err = %v, but JSON number = %v", s, err, isNumber)
		}
		if isNumber {
			checkOracle(t, s, cur, digits, minor, err)
		}
		if err != nil {
			if minor != 0 {
				t.Fatalf("Parse(%q, %s) = %d alongside error %v", s, cur, minor, err)
			}
			return
		}

		out := Format(minor, cur)
		if !json.Valid([]byte(out)) {
			t.Fatalf("Format(%d, %s) = %q is not valid JSON", minor, cur, out)
		}
		if digits > 0 {
			dot := strings.IndexByte(string(out), '.')
			if dot < 0 || len(out)-dot-1 != digits {
				t.Fatalf("Format(%d, %s) = %q does not have %d decimals", minor, cur, out, digits)
			}
		} else if strings.ContainsAny(string(out), ".eE") {
			t.Fatalf("Format(%d, %s) = %q is not an integer", minor, cur, out)
		}
		back, err := Parse(out, cur)
		if err != nil || back != minor {
			t.Fatalf("Parse(Format(Parse(%q))) = Parse(%q) = %d, %v; want %d", s, out, back, err, minor)
		}
		if again := Format(back, cur); again != out {
			t.Fatalf("Format not stable: %q then %q", out, again)
		}
	})
}

// checkOracle compares Parse's result for the JSON number s against an exact
// math/big evaluation, when the exponent is small enough to evaluate cheaply.
func checkOracle(t *testing.T, s, cur string, digits int, minor int64, err error) {
	t.Helper()
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, convErr := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if convErr != nil || e > 1000 || e < -1000 {
			return
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		t.Fatalf("big.Rat rejected JSON number %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)))
	switch {
	case !r.IsInt():
		if !errors.Is(err, ErrTooPrecise) {
			t.Fatalf("Parse(%q, %s) = %d, %v; want ErrTooPrecise", s, cur, minor, err)
		}
	case !r.Num().IsInt64():
		if !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("Parse(%q, %s) = %d, %v; want ErrOutOfRange", s, cur, minor, err)
		}
	default:
		if err != nil || minor != r.Num().Int64() {
			t.Fatalf("Parse(%q, %s) = %d, %v; want %s", s, cur, minor, err, r.Num())
		}
	}
}

// FuzzProrate cross-checks Prorate against a math/big oracle, including the
// panics for a zero whole and for results outside int64.
func FuzzProrate(f *testing.F) {
	f.Add(int64(1000), int64(2), int64(3))
	f.Add(int64(math.MinInt64), int64(-1), int64(1))
	f.Add(int64(65535), int64(281479271743489), int64(2))
	f.Add(int64(1), int64(1), int64(0))
	f.Fuzz(func(t *testing.T, amount, part, whole int64) {
		var got int64
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			got = Prorate(amount, part, whole)
			return false
		}()
		if whole == 0 {
			if !panicked {
				t.Fatalf("Prorate(%d, %d, 0) did not panic", amount, part)
			}
			return
		}
		want := prorateOracle(amount, part, whole)
		if !want.IsInt64() {
			if !panicked {
				t.Fatalf("Prorate(%d, %d, %d) = %d, want panic (true result %s)", amount, part, whole, got, want)
			}
			return
		}
		if panicked || got != want.Int64() {
			t.Fatalf("Prorate(%d, %d, %d) = %d (panicked %v), want %s", amount, part, whole, got, panicked, want)
		}
	})
}
