package referral

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "https://yoursite.com/?ref=JANE20", 100, "https://yoursite.com/?ref=JANE20"},
		{"NUL dropped", "a\x00b", 100, "ab"},
		{"invalid UTF-8 replaced", "a\xffb", 100, "a\uFFFDb"},
		{"clip at limit", "abcdef", 3, "abc"},
		{"clip never splits a character", "ab€", 4, "ab"},
		{"clip at a character's end", "ab€", 5, "ab€"},
		{"1,001-byte url clipped to 1,000", strings.Repeat("a", 999) + "é", 1000, strings.Repeat("a", 999)},
		{"clip after cleaning", "\x00\x00abc", 2, "ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CleanText(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("CleanText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			if !ValidText(got) || len(got) > tc.max {
				t.Errorf("CleanText(%q, %d) = %q: not valid text of at most %d bytes", tc.in, tc.max, got, tc.max)
			}
		})
	}
}

// TestBadValue: the first bad parameter in sorted order, by its name or any
// of its values, named cleaned so that the name can be shown.
func TestBadValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    url.Values
		want string
		bad  bool
	}{
		{"none", nil, "", false},
		{"all good", url.Values{"q": {"jane"}, "after": {"", "x"}}, "", false},
		{"NUL in a value", url.Values{"q": {"a\x00b"}}, "q", true},
		{"invalid UTF-8 in a second value", url.Values{"q": {"ok", "a\xffb"}}, "q", true},
		{"NUL in a name", url.Values{"a\x00b": {"ok"}}, "ab", true},
		{"invalid UTF-8 in a name", url.Values{"a\xffb": nil}, "a\uFFFDb", true},
		{"the first in order", url.Values{"z": {"\x00"}, "b": {"\x00"}, "a": {"ok"}}, "b", true},
		{"a long name clipped", url.Values{strings.Repeat("n", 100) + "\x00": nil}, strings.Repeat("n", 64), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, bad := BadValue(tc.v)
			if got != tc.want || bad != tc.bad {
				t.Errorf("BadValue(%q) = %q, %v; want %q, %v", tc.v, got, bad, tc.want, tc.bad)
			}
		})
	}
}

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"", "a\x00b", "\xff", strings.Repeat("é", 600), "ab€"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		n := int(uint(max) % 2000)
		got := CleanText(s, n)
		if !ValidText(got) || len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(CleanText(s, 1<<20), got) {
			t.Errorf("CleanText(%q, %d) = %q", s, n, got)
		}
	})
}
