package referral

import (
	"strings"
	"testing"
)

// FuzzCode checks the referral code rules on any input: a code that
// passes ValidCode after NormalizeCode is storable ASCII text within the
// limits, normalizing is idempotent, and the codes Advocate generates
// from any name and email are valid.
//
//	go test -run XXX -fuzz FuzzCode -fuzztime 30s ./internal/referral/
func FuzzCode(f *testing.F) {
	for _, s := range []struct{ code, name, email string }{
		{"JANE20", "Jane Doe", "jane@example.com"},
		{" jane20 ", "Jörg Müller", "jorg@example.com"},
		{"JANE20\x00", "张伟", "li.wei@x.com"},
		{"\x00\x00\x00", "\x00", "\x00@\x00"},
		{"ab\xff", "\xff\xfe", "a+b@\xff"},
		{"jıM", "ſam", "ﬀ@x"},
		{strings.Repeat("A", 33), strings.Repeat("é", 300), ""},
		{"A-_", "", "@"},
	} {
		f.Add(s.code, s.name, s.email)
	}
	f.Fuzz(func(t *testing.T, code, name, email string) {
		n := NormalizeCode(code)
		if NormalizeCode(n) != n {
			t.Errorf("NormalizeCode(%q) = %q, but NormalizeCode(%q) = %q", code, n, n, NormalizeCode(n))
		}
		if ValidCode(n) == "" {
			if !ValidText(n) || len(n) < MinCodeLen || len(n) > MaxCodeLen || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
				t.Errorf("ValidCode accepts %q (from %q)", n, code)
			}
		}
		stem := CodeStem(name, email)
		if len(stem) < 2 || len(stem) > maxStemLen || strings.Trim(stem, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Errorf("CodeStem(%q, %q) = %q", name, email, stem)
		}
		for _, attempt := range []int{0, 4, 8} {
			if c := CandidateCode(stem, attempt); ValidCode(c) != "" || NormalizeCode(c) != c {
				t.Errorf("CandidateCode(%q, %d) = %q: %s", stem, attempt, c, ValidCode(c))
			}
		}
	})
}
