package store_test

import (
	"context"
	"errors"
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
