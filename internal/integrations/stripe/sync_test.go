package stripe_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
)

// syncWorld is a fake Stripe holding 250 handled events since `since`
// (two per second, so that order within a second counts), older events
// and events of unhandled types; want is the handled ones, oldest first.
func syncWorld(t *testing.T) (fake *stripetest.Server, since time.Time, want []string) {
	fake = stripetest.NewServer(t)
	since = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		fake.AddEvent(stripetest.NewEvent(fmt.Sprintf("evt_old_%d", i), "invoice.paid", since.Add(-time.Duration(i+1)*time.Hour), map[string]any{"id": "in_old"}))
	}
	for i := range 250 {
		id := fmt.Sprintf("evt_%03d", i)
		typ := stripe.HandledTypes[i%len(stripe.HandledTypes)]
		fake.AddEvent(stripetest.NewEvent(id, typ, since.Add(time.Duration(i/2)*time.Second), map[string]any{"id": fmt.Sprintf("obj_%d", i)}))
		want = append(want, id)
		if i%10 == 0 {
			fake.AddEvent(stripetest.NewEvent(fmt.Sprintf("evt_other_%d", i), "payment_intent.created", since.Add(time.Duration(i/2)*time.Second), map[string]any{"id": "pi"}))
		}
	}
	return fake, since, want
}

// TestSyncer: every handled event since the date, over three pages, is
// applied once, oldest first, with the progress reported.
func TestSyncer(t *testing.T) {
	fake, since, want := syncWorld(t)
	var applied []string
	var progress [][2]int
	s := &stripe.Syncer{Client: newClient(fake),
		Apply: func(ctx context.Context, ev *stripe.Event) error {
			applied = append(applied, ev.ID)
			return nil
		},
		Progress: func(done, total int) { progress = append(progress, [2]int{done, total}) },
	}
	n, err := s.Run(t.Context(), since)
	if err != nil || n != 250 {
		t.Fatalf("Run = %d, %v; want 250", n, err)
	}
	if fmt.Sprint(applied) != fmt.Sprint(want) {
		t.Errorf("applied %d events in this order: %v\nwant %v", len(applied), applied, want)
	}
	// One report a page listed (0 done of those listed so far), then one
	// before applying and one after each event.
	if len(progress) != 3+251 || progress[0] != [2]int{0, 100} || progress[2] != [2]int{0, 250} ||
		progress[3] != [2]int{0, 250} || progress[253] != [2]int{250, 250} {
		t.Errorf("progress: %d reports, first %v, last %v", len(progress), progress[0], progress[len(progress)-1])
	}
	calls := fake.Calls(stripetest.RouteEvents)
	if len(calls) != 3 {
		t.Fatalf("%d pages, want 3", len(calls))
	}
	for i, after := range []string{"", "evt_150", "evt_050"} {
		f := calls[i].Form
		if f.Get("starting_after") != after || f.Get("created[gte]") != fmt.Sprint(since.Unix()) || f.Get("limit") != "100" ||
			len(f["types[]"]) != len(stripe.HandledTypes) {
			t.Errorf("page %d: %v", i+1, f)
		}
	}
}

// TestSyncerStops: an event that cannot be applied stops the sync, which
// says how many were applied before it; a sync that cannot list applies
// nothing.
func TestSyncerStops(t *testing.T) {
	fake, since, _ := syncWorld(t)
	broken := errors.New("database is gone")
	var last [2]int
	s := &stripe.Syncer{Client: newClient(fake),
		Apply: func(ctx context.Context, ev *stripe.Event) error {
			if ev.ID == "evt_099" {
				return broken
			}
			return nil
		},
		Progress: func(done, total int) { last = [2]int{done, total} },
	}
	n, err := s.Run(t.Context(), since)
	if n != 99 || !errors.Is(err, broken) || last != [2]int{99, 250} {
		t.Errorf("Run = %d, %v (progress %v); want 99 applied, the error, progress 99 of 250", n, err, last)
	}

	// The first page passes, the second fails: nothing is applied.
	fake.Inject(stripetest.RouteEvents, 1, stripetest.Fault{})
	fake.Inject(stripetest.RouteEvents, 1, stripetest.ServerError)
	calls := 0
	s.Apply = func(ctx context.Context, ev *stripe.Event) error { calls++; return nil }
	s.Progress = nil
	pages := len(fake.Calls(stripetest.RouteEvents))
	n, err = s.Run(t.Context(), since)
	if got := len(fake.Calls(stripetest.RouteEvents)) - pages; got != 2 {
		t.Errorf("%d pages asked for, want 2", got)
	}
	if n != 0 || calls != 0 || !stripe.Retryable(err) {
		t.Errorf("Run with Stripe failing = %d, %v (%d applied); want nothing applied and a retryable error", n, err, calls)
	}
}
