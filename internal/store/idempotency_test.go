package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// idempotent is a request with an Idempotency-Key whose response is the
// credited amount, as a handler would render it.
func idempotent(programID, key, hash string) *store.IdempotentRequest {
	return &store.IdempotentRequest{ProgramID: programID, Key: key, RequestHash: hash,
		Respond: func(result any) (int, string, []byte, error) {
			b, ok := result.(*rewards.Balance)
			if !ok {
				return 0, "", nil, fmt.Errorf("result %T", result)
			}
			return 200, "application/json", fmt.Appendf(nil, `{"credit":%d}`, b.CreditAvailable), nil
		}}
}

func TestIdempotentOperations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		now := start
		db.Now = func() time.Time { return now }
		p, other := newProgram(t, db), newProgram(t, db)
		for _, prog := range []*referral.Program{p, other} {
			if _, err := db.CreateCustomer(ctx, prog, referral.NewCustomer{Key: "ann", Email: "ann@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
		credit := func(prog *referral.Program, req *store.IdempotentRequest, amount string) (*rewards.Balance, error) {
			return db.Credit(store.WithIdempotency(ctx, req), prog, store.BalanceChange{CustomerKey: "ann", Amount: money.Number(amount)})
		}
		stored := func(programID, key string) *store.IdempotentResponse {
			t.Helper()
			rec, err := db.IdempotentResponse(ctx, programID, key)
			if err != nil {
				t.Fatal(err)
			}
			return rec
		}

		t.Run("response committed with the change", func(t *testing.T) {
			req := idempotent(p.ID, "k1", "h1")
			b, err := credit(p, req, "5")
			if err != nil || b.CreditAvailable != 500 {
				t.Fatalf("credit: %+v, %v", b, err)
			}
			want := `{"credit":500}`
			if got := req.Stored(); got == nil || got.Status != 200 || string(got.Body) != want {
				t.Errorf("request's stored response %+v, want 200 %s", got, want)
			}
			rec := stored(p.ID, "k1")
			if rec == nil || !rec.Done || rec.RequestHash != "h1" || rec.Status != 200 ||
				rec.ContentType != "application/json" || !bytes.Equal(rec.Body, []byte(want)) || !rec.CreatedAt.Equal(start) {
				t.Errorf("stored %+v, want the response of the credit", rec)
			}
		})
		t.Run("a failed operation stores nothing", func(t *testing.T) {
			req := idempotent(p.ID, "k2", "h")
			if _, err := db.Credit(store.WithIdempotency(ctx, req), p, store.BalanceChange{CustomerKey: "nobody", Amount: "5"}); !errors.Is(err, referral.ErrCustomerNotFound) {
				t.Fatalf("credit for nobody: %v", err)
			}
			if req.Stored() != nil || stored(p.ID, "k2") != nil {
				t.Error("a response was stored for a change that did not happen")
			}
		})
		t.Run("the key is taken: nothing changes", func(t *testing.T) {
			req := idempotent(p.ID, "k1", "h1")
			_, err := credit(p, req, "5")
			if !errors.Is(err, store.ErrIdempotencyRace) || !req.Raced() || req.Stored() != nil {
				t.Fatalf("second credit with k1: %v raced=%v", err, req.Raced())
			}
			b, err := db.Balance(ctx, p.ID, customerID(t, db, p, "ann"), "USD")
			if err != nil || b.CreditAvailable != 500 {
				t.Errorf("balance %+v, %v: want 500, credited once", b, err)
			}
		})
		t.Run("keys are per program", func(t *testing.T) {
			if _, err := credit(other, idempotent(other.ID, "k1", "h1"), "1"); err != nil {
				t.Errorf("k1 of another program: %v", err)
			}
		})
		t.Run("a request that changed nothing stores its response alone", func(t *testing.T) {
			req := idempotent(p.ID, "k3", "h3")
			ok, err := db.SaveIdempotentResponse(ctx, req, 422, "application/problem+json", []byte(`{"code":"x"}`))
			if err != nil || !ok {
				t.Fatalf("save: %v, %v", ok, err)
			}
			if ok, err := db.SaveIdempotentResponse(ctx, req, 404, "application/json", nil); err != nil || ok {
				t.Errorf("saving again: %v, %v; want the first response kept", ok, err)
			}
			if rec := stored(p.ID, "k3"); rec == nil || rec.Status != 422 {
				t.Errorf("stored %+v, want the 422", rec)
			}
		})
		t.Run("purge", func(t *testing.T) {
			now = start.Add(time.Hour)
			if _, err := credit(p, idempotent(p.ID, "new", "h"), "1"); err != nil {
				t.Fatal(err)
			}
			// k1 and k3 of p and k1 of other were stored at start.
			n, err := db.PurgeIdempotencyKeys(ctx, start.Add(30*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Errorf("purged %d, want 3", n)
			}
			if stored(p.ID, "k1") != nil || stored(p.ID, "new") == nil {
				t.Error("purge removed the wrong keys")
			}
		})
	})
}

func customerID(t *testing.T, db *store.DB, p *referral.Program, key string) string {
	t.Helper()
	c, err := db.Customer(context.Background(), p.ID, key)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestIdempotentConcurrentRequests sends one credit with the same key from
// several goroutines at once: exactly one changes the balance and stores
// its response; every other one changes nothing and learns it lost.
func TestIdempotentConcurrentRequests(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		if _, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "ann", Email: "ann@example.com"}); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		won := make(chan bool, n)
		for range n {
			wg.Go(func() {
				req := idempotent(p.ID, "same", "h")
				_, err := db.Credit(store.WithIdempotency(ctx, req), p, store.BalanceChange{CustomerKey: "ann", Amount: "1"})
				switch {
				case err == nil:
					won <- req.Stored() != nil
				case errors.Is(err, store.ErrIdempotencyRace) && req.Raced():
					won <- false
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		close(won)
		wins := 0
		for w := range won {
			if w {
				wins++
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d concurrent requests ran, want exactly 1", wins, n)
		}
		b, err := db.Balance(ctx, p.ID, customerID(t, db, p, "ann"), "USD")
		if err != nil || b.CreditAvailable != 100 {
			t.Errorf("balance %+v, %v: want 100, credited once", b, err)
		}
	})
}
