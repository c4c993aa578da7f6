package store

import (
	"context"
	"database/sql"

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
	limit := pageLimit(q.Limit, ExportLimit)
	page := w.keyset("r.id", q.After, q.Before, limit)
	out, err := queryAll(ctx, db.read, "list rewards", func(s scanner) (*RewardRow, error) {
		var row RewardRow
		var custEmail, friendEmail sql.NullString
		var err error
		row.Reward, err = scanReward(extraScan{s, []any{&row.CustomerName, &custEmail, &row.FriendName, &friendEmail, &row.RuleName}})
		row.CustomerEmail, row.FriendEmail = custEmail.String, friendEmail.String
		return &row, err
	}, `SELECT `+rewardColumns+`, c.name, c.email, f.name, f.email, COALESCE(ru.name, '')`+
		rewardFrom+` LEFT JOIN reward_rules ru ON ru.id = r.rule_id`+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := keysetPage(out, q.Before, limit)
	plain := make([]*rewards.Reward, len(out))
	for i, r := range out {
		plain[i] = r.Reward
	}
	return out, more, db.attachDetails(ctx, db.read, plain)
}

// CountRewards counts a program's rewards by status.
func (db *DB) CountRewards(ctx context.Context, programID string) (map[string]int, error) {
	out := map[string]int{}
	err := eachRow(ctx, db.read, "count rewards", func(row scanner) error {
		var status string
		var n int
		err := row.Scan(&status, &n)
		out[status] = n
		return err
	}, `SELECT status, COUNT(*) FROM rewards WHERE program_id = $1 GROUP BY status`, programID)
	if err != nil {
		return nil, err
	}
	return out, nil
}
