package referral

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// BadTextMessage is the field message for text that ValidText refuses.
const BadTextMessage = "Must be UTF-8 text without NUL characters."

// ErrBadText is text that ValidText refuses, found where no field can be
// named (the database's own refusal, a batch row).
var ErrBadText = Errorf(KindInvalid, "invalid_text", "A value holds a NUL character or invalid UTF-8.")

// BadTextError is ErrBadText about one field, which it names.
func BadTextError(field string) *Error {
	return &Error{Kind: ErrBadText.Kind, Code: ErrBadText.Code, Message: field + ": " + BadTextMessage,
		Fields: map[string]string{field: BadTextMessage}}
}

// ValidText reports whether s can be stored as text on every engine.
// PostgreSQL refuses NUL characters and invalid UTF-8 that SQLite would
// keep, and the two engines must accept the same values.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// CleanText makes s storable text of at most max bytes: invalid UTF-8
// becomes U+FFFD, NUL characters are dropped, and the clip never splits a
// character. It is for values nobody can be told about, such as a click's
// user agent; request fields are refused instead (see ValidText).
func CleanText(s string, max int) string {
	if !ValidText(s) {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	}
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// BadValue reports the first name, in sorted order, of v (a query or a
// form) whose name or a value is not storable text, so that the API and
// the dashboard refuse the same parameters and name the same one. The
// name is cleaned (CleanText) to be shown.
func BadValue(v url.Values) (name string, bad bool) {
	invalid := func(s string) bool { return !ValidText(s) }
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if invalid(k) || slices.ContainsFunc(v[k], invalid) {
			return strings.TrimSpace(CleanText(k, 64)), true
		}
	}
	return "", false
}
