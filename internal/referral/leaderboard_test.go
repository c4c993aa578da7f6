package referral_test

import (
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"first and last", "Jane Doe", "Jane D."},
		{"first only", "Jane", "Jane"},
		{"case kept", "jane doe", "jane d."},
		{"middle name skipped", "Mary Ann Smith", "Mary S."},
		{"spaces", "  Jane \t Doe  ", "Jane D."},
		{"empty", "", referral.Anonymous},
		{"blank", "   ", referral.Anonymous},
		{"email", "jane.doe@example.com", referral.Anonymous},
		{"email after name", "Jane jane@example.com", "Jane"},
		{"email in parentheses", "Jane Doe (jane@example.com)", "Jane D."},
		{"email first", "jane@example.com Doe", "Doe"},
		{"handle", "@jane", referral.Anonymous},
		{"full-width at", "Jane jane＠example.com", "Jane"},
		{"initial after punctuation", "Jane (Doe)", "Jane D."},
		{"last word without letters", "Jane 3", "Jane"},
		{"non-latin", "Zoë Ångström", "Zoë Å."},
		{"cyrillic", "Иван Петров", "Иван П."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := referral.DisplayName(tc.in); got != tc.want {
				t.Errorf("DisplayName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
