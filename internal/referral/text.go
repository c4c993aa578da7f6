package referral

import (
	"strings"
	"unicode/utf8"
)

// BadTextMessage is the field message for text that ValidText refuses.
const BadTextMessage = "Must be UTF-8 text without NUL characters."

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
