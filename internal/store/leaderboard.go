package store

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

// LeaderboardLimit is how many referrers a leaderboard lists unless asked
// for another number (at most MaxLimit).
const LeaderboardLimit = 10

var errPeriod = referral.FieldError("invalid_period", "period", "Period must be month or all.")

// Leaderboard ranks a program's referrers by successful referrals (neither
// pending nor rejected), counting for PeriodMonth only those that became
// successful since the start of the current calendar month in UTC.
// Deleted referrers are left out. Of referrers with equal counts, the one
// who reached it first ranks higher, then the older customer. It is one
// grouped query on the index customers (program_id, converted_at).
func (db *DB) Leaderboard(ctx context.Context, programID, period string, limit int) ([]referral.Leader, error) {
	since := int64(math.MinInt64)
	switch period {
	case referral.PeriodMonth:
		now := db.Now().UTC()
		since = micros(time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC))
	case referral.PeriodAll:
	default:
		return nil, errPeriod
	}
	if limit <= 0 {
		limit = LeaderboardLimit
	}
	rank := 0
	return queryAll(ctx, db.read, "leaderboard", func(row scanner) (referral.Leader, error) {
		var l referral.Leader
		var key sql.NullString
		var reached int64
		err := row.Scan(&l.CustomerID, &key, &l.Name, &l.SuccessfulReferrals, &reached)
		rank++
		l.Rank, l.CustomerKey = rank, key.String
		return l, err
	}, `SELECT r.id, r.key, r.name, COUNT(*), MAX(f.converted_at)
		FROM customers f JOIN customers r ON r.id = f.referrer_id
		WHERE f.program_id = $1 AND f.converted_at >= $2 AND f.referral_rejected_at IS NULL AND r.deleted_at IS NULL
		GROUP BY r.id, r.key, r.name
		ORDER BY COUNT(*) DESC, MAX(f.converted_at), r.id
		LIMIT $3`, programID, since, min(limit, MaxLimit))
}
