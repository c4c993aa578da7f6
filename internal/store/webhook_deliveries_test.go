package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// claim claims the deliveries due at now, with room for all of them.
func claim(t *testing.T, db *store.DB, now time.Time) []webhooks.Outgoing {
	t.Helper()
	out, err := db.ClaimDeliveries(t.Context(), webhooks.Claim{Now: now, Limit: 50, Lease: time.Minute, PerEndpoint: 50})
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return out
}

// dispatch dispatches every new event, or fails the test.
func dispatch(t *testing.T, db *store.DB, now time.Time) int {
	t.Helper()
	n, err := db.DispatchEvents(t.Context(), now, 100)
	if err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	return n
}

// namedCustomer creates a customer with key name, which writes a
// customer.created event.
func namedCustomer(t *testing.T, db *store.DB, p *referral.Program, name string) {
	t.Helper()
	newCustomer(t, db, p, referral.NewCustomer{Key: name, Email: name + "@example.com"})
}

// endpointsOf lists the endpoint ids of claimed deliveries, sorted.
func endpointsOf(out []webhooks.Outgoing) []string {
	var ids []string
	for _, o := range out {
		ids = append(ids, o.Delivery.EndpointID)
	}
	slices.Sort(ids)
	return ids
}

// TestDispatchEvents: an event becomes one delivery to each active endpoint
// of its program subscribed to its type, once however often dispatch runs;
// an event rolled back with its change is never delivered.
func TestDispatchEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		p, other := newProgram(t, db), newProgram(t, db)
		all := newEndpoint(t, db, p.ID, "https://a.example.com/", "*")
		customers := newEndpoint(t, db, p.ID, "https://b.example.com/", "customer.created", "reward.created")
		newEndpoint(t, db, p.ID, "https://c.example.com/", "reward.created")
		paused := newEndpoint(t, db, p.ID, "https://d.example.com/", "*")
		if _, err := db.UpdateWebhookEndpoint(ctx, p.ID, paused.ID, webhooks.EndpointInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		deleted := newEndpoint(t, db, p.ID, "https://e.example.com/", "*")
		if err := db.DeleteWebhookEndpoint(ctx, p.ID, deleted.ID); err != nil {
			t.Fatal(err)
		}
		newEndpoint(t, db, other.ID, "https://f.example.com/", "*")

		namedCustomer(t, db, p, "ada")
		err := db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.AddEvent(ctx, p.ID, "customer.created", map[string]any{"id": "cus_rolled_back"}); err != nil {
				return err
			}
			return errors.New("the change fails")
		})
		if err == nil {
			t.Fatal("the failing transaction committed")
		}
		if n := dispatch(t, db, now); n != 1 {
			t.Errorf("dispatched %d events, want 1", n)
		}
		if n := dispatch(t, db, now); n != 0 {
			t.Errorf("dispatched %d events again, want 0", n)
		}
		out := claim(t, db, now)
		want := []string{all.ID, customers.ID}
		slices.Sort(want)
		if got := endpointsOf(out); !slices.Equal(got, want) {
			t.Fatalf("deliveries to %v, want %v", got, want)
		}
		for _, o := range out {
			ev := o.Event
			if ev.Type != "customer.created" || ev.ProgramID != p.ID || ev.Data["customer_key"] != "ada" || !ev.CreatedAt.Equal(now) ||
				o.Delivery.EventID != ev.ID || o.Delivery.Attempts != 0 || o.Delivery.Status != webhooks.DeliveryPending {
				t.Errorf("claimed %+v", o)
			}
			if o.URL != all.URL && o.URL != customers.URL || len(o.Secrets) != 1 || !strings.HasPrefix(o.Secrets[0], "whsec_") {
				t.Errorf("claimed for %s with %v", o.URL, o.Secrets)
			}
		}
		if n := count(t, db, "webhook_deliveries"); n != 2 {
			t.Errorf("%d deliveries, want 2", n)
		}
	})
}

// TestClaimDeliveries: a claimed delivery is not claimed again until its
// lease ends (then it is: a worker that died loses nothing); paused
// endpoints wait, deleted ones fail; PerEndpoint and Busy bound what one
// endpoint gets.
func TestClaimDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		p := newProgram(t, db)
		a := newEndpoint(t, db, p.ID, "https://a.example.com/", "*")
		b := newEndpoint(t, db, p.ID, "https://b.example.com/", "*")
		for _, k := range []string{"c1", "c2", "c3"} {
			namedCustomer(t, db, p, k)
		}
		dispatch(t, db, now)

		out, err := db.ClaimDeliveries(ctx, webhooks.Claim{Now: now, Limit: 10, Lease: time.Minute, PerEndpoint: 2,
			Busy: map[string]int{b.ID: 1}})
		// a and b are made at the same instant, so their ids (and the
		// order of the claim) compare by their random part: compare sorted.
		got, want := endpointsOf(out), []string{a.ID, a.ID, b.ID}
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("claimed for %v, %v; want %v", got, err, want)
		}
		if out := claim(t, db, now.Add(59*time.Second)); len(out) != 3 {
			t.Errorf("claimed %d during the lease, want the 3 unclaimed", len(out))
		}
		now = now.Add(time.Minute)
		if out := claim(t, db, now); len(out) != 3 {
			t.Errorf("claimed %d after the first lease, want 3", len(out))
		}

		// A paused endpoint's deliveries wait; a deleted one's fail.
		if _, err := db.UpdateWebhookEndpoint(ctx, p.ID, a.ID, webhooks.EndpointInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, p.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		if out := claim(t, db, now); len(out) != 0 {
			t.Errorf("claimed %d for a paused and a deleted endpoint", len(out))
		}
		if _, err := db.UpdateWebhookEndpoint(ctx, p.ID, a.ID, webhooks.EndpointInput{Active: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if got := endpointsOf(claim(t, db, now)); !slices.Equal(got, []string{a.ID, a.ID, a.ID}) {
			t.Errorf("after resuming, claimed for %v", got)
		}
		var failed int
		if err := db.WriteStats().QueryRowContext(ctx, `SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed'
			AND next_attempt_at IS NULL AND last_error <> ''`, b.ID).Scan(&failed); err != nil || failed != 3 {
			t.Errorf("%d deliveries to the deleted endpoint failed (%v), want 3", failed, err)
		}
	})
}

// TestRecordAttempt: what each answer does to a delivery and its
// endpoint, along the retry schedule.
func TestRecordAttempt(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		now := start
		db.Now = func() time.Time { return now }
		p := newProgram(t, db)
		// deliver makes a new event for a new endpoint and claims it.
		deliver := func(t *testing.T, name string) (*webhooks.Endpoint, webhooks.Delivery) {
			t.Helper()
			e := newEndpoint(t, db, p.ID, "https://"+name+".example.com/in", "customer.created")
			namedCustomer(t, db, p, name)
			dispatch(t, db, now)
			for _, o := range claim(t, db, now) {
				if o.Delivery.EndpointID == e.ID {
					return e, o.Delivery
				}
			}
			t.Fatalf("%s: nothing to claim", name)
			return nil, webhooks.Delivery{}
		}
		record := func(t *testing.T, d webhooks.Delivery, a webhooks.Attempt) *webhooks.Delivery {
			t.Helper()
			if err := db.RecordAttempt(ctx, d.ID, a); err != nil {
				t.Fatalf("record: %v", err)
			}
			got, err := db.WebhookDelivery(ctx, p.ID, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}

		t.Run("retried on the schedule, then failed", func(t *testing.T) {
			_, d := deliver(t, "flaky")
			huge := []byte(strings.Repeat("é", 5000))
			for i := 1; i <= webhooks.MaxAttempts; i++ {
				got := record(t, d, webhooks.Attempt{StatusCode: 500, Response: huge, Error: "", Duration: 1500 * time.Millisecond})
				delay, more := webhooks.RetryDelay(i)
				wantStatus, wantNext := webhooks.DeliveryPending, now.Add(delay)
				if !more {
					wantStatus, wantNext = webhooks.DeliveryFailed, time.Time{}
				}
				if got.Status != wantStatus || got.Attempts != i || !got.NextAttemptAt.Equal(wantNext) ||
					got.LastStatusCode != 500 || got.LastDuration != 1500*time.Millisecond || !got.LastAttemptAt.Equal(now) ||
					len(got.LastResponse) > webhooks.MaxExcerpt || !strings.HasPrefix(got.LastResponse, "éé") {
					t.Fatalf("after attempt %d: %+v", i, got)
				}
				now = now.Add(delay)
			}
			if i := webhooks.MaxAttempts; i != 8 {
				t.Errorf("MaxAttempts = %d", i)
			}
		})
		t.Run("2xx succeeds", func(t *testing.T) {
			_, d := deliver(t, "ok")
			got := record(t, d, webhooks.Attempt{StatusCode: 500})
			got = record(t, *got, webhooks.Attempt{StatusCode: 204})
			if got.Status != webhooks.DeliverySucceeded || got.Attempts != 2 || !got.NextAttemptAt.IsZero() {
				t.Errorf("got %+v", got)
			}
			// Recorded again (a worker whose lease ran out): ignored.
			if got := record(t, d, webhooks.Attempt{StatusCode: 500}); got.Status != webhooks.DeliverySucceeded || got.Attempts != 2 {
				t.Errorf("a late attempt changed it: %+v", got)
			}
		})
		t.Run("no response", func(t *testing.T) {
			_, d := deliver(t, "down")
			got := record(t, d, webhooks.Attempt{Error: "dial tcp: connection refused\x00"})
			if got.Status != webhooks.DeliveryPending || got.LastStatusCode != 0 || !strings.HasPrefix(got.LastError, "dial tcp") {
				t.Errorf("got %+v", got)
			}
		})
		t.Run("410 disables the endpoint", func(t *testing.T) {
			e, d := deliver(t, "gone")
			got := record(t, d, webhooks.Attempt{StatusCode: 410})
			ep, err := db.WebhookEndpoint(ctx, p.ID, e.ID)
			if got.Status != webhooks.DeliveryFailed || err != nil || ep.Active || ep.DisabledReason != "410 Gone from "+e.URL {
				t.Errorf("delivery %+v, endpoint %+v (%v)", got, ep, err)
			}
		})
		t.Run("5 days of failures disable the endpoint", func(t *testing.T) {
			e, d := deliver(t, "failing")
			first := now
			record(t, d, webhooks.Attempt{StatusCode: 503})
			// A success resets the streak.
			now = first.Add(2 * 24 * time.Hour)
			namedCustomer(t, db, p, "f2")
			dispatch(t, db, now)
			var second webhooks.Delivery
			for _, o := range claim(t, db, now) {
				if o.Delivery.EndpointID == e.ID {
					second = o.Delivery
				}
			}
			record(t, second, webhooks.Attempt{StatusCode: 200})
			now = first.Add(webhooks.FailingLimit + time.Hour)
			record(t, second, webhooks.Attempt{StatusCode: 500}) // already succeeded: ignored
			if ep, _ := db.WebhookEndpoint(ctx, p.ID, e.ID); !ep.Active {
				t.Fatalf("disabled though a delivery succeeded since: %+v", ep)
			}
			namedCustomer(t, db, p, "f3")
			dispatch(t, db, now)
			var third webhooks.Delivery
			for _, o := range claim(t, db, now) {
				if o.Delivery.EndpointID == e.ID {
					third = o.Delivery
				}
			}
			streak := now
			record(t, third, webhooks.Attempt{StatusCode: 500})
			now = streak.Add(webhooks.FailingLimit - time.Minute)
			record(t, third, webhooks.Attempt{StatusCode: 500})
			if ep, _ := db.WebhookEndpoint(ctx, p.ID, e.ID); !ep.Active {
				t.Fatalf("disabled before 5 days of failures: %+v", ep)
			}
			now = streak.Add(webhooks.FailingLimit)
			record(t, third, webhooks.Attempt{StatusCode: 500})
			if ep, _ := db.WebhookEndpoint(ctx, p.ID, e.ID); ep.Active || !strings.Contains(ep.DisabledReason, "HTTP 500") {
				t.Errorf("after 5 days of failures: %+v", ep)
			}
		})
	})
}

// TestRecordAttempts: a batch of attempts with mixed outcomes is recorded
// in one write transaction, each as RecordAttempt would: in order (a
// second attempt at a delivery the batch finished is ignored, a success
// after a failure ends the endpoint's streak), a 410 disables its
// endpoint, an unknown delivery is skipped.
func TestRecordAttempts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		p := newProgram(t, db)
		ok := newEndpoint(t, db, p.ID, "https://ok.example.com/", "*")
		flaky := newEndpoint(t, db, p.ID, "https://flaky.example.com/", "*")
		recovers := newEndpoint(t, db, p.ID, "https://recovers.example.com/", "*")
		gone := newEndpoint(t, db, p.ID, "https://gone.example.com/", "*")
		namedCustomer(t, db, p, "c1")
		namedCustomer(t, db, p, "c2")
		dispatch(t, db, now)
		out := claim(t, db, now)
		if len(out) != 8 {
			t.Fatalf("claimed %d, want 8", len(out))
		}
		of := map[string][]string{} // delivery ids by endpoint
		for _, o := range out {
			of[o.Delivery.EndpointID] = append(of[o.Delivery.EndpointID], o.Delivery.ID)
		}
		batch := []webhooks.Outcome{
			{DeliveryID: of[ok.ID][0], Attempt: webhooks.Attempt{StatusCode: 200, Duration: time.Second}},
			{DeliveryID: of[flaky.ID][0], Attempt: webhooks.Attempt{StatusCode: 500, Response: []byte("oops")}},
			{DeliveryID: of[recovers.ID][0], Attempt: webhooks.Attempt{Error: "connection refused"}},
			{DeliveryID: "whd_unknown", Attempt: webhooks.Attempt{StatusCode: 200}},
			{DeliveryID: of[gone.ID][0], Attempt: webhooks.Attempt{StatusCode: 410}},
			{DeliveryID: of[ok.ID][0], Attempt: webhooks.Attempt{StatusCode: 500}}, // finished above: ignored
			{DeliveryID: of[recovers.ID][1], Attempt: webhooks.Attempt{StatusCode: 204}},
			{DeliveryID: of[flaky.ID][1], Attempt: webhooks.Attempt{StatusCode: 503}},
		}
		writes := db.WriteTransactions()
		if err := db.RecordAttempts(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if n := db.WriteTransactions() - writes; n != 1 {
			t.Errorf("%d write transactions, want 1", n)
		}
		tests := []struct {
			id       string
			status   string
			attempts int
			code     int
			next     time.Time
		}{
			{of[ok.ID][0], webhooks.DeliverySucceeded, 1, 200, time.Time{}},
			{of[ok.ID][1], webhooks.DeliveryPending, 0, 0, now.Add(time.Minute)},
			{of[flaky.ID][0], webhooks.DeliveryPending, 1, 500, now.Add(5 * time.Second)},
			{of[flaky.ID][1], webhooks.DeliveryPending, 1, 503, now.Add(5 * time.Second)},
			{of[recovers.ID][0], webhooks.DeliveryPending, 1, 0, now.Add(5 * time.Second)},
			{of[recovers.ID][1], webhooks.DeliverySucceeded, 1, 204, time.Time{}},
			{of[gone.ID][0], webhooks.DeliveryFailed, 1, 410, time.Time{}},
		}
		for _, tt := range tests {
			got, err := db.WebhookDelivery(ctx, p.ID, tt.id)
			if err != nil || got.Status != tt.status || got.Attempts != tt.attempts || got.LastStatusCode != tt.code || !got.NextAttemptAt.Equal(tt.next) {
				t.Errorf("%s: %+v (%v); want %s after %d attempts, %d, next %v", tt.id, got, err, tt.status, tt.attempts, tt.code, tt.next)
			}
		}
		var failing int
		if err := db.WriteStats().QueryRowContext(ctx, `SELECT count(*) FROM webhook_endpoints WHERE failing_since IS NOT NULL`).
			Scan(&failing); err != nil || failing != 1 {
			t.Errorf("%d endpoints failing (%v), want only the flaky one", failing, err)
		}
		if ep, err := db.WebhookEndpoint(ctx, p.ID, gone.ID); err != nil || ep.Active || ep.DisabledReason != "410 Gone from "+gone.URL {
			t.Errorf("after a 410: %+v, %v", ep, err)
		}
		if err := db.RecordAttempt(ctx, "whd_unknown", webhooks.Attempt{StatusCode: 200}); !errors.Is(err, webhooks.ErrDeliveryNotFound) {
			t.Errorf("one unknown delivery: %v", err)
		}
	})
}

// TestWebhookDeliveryLog: an endpoint's deliveries, newest first, page by
// page; a retry makes any delivery due now; another program sees none.
func TestWebhookDeliveryLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		stepClock(db, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		p, other := newProgram(t, db), newProgram(t, db)
		e := newEndpoint(t, db, p.ID, "https://a.example.com/", "*")
		for _, k := range []string{"c1", "c2", "c3"} {
			namedCustomer(t, db, p, k)
		}
		now := db.Now()
		dispatch(t, db, now)
		first, more, err := db.WebhookDeliveries(ctx, p.ID, e.ID, store.Page{Limit: 2})
		if err != nil || len(first) != 2 || !more {
			t.Fatalf("first page: %d, %v, %v", len(first), more, err)
		}
		rest, more, err := db.WebhookDeliveries(ctx, p.ID, e.ID, store.Page{Limit: 2, After: first[1].ID})
		if err != nil || len(rest) != 1 || more {
			t.Fatalf("second page: %d, %v, %v", len(rest), more, err)
		}
		if !(first[0].ID > first[1].ID && first[1].ID > rest[0].ID) || rest[0].EventType != "customer.created" {
			t.Errorf("not newest first: %v %v %v", first[0], first[1], rest[0])
		}
		if _, _, err := db.WebhookDeliveries(ctx, other.ID, e.ID, store.Page{}); !errors.Is(err, webhooks.ErrEndpointNotFound) {
			t.Errorf("another program's endpoint: %v", err)
		}

		d := rest[0]
		for _, a := range []webhooks.Attempt{{StatusCode: 200}, {StatusCode: 410}} {
			claim(t, db, db.Now())
			if err := db.RecordAttempt(ctx, d.ID, a); err != nil {
				t.Fatal(err)
			}
			got, err := db.RetryWebhookDelivery(ctx, p.ID, d.ID)
			if err != nil || got.Status != webhooks.DeliveryPending || got.NextAttemptAt.IsZero() || got.EventID != d.EventID {
				t.Errorf("retry after %d: %+v, %v", a.StatusCode, got, err)
			}
		}
		if _, err := db.RetryWebhookDelivery(ctx, other.ID, d.ID); !errors.Is(err, webhooks.ErrDeliveryNotFound) {
			t.Errorf("retry from another program: %v", err)
		}
		if _, err := db.WebhookDelivery(ctx, p.ID, "whd_unknown"); !errors.Is(err, webhooks.ErrDeliveryNotFound) {
			t.Errorf("unknown delivery: %v", err)
		}
	})
}

// TestSendTestWebhook: a test event reaches the one endpoint asked for,
// whatever it subscribes to, through the normal claim; the program's other
// endpoints never see it, even after dispatch runs. Unknown, deleted and
// another program's endpoints are not found; a paused one is refused and
// nothing is written.
func TestSendTestWebhook(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		stepClock(db, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		p, other := newProgram(t, db), newProgram(t, db)
		target := newEndpoint(t, db, p.ID, "https://a.example.com/", "reward.created")
		bystander := newEndpoint(t, db, p.ID, "https://b.example.com/", "*")

		d, err := db.SendTestWebhook(ctx, p.ID, target.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.EndpointID != target.ID || d.ProgramID != p.ID || d.EventType != "webhook_endpoint.test" ||
			d.Status != webhooks.DeliveryPending || d.Attempts != 0 || d.NextAttemptAt.IsZero() {
			t.Errorf("delivery %+v", d)
		}
		if n := dispatch(t, db, db.Now()); n != 0 {
			t.Errorf("dispatched %d events: the test event was not written dispatched", n)
		}
		out := claim(t, db, db.Now())
		if len(out) != 1 || out[0].Delivery.ID != d.ID || out[0].URL != target.URL {
			t.Fatalf("claimed %+v, want the one test delivery", out)
		}
		ev := out[0].Event
		if ev.Type != "webhook_endpoint.test" || ev.Data["webhook_endpoint_id"] != target.ID || ev.Data["message"] != webhooks.TestMessage {
			t.Errorf("event %+v", ev)
		}
		if log, _, err := db.WebhookDeliveries(ctx, p.ID, bystander.ID, store.Page{}); err != nil || len(log) != 0 {
			t.Errorf("the other endpoint's log: %v, %v", log, err)
		}
		if log, _, err := db.WebhookDeliveries(ctx, p.ID, target.ID, store.Page{}); err != nil || len(log) != 1 || log[0].ID != d.ID {
			t.Errorf("the endpoint's log: %v, %v", log, err)
		}

		paused := newEndpoint(t, db, p.ID, "https://c.example.com/", "*")
		if _, err := db.UpdateWebhookEndpoint(ctx, p.ID, paused.ID, webhooks.EndpointInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		deleted := newEndpoint(t, db, p.ID, "https://d.example.com/", "*")
		if err := db.DeleteWebhookEndpoint(ctx, p.ID, deleted.ID); err != nil {
			t.Fatal(err)
		}
		events, deliveries := count(t, db, "events"), count(t, db, "webhook_deliveries")
		for _, c := range []struct {
			name, program, endpoint string
			want                    error
		}{
			{"paused", p.ID, paused.ID, webhooks.ErrEndpointPaused},
			{"deleted", p.ID, deleted.ID, webhooks.ErrEndpointNotFound},
			{"unknown", p.ID, "we_unknown", webhooks.ErrEndpointNotFound},
			{"another program's", other.ID, target.ID, webhooks.ErrEndpointNotFound},
		} {
			if _, err := db.SendTestWebhook(ctx, c.program, c.endpoint); !errors.Is(err, c.want) {
				t.Errorf("%s endpoint: %v, want %v", c.name, err, c.want)
			}
		}
		if e, d := count(t, db, "events"), count(t, db, "webhook_deliveries"); e != events || d != deliveries {
			t.Errorf("refused requests wrote %d events and %d deliveries", e-events, d-deliveries)
		}
	})
}
