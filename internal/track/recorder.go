package track

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

// Store is where clicks end up.
type Store interface {
	InsertClicks(ctx context.Context, clicks []referral.Click) error
}

// Recorder buffers clicks and writes them in batches, so that recording a
// click costs a redirect one channel send. The buffer is large enough to
// absorb bursts well above what one node can serve; should it ever fill,
// clicks are dropped and counted rather than slowing redirects down.
//
// A batch is written every 100 ms, or as soon as flushAt clicks wait:
// under load that keeps each batch short, instead of one long batch every
// tenth of a second that holds the CPU while redirects queue behind it.
type Recorder struct {
	store    Store
	log      *slog.Logger
	buf      chan referral.Click
	flushReq chan chan struct{}
	filled   chan struct{} // flushAt clicks wait
	flushAt  int
	batch    int
	every    time.Duration

	// dropped counts clicks lost to a full buffer; failed, clicks the
	// database refused (alone: see insert) or could not take at all.
	dropped, failed atomic.Int64

	mu     sync.Mutex
	recent map[string]time.Time // link+visitor of short-link visits, to skip the SDK's echo
}

// NewRecorder returns a recorder; Run must be started for it to write.
func NewRecorder(store Store, log *slog.Logger) *Recorder {
	return &Recorder{store: store, log: log, buf: make(chan referral.Click, 1<<16),
		flushReq: make(chan chan struct{}), filled: make(chan struct{}, 1), flushAt: 256, batch: 1000,
		every: 100 * time.Millisecond, recent: map[string]time.Time{}}
}

// echoWindow is how long after a short-link visit the SDK's click beacon
// from the same visitor on the landing page is taken as the same visit.
const echoWindow = 30 * time.Second

// Limits of a click's texts, in bytes.
const (
	maxURLBytes       = 1000
	maxReferrerBytes  = 500
	maxUserAgentBytes = 300
	maxIDBytes        = 64
)

// clean makes every text of c storable on both engines before it is
// queued: one NUL or broken UTF-8 sequence would otherwise fail the whole
// batch it lands in on PostgreSQL.
func clean(c referral.Click) referral.Click {
	c.ProgramID = referral.CleanText(c.ProgramID, maxIDBytes)
	c.LinkID = referral.CleanText(c.LinkID, maxIDBytes)
	c.Source = referral.CleanText(c.Source, maxIDBytes)
	c.Visitor = referral.CleanText(c.Visitor, maxIDBytes)
	c.LandingURL = referral.CleanText(c.LandingURL, maxURLBytes)
	c.Referrer = referral.CleanText(c.Referrer, maxReferrerBytes)
	c.UserAgent = referral.CleanText(c.UserAgent, maxUserAgentBytes)
	return c
}

// Record queues a click without waiting. Its texts are cleaned and
// clipped here, so callers may pass them as they came. It gets its id
// here too, not when it is written: a batch whose commit failed in
// appearance only is written again by insert, and the store then knows
// its clicks by their ids instead of storing them twice.
func (r *Recorder) Record(c referral.Click) {
	c = clean(c)
	c.ID = id.New("clk", c.At)
	if c.Source == referral.ClickShortLink {
		r.mu.Lock()
		r.recent[c.LinkID+"|"+c.Visitor] = c.At
		r.mu.Unlock()
	}
	select {
	case r.buf <- c:
		if len(r.buf) >= r.flushAt {
			select {
			case r.filled <- struct{}{}:
			default: // the writer has been told already
			}
		}
	default:
		r.dropped.Add(1)
	}
}

// SeenShortLink reports whether visitor came through link's short link a
// moment ago, so the landing page's own click beacon is not counted twice.
func (r *Recorder) SeenShortLink(linkID, visitor string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.recent[linkID+"|"+visitor]
	return ok && now.Sub(at) < echoWindow
}

// Dropped and Failed say how many clicks were lost, for metrics.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Failed: see Dropped.
func (r *Recorder) Failed() int64 { return r.failed.Load() }

// Queued says how many clicks wait to be written.
func (r *Recorder) Queued() int { return len(r.buf) }

// Flush writes everything queued so far and returns when it is stored.
func (r *Recorder) Flush(ctx context.Context) {
	done := make(chan struct{})
	select {
	case r.flushReq <- done:
		select {
		case <-done:
		case <-ctx.Done():
		}
	case <-ctx.Done():
	}
}

// Run writes batches until ctx ends, then writes what is left.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	pending := make([]referral.Click, 0, r.batch)
	write := func() {
		// Drain what is queued right now, then write it in batches.
		for {
			select {
			case c := <-r.buf:
				pending = append(pending, c)
				if len(pending) < r.batch {
					continue
				}
			default:
			}
			if len(pending) == 0 {
				return
			}
			r.insert(context.WithoutCancel(ctx), pending)
			pending = pending[:0]
		}
	}
	for {
		select {
		case <-ctx.Done():
			write()
			return
		case <-r.filled:
			write()
		case <-t.C:
			write()
			r.forget(time.Now())
		case done := <-r.flushReq:
			write()
			close(done)
		}
	}
}

// insert writes a batch. Should it fail, its halves are written apart,
// down to single clicks, so that one bad click costs only itself and
// never the good ones that shared its batch; the clicks that still fail
// are counted and logged once per batch. When not even an empty batch can
// be written, the database is at fault, not a click: the batch is lost
// whole rather than retried click by click against a database that is down.
// A failed write may have committed all the same (its reply lost on the
// way back); writing its clicks again is harmless, as the store skips
// the ids it has.
func (r *Recorder) insert(ctx context.Context, batch []referral.Click) {
	first := r.store.InsertClicks(ctx, batch)
	if first == nil {
		return
	}
	lost := 0
	if r.store.InsertClicks(ctx, nil) != nil {
		lost = len(batch)
		r.failed.Add(int64(lost))
		r.log.Error("record clicks", "err", first, "lost", lost, "count", len(batch))
		return
	}
	var write func(part []referral.Click)
	write = func(part []referral.Click) {
		if len(part) == 0 {
			return
		}
		err := r.store.InsertClicks(ctx, part)
		if err == nil {
			return
		}
		if len(part) > 1 {
			write(part[:len(part)/2])
			write(part[len(part)/2:])
			return
		}
		lost++
		first = err
	}
	write(batch[:len(batch)/2])
	write(batch[len(batch)/2:])
	if lost > 0 {
		r.failed.Add(int64(lost))
		r.log.Error("record clicks", "err", first, "lost", lost, "count", len(batch))
	}
}

// forget drops short-link visits older than the echo window.
func (r *Recorder) forget(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, at := range r.recent {
		if now.Sub(at) > echoWindow {
			delete(r.recent, k)
		}
	}
}
