package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	"github.com/advocate-oss/advocate/internal/rewards"
)

// RewardQuery asks for one keyset page of the dashboard's reward queue,
// newest first.
type RewardQuery struct {
	Status     string // "" for every status
	CustomerID string // only rewards this customer receives
	// After asks for older rewards (the next page), Before for newer ones.
	After, Before string
	Limit         int // DefaultLimit when 0, at most ExportLimit
}

func (q RewardQuery) limit() int {
	if q.Limit <= 0 {
		return DefaultLimit
	}
	return min(q.Limit, ExportLimit)
}

// RewardRow is a reward with the names the queue shows beside it.
type RewardRow struct {
	*rewards.Reward
	CustomerName  string
	CustomerEmail string
	FriendName    string
	FriendEmail   string
	RuleName      string
}

// RewardRows lists one page of a program's rewards with their recipients'
// and friends' names, their rules' names and their discount codes, in two
// queries. more says whether rows exist beyond the page in the direction
// asked.
func (db *DB) RewardRows(ctx context.Context, programID string, q RewardQuery) ([]*RewardRow, bool, error) {
	w := where{}
	w.add("r.program_id = ", programID)
	if q.Status != "" {
		w.add("r.status = ", q.Status)
	}
	if q.CustomerID != "" {
		w.add("r.customer_id = ", q.CustomerID)
	}
	order := "DESC"
	if q.Before != "" {
		w.add("r.id > ", q.Before)
		order = "ASC"
	} else if q.After != "" {
		w.add("r.id < ", q.After)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+rewardColumns+`, c.name, c.email, f.name, f.email, COALESCE(ru.name, '')`+
		rewardFrom+` LEFT JOIN reward_rules ru ON ru.id = r.rule_id`+w.sql()+
		` ORDER BY r.id `+order+` LIMIT `+strconv.Itoa(q.limit()+1), w.args...)
	if err != nil {
		return nil, false, fmt.Errorf("list rewards: %w", err)
	}
	defer rows.Close()
	var out []*RewardRow
	for rows.Next() {
		var row RewardRow
		var custEmail, friendEmail sql.NullString
		row.Reward, err = scanReward(extraScan{rows, []any{&row.CustomerName, &custEmail, &row.FriendName, &friendEmail, &row.RuleName}})
		if err != nil {
			return nil, false, fmt.Errorf("list rewards: %w", err)
		}
		row.CustomerEmail, row.FriendEmail = custEmail.String, friendEmail.String
		out = append(out, &row)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list rewards: %w", err)
	}
	more := len(out) > q.limit()
	if more {
		out = out[:q.limit()]
	}
	if q.Before != "" {
		slices.Reverse(out)
	}
	plain := make([]*rewards.Reward, len(out))
	for i, r := range out {
		plain[i] = r.Reward
	}
	return out, more, db.attachCodes(ctx, db.read, plain)
}

// CountRewards counts a program's rewards by status.
func (db *DB) CountRewards(ctx context.Context, programID string) (map[string]int, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT status, COUNT(*) FROM rewards WHERE program_id = $1 GROUP BY status`, programID)
	if err != nil {
		return nil, fmt.Errorf("count rewards: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("count rewards: %w", err)
		}
		out[status] = n
	}
	return out, rows.Err()
}
