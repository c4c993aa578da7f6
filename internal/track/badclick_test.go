package track_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/track"
)

// corrupting stores through db, but first spoils the clicks whose
// visitor is "bad", below the recorder's cleaning: a batch that holds a
// value the database refuses.
type corrupting struct {
	*store.DB
	spoil func(*referral.Click)
}

func (c corrupting) InsertClicks(ctx context.Context, clicks []referral.Click) error {
	out := make([]referral.Click, len(clicks))
	for i, cl := range clicks {
		if cl.Visitor == "bad" {
			c.spoil(&cl)
		}
		out[i] = cl
	}
	return c.DB.InsertClicks(ctx, out)
}

// TestRecorderKeepsGoodClicks shows that a click the database refuses
// costs only itself: the good clicks of its batch, from any program, are
// stored, and texts that PostgreSQL would refuse are cleaned on the way in.
func TestRecorderKeepsGoodClicks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var links []string
		for _, name := range []string{"Acme", "Beta"} {
			p, _, _ := storetest.Program(t, db, name, "USD", "https://"+strings.ToLower(name)+".example.com")
			c, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane"})
			if err != nil {
				t.Fatal(err)
			}
			ls, err := db.CustomerLinks(ctx, p.ID, c.Key)
			if err != nil || len(ls) != 1 {
				t.Fatalf("links: %v %v", ls, err)
			}
			links = append(links, p.ID+"|"+ls[0].ID)
		}
		for _, tc := range []struct {
			name  string
			spoil func(*referral.Click)
		}{
			{"NUL in the url", func(c *referral.Click) { c.LandingURL = "https://acme.example.com/\x00" }},
			{"invalid UTF-8 in the user agent", func(c *referral.Click) { c.UserAgent = "Mozilla\xff" }},
			{"unknown link", func(c *referral.Click) { c.LinkID = "lnk_nosuch" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := clickCount(t, db)
				r := track.NewRecorder(corrupting{db, tc.spoil}, slog.New(slog.NewTextHandler(io.Discard, nil)))
				ctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { r.Run(ctx); close(done) }()
				defer func() { cancel(); <-done }()
				good := 0
				at := time.Now().UTC()
				for i := range 40 {
					prog, link, _ := strings.Cut(links[i%2], "|")
					c := referral.Click{ProgramID: prog, LinkID: link, Source: referral.ClickSDK, Visitor: "good-visitor",
						LandingURL: strings.Repeat("a", 999) + "é\x00", Referrer: "ref\xff", UserAgent: "Mozilla/5.0", At: at}
					if i%10 == 3 {
						c.Visitor = "bad"
					} else {
						good++
					}
					r.Record(c)
				}
				r.Flush(ctx)
				if got := clickCount(t, db) - before; got != good {
					t.Errorf("stored %d clicks, want the %d good ones", got, good)
				}
				if got := r.Failed(); got != 40-int64(good) {
					t.Errorf("failed %d, want %d", got, 40-good)
				}
				rows, err := db.ReadStats().QueryContext(ctx, `SELECT landing_url, referrer FROM clicks`)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				for rows.Next() {
					var u, ref string
					if err := rows.Scan(&u, &ref); err != nil {
						t.Fatal(err)
					}
					if !utf8.ValidString(u) || strings.ContainsRune(u, 0) || len(u) > 1000 || u != strings.Repeat("a", 999) {
						t.Errorf("stored url %q…, want 999 a's: the clip may not split é", u[len(u)-5:])
					}
					if ref != "ref\uFFFD" {
						t.Errorf("stored referrer %q, want %q", ref, "ref\uFFFD")
					}
				}
			})
		}
	})
}

func clickCount(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.ReadStats().QueryRow(`SELECT count(*) FROM clicks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
