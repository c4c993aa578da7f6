package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// Rewards applied in Stripe (issue 18): DispatchEvents, which turns each
// new event into webhook deliveries and emails, also plans what a reward
// event changes in Stripe (stripe.PlanActions) for programs that apply
// rewards there, and queues it as rows of stripe_actions, numbered per
// reward; a stripe.Applier claims them one reward at a time (an action
// waits for the ones before it: a void for its promotion code, a debit for
// its credit), makes the calls, and records the outcome, which moves the
// ledger in the same transaction when credit entered or left Stripe.

// stripeEventTypes are the events that may change what Stripe should hold
// of a reward. A discount code is voided only with its reward's reversal.
var stripeEventTypes = []string{"reward.available", "reward.reversed", "reward.rejected"}

// dispatchStripe queues the Stripe actions the events ids call for, in the
// transaction that marks them dispatched. Programs without an integration
// that applies rewards cost one query of a small table.
func (tx *Tx) dispatchStripe(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	programs, err := queryAll(ctx, tx.tx, "programs applying rewards in Stripe", scanString,
		`SELECT program_id FROM stripe_integrations WHERE apply_rewards = TRUE AND secret_key <> ''`)
	if err != nil || len(programs) == 0 {
		return err
	}
	w := where{}
	w.addIn("id", ids)
	w.addIn("type", stripeEventTypes)
	w.addIn("program_id", programs)
	evs, err := queryAll(ctx, tx.tx, "events for Stripe", scanEvent, `SELECT `+eventColumns+` FROM events`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil || len(evs) == 0 {
		return err
	}
	// A reward is planned once from its state now, however many of its
	// events the batch holds.
	var rewardIDs []string
	seen := map[string]bool{}
	for _, ev := range evs {
		if id, _ := ev.Data["reward_id"].(string); id != "" && !seen[id] {
			seen[id] = true
			rewardIDs = append(rewardIDs, id)
		}
	}
	if len(rewardIDs) == 0 {
		return nil
	}
	states, err := tx.stripeRewardStates(ctx, rewardIDs)
	if err != nil || len(states) == 0 {
		return err
	}
	queued, err := tx.queuedStripeActions(ctx, keysOf(states))
	if err != nil {
		return err
	}
	now := micros(tx.now)
	for _, id := range rewardIDs {
		st, ok := states[id]
		if !ok {
			continue
		}
		seq := 0 // the reward's actions are numbered 1, 2, …
		if q := queued[id]; len(q) > 0 {
			seq = q[len(q)-1].Seq
		}
		for _, a := range stripe.PlanActions(*st, queued[id]) {
			seq++
			var next sql.NullInt64
			if a.Status == stripe.ActionPending {
				next = sql.NullInt64{Int64: now, Valid: true}
			}
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO stripe_actions (id, program_id, reward_id, seq, kind,
				stripe_customer_id, amount, currency, status, next_attempt_at, last_error, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
				tx.ids.New("sta", tx.now), a.ProgramID, a.RewardID, seq, a.Kind, a.StripeCustomerID, a.Amount, a.Currency,
				a.Status, next, a.Error, now); err != nil {
				return fmt.Errorf("queue Stripe action for reward %s: %w", id, err)
			}
		}
	}
	return nil
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// stripeRewardStates reads the credit and discount rewards ids with their
// codes and their recipients' Stripe customers, locked (PostgreSQL) so
// that two dispatchers never number one reward's actions alike.
func (tx *Tx) stripeRewardStates(ctx context.Context, ids []string) (map[string]*stripe.RewardState, error) {
	w := where{}
	w.addIn("r.id", ids)
	w.cond("r.reward_type IN ('credit', 'discount')")
	out := map[string]*stripe.RewardState{}
	var discounts []string
	err := eachRow(ctx, tx.tx, "rewards for Stripe", func(row scanner) error {
		st := &stripe.RewardState{Now: tx.now}
		var cur, cus sql.NullString
		if err := row.Scan(&st.RewardID, &st.ProgramID, &st.Type, &st.Status, &st.Amount, &st.Reversed, &cur, &cus); err != nil {
			return err
		}
		st.Currency, st.StripeCustomerID = cur.String, cus.String
		out[st.RewardID] = st
		if st.Type == rewards.Discount {
			discounts = append(discounts, st.RewardID)
		}
		return nil
	}, `SELECT r.id, r.program_id, r.reward_type, r.status, r.amount, r.reversed_amount, r.currency, sc.stripe_customer_id
		FROM rewards r LEFT JOIN stripe_customers sc ON sc.customer_id = r.customer_id AND sc.program_id = r.program_id`+
		w.sql()+` ORDER BY r.id`+tx.db.forUpdate("r"), w.args...)
	if err != nil || len(discounts) == 0 {
		return out, err
	}
	cw := where{}
	cw.addIn("d.reward_id", discounts)
	codes, err := queryCodes(ctx, tx.tx, `SELECT `+codeColumns+codeFrom+cw.sql(), cw.args...)
	for _, dc := range codes {
		out[dc.RewardID].Code = dc
	}
	return out, err
}

// queuedStripeActions reads the actions of rewards, each reward's in order.
func (tx *Tx) queuedStripeActions(ctx context.Context, rewardIDs []string) (map[string][]stripe.Action, error) {
	out := map[string][]stripe.Action{}
	if len(rewardIDs) == 0 {
		return out, nil
	}
	w := where{}
	w.addIn("reward_id", rewardIDs)
	err := eachRow(ctx, tx.tx, "queued Stripe actions", func(row scanner) error {
		var a stripe.Action
		if err := row.Scan(&a.ID, &a.ProgramID, &a.RewardID, &a.Seq, &a.Kind, &a.StripeCustomerID, &a.Amount, &a.Currency,
			&a.Status, &a.Error, &a.Attempts); err != nil {
			return err
		}
		out[a.RewardID] = append(out[a.RewardID], a)
		return nil
	}, `SELECT id, program_id, reward_id, seq, kind, stripe_customer_id, amount, currency, status, last_error, attempts
		FROM stripe_actions`+w.sql()+` ORDER BY reward_id, seq`, w.args...)
	return out, err
}

// ClaimStripeActions returns up to limit pending actions due at now, the
// longest due first, and makes them due again only at now+lease. Only the
// first pending action of each reward is due: the rest wait for it. Each
// carries its program's API key and base URL; a program whose integration
// no longer applies rewards (switched off, key removed, disconnected)
// keeps its actions pending until it does again. On PostgreSQL concurrent
// claimers skip each other's rows.
func (db *DB) ClaimStripeActions(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]stripe.Action, error) {
	return run(ctx, db, func(tx *Tx) ([]stripe.Action, error) {
		lock := ""
		if db.Engine == Postgres {
			lock = " FOR UPDATE OF a SKIP LOCKED"
		}
		type claimed struct {
			a      stripe.Action
			sealed string
			first  sql.NullInt64
		}
		cands, err := queryAll(ctx, tx.tx, "due Stripe actions", func(row scanner) (claimed, error) {
			var c claimed
			a := &c.a
			err := row.Scan(&a.ID, &a.ProgramID, &a.RewardID, &a.Seq, &a.Kind, &a.StripeCustomerID, &a.Amount, &a.Currency,
				&a.Attempts, &c.sealed, &a.APIBaseURL, &c.first)
			a.Status = stripe.ActionPending
			return c, err
		}, `SELECT a.id, a.program_id, a.reward_id, a.seq, a.kind, a.stripe_customer_id, a.amount, a.currency, a.attempts,
			i.secret_key, i.api_base_url, a.first_attempt_at
			FROM stripe_actions a JOIN stripe_integrations i ON i.program_id = a.program_id
			WHERE a.status = 'pending' AND a.next_attempt_at <= $1 AND i.apply_rewards = TRUE AND i.secret_key <> ''
			AND NOT EXISTS (SELECT 1 FROM stripe_actions b WHERE b.reward_id = a.reward_id AND b.status = 'pending' AND b.seq < a.seq)
			ORDER BY a.next_attempt_at, a.id LIMIT $2`+lock, micros(now), limit)
		if err != nil || len(cands) == 0 {
			return nil, err
		}
		// The keys, opened once a program; an action whose key cannot be
		// opened (another encryption key) is an attempt that failed.
		keys := map[string]string{}
		var out []stripe.Action
		var ids, discounts, voids []string
		for _, c := range cands {
			key, ok := keys[c.a.ProgramID]
			if !ok {
				var problem string
				if key, problem = db.openSecret(c.sealed); problem != "" {
					if err := tx.recordStripeAttempt(ctx, c.a.ID, stripe.ActionOutcome{Error: problem}); err != nil {
						return nil, err
					}
					continue
				}
				keys[c.a.ProgramID] = key
			}
			c.a.SecretKey = key
			// Sent before, more than a day ago: Stripe may have forgotten
			// its Idempotency-Key, and a lost response may have hidden a
			// success. Sending it again could apply it twice.
			if c.first.Valid && tx.now.Sub(fromMicros(c.first.Int64)) > stripeIdempotencyWindow {
				if err := tx.recordStripeAttempt(ctx, c.a.ID, stripe.ActionOutcome{Error: stripeTooOld, Permanent: true}); err != nil {
					return nil, err
				}
				continue
			}
			// Planned when an event came, an action is checked again
			// against the reward and the balance as they are now: a credit
			// or a clawback that no longer fits is not sent.
			if why, err := tx.noLongerCalledFor(ctx, c.a); err != nil {
				return nil, err
			} else if why != "" {
				if err := tx.recordStripeAttempt(ctx, c.a.ID, stripe.ActionOutcome{Skipped: why}); err != nil {
					return nil, err
				}
				continue
			}
			out = append(out, c.a)
			ids = append(ids, c.a.ID)
			switch c.a.Kind {
			case stripe.ActionDiscount:
				discounts = append(discounts, c.a.RewardID)
			case stripe.ActionVoid:
				voids = append(voids, c.a.RewardID)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		if err := tx.fillDiscounts(ctx, out, discounts, voids); err != nil {
			return nil, err
		}
		u := where{args: []any{micros(now.Add(lease)), micros(tx.now)}}
		u.addIn("id", ids)
		if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_actions SET next_attempt_at = $1, updated_at = $2,
			first_attempt_at = COALESCE(first_attempt_at, $2)`+u.sql(), u.args...); err != nil {
			return nil, fmt.Errorf("claim Stripe actions: %w", err)
		}
		return out, nil
	})
}

// stripeIdempotencyWindow is how long after its first send an action may
// be sent again: a little less than the 24 hours Stripe keeps an
// Idempotency-Key (stripe.RetryDelay's schedule ends well within it).
const stripeIdempotencyWindow = 23 * time.Hour

const stripeTooOld = "First sent more than a day ago, and Stripe keeps an Idempotency-Key for 24 hours: sending it again could apply it twice. Check the customer's balance in Stripe."

// Why a credit or a clawback is skipped when it is claimed.
const (
	stripeCreditTooLarge = "The reward is worth less now than this credit (a refund or a reversal came since it was queued); the credit stays in Advocate."
	stripeCreditSpent    = "The customer's available credit in Advocate is below this amount (spent there since it was queued); it is not sent to Stripe as well."
)

// noLongerCalledFor says why a credit or debit claimed now must not be
// sent ("" when it may): a credit must fit in what the reward is worth
// now beyond what Stripe already has, and in the customer's available
// credit (which applying it moves to Stripe); a debit must take back no
// more than Stripe has. Planning (stripe.PlanActions) looks at what was
// queued; this looks at what is.
func (tx *Tx) noLongerCalledFor(ctx context.Context, a stripe.Action) (string, error) {
	if a.Kind != stripe.ActionCredit && a.Kind != stripe.ActionDebit {
		return "", nil
	}
	var status, customerID, currency string
	var amount, reversed, applied int64
	err := tx.tx.QueryRowContext(ctx, `SELECT r.status, r.amount, r.reversed_amount, r.customer_id, r.currency,
		(SELECT COALESCE(SUM(CASE WHEN s.kind = 'credit' THEN s.amount ELSE -s.amount END), 0) FROM stripe_actions s
			WHERE s.reward_id = r.id AND s.status = 'done' AND s.kind IN ('credit', 'debit'))
		FROM rewards r WHERE r.id = $1`, a.RewardID).Scan(&status, &amount, &reversed, &customerID, &currency, &applied)
	if err != nil {
		return "", fmt.Errorf("check Stripe action: %w", err)
	}
	if a.Kind == stripe.ActionDebit {
		if a.Amount > applied {
			return stripeCreditNeverMade, nil
		}
		return "", nil
	}
	worth := int64(0)
	if status == rewards.Available || status == rewards.Paid {
		worth = amount - reversed
	}
	if applied+a.Amount > worth {
		return stripeCreditTooLarge, nil
	}
	b, err := tx.Balance(ctx, a.ProgramID, customerID, currency)
	if err != nil {
		return "", err
	}
	if b.CreditAvailable < a.Amount {
		return stripeCreditSpent, nil
	}
	return "", nil
}

// openSecret opens a secret sealed in an integration; problem says why it
// cannot be, in a sentence for the dashboard.
func (db *DB) openSecret(sealed string) (plain, problem string) {
	if db.Secrets == nil {
		return "", "This server has no encryption key to open the Stripe key with: start it with --encryption-key."
	}
	plain, err := db.Secrets.Open(sealed)
	if err != nil {
		return "", "The Stripe key cannot be opened with this server's encryption key: connect Stripe again, or start the server with the key it was saved with."
	}
	return plain, ""
}

// fillDiscounts gives discount actions their code and void actions the
// promotion code their discount made.
func (tx *Tx) fillDiscounts(ctx context.Context, out []stripe.Action, discounts, voids []string) error {
	codes := map[string]*rewards.DiscountCode{}
	if len(discounts) > 0 {
		w := where{}
		w.addIn("d.reward_id", discounts)
		found, err := queryCodes(ctx, tx.tx, `SELECT `+codeColumns+codeFrom+w.sql(), w.args...)
		if err != nil {
			return err
		}
		for _, dc := range found {
			codes[dc.RewardID] = dc
		}
	}
	promos := map[string]string{}
	if len(voids) > 0 {
		w := where{}
		w.addIn("reward_id", voids)
		w.cond("kind = 'discount' AND status = 'done'")
		err := eachRow(ctx, tx.tx, "promotion codes to void", func(row scanner) error {
			var rewardID, ids string
			if err := row.Scan(&rewardID, &ids); err != nil {
				return err
			}
			promos[rewardID] = promotionCodeID(splitStripeIDs(ids))
			return nil
		}, `SELECT reward_id, stripe_ids FROM stripe_actions`+w.sql(), w.args...)
		if err != nil {
			return err
		}
	}
	for i := range out {
		a := &out[i]
		switch a.Kind {
		case stripe.ActionDiscount:
			if dc := codes[a.RewardID]; dc != nil {
				a.Code, a.PercentOff, a.ExpiresAt = dc.Code, dc.PercentOff, dc.ExpiresAt
			}
		case stripe.ActionVoid:
			a.PromotionCodeID = promos[a.RewardID]
		}
	}
	return nil
}

// promotionCodeID picks the promotion code among what a discount made
// (the coupon, then the promotion code).
func promotionCodeID(ids []string) string {
	for _, id := range ids {
		if strings.HasPrefix(id, "promo_") {
			return id
		}
	}
	if len(ids) > 0 {
		return ids[len(ids)-1]
	}
	return ""
}

// Stripe ids are stored joined by commas, which no Stripe id holds.
func joinStripeIDs(ids []string) string { return strings.Join(ids, ",") }

func splitStripeIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Why a debit or a void is skipped: what it would undo failed. They are
// tried again with it when the integration's key changes (ConnectStripe).
const (
	stripeCreditNeverMade = "The credit this would take back never reached Stripe."
	stripeCodeNeverMade   = "The promotion code this would deactivate was never created."
)

// RecordStripeAction records an attempt at an action, at the store's now:
// done (with the Stripe ids; a credit or debit moves the ledger too, see
// stripe.Action.Ledger), skipped, failed for good (a permanent error, or
// the last attempt), or due again after stripe.RetryDelay. An attempt at an
// action no longer pending is ignored.
func (db *DB) RecordStripeAction(ctx context.Context, id string, o stripe.ActionOutcome) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		return struct{}{}, tx.recordStripeAttempt(ctx, id, o)
	})
	return err
}

func (tx *Tx) recordStripeAttempt(ctx context.Context, id string, o stripe.ActionOutcome) error {
	var a stripe.Action
	var customerID string
	err := tx.tx.QueryRowContext(ctx, `SELECT a.program_id, a.reward_id, a.seq, a.kind, a.amount, a.currency, a.status,
		a.attempts, r.customer_id FROM stripe_actions a JOIN rewards r ON r.id = a.reward_id WHERE a.id = $1`+tx.db.forUpdate("a"), id).
		Scan(&a.ProgramID, &a.RewardID, &a.Seq, &a.Kind, &a.Amount, &a.Currency, &a.Status, &a.Attempts, &customerID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("record Stripe action %s: not found", id)
	}
	if err != nil {
		return fmt.Errorf("record Stripe action: %w", err)
	}
	if a.Status != stripe.ActionPending {
		return nil
	}
	now := micros(tx.now)
	var next sql.NullInt64
	status, lastErr, ids := stripe.ActionFailed, o.Error, ""
	switch {
	case o.Done:
		status, lastErr, ids = stripe.ActionDone, "", joinStripeIDs(o.StripeIDs)
		a.Attempts++
		if lt, ok := a.Ledger(customerID); ok {
			if _, err := tx.Post(ctx, a.ProgramID, lt); err != nil {
				return err
			}
		}
	case o.Skipped != "":
		status, lastErr = stripe.ActionSkipped, o.Skipped
	default:
		a.Attempts++
		if delay, ok := stripe.RetryDelay(a.Attempts); ok && !o.Permanent {
			status, next = stripe.ActionPending, sql.NullInt64{Int64: micros(tx.now.Add(delay)), Valid: true}
		}
	}
	lastErr = clip(lastErr, 1000) // by characters: a byte cut could split one, which PostgreSQL refuses
	if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_actions SET status = $2, attempts = $3, next_attempt_at = $4,
		last_error = $5, stripe_ids = $6, updated_at = $7 WHERE id = $1`, id, status, a.Attempts, next, lastErr, ids, now); err != nil {
		return fmt.Errorf("record Stripe action: %w", err)
	}
	// A failure for good is the integration's latest error too, so that
	// the dashboard's status light shows it (a key without a permission
	// it needs, most often).
	if status == stripe.ActionFailed {
		if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_integrations SET last_error = $2, last_error_at = $3 WHERE program_id = $1`,
			a.ProgramID, clip("Applying reward "+a.RewardID+" in Stripe failed: "+lastErr, 1000), now); err != nil {
			return fmt.Errorf("record Stripe action: %w", err)
		}
	}
	// What was to undo this action has nothing to undo now: a debit of a
	// credit never made, a void of a promotion code never created.
	if status == stripe.ActionFailed || status == stripe.ActionSkipped {
		undo, why := "", ""
		switch a.Kind {
		case stripe.ActionCredit:
			undo, why = stripe.ActionDebit, stripeCreditNeverMade
		case stripe.ActionDiscount:
			undo, why = stripe.ActionVoid, stripeCodeNeverMade
		}
		if undo != "" {
			if _, err := tx.tx.ExecContext(ctx, `UPDATE stripe_actions SET status = 'skipped', next_attempt_at = NULL,
				last_error = $4, updated_at = $5 WHERE reward_id = $1 AND seq > $2 AND kind = $3 AND status = 'pending'`,
				a.RewardID, a.Seq, undo, why, now); err != nil {
				return fmt.Errorf("skip Stripe actions after a failed one: %w", err)
			}
		}
	}
	return nil
}

// StripeActions lists a program's actions, each reward's in order, for
// tests and the dashboard.
func (db *DB) StripeActions(ctx context.Context, programID string) ([]StripeActionRow, error) {
	return queryAll(ctx, db.read, "list Stripe actions", func(row scanner) (StripeActionRow, error) {
		var r StripeActionRow
		var next sql.NullInt64
		var ids string
		err := row.Scan(&r.ID, &r.ProgramID, &r.RewardID, &r.Seq, &r.Kind, &r.StripeCustomerID, &r.Amount, &r.Currency,
			&r.Status, &r.Attempts, &next, &ids, &r.Error)
		r.NextAttemptAt, r.StripeIDs = nullMicros(next), splitStripeIDs(ids)
		return r, err
	}, `SELECT id, program_id, reward_id, seq, kind, stripe_customer_id, amount, currency, status, attempts,
		next_attempt_at, stripe_ids, last_error FROM stripe_actions WHERE program_id = $1 ORDER BY reward_id, seq`, programID)
}

// StripeActionRow is a row of the Stripe outbox.
type StripeActionRow struct {
	stripe.Action
	NextAttemptAt *time.Time
	StripeIDs     []string
}

// attachBilling loads what the credit and discount rewards rws became in
// Stripe, in one query.
func (db *DB) attachBilling(ctx context.Context, q querier, rws []*rewards.Reward) error {
	byID := map[string]*rewards.Reward{}
	var ids []string
	for _, rw := range rws {
		if rw.RewardType != rewards.Cash && byID[rw.ID] == nil {
			byID[rw.ID] = rw
			ids = append(ids, rw.ID)
			rw.Billing = nil
		}
	}
	if len(ids) == 0 {
		return nil
	}
	w := where{}
	w.addIn("reward_id", ids)
	return eachRow(ctx, q, "billing of rewards", func(row scanner) error {
		var rewardID, stripeIDs string
		b := rewards.BillingAction{Provider: "stripe"}
		if err := row.Scan(&rewardID, &b.Kind, &b.Status, &b.Amount, &b.Currency, &stripeIDs, &b.Error); err != nil {
			return err
		}
		b.IDs = splitStripeIDs(stripeIDs)
		rw := byID[rewardID]
		rw.Billing = append(rw.Billing, b)
		return nil
	}, `SELECT reward_id, kind, status, amount, currency, stripe_ids, last_error FROM stripe_actions`+w.sql()+
		` ORDER BY reward_id, seq`, w.args...)
}
