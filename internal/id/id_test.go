package id_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

func TestNewShape(t *testing.T) {
	tests := []struct {
		prefix string
	}{
		{"cus"}, {"rl"}, {"prg"}, {"key"}, {"evt"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			got := id.New(tt.prefix, time.Now())
			body, ok := strings.CutPrefix(got, tt.prefix+"_")
			if !ok || len(body) != 26 {
				t.Fatalf("got %q, want %s_ and 26 characters", got, tt.prefix)
			}
			if i := strings.IndexFunc(body, func(r rune) bool { return !strings.ContainsRune(alphabet, r) }); i >= 0 {
				t.Errorf("%q has %q, outside lower-case Crockford base32", got, body[i])
			}
		})
	}
}

func TestNewUnique(t *testing.T) {
	now := time.Now()
	seen := make(map[string]bool, 10000)
	for range 10000 {
		v := id.New("cus", now) // one millisecond for all: only the random part differs
		if seen[v] {
			t.Fatalf("duplicate id %q", v)
		}
		seen[v] = true
	}
}

func TestNewUniqueConcurrently(t *testing.T) {
	const workers, each = 8, 1000
	now := time.Now()
	out := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				out[w] = append(out[w], id.New("evt", now))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range out {
		for _, v := range ids {
			if seen[v] {
				t.Fatalf("duplicate id %q", v)
			}
			seen[v] = true
		}
		if !slices.IsSorted(ids) {
			t.Error("one goroutine's ids of one millisecond are not in creation order")
		}
	}
}

// TestNewSameMillisecondInOrder: rows written in one transaction share its
// time, and must still list in the order they were written (an event
// customer.created before referral.created).
func TestNewSameMillisecondInOrder(t *testing.T) {
	now := time.Now()
	var ids []string
	for range 1000 {
		ids = append(ids, id.New("evt", now))
	}
	if !slices.IsSorted(ids) {
		t.Error("ids made within one millisecond are not in creation order")
	}
	if a, b := id.New("evt", now), id.New("cus", now); a[4:] >= b[4:] {
		t.Errorf("%q then %q: want the later id to sort after, whatever its prefix", a, b)
	}
}

func TestNewSortsByTime(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 1000 {
		ids = append(ids, id.New("cus", start.Add(time.Duration(i)*time.Millisecond)))
	}
	if !slices.IsSorted(ids) {
		t.Error("ids made at later milliseconds do not sort after earlier ones")
	}
	tests := []struct {
		name string
		a, b time.Time
	}{
		{"one millisecond", start, start.Add(time.Millisecond)},
		{"one year", start, start.AddDate(1, 0, 0)},
		{"epoch and now", time.UnixMilli(0), time.Now()},
		{"far future", start, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 100 {
				if a, b := id.New("x", tt.a), id.New("x", tt.b); a >= b {
					t.Fatalf("%q (at %v) sorts at or after %q (at %v)", a, tt.a, b, tt.b)
				}
			}
		})
	}
}

// TestSeqKeepsOrder: a transaction's own Seq keeps its rows in write order
// while other transactions, at other times, make ids in between.
func TestSeqKeepsOrder(t *testing.T) {
	now := time.Now()
	var s, other id.Seq
	var ids []string
	for i := range 1000 {
		ids = append(ids, s.New("evt", now))
		id.New("cus", now.Add(time.Duration(i+1)*time.Millisecond))
		other.New("evt", now)
	}
	if !slices.IsSorted(ids) {
		t.Error("a Seq's ids of one millisecond are not in creation order")
	}
	if next := s.New("evt", now.Add(-time.Millisecond)); next >= ids[0] {
		t.Errorf("%q at an earlier time sorts after %q", next, ids[0])
	}
}

func TestNewEncodesTime(t *testing.T) {
	// The first ten characters are the milliseconds, so two ids of the same
	// millisecond share them and the epoch encodes as zeros.
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	a, b := id.New("x", at), id.New("x", at)
	if a[:12] != b[:12] {
		t.Errorf("%q and %q: same millisecond, different time part", a, b)
	}
	if got := id.New("x", time.UnixMilli(0)); got[:12] != "x_0000000000" {
		t.Errorf("epoch id %q, want a zero time part", got)
	}
}

func TestFloor(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{0, time.Microsecond, 999 * time.Microsecond, time.Millisecond, 40 * 24 * time.Hour} {
		at := base.Add(d)
		floor := id.Floor("rwd", at)
		if id := id.New("rwd", at); id < floor {
			t.Errorf("id %s made at %v sorts below Floor %s", id, at, floor)
		}
		if later := id.New("rwd", at.Add(time.Millisecond)); later < floor {
			t.Errorf("id %s made after %v sorts below Floor %s", later, at, floor)
		}
		if earlier := id.New("rwd", at.Truncate(time.Millisecond).Add(-time.Millisecond)); earlier >= floor {
			t.Errorf("id %s made a millisecond before %v sorts at or above Floor %s", earlier, at, floor)
		}
	}
}
