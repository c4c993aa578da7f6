package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestEventsPage: events list newest first a page at a time, by type,
// each program its own, and one reads back by id with its exact amounts.
func TestEventsPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		// Each write a millisecond later, so that ids sort as made.
		var ms atomic.Int64
		db.Now = func() time.Time {
			return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms.Add(1)) * time.Millisecond)
		}
		p, other := newProgram(t, db), newProgram(t, db)
		var created []string // customer.created ids, newest first
		for i := range 5 {
			c, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: fmt.Sprint("k", i), Email: fmt.Sprintf("k%d@example.com", i)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.UpdateCustomer(ctx, p, c.Key, referral.CustomerUpdate{Name: new(string)}); err != nil {
				t.Fatal(err)
			}
		}
		var all []store.Event
		for pg := (store.Page{Limit: 3}); ; {
			evs, more, err := db.EventsPage(ctx, p.ID, store.EventFilter{Page: pg})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, evs...)
			if !more {
				break
			}
			pg.After = evs[len(evs)-1].ID
		}
		if len(all) != 10 {
			t.Fatalf("listed %d events, want 10", len(all))
		}
		for i, ev := range all {
			if i > 0 && ev.ID >= all[i-1].ID {
				t.Errorf("event %d %s is not older than %s", i, ev.ID, all[i-1].ID)
			}
			if ev.Type == "customer.created" {
				created = append(created, ev.ID)
			}
		}
		evs, more, err := db.EventsPage(ctx, p.ID, store.EventFilter{Type: "customer.created", Page: store.Page{Limit: 10}})
		var got []string
		for _, ev := range evs {
			got = append(got, ev.ID)
		}
		if err != nil || more || !slices.Equal(got, created) {
			t.Errorf("customer.created: %v more=%v err=%v, want %v", got, more, err, created)
		}
		if evs, _, err := db.EventsPage(ctx, other.ID, store.EventFilter{}); err != nil || len(evs) != 0 {
			t.Errorf("another program lists %d events (%v)", len(evs), err)
		}
		one, err := db.Event(ctx, p.ID, all[0].ID)
		if err != nil || one.ID != all[0].ID || one.Type != all[0].Type || !one.CreatedAt.Equal(all[0].CreatedAt) {
			t.Errorf("Event: %+v %v, want %+v", one, err, all[0])
		}
		if _, err := db.Event(ctx, other.ID, all[0].ID); !errors.Is(err, store.ErrEventNotFound) {
			t.Errorf("another program's event: %v, want event_not_found", err)
		}
	})
}
