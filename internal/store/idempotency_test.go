package store_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		const stale = time.Minute
		start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
		now := start
		db.Now = func() time.Time { return now }
		p, other := newProgram(t, db), newProgram(t, db)

		claim := func(t *testing.T, programID, key, hash string) (*store.IdempotentResponse, bool) {
			t.Helper()
			rec, claimed, err := db.ClaimIdempotencyKey(ctx, programID, key, hash, stale)
			if err != nil {
				t.Fatal(err)
			}
			if claimed != (rec == nil) {
				t.Fatalf("claimed=%v with record %+v: want exactly one of them", claimed, rec)
			}
			return rec, claimed
		}

		t.Run("fresh claim", func(t *testing.T) {
			if _, claimed := claim(t, p.ID, "k1", "h1"); !claimed {
				t.Error("a new key was not claimed")
			}
		})
		t.Run("in flight", func(t *testing.T) {
			rec, claimed := claim(t, p.ID, "k1", "h1")
			if claimed || rec.Done || rec.RequestHash != "h1" {
				t.Errorf("got claimed=%v %+v, want the in-flight record", claimed, rec)
			}
		})
		t.Run("different body", func(t *testing.T) {
			rec, claimed := claim(t, p.ID, "k1", "h2")
			if claimed || rec.RequestHash != "h1" {
				t.Errorf("got claimed=%v %+v, want the record with the first hash", claimed, rec)
			}
		})
		t.Run("scoped to program", func(t *testing.T) {
			if _, claimed := claim(t, other.ID, "k1", "h2"); !claimed {
				t.Error("a key of another program blocked this one")
			}
		})
		t.Run("not stale yet", func(t *testing.T) {
			now = start.Add(stale)
			if _, claimed := claim(t, p.ID, "k1", "h1"); claimed {
				t.Error("an in-flight claim was taken over before it was stale")
			}
		})
		t.Run("stale with different body", func(t *testing.T) {
			now = start.Add(stale + time.Millisecond)
			if _, claimed := claim(t, p.ID, "k1", "h2"); claimed {
				t.Error("a stale claim was taken over by a different request")
			}
		})
		t.Run("stale takeover", func(t *testing.T) {
			now = start.Add(stale + time.Millisecond)
			if _, claimed := claim(t, p.ID, "k1", "h1"); !claimed {
				t.Fatal("a stale claim was not taken over")
			}
			// The takeover is a fresh claim: the same request again waits.
			if _, claimed := claim(t, p.ID, "k1", "h1"); claimed {
				t.Error("a claim just taken over was taken over again")
			}
		})
		t.Run("complete and replay", func(t *testing.T) {
			body := []byte(`{"customer":{"key":"k"}}`)
			if err := db.CompleteIdempotencyKey(ctx, p.ID, "k1", 201, "application/json", body); err != nil {
				t.Fatal(err)
			}
			now = now.Add(10 * stale) // a finished record is replayed, never taken over
			rec, claimed := claim(t, p.ID, "k1", "h1")
			if claimed || !rec.Done || rec.Status != 201 || rec.ContentType != "application/json" || !bytes.Equal(rec.Body, body) || rec.RequestHash != "h1" {
				t.Errorf("got claimed=%v %+v, want the stored response", claimed, rec)
			}
			rec, _ = claim(t, p.ID, "k1", "h2")
			if rec == nil || rec.RequestHash != "h1" {
				t.Errorf("different body got %+v, want the record to compare with", rec)
			}
		})
		t.Run("release", func(t *testing.T) {
			claim(t, p.ID, "k2", "h1")
			if err := db.ReleaseIdempotencyKey(ctx, p.ID, "k2"); err != nil {
				t.Fatal(err)
			}
			if _, claimed := claim(t, p.ID, "k2", "h2"); !claimed {
				t.Error("a released key could not be claimed again")
			}
		})
		t.Run("purge", func(t *testing.T) {
			now = start.Add(time.Hour)
			claim(t, p.ID, "new", "h")
			// k1 of p (taken over at 1m), k2 (reclaimed at 11m) and k1 of
			// other (0m) are older than 30 minutes; "new" is not.
			n, err := db.PurgeIdempotencyKeys(ctx, start.Add(30*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 { // k1 and k2 of p, k1 of other
				t.Errorf("purged %d, want 3", n)
			}
			if _, claimed := claim(t, p.ID, "k1", "h9"); !claimed {
				t.Error("a purged key could not be claimed again")
			}
			if _, claimed := claim(t, p.ID, "new", "h"); claimed {
				t.Error("a recent key was purged")
			}
		})
	})
}

func TestIdempotencyKeyConcurrentClaims(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		const n = 8
		var wg sync.WaitGroup
		results := make(chan bool, n)
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, claimed, err := db.ClaimIdempotencyKey(t.Context(), p.ID, "same", fmt.Sprint("h", i%2), time.Minute)
				if err != nil {
					errs <- err
				}
				results <- claimed
			})
		}
		wg.Wait()
		close(results)
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		claimed := 0
		for c := range results {
			if c {
				claimed++
			}
		}
		if claimed != 1 {
			t.Errorf("%d of %d concurrent requests claimed the key, want exactly 1", claimed, n)
		}
	})
}
