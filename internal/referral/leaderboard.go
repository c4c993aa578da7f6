package referral

import (
	"strings"
	"unicode"
)

// Leaderboard periods: the calendar month so far (UTC), or all time.
const (
	PeriodMonth = "month"
	PeriodAll   = "all"
)

// Leader is one row of a program's leaderboard.
type Leader struct {
	Rank                int
	CustomerID          string
	CustomerKey         string
	Name                string // the customer's name as stored; show DisplayName(Name)
	SuccessfulReferrals int
}

// Anonymous is the display name of a customer with no usable name.
const Anonymous = "Anonymous"

// DisplayName shortens a customer's name for a public leaderboard to the
// first name and the initial of the last ("Jane Doe" → "Jane D."), in the
// case given. Words holding an "@" are dropped first, so that an email or
// handle typed into the name field is never shown; a name with nothing
// left is Anonymous.
func DisplayName(name string) string {
	var words []string
	for _, w := range strings.Fields(name) {
		if !strings.ContainsAny(w, "@＠") {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return Anonymous
	}
	first := words[0]
	if len(words) == 1 {
		return first
	}
	for _, r := range words[len(words)-1] {
		if unicode.IsLetter(r) {
			return first + " " + string(r) + "."
		}
	}
	return first
}
