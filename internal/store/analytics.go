package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
)

// Series is one figure per day over a period, oldest first.
type Series []int64

// Overview is a program's activity over a period, for the dashboard.
type Overview struct {
	Days            []time.Time
	Clicks          Series
	Referrals       Series
	Successful      Series
	RewardsIssued   Series // minor units of the program currency (credit, cash, fixed discounts)
	Revenue         Series // referred customers' payments, net of refunds, in the program currency
	TopReferrers    []TopReferrer
	TotalClicks     int64
	TotalReferrals  int64
	TotalSuccessful int64
	TotalRewards    int64
	TotalRevenue    int64
}

// TopReferrer is a customer ranked by referrals in the period.
type TopReferrer struct {
	Key, Name, Email string
	Referrals        int64
	Successful       int64
}

const day = int64(24 * time.Hour / time.Microsecond)

// ProgramOverview sums a program's activity per UTC day from since to now.
// Each figure is one indexed, grouped query, whatever the data size.
func (db *DB) ProgramOverview(ctx context.Context, programID, currency string, since, now time.Time) (*Overview, error) {
	first := since.UTC().Truncate(24 * time.Hour)
	n := int(now.UTC().Truncate(24*time.Hour).Sub(first)/(24*time.Hour)) + 1
	o := &Overview{}
	for i := 0; i < n; i++ {
		o.Days = append(o.Days, first.AddDate(0, 0, i))
	}
	start := micros(first)
	queries := []struct {
		into  *Series
		total *int64
		query string
		args  []any
	}{
		{&o.Clicks, &o.TotalClicks, `SELECT created_at / $3, COUNT(*) FROM clicks WHERE program_id = $1 AND created_at >= $2 GROUP BY created_at / $3`, nil},
		{&o.Referrals, &o.TotalReferrals, `SELECT created_at / $3, COUNT(*) FROM customers WHERE program_id = $1 AND created_at >= $2
			AND referrer_id IS NOT NULL GROUP BY created_at / $3`, nil},
		{&o.Successful, &o.TotalSuccessful, `SELECT converted_at / $3, COUNT(*) FROM customers WHERE program_id = $1 AND converted_at >= $2
			AND referral_rejected_at IS NULL GROUP BY converted_at / $3`, nil},
		{&o.RewardsIssued, &o.TotalRewards, `SELECT created_at / $3, SUM(amount - reversed_amount) FROM rewards WHERE program_id = $1
			AND id >= $5 AND created_at >= $2 AND currency = $4 AND status NOT IN ('reversed', 'rejected')
			GROUP BY created_at / $3`, []any{currency, id.Floor("rwd", first)}},
		{&o.Revenue, &o.TotalRevenue, `SELECT t.occurred_at / $3, SUM(t.amount - t.refunded_amount) FROM transactions t
			JOIN customers c ON c.id = t.customer_id WHERE t.program_id = $1 AND t.occurred_at >= $2 AND t.currency = $4
			AND c.referrer_id IS NOT NULL GROUP BY t.occurred_at / $3`, []any{currency}},
	}
	for _, q := range queries {
		*q.into = make(Series, n)
		err := eachRow(ctx, db.read, "overview", func(row scanner) error {
			var bucket, v int64
			if err := row.Scan(&bucket, &v); err != nil {
				return err
			}
			if i := int(bucket - start/day); i >= 0 && i < n {
				(*q.into)[i] += v
				*q.total += v
			}
			return nil
		}, q.query, append([]any{programID, start, day}, q.args...)...)
		if err != nil {
			return nil, err
		}
	}
	var err error
	o.TopReferrers, err = queryAll(ctx, db.read, "overview", func(row scanner) (TopReferrer, error) {
		var t TopReferrer
		var key, email sql.NullString
		err := row.Scan(&key, &t.Name, &email, &t.Referrals, &t.Successful)
		t.Key, t.Email = key.String, email.String
		return t, err
	}, `SELECT r.key, r.name, r.email, COUNT(*), COUNT(f.converted_at)
		FROM customers f JOIN customers r ON r.id = f.referrer_id
		WHERE f.program_id = $1 AND f.created_at >= $2 AND r.deleted_at IS NULL AND f.referral_rejected_at IS NULL
		GROUP BY r.id, r.key, r.name, r.email ORDER BY COUNT(*) DESC, COUNT(f.converted_at) DESC, r.id LIMIT 10`, programID, start)
	if err != nil {
		return nil, err
	}
	return o, nil
}
