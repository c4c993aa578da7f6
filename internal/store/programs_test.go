package store_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

func TestPrograms(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		stepClock(db, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		p, err := referral.NewProgram("Acme", "EUR", "https://yoursite.com")
		if err != nil {
			t.Fatal(err)
		}
		p.AllowedDomains = []string{"partner.io"}
		p.RequireHash = false
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateProgram(ctx, p) }); err != nil {
			t.Fatal(err)
		}
		second := newProgram(t, db)

		t.Run("round trip", func(t *testing.T) {
			if !strings.HasPrefix(p.ID, "prg_") || !strings.HasPrefix(p.WidgetSecret, "whsec_") || p.CreatedAt.IsZero() {
				t.Errorf("created %+v, want an id, a widget secret and a time", p)
			}
			got, err := db.Program(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("read back %+v, want %+v", got, p)
			}
		})
		t.Run("list oldest first", func(t *testing.T) {
			ps, err := db.Programs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 2 || ps[0].ID != p.ID || ps[1].ID != second.ID {
				t.Errorf("got %d programs, want %s then %s", len(ps), p.ID, second.ID)
			}
		})
		t.Run("unknown", func(t *testing.T) {
			if _, err := db.Program(ctx, "prg_missing"); !errors.Is(err, referral.ErrProgramNotFound) {
				t.Errorf("got %v, want ErrProgramNotFound", err)
			}
		})
		t.Run("invalid program not stored", func(t *testing.T) {
			bad := &referral.Program{Name: "x", Currency: "EURO", WebsiteURL: "https://x.com", RefParam: "ref", CookieDays: 30, Attribution: referral.FirstClick}
			err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateProgram(ctx, bad) })
			wantCode(t, err, "invalid_program")
			if n := count(t, db, "programs"); n != 2 {
				t.Errorf("%d programs stored, want 2", n)
			}
		})
		t.Run("update", func(t *testing.T) {
			u := *p
			u.WebsiteURL, u.AllowedDomains, u.CookieDays = "https://www.example.org", []string{}, 60
			if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateProgram(ctx, &u) }); err != nil {
				t.Fatal(err)
			}
			got, err := db.Program(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, &u) || !got.UpdatedAt.After(p.UpdatedAt) || !got.CreatedAt.Equal(p.CreatedAt) {
				t.Errorf("read back %+v, want %+v with a later updated_at", got, u)
			}
		})
		t.Run("invalid update changes nothing", func(t *testing.T) {
			before, _ := db.Program(ctx, p.ID)
			u := *before
			u.Name, u.CookieDays = "", 0
			err := db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateProgram(ctx, &u) })
			wantCode(t, err, "validation_failed")
			if after, _ := db.Program(ctx, p.ID); !reflect.DeepEqual(after, before) {
				t.Errorf("program changed to %+v", after)
			}
		})
		t.Run("update unknown", func(t *testing.T) {
			u := *p
			u.ID = "prg_missing"
			err := db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateProgram(ctx, &u) })
			if !errors.Is(err, referral.ErrProgramNotFound) {
				t.Errorf("got %v, want ErrProgramNotFound", err)
			}
		})
	})
}

// TestRotateWidgetSecret: a rotation keeps the old secret as the previous
// one with the rotation time, a second drops the oldest, and saving
// settings read before a rotation does not bring the old secret back.
func TestRotateWidgetSecret(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return at }
		stale := newProgram(t, db)
		rotate := func() *referral.Program {
			t.Helper()
			var p *referral.Program
			if err := db.InTx(ctx, func(tx *store.Tx) (err error) { p, err = tx.RotateWidgetSecret(ctx, stale.ID); return err }); err != nil {
				t.Fatal(err)
			}
			return p
		}
		first := rotate()
		if first.WidgetSecret == stale.WidgetSecret || !strings.HasPrefix(first.WidgetSecret, "whsec_") ||
			first.PreviousWidgetSecret != stale.WidgetSecret || !first.WidgetSecretRotatedAt.Equal(at) {
			t.Errorf("after a rotation: secret %q, previous %q, rotated at %v; was %q at %v",
				first.WidgetSecret, first.PreviousWidgetSecret, first.WidgetSecretRotatedAt, stale.WidgetSecret, at)
		}
		stale.Name = "Renamed"
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateProgram(ctx, stale) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.Program(ctx, stale.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.WidgetSecret != first.WidgetSecret || got.PreviousWidgetSecret != first.PreviousWidgetSecret || got.Name != "Renamed" {
			t.Errorf("saving settings read before the rotation: secret %q previous %q, want %q and %q",
				got.WidgetSecret, got.PreviousWidgetSecret, first.WidgetSecret, first.PreviousWidgetSecret)
		}
		at = at.Add(time.Hour)
		second := rotate()
		if second.PreviousWidgetSecret != first.WidgetSecret || !second.WidgetSecretRotatedAt.Equal(at) {
			t.Errorf("second rotation: previous %q at %v, want %q at %v", second.PreviousWidgetSecret, second.WidgetSecretRotatedAt, first.WidgetSecret, at)
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.RotateWidgetSecret(ctx, "prg_nosuch"); return err }); !errors.Is(err, referral.ErrProgramNotFound) {
			t.Errorf("unknown program: %v, want ErrProgramNotFound", err)
		}
	})
}
