package track

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

// memStore keeps the batches it is given.
type memStore struct {
	mu      sync.Mutex
	batches [][]referral.Click
	fail    error
	wrote   chan int // receives each batch's size
}

func (m *memStore) InsertClicks(_ context.Context, clicks []referral.Click) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.batches = append(m.batches, append([]referral.Click(nil), clicks...))
	if m.wrote != nil {
		m.wrote <- len(clicks)
	}
	return nil
}

func (m *memStore) stored() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.batches {
		n += len(b)
	}
	return n
}

func newTestRecorder(s Store) *Recorder {
	r := NewRecorder(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.every = time.Hour // only a full queue or Flush writes
	return r
}

func click(i int) referral.Click {
	return referral.Click{ProgramID: "prg_1", LinkID: "lnk_1", Visitor: "v", Source: referral.ClickShortLink,
		At: time.Unix(1_800_000_000+int64(i), 0)}
}

func run(t *testing.T, r *Recorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// A burst of flushAt clicks is written at once, without waiting for the
// timer, and a few clicks fewer are not.
func TestRecorderWritesWhenFlushAtClicksWait(t *testing.T) {
	s := &memStore{wrote: make(chan int, 16)}
	r := newTestRecorder(s)
	run(t, r)
	for i := range r.flushAt - 1 {
		r.Record(click(i))
	}
	select {
	case n := <-s.wrote:
		t.Fatalf("a batch of %d was written before %d clicks waited", n, r.flushAt)
	case <-time.After(50 * time.Millisecond):
	}
	r.Record(click(r.flushAt))
	select {
	case n := <-s.wrote:
		if n != r.flushAt {
			t.Fatalf("batch of %d clicks, want %d", n, r.flushAt)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no batch written once flushAt clicks waited")
	}
}

// Flush stores everything recorded before it, however little.
func TestRecorderFlush(t *testing.T) {
	s := &memStore{}
	r := newTestRecorder(s)
	run(t, r)
	for i := range 3 {
		r.Record(click(i))
	}
	r.Flush(context.Background())
	if got := s.stored(); got != 3 {
		t.Fatalf("stored %d clicks after Flush, want 3", got)
	}
	if r.Queued() != 0 {
		t.Fatalf("%d clicks still queued", r.Queued())
	}
}

// A full buffer drops clicks and counts them instead of blocking the
// redirect; a batch the store refuses is counted as failed.
func TestRecorderDropsAndFailures(t *testing.T) {
	s := &memStore{fail: errors.New("disk full")}
	r := newTestRecorder(s)
	r.buf = make(chan referral.Click, 2) // not running: nothing drains it
	r.flushAt = 1 << 30
	for i := range 5 {
		r.Record(click(i))
	}
	if r.Dropped() != 3 || r.Queued() != 2 {
		t.Fatalf("dropped %d, queued %d; want 3 and 2", r.Dropped(), r.Queued())
	}
	run(t, r)
	r.Flush(context.Background())
	if r.Failed() != 2 {
		t.Fatalf("failed %d, want 2", r.Failed())
	}
}
