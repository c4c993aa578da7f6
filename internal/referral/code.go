package referral

import (
	"crypto/rand"
	"math/big"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Referral codes are upper case and unique per program, looked up
// case-insensitively. Generated codes are a readable stem taken from the
// customer's name (like the seed's "JANE20") and a suffix drawn from
// characters that cannot be mistaken for one another.
const (
	MinCodeLen = 3
	MaxCodeLen = 32
	maxStemLen = 8
	// suffixDigits has no 0 or 1, which read as O, I or L.
	suffixDigits = "23456789"
	// suffixChars extends the suffix once a stem is crowded; no 0/O, 1/I/L, U/V.
	suffixChars = "23456789ABCDEFGHJKMNPQRSTWXYZ"
)

// NormalizeCode upper-cases a code given by a client so that lookups are
// case-insensitive.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// ValidCode reports a problem with a custom code, or "".
func ValidCode(code string) string {
	if len(code) < MinCodeLen || len(code) > MaxCodeLen {
		return "Referral code must be 3 to 32 characters."
	}
	for _, c := range code {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "Referral code may contain only letters A-Z, digits, '-' and '_'."
		}
	}
	return ""
}

// CodeStem derives the readable part of a code from a name, falling back to
// the email's local part and then to "REF": "Jörg Müller" gives "JORG", and
// "张伟" <li.wei@x.com> gives "LIWEI".
func CodeStem(name, email string) string {
	if s := stem(name); len(s) >= 2 {
		return s
	}
	if at := strings.IndexByte(email, '@'); at > 0 {
		// A local part joins a name's words with '.', '-' or '_' (li.wei),
		// and a "+tag" is not part of the name.
		local, _, _ := strings.Cut(email[:at], "+")
		local = strings.NewReplacer(".", "", "-", "", "_", "").Replace(local)
		if s := stem(local); len(s) >= 2 {
			return s
		}
	}
	return "REF"
}

func stem(s string) string {
	// A chained Transformer keeps state between calls, so concurrent
	// requests cannot share one: each call makes its own.
	stripMarks := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	s, _, _ = transform.String(stripMarks, s)
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		} else if b.Len() > 0 {
			break // first word only
		}
		if b.Len() == maxStemLen {
			break
		}
	}
	return b.String()
}

// CandidateCode returns the attempt-th candidate code for a stem. The first
// attempts add two digits (JANE20-style); later ones, after collisions, add
// longer suffixes so that a crowded stem still finds a free code quickly.
func CandidateCode(stem string, attempt int) string {
	switch {
	case attempt < 4:
		return stem + randomString(suffixDigits, 2)
	case attempt < 8:
		return stem + randomString(suffixDigits, 4)
	default:
		return stem + randomString(suffixChars, 6)
	}
}

// RandomCode returns n characters that cannot be misread, for codes that
// need no readable stem, such as discount codes.
func RandomCode(n int) string { return randomString(suffixChars, n) }

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		x, _ := rand.Int(rand.Reader, max)
		b[i] = alphabet[x.Int64()]
	}
	return string(b)
}
