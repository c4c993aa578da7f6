package track_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/track"
)

// lostReply stores through db, failing its writes of clicks as plan
// says, one after another: refused writes nothing, lost writes and
// commits and then fails, as when a connection drops after COMMIT. The
// writes after the plan succeed.
type lostReply struct {
	*store.DB

	mu   sync.Mutex
	plan []string
}

func (l *lostReply) InsertClicks(ctx context.Context, clicks []referral.Click) error {
	if len(clicks) == 0 {
		return l.DB.InsertClicks(ctx, clicks)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := ""
	if len(l.plan) > 0 {
		next, l.plan = l.plan[0], l.plan[1:]
	}
	if next == "refused" {
		return errors.New("database refused the batch")
	}
	if err := l.DB.InsertClicks(ctx, clicks); err != nil || next != "lost" {
		return err
	}
	return errors.New("connection reset after COMMIT")
}

// TestRecorderRetryAfterLostReply shows that a batch whose commit
// succeeded but seemed to fail, and which the recorder therefore writes
// again in halves (and their halves, when those seem to fail too), is
// stored and counted once.
func TestRecorderRetryAfterLostReply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p, _, _ := storetest.Program(t, db, "Acme", "USD", "https://acme.example.com")
		if _, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane"}); err != nil {
			t.Fatal(err)
		}
		links, err := db.CustomerLinks(ctx, p.ID, "jane")
		if err != nil || len(links) != 1 {
			t.Fatalf("links: %v %v", links, err)
		}
		for _, tc := range []struct {
			name string
			plan []string
		}{
			{"the batch's reply lost", []string{"lost"}},
			{"the batch refused, then its first half's reply lost", []string{"refused", "lost"}},
			{"replies lost in halves down to five clicks", []string{"lost", "lost", "lost", "lost"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := clickCount(t, db)
				r := track.NewRecorder(&lostReply{DB: db, plan: tc.plan}, slog.New(slog.NewTextHandler(io.Discard, nil)))
				ctx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { r.Run(ctx); close(done) }()
				defer func() { cancel(); <-done }()
				at := time.Now().UTC()
				const n = 40
				for i := range n {
					r.Record(referral.Click{ProgramID: p.ID, LinkID: links[0].ID, Source: referral.ClickShortLink,
						Visitor: "visitor", At: at.Add(time.Duration(i) * time.Millisecond)})
				}
				r.Flush(ctx)
				if got := clickCount(t, db) - before; got != n {
					t.Errorf("stored %d clicks, want %d", got, n)
				}
				if r.Failed() != 0 {
					t.Errorf("failed %d, want 0", r.Failed())
				}
				var counted int
				if err := db.ReadStats().QueryRowContext(ctx, `SELECT clicks FROM referral_links WHERE program_id = $1`, p.ID).
					Scan(&counted); err != nil {
					t.Fatal(err)
				}
				if want := clickCount(t, db); counted != want {
					t.Errorf("the link counts %d clicks, %d are stored", counted, want)
				}
			})
		}
	})
}
