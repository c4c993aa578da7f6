package httpapi

import (
	"net/http"
	"strconv"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// leaderJSON is one row of GET /v1/leaderboard. The display name is the
// one the widget shows; the key is for the business's own backend.
type leaderJSON struct {
	Rank                int    `json:"rank"`
	DisplayName         string `json:"display_name"`
	CustomerKey         string `json:"customer_key"`
	SuccessfulReferrals int    `json:"successful_referrals"`
}

// Leaderboard lists the program's top referrers by successful referrals,
// of all time unless ?period=month, whether or not the widget shows them.
func (s *Server) Leaderboard(w http.ResponseWriter, r *http.Request) error {
	period, limit, err := leaderboardQuery(r)
	if err != nil {
		return err
	}
	rows, err := s.DB.Leaderboard(r.Context(), program(r).ID, period, limit)
	if err != nil {
		return err
	}
	out := make([]leaderJSON, 0, len(rows))
	for _, l := range rows {
		out = append(out, leaderJSON{Rank: l.Rank, DisplayName: referral.DisplayName(l.Name), CustomerKey: l.CustomerKey,
			SuccessfulReferrals: l.SuccessfulReferrals})
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "period": period})
	return nil
}

// leaderboardQuery reads ?period= (month or all, all by default) and
// ?limit= (1 to 100, store.LeaderboardLimit by default).
func leaderboardQuery(r *http.Request) (string, int, error) {
	q := r.URL.Query()
	period := q.Get("period")
	if period == "" {
		period = referral.PeriodAll
	}
	if period != referral.PeriodAll && period != referral.PeriodMonth {
		return "", 0, referral.FieldError("invalid_period", "period", "Period must be month or all.")
	}
	limit := store.LeaderboardLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return "", 0, referral.FieldError("invalid_limit", "limit", "Limit must be a whole number from 1 to 100.")
		}
		limit = n
	}
	return period, limit, nil
}

// widgetLeaderJSON is a leaderboard row as the widget shows it: no key
// and no email, only the shortened name, and which row is the viewer's.
type widgetLeaderJSON struct {
	Rank                int    `json:"rank"`
	DisplayName         string `json:"display_name"`
	SuccessfulReferrals int    `json:"successful_referrals"`
	You                 bool   `json:"you"`
}

// widgetLeaderboard is the all-time leaderboard for the widget of
// customerID's, or nil when the program does not show one.
func (s *Server) widgetLeaderboard(r *http.Request, p *referral.Program, customerID string) ([]widgetLeaderJSON, error) {
	if !p.ShowLeaderboard {
		return nil, nil
	}
	rows, err := s.DB.Leaderboard(r.Context(), p.ID, referral.PeriodAll, store.LeaderboardLimit)
	if err != nil {
		return nil, err
	}
	out := make([]widgetLeaderJSON, 0, len(rows))
	for _, l := range rows {
		out = append(out, widgetLeaderJSON{Rank: l.Rank, DisplayName: referral.DisplayName(l.Name),
			SuccessfulReferrals: l.SuccessfulReferrals, You: l.CustomerID == customerID})
	}
	return out, nil
}
