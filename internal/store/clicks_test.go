package store_test

import (
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
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

// TestInsertClicksAgain writes a batch, then writes clicks of it again, as
// the recorder does when a commit's reply was lost: each click is stored
// and counted once, and a repeated click never makes its visit unique
// twice.
func TestInsertClicksAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane", ReferralCode: "JANE20"})
		links, err := db.CustomerLinks(ctx, p.ID, "jane")
		if err != nil || len(links) != 1 {
			t.Fatalf("links: %v %v", links, err)
		}
		link := links[0]
		hour := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
		n := 0
		batch := func(visitors ...string) []referral.Click {
			out := make([]referral.Click, len(visitors))
			for i, v := range visitors {
				n++
				at := hour.Add(time.Duration(n) * time.Second)
				out[i] = referral.Click{ID: id.New("clk", at), ProgramID: p.ID, LinkID: link.ID, Source: referral.ClickShortLink,
					Visitor: v, UserAgent: "Mozilla/5.0", At: at}
			}
			return out
		}
		type counts struct{ clicks, unique int64 }
		for _, tc := range []struct {
			name   string
			writes func() [][]referral.Click
			add    counts // what the writes add to the link's counters and rows
		}{
			{"the same batch twice", func() [][]referral.Click {
				b := batch("a1", "a2", "a1")
				return [][]referral.Click{b, b}
			}, counts{3, 2}},
			{"a batch, then its halves", func() [][]referral.Click {
				b := batch("b1", "b2", "b1", "b3")
				return [][]referral.Click{b, b[:2], b[2:]}
			}, counts{4, 3}},
			{"a batch, then its clicks with new ones of the same visitors", func() [][]referral.Click {
				b := batch("c1", "c2")
				return [][]referral.Click{b, append(batch("c1", "c3"), b...)}
			}, counts{4, 3}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var before, after counts
				read := func(c *counts) {
					t.Helper()
					var rows, unique int64
					if err := db.WriteStats().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(CASE WHEN is_unique THEN 1 END) FROM clicks`).
						Scan(&rows, &unique); err != nil {
						t.Fatal(err)
					}
					links, err := db.CustomerLinks(ctx, p.ID, "jane")
					if err != nil {
						t.Fatal(err)
					}
					if links[0].Clicks != rows || links[0].UniqueClicks != unique {
						t.Errorf("link counts %d clicks, %d unique; the rows say %d and %d",
							links[0].Clicks, links[0].UniqueClicks, rows, unique)
					}
					*c = counts{rows, unique}
				}
				read(&before)
				for _, b := range tc.writes() {
					if err := db.InsertClicks(ctx, b); err != nil {
						t.Fatal(err)
					}
				}
				read(&after)
				if got := (counts{after.clicks - before.clicks, after.unique - before.unique}); got != tc.add {
					t.Errorf("added %+v, want %+v", got, tc.add)
				}
			})
		}
	})
}
