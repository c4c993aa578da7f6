package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/rewards"
)

const rewardColumns = `r.id, r.program_id, r.rule_id, r.customer_id, c.key, r.referrer_id, r.friend_id, f.key,
	r.transaction_id, t.key, r.source, r.trigger_type, r.recipient, r.reward_type, r.unit, r.amount, r.currency,
	r.reversed_amount, r.status, r.needs_approval, r.available_at, r.reject_reason, r.created_at, r.updated_at`

const rewardFrom = ` FROM rewards r JOIN customers c ON c.id = r.customer_id JOIN customers f ON f.id = r.friend_id
	LEFT JOIN transactions t ON t.id = r.transaction_id`

func scanReward(row scanner) (*rewards.Reward, error) {
	var rw rewards.Reward
	var custKey, friendKey, txnID, txnKey, cur sql.NullString
	var avail sql.NullInt64
	var created, updated int64
	err := row.Scan(&rw.ID, &rw.ProgramID, &rw.RuleID, &rw.CustomerID, &custKey, &rw.ReferrerID, &rw.FriendID, &friendKey,
		&txnID, &txnKey, &rw.Source, &rw.Trigger, &rw.Recipient, &rw.RewardType, &rw.Unit, &rw.Amount, &cur,
		&rw.Reversed, &rw.Status, &rw.NeedsApproval, &avail, &rw.RejectReason, &created, &updated)
	if err != nil {
		return nil, err
	}
	rw.CustomerKey, rw.FriendKey, rw.TransactionID, rw.TransactionKey, rw.Currency =
		custKey.String, friendKey.String, txnID.String, txnKey.String, cur.String
	rw.AvailableAt, rw.CreatedAt, rw.UpdatedAt = fromMicros(avail.Int64), fromMicros(created), fromMicros(updated)
	return &rw, nil
}

// RewardFilter narrows a reward listing.
type RewardFilter struct {
	Status     string
	CustomerID string
	Page
}

// Rewards lists a program's rewards, newest first, with their discount
// codes and what they became in Stripe.
func (db *DB) Rewards(ctx context.Context, programID string, f RewardFilter) ([]*rewards.Reward, bool, error) {
	w := where{}
	w.add("r.program_id = ", programID)
	if f.Status != "" {
		w.add("r.status = ", f.Status)
	}
	if f.CustomerID != "" {
		w.add("r.customer_id = ", f.CustomerID)
	}
	page := f.Page.keyset(&w, "r.id")
	out, err := db.queryRewards(ctx, db.read, `SELECT `+rewardColumns+rewardFrom+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(f.Page, out)
	return out, more, db.attachDetails(ctx, db.read, out)
}

// Reward returns one reward with its discount code and what it became in
// Stripe.
func (db *DB) Reward(ctx context.Context, programID, rewardID string) (*rewards.Reward, error) {
	rw, err := scanReward(db.read.QueryRowContext(ctx, `SELECT `+rewardColumns+rewardFrom+` WHERE r.id = $1 AND r.program_id = $2`,
		rewardID, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRewardNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get reward: %w", err)
	}
	return rw, db.attachDetails(ctx, db.read, []*rewards.Reward{rw})
}

// transactionRewards lists the rewards a transaction gave.
func (db *DB) transactionRewards(ctx context.Context, q querier, t *rewards.Transaction) ([]*rewards.Reward, error) {
	out, err := db.queryRewards(ctx, q, `SELECT `+rewardColumns+rewardFrom+transactionRewardsWhere+` ORDER BY r.id`, t.CustomerID, t.ID)
	if err != nil {
		return nil, err
	}
	return out, db.attachDetails(ctx, q, out)
}

// transactionRewardsWhere finds a transaction's rewards by its payer, the friend
// of every reward it fired, and its id, their source: a prefix of the
// exactly-once index (migration 00013), so rewards need no index of their
// own on transaction_id. Its arguments are the payer's id and the
// transaction's.
const transactionRewardsWhere = ` WHERE r.friend_id = $1 AND r.source = $2`

func (db *DB) queryRewards(ctx context.Context, q querier, query string, args ...any) ([]*rewards.Reward, error) {
	return queryAll(ctx, q, "list rewards", scanReward, query, args...)
}

// attachDetails loads the discount codes of rewards and what they became
// in Stripe: a query for each, whatever the number of rewards.
func (db *DB) attachDetails(ctx context.Context, q querier, rws []*rewards.Reward) error {
	if err := db.attachCodes(ctx, q, rws); err != nil {
		return err
	}
	return db.attachBilling(ctx, q, rws)
}

// attachCodes loads the discount codes of discount rewards in one query.
func (db *DB) attachCodes(ctx context.Context, q querier, rws []*rewards.Reward) error {
	byID := map[string]*rewards.Reward{}
	w := where{}
	var ids []string
	for _, rw := range rws {
		if rw.RewardType == rewards.Discount && rw.DiscountCode == nil {
			byID[rw.ID] = rw
			ids = append(ids, rw.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	w.addIn("d.reward_id", ids)
	codes, err := queryCodes(ctx, q, `SELECT `+codeColumns+codeFrom+w.sql(), w.args...)
	if err != nil {
		return err
	}
	for _, dc := range codes {
		byID[dc.RewardID].DiscountCode = dc
	}
	return nil
}
