package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
// the rule looks at that, and, when the action may make the referral
// successful, what deciding that needs. txn is the payment (nil for a
// signup).
func (tx *Tx) firing(ctx context.Context, p *referral.Program, friend *referral.Customer, ev rewards.Event, txn *rewards.Transaction) (rewards.Firing, error) {
	f := rewards.Firing{ProgramID: p.ID, RequireApproval: p.RequireApproval, NewCustomersOnly: p.NewCustomersOnly, Event: ev, Transaction: txn,
		Friend: friendState(friend)}
	if !f.Rewardable() {
		return f, nil // no rules to read
	}
	rules, err := tx.activeRules(ctx, p.ID, ev.Trigger)
	if err != nil {
		return f, err
	}
	var milestones []*rewards.Rule
	if !f.Friend.Converted {
		if milestones, err = tx.activeRules(ctx, p.ID, rewards.Milestone); err != nil {
			return f, err
		}
		if ev.Trigger == rewards.Signup {
			if f.ReferrerTriggers, err = tx.referrerTriggers(ctx, p.ID); err != nil {
				return f, err
			}
		}
	}
	if len(rules) == 0 && len(milestones) == 0 && !f.Converts() {
		return f, nil // nothing fires and the referral stays as it is
	}
	if err := tx.lockReferral(ctx, friend.ID, friend.ReferrerID); err != nil {
		return f, err
	}
	firstRead, repeatRead, priorRead, needSuccessful := false, false, false, false // the same for every rule
	for _, rule := range rules {
		if rule.Recurrence == rewards.First && txn != nil && !repeatRead {
			if f.Event.Repeat, err = tx.paidBefore(ctx, friend.ID, txn); err != nil {
				return f, err
			}
			repeatRead = true
		}
		if rule.SkipCount > 0 && txn != nil && !priorRead {
			if f.Event.Prior, err = tx.paymentsBefore(ctx, friend.ID, txn); err != nil {
				return f, err
			}
			priorRead = true
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
		needSuccessful = needSuccessful || rule.NeedsSuccessful()
		f.Rules = append(f.Rules, rs)
	}
	converts := f.Converts()
	if converts {
		for _, rule := range milestones {
			h, err := tx.history(ctx, rule, friend)
			if err != nil {
				return f, err
			}
			f.Milestones = append(f.Milestones, rewards.RuleState{Rule: rule, History: h})
		}
		needSuccessful = needSuccessful || len(milestones) > 0
	}
	if needSuccessful {
		if f.Successful, err = tx.successfulReferrals(ctx, friend.ReferrerID); err != nil {
			return f, err
		}
	}
	return f, nil
}

// friendState is what the workflow knows of a referred customer.
func friendState(c *referral.Customer) rewards.FriendState {
	return rewards.FriendState{ID: c.ID, Key: c.Key, ReferrerID: c.ReferrerID, ReferrerKey: c.ReferrerKey,
		Converted: c.ReferralStatus == rewards.ReferralSuccessful, Rejected: c.ReferralStatus == rewards.ReferralRejected,
		PaidBeforeReferral: c.PaidBeforeReferral}
}

// lockReferral serialises the rewards of a referral pair on PostgreSQL,
// and with them the referrer's count of successful referrals: the friend's
// row, then the referrer's, as recording a payment (which locks the payer
// first) does, so that two never wait on each other. SQLite's single
// writer already serialises.
func (tx *Tx) lockReferral(ctx context.Context, friendID, referrerID string) error {
	if tx.db.Engine != Postgres {
		return nil
	}
	// Rows are locked in the order they are returned: the friend's first.
	if _, err := tx.tx.ExecContext(ctx, `SELECT id FROM customers WHERE id IN ($1, $2) ORDER BY id = $2 FOR UPDATE`,
		friendID, referrerID); err != nil {
		return fmt.Errorf("lock referral: %w", err)
	}
	return nil
}

// referrerTriggers lists the triggers of the program's active referrer
// rules other than milestones.
func (tx *Tx) referrerTriggers(ctx context.Context, programID string) ([]string, error) {
	rules, err := tx.activeRulesOf(ctx, programID, rewards.Signup, rewards.Purchase, rewards.Subscription)
	var out []string
	for _, r := range rules {
		if r.Recipient == rewards.Referrer && !slices.Contains(out, r.Trigger) {
			out = append(out, r.Trigger)
		}
	}
	return out, err
}

// activeRulesOf lists the program's active rules of the triggers, in that
// order (activeRules per trigger, cached by the writer).
func (tx *Tx) activeRulesOf(ctx context.Context, programID string, triggers ...string) ([]*rewards.Rule, error) {
	var out []*rewards.Rule
	for _, trigger := range triggers {
		rules, err := tx.activeRules(ctx, programID, trigger)
		if err != nil {
			return nil, err
		}
		out = append(out, rules...)
	}
	return out, nil
}

// successfulReferrals counts a referrer's successful referrals.
func (tx *Tx) successfulReferrals(ctx context.Context, referrerID string) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE referrer_id = $1 AND converted_at IS NOT NULL
		AND referral_rejected_at IS NULL`, referrerID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("successful referrals: %w", err)
	}
	return n, nil
}

// loss reads what taking one of a referrer's successful referrals away
// needs: their count and each active milestone rule's standing rewards to
// them.
func (tx *Tx) loss(ctx context.Context, programID, friendID, referrerID string) (rewards.Loss, error) {
	l := rewards.Loss{FriendID: friendID}
	rules, err := tx.activeRules(ctx, programID, rewards.Milestone)
	if err != nil || len(rules) == 0 {
		return l, err
	}
	if l.Successful, err = tx.successfulReferrals(ctx, referrerID); err != nil {
		return l, err
	}
	for _, rule := range rules {
		if l.Successful-1 >= rule.MilestoneReferrals {
			continue // still reached: nothing to read
		}
		rws, err := tx.db.queryRewards(ctx, tx.tx, `SELECT `+rewardColumns+rewardFrom+` WHERE r.customer_id = $1 AND r.rule_id = $2
			AND r.status IN ('pending', 'available') ORDER BY r.id`+tx.db.forUpdate("r"), referrerID, rule.ID)
		if err != nil {
			return l, err
		}
		l.Milestones = append(l.Milestones, rewards.Standing{Rule: rule, Rewards: rws})
	}
	return l, nil
}

// referral reads a referred customer's referral inside the transaction
// (locked with lockReferral beforehand on PostgreSQL), with the payment
// that made it successful ("" for none, or for the signup).
func (tx *Tx) referral(ctx context.Context, customerID string) (*referral.Customer, string, error) {
	var by sql.NullString
	c, err := scanCustomer(extraScan{tx.tx.QueryRowContext(ctx, `SELECT `+customerColumns+`, c.converted_by`+customerFrom+
		` WHERE c.id = $1`, customerID), []any{&by}})
	if err != nil {
		return nil, "", fmt.Errorf("get referral: %w", err)
	}
	return c, by.String, nil
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
	if r := p.Referral; r != nil {
		var err error
		switch r.State {
		case rewards.ReferralSuccessful:
			_, err = tx.tx.ExecContext(ctx, `UPDATE customers SET converted_at = COALESCE(converted_at, $2), converted_by = $3 WHERE id = $1`,
				r.FriendID, micros(tx.now), nullString(r.By))
		case rewards.ReferralPending:
			_, err = tx.tx.ExecContext(ctx, `UPDATE customers SET converted_at = NULL, converted_by = NULL WHERE id = $1`, r.FriendID)
		case rewards.ReferralRejected:
			_, err = tx.tx.ExecContext(ctx, `UPDATE customers SET referral_rejected_at = $2 WHERE id = $1`, r.FriendID, micros(tx.now))
		}
		if err != nil {
			return fmt.Errorf("referral %s: %w", r.State, err)
		}
	}
	return nil
}

// history counts what a rule already gave for this friend and through
// this referrer; reversed and rejected rewards do not count.
func (tx *Tx) history(ctx context.Context, rule *rewards.Rule, friend *referral.Customer) (rewards.History, error) {
	var h rewards.History
	if rule.Trigger != rewards.Milestone {
		err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rewards WHERE friend_id = $1 AND rule_id = $2
			AND status NOT IN ('reversed', 'rejected')`, friend.ID, rule.ID).Scan(&h.ForFriend)
		if err != nil {
			return h, fmt.Errorf("reward history: %w", err)
		}
	}
	switch {
	case rule.CountsWithinPeriod():
		// Through the referrer's friends (customers_referrer, then
		// rewards_friend_rule): no index of rewards by referrer to keep
		// up on every payment for the few rules that count this way.
		h.AmountForReferrer = map[string]int64{}
		err := eachRow(ctx, tx.tx, "reward history", func(row scanner) error {
			var cur sql.NullString
			var n int
			var amount int64
			if err := row.Scan(&cur, &n, &amount); err != nil {
				return err
			}
			h.ForReferrer += n
			h.AmountForReferrer[cur.String] = amount
			return nil
		}, `SELECT r.currency, COUNT(*), COALESCE(SUM(r.amount - r.reversed_amount), 0) FROM customers f
			JOIN rewards r ON r.friend_id = f.id WHERE f.referrer_id = $1 AND r.rule_id = $2
			AND r.status NOT IN ('reversed', 'rejected') AND r.created_at >= $3 GROUP BY r.currency`,
			friend.ReferrerID, rule.ID, micros(rule.PeriodStart(tx.now)))
		if err != nil {
			return h, err
		}
	case rule.CountsReferrer():
		// Kept by triggers on rewards (migration 00012).
		err := tx.tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(reward_count), 0) FROM referrer_rule_rewards
			WHERE rule_id = $1 AND referrer_id = $2`, rule.ID, friend.ReferrerID).Scan(&h.ForReferrer)
		if err != nil {
			return h, fmt.Errorf("reward history: %w", err)
		}
	}
	return h, nil
}

// paymentsBefore counts the customer's transactions of txn's type before
// txn (every other one, as txn is being recorded).
func (tx *Tx) paymentsBefore(ctx context.Context, customerID string, txn *rewards.Transaction) (int, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transactions WHERE customer_id = $1 AND id <> $2 AND type = $3`,
		customerID, txn.ID, txn.Type).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("earlier payments: %w", err)
	}
	return n, nil
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
	if rewards.RejectsReferral(rw) {
		if err := tx.lockReferral(ctx, rw.FriendID, rw.ReferrerID); err != nil {
			return nil, err
		}
		friend, _, err := tx.referral(ctx, rw.FriendID)
		if err != nil {
			return nil, err
		}
		if friend.ReferralStatus != rewards.ReferralRejected {
			var l rewards.Loss
			if friend.ReferralStatus == rewards.ReferralSuccessful {
				if l, err = tx.loss(ctx, programID, friend.ID, friend.ReferrerID); err != nil {
					return nil, err
				}
			}
			plan.Add(tx.env().RejectReferral(friendState(friend), l))
		}
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
