package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// Email notifications: DispatchEvents, which already turns each new event
// into webhook deliveries in one transaction, also queues the emails the
// event makes (email.Plan) as rows of email_messages, once per event, kind
// and recipient; an email.Mailer claims, sends and records them as the
// webhooks.Deliverer does deliveries. Nothing is queued unless
// DB.Emails is on (serve turns it on when SMTP is configured).

// dispatchEmails queues the emails of the events ids, in the transaction
// that marks them dispatched. Customers without an email or who opted out,
// and kinds a program switched off, get nothing; both are checked again
// when the email is sent.
func (tx *Tx) dispatchEmails(ctx context.Context, ids []string) error {
	if !tx.db.Emails || len(ids) == 0 {
		return nil
	}
	w := where{}
	w.addIn("id", ids)
	w.addIn("type", email.PlannedTypes)
	evs, err := queryAll(ctx, tx.tx, "events to email", scanEvent, `SELECT `+eventColumns+` FROM events`+w.sql()+` ORDER BY id`, w.args...)
	if err != nil || len(evs) == 0 {
		return err
	}
	// The rewards the events name, read at once.
	var rewardIDs, programs []string
	for _, ev := range evs {
		if id, _ := ev.Data["reward_id"].(string); id != "" {
			rewardIDs = append(rewardIDs, id)
		}
		if !slices.Contains(programs, ev.ProgramID) {
			programs = append(programs, ev.ProgramID)
		}
	}
	type reward struct {
		customerID, recipient string
		created               int64
		hasCode               bool
	}
	rws := map[string]reward{}
	if len(rewardIDs) > 0 {
		rw := where{}
		rw.addIn("r.id", rewardIDs)
		err := eachRow(ctx, tx.tx, "rewards to email", func(row scanner) error {
			var id string
			var r reward
			if err := row.Scan(&id, &r.customerID, &r.recipient, &r.created, &r.hasCode); err != nil {
				return err
			}
			rws[id] = r
			return nil
		}, `SELECT r.id, r.customer_id, r.recipient, r.created_at,
			EXISTS (SELECT 1 FROM discount_codes d WHERE d.reward_id = r.id) FROM rewards r`+rw.sql(), rw.args...)
		if err != nil {
			return err
		}
	}
	off, err := tx.disabledKinds(ctx, programs)
	if err != nil {
		return err
	}
	type message struct {
		ev                    Event
		kind, customerID, rcp string
	}
	var msgs []message
	var customers []string
	var admins []string
	adminsRead := false
	for _, ev := range evs {
		o := email.Occurrence{Type: ev.Type}
		o.ReferrerID, _ = ev.Data["referrer_id"].(string)
		if id, _ := ev.Data["reward_id"].(string); id != "" {
			if r, ok := rws[id]; ok {
				o.Reward = &email.RewardFact{CustomerID: r.customerID, ToReferrer: r.recipient == rewards.Referrer,
					HasCode: r.hasCode, AvailableAtOnce: r.created == micros(ev.CreatedAt)}
			}
		}
		for _, p := range email.Plan(o) {
			if off[ev.ProgramID+" "+p.Kind] {
				continue
			}
			if !p.ToAdmins {
				msgs = append(msgs, message{ev: ev, kind: p.Kind, customerID: p.CustomerID})
				if !slices.Contains(customers, p.CustomerID) {
					customers = append(customers, p.CustomerID)
				}
				continue
			}
			if !adminsRead {
				if admins, err = queryAll(ctx, tx.tx, "admins to email", scanString, `SELECT email FROM admins ORDER BY id`); err != nil {
					return err
				}
				adminsRead = true
			}
			for _, a := range admins {
				msgs = append(msgs, message{ev: ev, kind: p.Kind, rcp: a})
			}
		}
	}
	// The customers' addresses; those without one, deleted or opted out
	// are left out.
	addr := map[string]string{}
	if len(customers) > 0 {
		cw := where{}
		cw.addIn("id", customers)
		cw.cond("deleted_at IS NULL AND email_opt_out = FALSE AND email IS NOT NULL AND email <> ''")
		err := eachRow(ctx, tx.tx, "customers to email", func(row scanner) error {
			var id, e string
			if err := row.Scan(&id, &e); err != nil {
				return err
			}
			addr[id] = e
			return nil
		}, `SELECT id, email FROM customers`+cw.sql(), cw.args...)
		if err != nil {
			return err
		}
	}
	keyed := map[string]bool{}
	now := micros(tx.now)
	for _, m := range msgs {
		if m.customerID != "" {
			if m.rcp = addr[m.customerID]; m.rcp == "" {
				continue
			}
			// Its unsubscribe link is signed with the program's key.
			if !keyed[m.ev.ProgramID] {
				if _, err := tx.unsubscribeKey(ctx, m.ev.ProgramID); err != nil {
					return err
				}
				keyed[m.ev.ProgramID] = true
			}
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO email_messages (id, program_id, event_id, kind, customer_id,
			recipient, status, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7)
			ON CONFLICT (event_id, kind, recipient) DO NOTHING`,
			tx.ids.New("eml", tx.now), m.ev.ProgramID, m.ev.ID, m.kind, nullString(m.customerID), m.rcp, now); err != nil {
			return fmt.Errorf("queue email for event %s: %w", m.ev.ID, err)
		}
	}
	return nil
}

// disabledKinds returns "programID kind" for each kind the programs
// switched off.
func (tx *Tx) disabledKinds(ctx context.Context, programs []string) (map[string]bool, error) {
	w := where{}
	w.addIn("program_id", programs)
	w.cond("enabled = FALSE")
	off := map[string]bool{}
	err := eachRow(ctx, tx.tx, "disabled email kinds", func(row scanner) error {
		var p, k string
		if err := row.Scan(&p, &k); err != nil {
			return err
		}
		off[p+" "+k] = true
		return nil
	}, `SELECT program_id, kind FROM email_templates`+w.sql(), w.args...)
	return off, err
}

// unsubscribeKey returns the program's unsubscribe key, making it (and
// the program's email settings) on first use.
func (tx *Tx) unsubscribeKey(ctx context.Context, programID string) ([]byte, error) {
	b := make([]byte, 32)
	rand.Read(b)
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO email_settings (program_id, unsubscribe_key, updated_at)
		VALUES ($1, $2, $3) ON CONFLICT (program_id) DO NOTHING`,
		programID, base64.StdEncoding.EncodeToString(b), micros(tx.now)); err != nil {
		return nil, fmt.Errorf("make unsubscribe key: %w", err)
	}
	var key string
	if err := tx.tx.QueryRowContext(ctx, `SELECT unsubscribe_key FROM email_settings WHERE program_id = $1`, programID).Scan(&key); err != nil {
		return nil, fmt.Errorf("read unsubscribe key: %w", err)
	}
	return base64.StdEncoding.DecodeString(key)
}

// endpointDisabled announces that a webhook endpoint was disabled, for
// the program's admins to be told by email (and any other endpoint).
func (tx *Tx) endpointDisabled(ctx context.Context, endpointID, url, reason string) error {
	var programID string
	if err := tx.tx.QueryRowContext(ctx, `SELECT program_id FROM webhook_endpoints WHERE id = $1`, endpointID).Scan(&programID); err != nil {
		return fmt.Errorf("endpoint disabled: %w", err)
	}
	return tx.AddEvent(ctx, programID, "webhook_endpoint.disabled", map[string]any{
		"endpoint_id": endpointID, "url": url, "reason": reason})
}

// ClaimEmails returns up to limit pending emails due at now, the longest
// due first, and makes them due again only at now+lease. On PostgreSQL
// concurrent claimers skip each other's rows.
func (db *DB) ClaimEmails(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]email.Queued, error) {
	return run(ctx, db, func(tx *Tx) ([]email.Queued, error) {
		lock := ""
		if db.Engine == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		out, err := queryAll(ctx, tx.tx, "due emails", func(row scanner) (email.Queued, error) {
			var q email.Queued
			var customer sql.NullString
			err := row.Scan(&q.ID, &q.ProgramID, &q.EventID, &q.Kind, &customer, &q.Recipient, &q.Attempts)
			q.CustomerID = customer.String
			return q, err
		}, `SELECT id, program_id, event_id, kind, customer_id, recipient, attempts FROM email_messages
			WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`+lock, micros(now), limit)
		if err != nil || len(out) == 0 {
			return nil, err
		}
		u := where{args: []any{micros(now.Add(lease)), micros(tx.now)}}
		u.addIn("id", idsOf(out))
		if _, err := tx.tx.ExecContext(ctx, `UPDATE email_messages SET next_attempt_at = $1, updated_at = $2`+u.sql(), u.args...); err != nil {
			return nil, fmt.Errorf("claim emails: %w", err)
		}
		return out, nil
	})
}

func idsOf(qs []email.Queued) []string {
	ids := make([]string, len(qs))
	for i, q := range qs {
		ids[i] = q.ID
	}
	return ids
}

// RecordEmail records an attempt at an email, at the store's now: sent,
// skipped, failed for good (a permanent error, or the last attempt), or
// due again after email.RetryDelay. An attempt at an email no longer
// pending is ignored.
func (db *DB) RecordEmail(ctx context.Context, id string, o email.Outcome) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		var status string
		var attempts int
		err := tx.tx.QueryRowContext(ctx, `SELECT status, attempts FROM email_messages WHERE id = $1`+db.forUpdate(), id).Scan(&status, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return struct{}{}, fmt.Errorf("record email %s: not found", id)
		}
		if err != nil || status != email.StatusPending {
			return struct{}{}, err
		}
		now := micros(tx.now)
		var next, sent sql.NullInt64
		lastErr := o.Error
		switch {
		case o.Sent:
			status, sent = email.StatusSent, sql.NullInt64{Int64: now, Valid: true}
			attempts++
		case o.Skipped != "":
			status, lastErr = email.StatusSkipped, o.Skipped
		default:
			attempts++
			status = email.StatusFailed
			if delay, ok := email.RetryDelay(attempts); ok && !o.Permanent {
				status, next = email.StatusPending, sql.NullInt64{Int64: micros(tx.now.Add(delay)), Valid: true}
			}
		}
		if len(lastErr) > 1000 {
			lastErr = lastErr[:1000]
		}
		_, err = tx.tx.ExecContext(ctx, `UPDATE email_messages SET status = $2, attempts = $3, next_attempt_at = $4,
			last_error = $5, sent_at = $6, updated_at = $7 WHERE id = $1`, id, status, attempts, next, nullString(lastErr), sent, now)
		if err != nil {
			return struct{}{}, fmt.Errorf("record email: %w", err)
		}
		return struct{}{}, nil
	})
	return err
}

// EmailMessage is a row of the email outbox, for tests and the dashboard.
type EmailMessage struct {
	email.Queued
	Status    string
	LastError string
	NextAt    *time.Time
	SentAt    *time.Time
}

// EmailMessages lists a program's emails, oldest first.
func (db *DB) EmailMessages(ctx context.Context, programID string) ([]EmailMessage, error) {
	return queryAll(ctx, db.read, "list emails", func(row scanner) (EmailMessage, error) {
		var m EmailMessage
		var customer, lastErr sql.NullString
		var next, sent sql.NullInt64
		err := row.Scan(&m.ID, &m.ProgramID, &m.EventID, &m.Kind, &customer, &m.Recipient, &m.Attempts,
			&m.Status, &lastErr, &next, &sent)
		m.CustomerID, m.LastError = customer.String, lastErr.String
		m.NextAt, m.SentAt = nullMicros(next), nullMicros(sent)
		return m, err
	}, `SELECT id, program_id, event_id, kind, customer_id, recipient, attempts, status, last_error, next_attempt_at, sent_at
		FROM email_messages WHERE program_id = $1 ORDER BY id`, programID)
}

// PrepareEmail reads what sending a queued email needs: the program's
// template and settings, the values of its placeholders and the
// recipient's name, as they are now. An email to a customer who has since
// opted out, been deleted, or of a kind since switched off, is skipped.
func (db *DB) PrepareEmail(ctx context.Context, q email.Queued) (*email.Prepared, error) {
	p, err := db.Program(ctx, q.ProgramID)
	if err != nil {
		return nil, err
	}
	s, err := db.EmailSettings(ctx, q.ProgramID)
	if err != nil {
		return nil, err
	}
	t, err := db.EmailTemplate(ctx, q.ProgramID, q.Kind)
	if err != nil {
		return nil, err
	}
	if !t.Enabled {
		return &email.Prepared{Skip: "The program switched this email off."}, nil
	}
	ev, err := scanEvent(db.read.QueryRowContext(ctx, `SELECT `+eventColumns+` FROM events WHERE program_id = $1 AND id = $2`, q.ProgramID, q.EventID))
	if err != nil {
		return nil, fmt.Errorf("prepare email: event: %w", err)
	}
	out := &email.Prepared{Template: t, Brand: email.Brand{ProgramName: p.Name, Color: s.BrandColor},
		SenderName: s.SenderName, ReplyTo: s.ReplyTo, Values: email.Values{"program_name": p.Name}}
	v := out.Values
	if q.CustomerID != "" {
		var c customerToEmail
		if c, err = db.customerToEmail(ctx, q.CustomerID); err != nil {
			return nil, err
		}
		switch {
		case c.deleted || c.email == "":
			return &email.Prepared{Skip: "The customer was deleted."}, nil
		case c.optOut:
			return &email.Prepared{Skip: "The customer unsubscribed."}, nil
		}
		out.ToName = c.name
		out.UnsubscribeToken = email.UnsubscribeToken(s.unsubscribeKey, q.ProgramID, q.CustomerID)
		v["customer_name"], v["customer_first_name"] = orElse(c.name, c.email), firstName(c.name)
		v["referral_code"], v["referral_link"] = c.code, referral.WithRef(p.WebsiteURL, p.RefParam, c.code)
	}
	str := func(k string) string { s, _ := ev.Data[k].(string); return s }
	switch ev.Type {
	case "referral.created":
		f, err := db.customerToEmail(ctx, str("customer_id"))
		if err != nil {
			return nil, err
		}
		v["friend_name"] = orElse(f.name, f.email)
	case "reward.created", "reward.available":
		rw, err := db.Reward(ctx, q.ProgramID, str("reward_id"))
		if err != nil {
			return nil, err
		}
		amount := rewardAmount(rw)
		v["reward_amount"], v["reward_status"] = amount, rw.Status
		v["reward_description"], v["discount_description"] = rewardDescription(rw, amount), amount
		if rw.DiscountCode != nil {
			v["discount_code"] = rw.DiscountCode.Code
		}
		if f, err := db.customerToEmail(ctx, rw.FriendID); err == nil {
			v["friend_name"] = orElse(f.name, f.email)
		}
	case "webhook_endpoint.disabled":
		v["endpoint_url"], v["disabled_reason"] = str("url"), str("reason")
		// The Mailer puts its base URL in front.
		v["dashboard_url"] = "/dashboard/programs/" + q.ProgramID + "/webhooks"
	}
	return out, nil
}

// rewardAmount is a reward's value as people read it: "10.00 USD",
// "15% off".
func rewardAmount(rw *rewards.Reward) string {
	if rw.Currency == "" {
		return string(money.FormatPercent(rw.Amount)) + "% off"
	}
	return string(money.Format(rw.Amount, rw.Currency)) + " " + rw.Currency
}

// rewardDescription says what a reward is: "10.00 USD account credit".
func rewardDescription(rw *rewards.Reward, amount string) string {
	switch rw.RewardType {
	case rewards.Credit:
		return amount + " account credit"
	case rewards.Cash:
		return amount + " cash"
	case rewards.Discount:
		if rw.Currency == "" {
			return "a discount of " + strings.TrimSuffix(amount, " off")
		}
		return "a discount of " + amount
	}
	return amount
}

func orElse(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// firstName is the first word of a name, "there" without one ("Hi there").
func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return "there"
}

type customerToEmail struct {
	email, name, code string
	optOut, deleted   bool
}

func (db *DB) customerToEmail(ctx context.Context, id string) (customerToEmail, error) {
	var c customerToEmail
	var addr sql.NullString
	var deleted sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT email, name, referral_code, email_opt_out, deleted_at FROM customers WHERE id = $1`, id).
		Scan(&addr, &c.name, &c.code, &c.optOut, &deleted)
	if err != nil {
		return c, fmt.Errorf("customer to email: %w", err)
	}
	c.email, c.deleted = addr.String, deleted.Valid
	return c, nil
}
