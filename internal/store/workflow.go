package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// The reward workflow is decided in internal/rewards (workflow.go), which
// returns plans. This file reads what a step needs and persists the plan,
// in the caller's transaction.

// env is what the workflow takes from the transaction: its time and ids.
func (tx *Tx) env() rewards.Env {
	return rewards.Env{Now: tx.now, NewID: tx.newID}
}

func (tx *Tx) newID(prefix string) string { return id.New(prefix, tx.now) }

// firing reads what deciding the rewards for a friend's action needs: the
// program's active rules of the trigger, with what each already gave when
// the rule looks at that. converted says the friend's referral is already
// successful; txn is the payment (nil for a signup).
func (tx *Tx) firing(ctx context.Context, p *referral.Program, friend *referral.Customer, converted bool, ev rewards.Event, txn *rewards.Transaction) (rewards.Firing, error) {
	f := rewards.Firing{ProgramID: p.ID, RequireApproval: p.RequireApproval, NewCustomersOnly: p.NewCustomersOnly, Event: ev, Transaction: txn,
		Friend: rewards.FriendState{ID: friend.ID, Key: friend.Key, ReferrerID: friend.ReferrerID, ReferrerKey: friend.ReferrerKey,
			Converted: converted, PaidBeforeReferral: friend.PaidBeforeReferral}}
	if !f.Rewardable() {
		return f, nil // no rules to read
	}
	rules, err := tx.activeRules(ctx, p.ID, ev.Trigger)
	if err != nil || len(rules) == 0 {
		return f, err
	}
	// Serialise rewards per referral pair on PostgreSQL, in id order so that
	// two pairs never wait on each other; SQLite's single writer already does.
	if tx.db.Engine == Postgres {
		if _, err := tx.tx.ExecContext(ctx, `SELECT id FROM customers WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`,
			friend.ReferrerID, friend.ID); err != nil {
			return f, fmt.Errorf("lock referral: %w", err)
		}
	}
	firstRead, repeatRead := false, false // the same for every rule
	for _, rule := range rules {
		if rule.Recurrence == rewards.First && txn != nil && !repeatRead {
			if f.Event.Repeat, err = tx.paidBefore(ctx, friend.ID, txn); err != nil {
				return f, err
			}
			repeatRead = true
		}
		rs := rewards.RuleState{Rule: rule}
		if rule.CountsHistory() {
			if rs.History, err = tx.history(ctx, rule, friend); err != nil {
				return f, err
			}
		}
		if rule.Recurrence == rewards.Every && rule.MaxMonths > 0 && txn != nil && !firstRead {
			if f.Event.FirstAt, err = tx.firstTransactionAt(ctx, friend.ID, txn.Type); err != nil {
				return f, err
			}
			firstRead = true
		}
		f.Rules = append(f.Rules, rs)
	}
	return f, nil
}

// apply persists a plan. Rows come before the ledger: a reward's row (and
// the referrer's count of the rule's rewards its triggers keep, migration
// 00012) is always written before the referrer's accounts, so that on
// PostgreSQL two transactions never take them in opposite orders.
func (tx *Tx) apply(ctx context.Context, programID string, p *rewards.Plan) error {
	if err := tx.insertRewards(ctx, p.Rewards); err != nil {
		return err
	}
	for _, rw := range p.Changed {
		if err := tx.setRewardState(ctx, rw); err != nil {
			return err
		}
	}
	for _, rewardID := range p.Voided {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE discount_codes SET voided_at = $2 WHERE reward_id = $1
			AND voided_at IS NULL AND redeemed_at IS NULL`, rewardID, micros(tx.now)); err != nil {
			return fmt.Errorf("void discount code: %w", err)
		}
	}
	for _, dc := range p.Codes {
		if err := tx.insertDiscountCode(ctx, dc); err != nil {
			return err
		}
	}
	if dc := p.Redeemed; dc != nil {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE discount_codes SET redeemed_at = $2 WHERE id = $1`, dc.ID, micros(*dc.RedeemedAt)); err != nil {
			return fmt.Errorf("redeem discount code: %w", err)
		}
	}
	if r := p.Refund; r != nil {
		t := r.Transaction
		if _, err := tx.tx.ExecContext(ctx, `UPDATE transactions SET refunded_amount = $2, updated_at = $3 WHERE id = $1`,
			t.ID, t.Refunded, micros(t.UpdatedAt)); err != nil {
			return fmt.Errorf("refund: %w", err)
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO refunds (id, program_id, transaction_id, amount, reason, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, r.ID, programID, t.ID, r.Amount, r.Reason, micros(tx.now)); err != nil {
			return fmt.Errorf("refund: %w", err)
		}
	}
	for _, lt := range p.Ledger {
		if _, err := tx.Post(ctx, programID, lt); err != nil {
			return err
		}
	}
	var last any // an event's data, marshalled once when the next event shares it
	var data []byte
	for _, ev := range p.Events {
		if d, ok := ev.Data.(*rewards.RewardEvent); !ok || d != last {
			var err error
			if data, err = json.Marshal(ev.Data); err != nil {
				return fmt.Errorf("event %s: %w", ev.Type, err)
			}
			last = ev.Data
		}
		tx.addEventJSON(programID, ev.Type, data)
	}
	if p.Converted != "" {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE customers SET converted_at = $2 WHERE id = $1 AND converted_at IS NULL`,
			p.Converted, micros(tx.now)); err != nil {
			return fmt.Errorf("mark referral successful: %w", err)
		}
	}
	return nil
}

// history counts what a rule already gave for this friend and through
// this referrer; reversed and rejected rewards do not count.
func (tx *Tx) history(ctx context.Context, rule *rewards.Rule, friend *referral.Customer) (rewards.History, error) {
	var h rewards.History
	err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rewards WHERE friend_id = $1 AND rule_id = $2
		AND status NOT IN ('reversed', 'rejected')`, friend.ID, rule.ID).Scan(&h.ForFriend)
	if err != nil {
		return h, fmt.Errorf("reward history: %w", err)
	}
	if rule.MaxRewardsPerReferrer > 0 {
		// Kept by triggers on rewards (migration 00012).
		err = tx.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(reward_count), 0) FROM referrer_rule_rewards
			WHERE rule_id = $1 AND referrer_id = $2`, rule.ID, friend.ReferrerID).Scan(&h.ForReferrer)
		if err != nil {
			return h, fmt.Errorf("reward history: %w", err)
		}
	}
	return h, nil
}

// paidBefore says whether the customer recorded a transaction of txn's
// type before txn: every other one was, as txn is being recorded.
func (tx *Tx) paidBefore(ctx context.Context, customerID string, txn *rewards.Transaction) (bool, error) {
	return exists(ctx, tx.tx, "earlier payments", `SELECT 1 FROM transactions WHERE customer_id = $1 AND id <> $2 AND type = $3 LIMIT 1`,
		customerID, txn.ID, txn.Type)
}

func (tx *Tx) firstTransactionAt(ctx context.Context, customerID, typ string) (time.Time, error) {
	var first int64
	err := tx.tx.QueryRowContext(ctx, `SELECT MIN(occurred_at) FROM transactions WHERE customer_id = $1 AND type = $2`,
		customerID, typ).Scan(&first)
	if err != nil {
		return time.Time{}, fmt.Errorf("first transaction: %w", err)
	}
	return fromMicros(first), nil
}

const rewardColumnNames = `id, program_id, rule_id, customer_id, referrer_id, friend_id, transaction_id, source, trigger_type,
		recipient, reward_type, unit, amount, currency, status, needs_approval, available_at, created_at, updated_at`

// insertRewards writes new rewards, one statement each: in one multi-row
// INSERT, SQLite kept a statement journal (a statement that may fail half
// way must be undone alone) and copied into it every random index page
// the rows touch.
func (tx *Tx) insertRewards(ctx context.Context, rws []*rewards.Reward) error {
	for _, rw := range rws {
		_, err := tx.tx.ExecContext(ctx, insertRowsSQL(tx.db.Engine, "rewards", rewardColumnNames, 1), rw.ID, rw.ProgramID, rw.RuleID, rw.CustomerID, rw.ReferrerID, rw.FriendID,
			nullString(rw.TransactionID), rw.Source, rw.Trigger, rw.Recipient, rw.RewardType, rw.Unit, rw.Amount,
			nullString(rw.Currency), rw.Status, rw.NeedsApproval, micros(rw.AvailableAt), micros(rw.CreatedAt), micros(rw.UpdatedAt))
		if _, ok := uniqueViolation(err); ok {
			return errDuplicateReward
		}
		if err != nil {
			return fmt.Errorf("create reward: %w", err)
		}
	}
	return nil
}

// errDuplicateReward means the database refused a second reward for the
// same rule, friend and source: the exactly-once guarantee doing its job.
var errDuplicateReward = errors.New("reward already exists for this rule, friend and source")

// Reward errors a client can cause.
var (
	ErrRewardNotFound   = referral.Errorf(referral.KindNotFound, "reward_not_found", "No reward with that id exists in this program.")
	ErrRewardNotPending = rewards.ErrRewardNotPending
)

// lockReward reads a reward inside the transaction, locked on PostgreSQL.
func (tx *Tx) lockReward(ctx context.Context, programID, rewardID string) (*rewards.Reward, error) {
	rw, err := scanReward(tx.tx.QueryRowContext(ctx, `SELECT `+rewardColumns+rewardFrom+
		` WHERE r.id = $1 AND r.program_id = $2`+tx.db.forUpdate("r"), rewardID, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRewardNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get reward: %w", err)
	}
	return rw, nil
}

func (tx *Tx) setRewardState(ctx context.Context, rw *rewards.Reward) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE rewards SET status = $2, reversed_amount = $3, reject_reason = $4,
		needs_approval = $5, updated_at = $6 WHERE id = $1`, rw.ID, rw.Status, rw.Reversed, rw.RejectReason, rw.NeedsApproval, micros(rw.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update reward: %w", err)
	}
	return nil
}

// codeExpiresDays is how long the discount code a reward issues lasts: its
// rule's setting, read only for discounts.
func (tx *Tx) codeExpiresDays(ctx context.Context, rw *rewards.Reward) (int, error) {
	if rw.RewardType != rewards.Discount {
		return 0, nil
	}
	rule, err := tx.ruleAnyState(ctx, rw.RuleID)
	if err != nil {
		return 0, err
	}
	return rule.DiscountExpiresDays, nil
}

// ApproveReward makes a pending reward available now, whether it waited for
// approval or for its holding period.
func (tx *Tx) ApproveReward(ctx context.Context, programID, rewardID string) (*rewards.Reward, error) {
	rw, err := tx.lockReward(ctx, programID, rewardID)
	if err != nil {
		return nil, err
	}
	days, err := tx.codeExpiresDays(ctx, rw)
	if err != nil {
		return nil, err
	}
	plan, err := tx.env().Approve(rw, days)
	if err != nil {
		return nil, err
	}
	return rw, tx.apply(ctx, programID, &plan)
}

// RejectReward cancels a pending reward with a reason; its value goes back.
func (tx *Tx) RejectReward(ctx context.Context, programID, rewardID, reason string) (*rewards.Reward, error) {
	rw, err := tx.lockReward(ctx, programID, rewardID)
	if err != nil {
		return nil, err
	}
	plan, err := tx.env().Reject(rw, reason)
	if err != nil {
		return nil, err
	}
	return rw, tx.apply(ctx, programID, &plan)
}

// ReleaseDueRewards makes available up to limit pending rewards whose
// holding period has ended at now and that need no approval. Several nodes
// may run it at once: on PostgreSQL each claims its rows with SKIP LOCKED.
// It returns how many it released.
func (db *DB) ReleaseDueRewards(ctx context.Context, now time.Time, limit int) (int, error) {
	return run(ctx, db, func(tx *Tx) (int, error) {
		lock := ""
		if db.Engine == Postgres {
			lock = " FOR UPDATE OF r SKIP LOCKED"
		}
		due, err := queryAll(ctx, tx.tx, "due rewards", scanReward, `SELECT `+rewardColumns+rewardFrom+` WHERE r.status = 'pending'
			AND r.needs_approval = FALSE AND r.available_at <= $1 ORDER BY r.available_at LIMIT $2`+lock, micros(now), limit)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, rw := range due {
			released, err := tx.releaseOrHold(ctx, rw)
			if err != nil {
				return 0, err
			}
			if released {
				n++
			}
		}
		return n, nil
	})
}

// releaseOrHold releases a due reward, unless that would take the
// customer's balance beyond money.MaxAmount: then the reward is held for a
// person's decision (rewards.Env.Hold; approving it is refused with
// balance_limit_exceeded while the balance is too high).
func (tx *Tx) releaseOrHold(ctx context.Context, rw *rewards.Reward) (bool, error) {
	days, err := tx.codeExpiresDays(ctx, rw)
	if err != nil {
		return false, err
	}
	if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT release_reward"); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	was, appended := *rw, tx.appends
	plan := tx.env().Release(rw, days)
	err = tx.apply(ctx, rw.ProgramID, &plan)
	if errors.Is(err, ErrBalanceLimit) {
		// Undo the statements and forget the rows appended for the end
		// of the transaction (see appendRows).
		if _, err := tx.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT release_reward"); err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", err)
		}
		*rw, tx.appends = was, appended
		hold := tx.env().Hold(rw)
		err = tx.apply(ctx, rw.ProgramID, &hold)
	}
	if err != nil {
		return false, err
	}
	if _, err := tx.tx.ExecContext(ctx, "RELEASE SAVEPOINT release_reward"); err != nil {
		return false, fmt.Errorf("release savepoint: %w", err)
	}
	return rw.Status == rewards.Available, nil
}

func (tx *Tx) ruleAnyState(ctx context.Context, ruleID string) (*rewards.Rule, error) {
	r, err := scanRule(tx.tx.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM reward_rules WHERE id = $1`, ruleID))
	if err != nil {
		return nil, fmt.Errorf("get reward rule: %w", err)
	}
	return r, nil
}
