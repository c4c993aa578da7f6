package store_test

import (
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestInsertClicks writes batches of clicks and checks every link's
// counters and the clicks' unique flags after each: a click is unique when
// it is its visitor's first on the link in that hour, within a batch and
// across batches.
func TestInsertClicks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane", ReferralCode: "JANE20"})
		var pricing *referral.Link
		err := db.InTx(ctx, func(tx *store.Tx) (err error) {
			pricing, err = tx.CreateLink(ctx, p, "jane", "https://yoursite.com/pricing", "JANEPRICING")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		links, err := db.CustomerLinks(ctx, p.ID, "jane")
		if err != nil {
			t.Fatal(err)
		}
		home := links[0]
		if home.ID == pricing.ID {
			home = links[1]
		}
		hour := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
		click := func(l *referral.Link, visitor string, at time.Time) referral.Click {
			return referral.Click{ProgramID: p.ID, LinkID: l.ID, Source: referral.ClickShortLink, Visitor: visitor,
				UserAgent: "Mozilla/5.0", At: at}
		}
		repeat := func(n int, c referral.Click) []referral.Click {
			out := make([]referral.Click, n)
			for i := range out {
				out[i] = c
				out[i].At = c.At.Add(time.Duration(i) * time.Millisecond)
			}
			return out
		}

		type counts struct{ homeClicks, homeUnique, pricingClicks, pricingUnique int64 }
		steps := []struct {
			name  string
			batch []referral.Click
			want  counts // after the batch, in total
		}{
			{name: "one visitor 150 times: one unique",
				batch: repeat(150, click(home, "visitor-a", hour)), want: counts{150, 1, 0, 0}},
			{name: "the same visitor in the same hour in a later batch is not unique",
				batch: repeat(3, click(home, "visitor-a", hour.Add(30*time.Minute))), want: counts{153, 1, 0, 0}},
			{name: "the same visitor in the next hour is unique again",
				batch: []referral.Click{click(home, "visitor-a", hour.Add(time.Hour))}, want: counts{154, 2, 0, 0}},
			{name: "visitors and links interleaved in one batch", batch: []referral.Click{
				click(pricing, "visitor-a", hour), click(home, "visitor-b", hour), click(pricing, "visitor-a", hour),
				click(pricing, "visitor-b", hour), click(home, "visitor-b", hour), click(home, "visitor-a", hour),
			}, want: counts{157, 3, 3, 2}},
		}
		for _, st := range steps {
			if err := db.InsertClicks(ctx, st.batch); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			links, err := db.CustomerLinks(ctx, p.ID, "jane")
			if err != nil {
				t.Fatal(err)
			}
			var got counts
			for _, l := range links {
				if l.ID == home.ID {
					got.homeClicks, got.homeUnique = l.Clicks, l.UniqueClicks
				} else {
					got.pricingClicks, got.pricingUnique = l.Clicks, l.UniqueClicks
				}
			}
			var rows, unique int64
			if err := db.WriteStats().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN is_unique THEN 1 END) FROM clicks`).
				Scan(&rows, &unique); err != nil {
				t.Fatal(err)
			}
			if got != st.want || rows != got.homeClicks+got.pricingClicks || unique != got.homeUnique+got.pricingUnique {
				t.Errorf("%s: got counters %+v with %d click rows (%d unique), want %+v",
					st.name, got, rows, unique, st.want)
			}
		}
		if n, err := db.ClickCount(ctx, hour); err != nil || n != 160 {
			t.Errorf("ClickCount = %d, %v; want 160", n, err)
		}
	})
}
