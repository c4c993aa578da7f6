package track

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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
// under load that keeps batches to a few milliseconds of work each,
// instead of one that takes the CPU for tens of milliseconds every tenth
// of a second while redirects queue behind it.
type Recorder struct {
	store    Store
	log      *slog.Logger
	buf      chan referral.Click
	flushReq chan chan struct{}
	filled   chan struct{} // flushAt clicks wait
	flushAt  int
	batch    int
	every    time.Duration

	// dropped counts clicks lost to a full buffer; failed, clicks whose
	// batch could not be written.
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

// Record queues a click without waiting.
func (r *Recorder) Record(c referral.Click) {
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
			if err := r.store.InsertClicks(context.WithoutCancel(ctx), pending); err != nil {
				r.failed.Add(int64(len(pending)))
				r.log.Error("record clicks", "err", err, "count", len(pending))
			}
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
