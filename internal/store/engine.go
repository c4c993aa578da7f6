package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// fire runs every active rule of ev.Trigger for a referred friend and
// creates the rewards they give, with their ledger postings, in the
// caller's transaction. source names what the rewards are for ("signup" or
// the transaction id); with the rule and the friend it is unique, so no
// reward can be created twice.
// converted says the friend's referral is already marked successful.
func (tx *Tx) fire(ctx context.Context, p *referral.Program, friend *referral.Customer, converted bool, ev rewards.Event, txn *rewards.Transaction) ([]*rewards.Reward, error) {
	if friend.ReferrerID == "" {
		return nil, nil
	}
	rules, err := tx.activeRules(ctx, p.ID, ev.Trigger)
	if err != nil || len(rules) == 0 {
		return nil, err
	}
	// Serialise rewards per referral pair on PostgreSQL, in id order so that
	// two pairs never wait on each other; SQLite's single writer already does.
	if tx.db.Engine == Postgres {
		if _, err := tx.tx.ExecContext(ctx, `SELECT id FROM customers WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`,
			friend.ReferrerID, friend.ID); err != nil {
			return nil, fmt.Errorf("lock referral: %w", err)
		}
	}
	source := rewards.Signup
	if txn != nil {
		source = txn.ID
	}
	var out []*rewards.Reward
	var given []*rewards.Rule // the rule of each reward in out
	firstRead := false        // ev.FirstAt read already: it is the same for every rule
	for _, rule := range rules {
		var h rewards.History
		if rule.CountsHistory() {
			if h, err = tx.history(ctx, rule, friend); err != nil {
				return nil, err
			}
		}
		if rule.Recurrence == rewards.Every && rule.MaxMonths > 0 && txn != nil && !firstRead {
			if ev.FirstAt, err = tx.firstTransactionAt(ctx, friend.ID, txn.Type); err != nil {
				return nil, err
			}
			firstRead = true
		}
		grant, ok, _ := rule.Fire(ev, h)
		if !ok {
			continue
		}
		rw := &rewards.Reward{
			ID: id.New("rwd", tx.now), ProgramID: p.ID, RuleID: rule.ID,
			ReferrerID: friend.ReferrerID, FriendID: friend.ID, FriendKey: friend.Key, Source: source,
			Trigger: rule.Trigger, Recipient: rule.Recipient, RewardType: rule.RewardType, Unit: grant.Unit,
			Amount: grant.Amount, Currency: grant.Currency, Status: rewards.Pending, NeedsApproval: p.RequireApproval,
			AvailableAt: rule.AvailableAt(tx.now), CreatedAt: tx.now, UpdatedAt: tx.now,
		}
		if rule.Recipient == rewards.Referrer {
			rw.CustomerID, rw.CustomerKey = friend.ReferrerID, friend.ReferrerKey
		} else {
			rw.CustomerID, rw.CustomerKey = friend.ID, friend.Key
		}
		if txn != nil {
			rw.TransactionID, rw.TransactionKey = txn.ID, txn.Key
		}
		if !rw.NeedsApproval && rule.HoldingDays == 0 {
			rw.Status = rewards.Available
		}
		out, given = append(out, rw), append(given, rule)
	}
	// One rule's rewards do not change another's history, so all are
	// decided first and then written.
	if err := tx.insertRewards(ctx, out); err != nil {
		return nil, err
	}
	for i, rw := range out {
		immediate := rw.Status == rewards.Available
		if rw.RewardType != rewards.Discount {
			// Earned straight into the available account when nothing holds
			// it back: one posting instead of two.
			account := ledger.PendingAccount(rw.RewardType)
			if immediate {
				account = ledger.AvailableAccount(rw.RewardType)
			}
			if _, err := tx.Post(ctx, p.ID, ledger.Transaction{Kind: ledger.KindRewardEarned, RewardID: rw.ID,
				Postings: ledger.Move(ledger.ProgramOwner, ledger.RewardsExpense, rw.CustomerID, account, rw.Amount, rw.Currency)}); err != nil {
				return nil, err
			}
		} else if immediate {
			if rw.DiscountCode, err = tx.issueDiscountCode(ctx, rw, given[i].DiscountExpiresDays); err != nil {
				return nil, err
			}
		}
		data, err := json.Marshal(rewardEvent(rw))
		if err != nil {
			return nil, fmt.Errorf("reward event: %w", err)
		}
		tx.addEventJSON(p.ID, "reward.created", data)
		if immediate {
			tx.addEventJSON(p.ID, "reward.available", data)
		}
	}
	if len(out) > 0 && !converted {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE customers SET converted_at = $2 WHERE id = $1 AND converted_at IS NULL`,
			friend.ID, micros(tx.now)); err != nil {
			return nil, fmt.Errorf("mark referral successful: %w", err)
		}
	}
	return out, nil
}

// rewardEventData is the data of the reward.created and reward.available
// events; a struct marshals in a fraction of a map's time.
type rewardEventData struct {
	RewardID   string `json:"reward_id"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	RewardType string `json:"reward_type"`
}

func rewardEvent(rw *rewards.Reward) rewardEventData {
	return rewardEventData{RewardID: rw.ID, CustomerID: rw.CustomerID, Status: rw.Status,
		Amount: rw.Amount, Currency: rw.Currency, RewardType: rw.RewardType}
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
// the rows touch, a fifth of the time of inserting them.
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
	ErrRewardNotPending = referral.Errorf(referral.KindConflict, "reward_not_pending", "Only a pending reward can be approved or rejected.")
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

// release moves a pending reward to available: its value moves from the
// pending to the available account, or its discount code is issued.
func (tx *Tx) release(ctx context.Context, rw *rewards.Reward) error {
	if rw.RewardType == rewards.Discount {
		rule, err := tx.ruleAnyState(ctx, rw.RuleID)
		if err != nil {
			return err
		}
		if rw.DiscountCode, err = tx.issueDiscountCode(ctx, rw, rule.DiscountExpiresDays); err != nil {
			return err
		}
	} else if net := rw.Net(); net > 0 {
		if _, err := tx.Post(ctx, rw.ProgramID, ledger.Transaction{Kind: ledger.KindRewardReleased, RewardID: rw.ID,
			Postings: ledger.Move(rw.CustomerID, ledger.PendingAccount(rw.RewardType), rw.CustomerID,
				ledger.AvailableAccount(rw.RewardType), net, rw.Currency)}); err != nil {
			return err
		}
	}
	rw.Status, rw.UpdatedAt = rewards.Available, tx.now
	if err := tx.setRewardState(ctx, rw); err != nil {
		return err
	}
	return tx.AddEvent(ctx, rw.ProgramID, "reward.available", rewardEvent(rw))
}

// reverse claws back delta of a reward's value. A pending reward loses it
// from its pending account; an available or paid one from the available
// account, which may go negative: the debt is carried and offset against
// later rewards and payouts. A discount is reversed whole by voiding its
// code. reason becomes rejected when a person rejected the reward.
func (tx *Tx) reverse(ctx context.Context, rw *rewards.Reward, delta int64, status, note string) error {
	if delta <= 0 || delta > rw.Net() {
		return fmt.Errorf("reverse reward %s by %d of %d: out of range", rw.ID, delta, rw.Net())
	}
	wasPending := rw.Status == rewards.Pending
	rw.Reversed += delta
	rw.UpdatedAt = tx.now
	if rw.Net() == 0 {
		rw.Status = status
	}
	// The reward's row before the referrer's account: a full reversal
	// changes the referrer's count of the rule's rewards (a trigger, see
	// migration 00012), and payments write that count before the account,
	// so on PostgreSQL taking them in the other order could deadlock.
	if err := tx.setRewardState(ctx, rw); err != nil {
		return err
	}
	if rw.RewardType == rewards.Discount {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE discount_codes SET voided_at = $2 WHERE reward_id = $1
			AND voided_at IS NULL AND redeemed_at IS NULL`, rw.ID, micros(tx.now)); err != nil {
			return fmt.Errorf("void discount code: %w", err)
		}
	} else {
		account := ledger.AvailableAccount(rw.RewardType)
		if wasPending {
			account = ledger.PendingAccount(rw.RewardType)
		}
		if _, err := tx.Post(ctx, rw.ProgramID, ledger.Transaction{Kind: ledger.KindRewardReversed, RewardID: rw.ID, Note: note,
			Postings: ledger.Move(rw.CustomerID, account, ledger.ProgramOwner, ledger.RewardsExpense, delta, rw.Currency)}); err != nil {
			return err
		}
	}
	typ := "reward.reversed"
	if rw.Status == rewards.Rejected {
		typ = "reward.rejected"
	}
	return tx.AddEvent(ctx, rw.ProgramID, typ, map[string]any{"reward_id": rw.ID, "customer_id": rw.CustomerID,
		"reversed": delta, "currency": rw.Currency, "status": rw.Status})
}

func (tx *Tx) setRewardState(ctx context.Context, rw *rewards.Reward) error {
	_, err := tx.tx.ExecContext(ctx, `UPDATE rewards SET status = $2, reversed_amount = $3, reject_reason = $4, updated_at = $5
		WHERE id = $1`, rw.ID, rw.Status, rw.Reversed, rw.RejectReason, micros(rw.UpdatedAt))
	if err != nil {
		return fmt.Errorf("update reward: %w", err)
	}
	return nil
}

// ApproveReward makes a pending reward available now, whether it waited for
// approval or for its holding period.
func (tx *Tx) ApproveReward(ctx context.Context, programID, rewardID string) (*rewards.Reward, error) {
	rw, err := tx.lockReward(ctx, programID, rewardID)
	if err != nil {
		return nil, err
	}
	if rw.Status != rewards.Pending {
		return nil, ErrRewardNotPending
	}
	if err := tx.release(ctx, rw); err != nil {
		return nil, err
	}
	return rw, nil
}

// RejectReward cancels a pending reward with a reason; its value goes back.
func (tx *Tx) RejectReward(ctx context.Context, programID, rewardID, reason string) (*rewards.Reward, error) {
	rw, err := tx.lockReward(ctx, programID, rewardID)
	if err != nil {
		return nil, err
	}
	if rw.Status != rewards.Pending {
		return nil, ErrRewardNotPending
	}
	rw.RejectReason = reason
	if rw.RewardType == rewards.Discount {
		rw.Reversed, rw.Status, rw.UpdatedAt = rw.Amount, rewards.Rejected, tx.now
		if err := tx.setRewardState(ctx, rw); err != nil {
			return nil, err
		}
		return rw, tx.AddEvent(ctx, programID, "reward.rejected", map[string]any{"reward_id": rw.ID, "customer_id": rw.CustomerID})
	}
	if err := tx.reverse(ctx, rw, rw.Net(), rewards.Rejected, "rejected: "+reason); err != nil {
		return nil, err
	}
	return rw, nil
}

// ReleaseDueRewards makes available up to limit pending rewards whose
// holding period has ended at now and that need no approval. Several nodes
// may run it at once: on PostgreSQL each claims its rows with SKIP LOCKED.
// It returns how many it released.
func (db *DB) ReleaseDueRewards(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	err := db.InTx(ctx, func(tx *Tx) error {
		n = 0
		lock := ""
		if db.Engine == Postgres {
			lock = " FOR UPDATE OF r SKIP LOCKED"
		}
		rows, err := tx.tx.QueryContext(ctx, `SELECT `+rewardColumns+rewardFrom+` WHERE r.status = 'pending'
			AND r.needs_approval = FALSE AND r.available_at <= $1 ORDER BY r.available_at LIMIT $2`+lock, micros(now), limit)
		if err != nil {
			return fmt.Errorf("due rewards: %w", err)
		}
		var due []*rewards.Reward
		for rows.Next() {
			rw, err := scanReward(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("due rewards: %w", err)
			}
			due = append(due, rw)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, rw := range due {
			released, err := tx.releaseOrHold(ctx, rw)
			if err != nil {
				return err
			}
			if released {
				n++
			}
		}
		return nil
	})
	return n, err
}

// releaseOrHold releases a due reward, unless that would take the
// customer's balance beyond money.MaxAmount: then the reward is left
// pending and set to need approval, so that it neither blocks the rewards
// due after it nor is retried forever, and a person decides (approving it
// is refused with balance_limit_exceeded while the balance is too high).
func (tx *Tx) releaseOrHold(ctx context.Context, rw *rewards.Reward) (bool, error) {
	if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT release_reward"); err != nil {
		return false, fmt.Errorf("savepoint: %w", err)
	}
	err := tx.release(ctx, rw)
	if errors.Is(err, ErrBalanceLimit) {
		// Nothing was appended yet: Post appends only when every posting
		// passed, so undoing the statements undoes all of it.
		if _, err := tx.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT release_reward"); err != nil {
			return false, fmt.Errorf("rollback to savepoint: %w", err)
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE rewards SET needs_approval = TRUE, updated_at = $2 WHERE id = $1`,
			rw.ID, micros(tx.now)); err != nil {
			return false, fmt.Errorf("hold reward: %w", err)
		}
		err = nil
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
