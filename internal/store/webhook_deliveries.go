package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// Webhook deliveries: the deliverer (webhooks.Deliverer) turns new events
// into deliveries (DispatchEvents), claims the due ones (ClaimDeliveries)
// and records the attempts (RecordAttempts, a batch at a time). Several nodes may run it at
// once: on PostgreSQL each claims its rows with SKIP LOCKED, on SQLite the
// single writer serializes them; a claimed delivery is not due again until
// its lease ends, so it is sent once, and again only if its worker died.

const deliveryColumns = `d.id, d.program_id, d.endpoint_id, d.event_id, ev.type, d.status, d.attempts,
	d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, d.last_response,
	d.last_duration_ms, d.created_at, d.updated_at`

const deliveryFrom = ` FROM webhook_deliveries d JOIN events ev ON ev.program_id = d.program_id AND ev.id = d.event_id`

// deliveryFields are the scan targets of deliveryColumns; done turns them
// into d.
type deliveryFields struct {
	next, last, code, ms sql.NullInt64
	lastErr, resp        sql.NullString
	created, updated     int64
	dst                  []any
	d                    webhooks.Delivery
}

func newDeliveryFields() *deliveryFields {
	f := &deliveryFields{}
	d := &f.d
	f.dst = []any{&d.ID, &d.ProgramID, &d.EndpointID, &d.EventID, &d.EventType, &d.Status, &d.Attempts,
		&f.next, &f.last, &f.code, &f.lastErr, &f.resp, &f.ms, &f.created, &f.updated}
	return f
}

func (f *deliveryFields) done() *webhooks.Delivery {
	d := f.d
	if f.next.Valid {
		d.NextAttemptAt = fromMicros(f.next.Int64)
	}
	if f.last.Valid {
		d.LastAttemptAt = fromMicros(f.last.Int64)
	}
	d.LastStatusCode = int(f.code.Int64)
	d.LastError, d.LastResponse = f.lastErr.String, f.resp.String
	d.LastDuration = time.Duration(f.ms.Int64) * time.Millisecond
	d.CreatedAt, d.UpdatedAt = fromMicros(f.created), fromMicros(f.updated)
	return &d
}

func scanDelivery(row scanner) (*webhooks.Delivery, error) {
	f := newDeliveryFields()
	if err := row.Scan(f.dst...); err != nil {
		return nil, err
	}
	return f.done(), nil
}

// DispatchEvents turns up to limit events not yet dispatched, oldest
// first, into pending deliveries, due at once, to every active endpoint of
// their program subscribed to their type, and marks them dispatched. It
// returns how many events it dispatched: fewer than limit means it has
// caught up.
func (db *DB) DispatchEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	return run(ctx, db, func(tx *Tx) (int, error) {
		lock := ""
		if db.Engine == Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		type event struct{ programID, id, typ string }
		evs, err := queryAll(ctx, tx.tx, "undispatched events", func(row scanner) (event, error) {
			var e event
			return e, row.Scan(&e.programID, &e.id, &e.typ)
		}, `SELECT program_id, id, type FROM events WHERE dispatched_at IS NULL ORDER BY id LIMIT $1`+lock, limit)
		if err != nil || len(evs) == 0 {
			return 0, err
		}
		// The endpoints of the batch's programs, read once.
		var programs, ids []string
		for _, e := range evs {
			if !slices.Contains(programs, e.programID) { // a batch is mostly one program's
				programs = append(programs, e.programID)
			}
			ids = append(ids, e.id)
		}
		w := where{}
		w.addInPadded("program_id", programs)
		w.cond("active = TRUE AND deleted_at IS NULL")
		endpoints, err := queryAll(ctx, tx.tx, "endpoints to dispatch to", scanEndpoint,
			`SELECT `+endpointColumns+` FROM webhook_endpoints`+w.sql(), w.args...)
		if err != nil {
			return 0, err
		}
		at := micros(now)
		var rows [][]any
		for _, ev := range evs {
			for _, ep := range endpoints {
				if ep.ProgramID == ev.programID && ep.Subscribed(ev.typ) {
					rows = append(rows, []any{tx.ids.New("whd", tx.now), ev.programID, ep.ID, ev.id})
				}
			}
		}
		// Many rows a statement: a payment's events to a few endpoints are a
		// dozen rows, each a statement of its own on the single writer before.
		for len(rows) > 0 {
			// Chunks of a power of two rows: few query texts to prepare.
			size := dispatchRows
			for size > len(rows) {
				size /= 2
			}
			chunk := rows[:size]
			rows = rows[size:]
			var b strings.Builder
			args := []any{at, micros(tx.now)}
			b.WriteString(`INSERT INTO webhook_deliveries (id, program_id, endpoint_id, event_id,
				status, next_attempt_at, created_at, updated_at) VALUES `)
			for i, r := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				n := len(args)
				fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, 'pending', $1, $2, $2)", n+1, n+2, n+3, n+4)
				args = append(args, r...)
			}
			b.WriteString(` ON CONFLICT (endpoint_id, event_id) DO NOTHING`)
			if _, err := tx.tx.ExecContext(ctx, b.String(), args...); err != nil {
				return 0, fmt.Errorf("dispatch events: %w", err)
			}
		}
		mark := where{args: []any{at}}
		mark.cond("dispatched_at IS NULL")
		mark.addInPadded("id", ids)
		if _, err := tx.tx.ExecContext(ctx, `UPDATE events SET dispatched_at = $1`+mark.sql(), mark.args...); err != nil {
			return 0, fmt.Errorf("mark events dispatched: %w", err)
		}
		if err := tx.dispatchEmails(ctx, ids); err != nil {
			return 0, err
		}
		if err := tx.dispatchStripe(ctx, ids); err != nil {
			return 0, err
		}
		return len(evs), nil
	})
}

// dispatchRows is the most deliveries one INSERT of DispatchEvents writes
// (a power of two).
const dispatchRows = 64

// ClaimDeliveries returns up to c.Limit pending deliveries due at c.Now,
// the longest due first, at most c.Room(endpoint) per endpoint, and makes
// them due again only at c.Now+c.Lease. Deliveries to a paused or disabled
// endpoint wait for it to be resumed; those to a deleted endpoint fail.
func (db *DB) ClaimDeliveries(ctx context.Context, c webhooks.Claim) ([]webhooks.Outgoing, error) {
	return run(ctx, db, func(tx *Tx) ([]webhooks.Outgoing, error) {
		w := where{}
		w.cond("d.status = 'pending'")
		w.add("d.next_attempt_at <= ", micros(c.Now))
		w.cond("(e.active = TRUE OR e.deleted_at IS NOT NULL)")
		var full []string
		for ep := range c.Busy {
			if c.Room(ep) <= 0 {
				full = append(full, ep)
			}
		}
		if len(full) > 0 {
			w.addInPadded("d.endpoint_id NOT", full)
		}
		lock := ""
		if db.Engine == Postgres {
			lock = " FOR UPDATE OF d SKIP LOCKED"
		}
		type candidate struct {
			out     webhooks.Outgoing
			data    string // the event's, decoded only if claimed
			deleted bool
		}
		// A few times the limit, so that an endpoint with little room
		// does not leave the claim short.
		cands, err := queryAll(ctx, tx.tx, "due deliveries", func(row scanner) (candidate, error) {
			f := newDeliveryFields()
			var ep webhooks.Endpoint
			var previous, data sql.NullString
			var rotated, deleted sql.NullInt64
			var evCreated int64
			if err := row.Scan(append(f.dst, &ep.URL, &ep.Secret, &previous, &rotated, &deleted, &data, &evCreated)...); err != nil {
				return candidate{}, err
			}
			d := f.done()
			ep.PreviousSecret = previous.String
			if rotated.Valid {
				ep.SecretRotatedAt = fromMicros(rotated.Int64)
			}
			ev := webhooks.Event{ID: d.EventID, ProgramID: d.ProgramID, Type: d.EventType, CreatedAt: fromMicros(evCreated)}
			return candidate{webhooks.Outgoing{Delivery: *d, URL: ep.URL, Secrets: ep.LiveSecrets(c.Now), Event: ev}, data.String, deleted.Valid}, nil
		}, `SELECT `+deliveryColumns+`, e.url, e.secret, e.previous_secret, e.secret_rotated_at, e.deleted_at, ev.data, ev.created_at`+
			deliveryFrom+` JOIN webhook_endpoints e ON e.id = d.endpoint_id`+w.sql()+
			` ORDER BY d.next_attempt_at LIMIT $`+fmt.Sprint(len(w.args)+1)+lock, append(w.args, 4*c.Limit)...)
		if err != nil {
			return nil, err
		}
		var out []webhooks.Outgoing
		var claimed, gone []string
		taken := map[string]int{}
		for _, cd := range cands {
			ep := cd.out.Delivery.EndpointID
			switch {
			case cd.deleted:
				gone = append(gone, cd.out.Delivery.ID)
			case len(out) < c.Limit && taken[ep] < c.Room(ep):
				taken[ep]++
				dec := json.NewDecoder(strings.NewReader(cd.data))
				dec.UseNumber()
				if err := dec.Decode(&cd.out.Event.Data); err != nil {
					return nil, fmt.Errorf("event %s: %w", cd.out.Event.ID, err)
				}
				cd.out.Delivery.NextAttemptAt = c.Now.Add(c.Lease).UTC().Truncate(time.Microsecond)
				out = append(out, cd.out)
				claimed = append(claimed, cd.out.Delivery.ID)
			}
		}
		if len(claimed) > 0 {
			u := where{args: []any{micros(c.Now.Add(c.Lease)), micros(tx.now)}}
			u.addInPadded("id", claimed)
			if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1, updated_at = $2`+u.sql(), u.args...); err != nil {
				return nil, fmt.Errorf("claim deliveries: %w", err)
			}
		}
		if len(gone) > 0 {
			u := where{args: []any{micros(tx.now), "The endpoint was deleted."}}
			u.addInPadded("id", gone)
			if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,
				last_error = $2, updated_at = $1`+u.sql(), u.args...); err != nil {
				return nil, fmt.Errorf("fail deliveries to deleted endpoints: %w", err)
			}
		}
		return out, nil
	})
}

// ReleaseDeliveries makes claimed deliveries that were not sent due again
// at now, as a worker that stops does with those it still held, rather
// than leave them to their lease. A delivery claimed again since (its
// lease ran out) is left alone.
func (db *DB) ReleaseDeliveries(ctx context.Context, now time.Time, held []webhooks.Outgoing) error {
	byLease := map[time.Time][]string{}
	for _, o := range held {
		byLease[o.Delivery.NextAttemptAt] = append(byLease[o.Delivery.NextAttemptAt], o.Delivery.ID)
	}
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		for lease, ids := range byLease {
			u := where{args: []any{micros(now), micros(tx.now)}}
			u.cond("status = 'pending'")
			u.add("next_attempt_at = ", micros(lease))
			u.addInPadded("id", ids)
			if _, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $1, updated_at = $2`+u.sql(), u.args...); err != nil {
				return struct{}{}, fmt.Errorf("release webhook deliveries: %w", err)
			}
		}
		return struct{}{}, nil
	})
	return err
}

// RecordAttempt records the outcome of an attempt to send a delivery, at
// the store's now. A 2xx finishes it; a 410 Gone fails it and disables
// the endpoint; anything else is retried after webhooks.RetryDelay, until
// webhooks.MaxAttempts, and an endpoint that has failed every attempt for
// webhooks.FailingLimit is disabled. An attempt at a delivery that is no
// longer pending (another worker recorded it after this one's lease ran
// out) is ignored.
func (db *DB) RecordAttempt(ctx context.Context, deliveryID string, a webhooks.Attempt) error {
	_, err := run(ctx, db, func(tx *Tx) (struct{}, error) {
		found, err := tx.recordAttempts(ctx, []webhooks.Outcome{{DeliveryID: deliveryID, Attempt: a}})
		if err == nil && found == 0 {
			err = webhooks.ErrDeliveryNotFound
		}
		return struct{}{}, err
	})
	return err
}

// RecordAttempts records several attempts as RecordAttempt does, in order,
// in one transaction: a deliverer's results of the last few moments, one
// write transaction instead of one each. Unknown deliveries are skipped.
func (db *DB) RecordAttempts(ctx context.Context, outcomes []webhooks.Outcome) error {
	_, err := run(ctx, db, func(tx *Tx) (int, error) { return tx.recordAttempts(ctx, outcomes) })
	return err
}

// attemptState is what recording an attempt reads of its delivery.
type attemptState struct {
	status, endpointID, url string
	attempts                int
}

// recordAttempts reads the deliveries of outcomes in one query and records
// each outcome; it returns how many were of known deliveries.
func (tx *Tx) recordAttempts(ctx context.Context, outcomes []webhooks.Outcome) (int, error) {
	var ids []string
	for _, o := range outcomes {
		ids = append(ids, o.DeliveryID)
	}
	w := where{}
	w.addInPadded("d.id", ids)
	type row struct {
		id string
		st attemptState
	}
	// In id order, so that workers recording at once on PostgreSQL lock
	// rows in the same order.
	rows, err := queryAll(ctx, tx.tx, "record webhook attempts", func(sc scanner) (row, error) {
		var r row
		return r, sc.Scan(&r.id, &r.st.status, &r.st.attempts, &r.st.endpointID, &r.st.url)
	}, `SELECT d.id, d.status, d.attempts, d.endpoint_id, e.url FROM webhook_deliveries d
		JOIN webhook_endpoints e ON e.id = d.endpoint_id`+w.sql()+` ORDER BY d.id`+tx.db.forUpdate("d"), w.args...)
	if err != nil {
		return 0, err
	}
	states := make(map[string]*attemptState, len(rows))
	for _, r := range rows {
		states[r.id] = &r.st
	}
	// Endpoints in id order too, each one's outcomes in the order given.
	byEndpoint := make([]webhooks.Outcome, 0, len(outcomes))
	for _, o := range outcomes {
		if states[o.DeliveryID] != nil {
			byEndpoint = append(byEndpoint, o)
		}
	}
	slices.SortStableFunc(byEndpoint, func(a, b webhooks.Outcome) int {
		return strings.Compare(states[a.DeliveryID].endpointID, states[b.DeliveryID].endpointID)
	})
	for _, o := range byEndpoint {
		if err := tx.recordAttempt(ctx, o.DeliveryID, states[o.DeliveryID], o.Attempt); err != nil {
			return 0, err
		}
	}
	return len(byEndpoint), nil
}

// recordAttempt records one attempt at a delivery in state st, and leaves
// in st what it wrote.
func (tx *Tx) recordAttempt(ctx context.Context, deliveryID string, st *attemptState, a webhooks.Attempt) error {
	if st.status != webhooks.DeliveryPending {
		return nil
	}
	st.attempts++
	endpointID, url := st.endpointID, st.url
	now := micros(tx.now)
	var next sql.NullInt64
	status := webhooks.DeliveryFailed
	// How the endpoint changes: a success ends its failing streak, a
	// failure starts one if none is running.
	endpoint, args := `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1`, []any{endpointID, now}
	switch {
	case a.Succeeded():
		status = webhooks.DeliverySucceeded
		endpoint, args = `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL`, args[:1]
	case a.StatusCode == http.StatusGone:
		endpoint = `UPDATE webhook_endpoints SET active = FALSE, disabled_reason = $3, failing_since = NULL, updated_at = $2
			WHERE id = $1 AND active = TRUE`
		args = append(args, "410 Gone from "+url)
	default:
		if delay, ok := webhooks.RetryDelay(st.attempts); ok {
			status = webhooks.DeliveryPending
			next = sql.NullInt64{Int64: micros(tx.now.Add(delay)), Valid: true}
		}
	}
	st.status = status
	_, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4,
		last_attempt_at = $5, last_status_code = $6, last_error = $7, last_response = $8, last_duration_ms = $9,
		updated_at = $5 WHERE id = $1`,
		deliveryID, status, st.attempts, next, now, nullInt(int64(a.StatusCode)), nullString(webhooks.Excerpt([]byte(a.Error))),
		nullString(webhooks.Excerpt(a.Response)), a.Duration.Milliseconds())
	if err != nil {
		return fmt.Errorf("record webhook attempt: %w", err)
	}
	res, err := tx.tx.ExecContext(ctx, endpoint, args...)
	if err != nil {
		return fmt.Errorf("record webhook attempt: endpoint: %w", err)
	}
	if a.StatusCode == http.StatusGone {
		if n, _ := res.RowsAffected(); n > 0 {
			return tx.endpointDisabled(ctx, endpointID, url, args[2].(string))
		}
		return nil
	}
	if a.Succeeded() {
		return nil
	}
	// Every attempt failed for FailingLimit: disable the endpoint, so that
	// a receiver gone for good does not cost retries for ever; its admins
	// are told (webhook_endpoint.disabled) when the UPDATE changed a row.
	reason := "Every delivery failed for 5 days; the last to " + url + ": " + attemptSummary(a)
	res, err = tx.tx.ExecContext(ctx, `UPDATE webhook_endpoints SET active = FALSE, disabled_reason = $2,
		failing_since = NULL, updated_at = $3 WHERE id = $1 AND active = TRUE AND failing_since <= $4`,
		endpointID, reason, now, micros(tx.now.Add(-webhooks.FailingLimit)))
	if err != nil {
		return fmt.Errorf("record webhook attempt: disable endpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return tx.endpointDisabled(ctx, endpointID, url, reason)
	}
	return nil
}

// attemptSummary says in a few words how an attempt failed.
func attemptSummary(a webhooks.Attempt) string {
	if a.StatusCode != 0 {
		return fmt.Sprintf("HTTP %d", a.StatusCode)
	}
	return webhooks.Excerpt([]byte(a.Error))
}

// WebhookDelivery returns one of a program's deliveries.
func (db *DB) WebhookDelivery(ctx context.Context, programID, deliveryID string) (*webhooks.Delivery, error) {
	return webhookDelivery(ctx, db.read, programID, deliveryID)
}

func webhookDelivery(ctx context.Context, q querier, programID, deliveryID string) (*webhooks.Delivery, error) {
	d, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+deliveryFrom+
		` WHERE d.id = $1 AND d.program_id = $2`, deliveryID, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, webhooks.ErrDeliveryNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook delivery: %w", err)
	}
	return d, nil
}

// WebhookDeliveries lists the deliveries to one of a program's live
// endpoints, newest first, and says whether there are more.
func (db *DB) WebhookDeliveries(ctx context.Context, programID, endpointID string, p Page) ([]*webhooks.Delivery, bool, error) {
	if _, err := db.WebhookEndpoint(ctx, programID, endpointID); err != nil {
		return nil, false, err
	}
	w := where{}
	w.add("d.endpoint_id = ", endpointID)
	w.add("d.program_id = ", programID)
	page := p.keyset(&w, "d.id")
	out, err := queryAll(ctx, db.read, "list webhook deliveries", scanDelivery,
		`SELECT `+deliveryColumns+deliveryFrom+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(p, out)
	return out, more, nil
}

// RetryWebhookDelivery makes a delivery due now, whatever its state: a
// failed one gets one more attempt (more if it fails again before the end
// of the schedule), a succeeded one is sent again, with the same
// webhook-id, because a person asked.
func (db *DB) RetryWebhookDelivery(ctx context.Context, programID, deliveryID string) (*webhooks.Delivery, error) {
	return run(ctx, db, func(tx *Tx) (*webhooks.Delivery, error) {
		res, err := tx.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3,
			updated_at = $3 WHERE id = $1 AND program_id = $2`, deliveryID, programID, micros(tx.now))
		if err != nil {
			return nil, fmt.Errorf("retry webhook delivery: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, webhooks.ErrDeliveryNotFound
		}
		return webhookDelivery(ctx, tx.tx, programID, deliveryID)
	})
}

// SendTestWebhook sends a webhook_endpoint.test event to one active
// endpoint (see webhooks.TestEvent) and returns its delivery, due now.
// The event is written already dispatched, with its one delivery, so that
// DispatchEvents never offers it to the program's other endpoints.
func (db *DB) SendTestWebhook(ctx context.Context, programID, endpointID string) (*webhooks.Delivery, error) {
	return run(ctx, db, func(tx *Tx) (*webhooks.Delivery, error) {
		e, err := webhookEndpoint(ctx, tx.tx, programID, endpointID, tx.db.forUpdate())
		if err != nil {
			return nil, err
		}
		data, err := webhooks.TestEvent(e)
		if err != nil {
			return nil, err
		}
		eventID, err := tx.addDispatchedEvent(ctx, programID, "webhook_endpoint.test", data)
		if err != nil {
			return nil, err
		}
		deliveryID := tx.ids.New("whd", tx.now)
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, program_id, endpoint_id, event_id,
			status, next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $5)`,
			deliveryID, programID, e.ID, eventID, micros(tx.now)); err != nil {
			return nil, fmt.Errorf("send test webhook: %w", err)
		}
		return webhookDelivery(ctx, tx.tx, programID, deliveryID)
	})
}
