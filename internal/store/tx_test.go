package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestInTxRollsBack checks that a transaction whose function fails or
// panics leaves no trace, and that the writer is usable afterwards (on
// SQLite a leaked writer connection would block every later write).
func TestInTxRollsBack(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		end  func() error
	}{
		{"error", func() error { return boom }},
		{"wrapped error", func() error { return errors.Join(errors.New("context"), boom) }},
		{"panic", func() error { panic(boom) }},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				programs, customers, links, evs := count(t, db, "programs"), count(t, db, "customers"), count(t, db, "referral_links"), count(t, db, "events")
				var created *referral.Program
				var panicked any
				err := func() (err error) {
					defer func() { panicked = recover() }()
					return db.InTx(ctx, func(tx *store.Tx) error {
						created, _ = referral.NewProgram("Doomed", "USD", "https://doomed.com")
						if err := tx.CreateProgram(ctx, created); err != nil {
							return err
						}
						if _, err := tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: "doomed", Email: "doomed@x.com", Name: "Doomed"}); err != nil {
							return err
						}
						return tt.end()
					})
				}()
				if tt.name == "panic" {
					if panicked != boom {
						t.Errorf("recovered %v, want the panic re-raised with its value", panicked)
					}
				} else if !errors.Is(err, boom) {
					t.Errorf("InTx returned %v, want fn's error", err)
				}
				if _, err := db.Program(ctx, created.ID); !errors.Is(err, referral.ErrProgramNotFound) {
					t.Errorf("program of a failed transaction: %v, want not found", err)
				}
				if got := []int{count(t, db, "programs"), count(t, db, "customers"), count(t, db, "referral_links"), count(t, db, "events")}; got[0] != programs || got[1] != customers || got[2] != links || got[3] != evs {
					t.Errorf("rows (programs, customers, links, events) went from %v to %v", []int{programs, customers, links, evs}, got)
				}
				// The key is free: the failed customer was never written.
				next := strings.ReplaceAll(tt.name, " ", "-")
				newCustomer(t, db, p, referral.NewCustomer{Key: "doomed-" + next, Email: next + "@x.com", Name: "Next"})
			})
		}
	})
}

// TestFailedCreateWritesNothing makes the second of the three inserts of a
// customer (customer, link, event) fail and checks the first is undone.
func TestFailedCreateWritesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		newCustomer(t, db, p, referral.NewCustomer{Key: "a", Email: "a@x.com", Name: "A", ReferralCode: "TAKEN"})
		before := len(events(t, db, p.ID))

		_, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "b", Email: "b@x.com", Name: "B", ReferralCode: "taken"})
		if !errors.Is(err, referral.ErrReferralCodeTaken) {
			t.Fatalf("got %v, want ErrReferralCodeTaken", err)
		}
		if n := count(t, db, "customers"); n != 1 {
			t.Errorf("%d customers stored, want 1", n)
		}
		if n := len(events(t, db, p.ID)); n != before {
			t.Errorf("%d events, want %d", n, before)
		}
		// Several changes in one transaction commit or roll back together.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: "b", Email: "b@x.com", Name: "B"}); err != nil {
				return err
			}
			_, err := tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: "c", Email: "c@x.com", Name: "C", ReferredBy: "NOSUCHCODE"})
			return err
		})
		if !errors.Is(err, referral.ErrUnknownReferralCode) {
			t.Fatalf("got %v, want ErrUnknownReferralCode", err)
		}
		if _, err := db.Customer(ctx, p.ID, "b"); !errors.Is(err, referral.ErrCustomerNotFound) {
			t.Errorf("customer b of the failed transaction: %v, want not found", err)
		}
		newCustomer(t, db, p, referral.NewCustomer{Key: "b", Email: "b@x.com", Name: "B"})
	})
}

// TestAppendedRowsInManyStatements records more ledger rows and events in
// one transaction than one INSERT takes (see appendRows): all are written,
// the events in the order they were added, and the ledger verifies.
func TestAppendedRowsInManyStatements(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane"})
		const credits, extra = 150, 100 // 150 ledger transactions, 300 entries, 250 events
		before := len(events(t, db, p.ID))
		err := db.InTx(ctx, func(tx *store.Tx) error {
			for i := range credits {
				if err := tx.Credit(ctx, p.ID, jane, int64(i+1), "USD", fmt.Sprint("credit ", i)); err != nil {
					return err
				}
			}
			for i := range extra {
				if err := tx.AddEvent(ctx, p.ID, "test.event", map[string]int{"n": i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		evs := events(t, db, p.ID)[before:]
		if len(evs) != credits+extra {
			t.Fatalf("%d events, want %d", len(evs), credits+extra)
		}
		for i, e := range evs[credits:] {
			if e.Type != "test.event" || e.Data["n"] != json.Number(strconv.Itoa(i)) {
				t.Fatalf("event %d is %s %v, want test.event n=%d", credits+i, e.Type, e.Data, i)
			}
		}
		entries, _, err := db.CustomerLedger(ctx, p.ID, jane.ID, store.Page{Limit: 100})
		if err != nil || len(entries) != 100 {
			t.Fatalf("ledger: %d entries, %v", len(entries), err)
		}
		b, err := db.Balance(ctx, p.ID, jane.ID, "USD")
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(credits * (credits + 1) / 2); b.CreditAvailable != want {
			t.Errorf("balance %d, want %d", b.CreditAvailable, want)
		}
		if ms, err := db.Verify(ctx); err != nil || len(ms) > 0 {
			t.Fatalf("verify: %v %v", ms, err)
		}
	})
}
