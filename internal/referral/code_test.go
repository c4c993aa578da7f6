package referral_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestCodeStem(t *testing.T) {
	tests := []struct {
		name, customer, email, want string
	}{
		{"first name", "Jane Doe", "jane@x.com", "JANE"},
		{"diacritics stripped", "Jörg Müller", "", "JORG"},
		{"lower case", "jane", "", "JANE"},
		{"no latin letters falls back to email", "张伟", "li.wei@x.com", "LIWEI"},
		{"email plus tag ignored", "", "li.wei+promo@x.com", "LIWEI"},
		{"email dashes and underscores joined", "", "mary-ann_lee@x.com", "MARYANNL"},
		{"one letter name falls back to email", "J", "jdoe@x.com", "JDOE"},
		{"empty", "", "", "REF"},
		{"nothing usable", "张伟", "42@x.com", "REF"},
		{"long name cut to 8", "Bartholomew Smith", "", "BARTHOLO"},
		{"leading punctuation skipped", "  -Anne", "", "ANNE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := referral.CodeStem(tt.customer, tt.email); got != tt.want {
				t.Errorf("CodeStem(%q, %q) = %q, want %q", tt.customer, tt.email, got, tt.want)
			}
		})
	}
}

// TestCodeStemConcurrent runs under -race: codes are made by concurrent
// requests.
func TestCodeStemConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if got := referral.CodeStem("Jörg Müller", ""); got != "JORG" {
					t.Errorf("got %q, want JORG", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCandidateCode(t *testing.T) {
	const digits = "23456789"
	const chars = "23456789ABCDEFGHJKMNPQRSTWXYZ"
	tests := []struct {
		name      string
		attempts  []int
		suffixLen int
		alphabet  string
	}{
		{"first attempts add two digits", []int{0, 1, 2, 3}, 2, digits},
		{"then four digits", []int{4, 5, 6, 7}, 4, digits},
		{"then six characters", []int{8, 12, 19}, 6, chars},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, attempt := range tt.attempts {
				for range 200 {
					code := referral.CandidateCode("JANE", attempt)
					suffix, ok := strings.CutPrefix(code, "JANE")
					if !ok || len(suffix) != tt.suffixLen {
						t.Fatalf("attempt %d: got %q, want JANE and %d characters", attempt, code, tt.suffixLen)
					}
					if i := strings.IndexFunc(suffix, func(r rune) bool { return !strings.ContainsRune(tt.alphabet, r) }); i >= 0 {
						t.Fatalf("attempt %d: %q has %q outside %q", attempt, code, suffix[i], tt.alphabet)
					}
					if strings.ContainsAny(suffix, "01OILUV") {
						t.Fatalf("attempt %d: %q has an ambiguous character", attempt, code)
					}
					if msg := referral.ValidCode(code); msg != "" {
						t.Fatalf("attempt %d: %q is not a valid code: %s", attempt, code, msg)
					}
				}
			}
		})
	}
	t.Run("suffixes vary", func(t *testing.T) {
		seen := map[string]bool{}
		for range 200 {
			seen[referral.CandidateCode("JANE", 8)] = true
		}
		if len(seen) < 190 {
			t.Errorf("got %d distinct six-character candidates in 200, want nearly all distinct", len(seen))
		}
	})
}

func TestValidCode(t *testing.T) {
	tests := []struct {
		name, code string
		ok         bool
	}{
		{"seed style", "JANE20", true},
		{"dash and underscore", "SPRING-SALE_2", true},
		{"shortest", "ABC", true},
		{"longest", strings.Repeat("A", 32), true},
		{"too short", "AB", false},
		{"too long", strings.Repeat("A", 33), false},
		{"lower case", "jane20", false},
		{"space", "JANE 20", false},
		{"accented", "JÖRG", false},
		{"slash", "A/B", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := referral.ValidCode(tt.code)
			if (msg == "") != tt.ok {
				t.Errorf("ValidCode(%q) = %q, want ok=%v", tt.code, msg, tt.ok)
			}
		})
	}
}

func TestNormalizeCode(t *testing.T) {
	if got := referral.NormalizeCode("  jane20 "); got != "JANE20" {
		t.Errorf("NormalizeCode = %q, want JANE20", got)
	}
}
