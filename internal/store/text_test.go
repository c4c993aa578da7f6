package store_test

import (
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestBadText: text PostgreSQL refuses is known as such on both engines,
// so the API answers a 4xx for it, not a 500, should it ever get past the
// input checks. Clicks with such text are refused before anything is
// written, on both engines alike.
func TestBadText(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane", ReferralCode: "JANE20"})
		target, err := db.ResolveCode(ctx, "JANE20")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ name, url string }{{"NUL", "https://x.example/\x00"}, {"invalid UTF-8", "https://x.example/\xff"}} {
			t.Run(tc.name, func(t *testing.T) {
				c := referral.Click{ProgramID: p.ID, LinkID: target.LinkID, Source: referral.ClickSDK, Visitor: "v1",
					LandingURL: tc.url, At: time.Now()}
				if err := db.InsertClicks(ctx, []referral.Click{c}); !store.BadText(err) {
					t.Errorf("InsertClicks: %v, want a bad-text error", err)
				}
				if n, _ := db.ClickCount(ctx, time.Time{}); n != 0 {
					t.Errorf("%d clicks stored, want none", n)
				}
				if db.Engine == store.Postgres {
					_, err := db.ReadStats().ExecContext(ctx, `SELECT $1::text`, "a"+tc.url)
					if !store.BadText(err) {
						t.Errorf("PostgreSQL: %v, want a bad-text error", err)
					}
				}
			})
		}
	})
}
