package dashboard

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waiting is how long the longest-waiting of keys must still wait, without
// trying.
func (a *attempts) waiting(keys ...string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	var longest time.Duration
	for _, k := range keys {
		if s := a.keys[k]; s != nil && s.until.After(a.now()) {
			longest = max(longest, s.until.Sub(a.now()))
		}
	}
	return longest
}

// The delay after each failure grows from 2 s, doubles, and stops at five
// minutes; a success or an hour's quiet starts afresh.
func TestAttemptsDelay(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAttempts(5, 2*time.Second, 5*time.Minute, time.Hour, func() time.Time { return now })
	tests := []struct {
		name    string
		failure int // the n-th failure in a row
		want    time.Duration
		started bool
	}{
		{"first five are free", 5, 0, false},
		{"sixth starts the delay", 6, 2 * time.Second, true},
		{"seventh doubles it", 7, 4 * time.Second, false},
		{"eighth", 8, 8 * time.Second, false},
		{"twelfth", 12, 128 * time.Second, false},
		{"thirteenth", 13, 256 * time.Second, false},
		{"fourteenth is capped", 14, 5 * time.Minute, false},
		{"fiftieth is still capped", 50, 5 * time.Minute, false},
	}
	n := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var started []string
			for n < tt.failure {
				wait, s := a.try("k")
				if wait > 0 { // each try waits its turn
					now = now.Add(wait)
					continue
				}
				started = s
				n++
			}
			if got := a.waiting("k"); got != tt.want {
				t.Errorf("wait after failure %d = %v, want %v", tt.failure, got, tt.want)
			}
			if (len(started) > 0) != tt.started {
				t.Errorf("failure %d started the delay: %v, want %v", tt.failure, started, tt.started)
			}
		})
	}
	t.Run("keys are separate", func(t *testing.T) {
		if got := a.waiting("other"); got != 0 {
			t.Errorf("wait of an untouched key = %v, want 0", got)
		}
		if got := a.waiting("other", "k"); got != 5*time.Minute {
			t.Errorf("wait of two keys = %v, want the longer, 5m", got)
		}
	})
	t.Run("an hour of quiet starts afresh", func(t *testing.T) {
		now = now.Add(time.Hour + time.Second)
		if got := a.waiting("k"); got != 0 {
			t.Fatalf("wait = %v, want 0", got)
		}
		a.try("k")
		if got := a.waiting("k"); got != 0 {
			t.Errorf("one failure after the quiet hour waits %v, want 0", got)
		}
	})
	t.Run("a success starts afresh", func(t *testing.T) {
		for range 8 {
			now = now.Add(a.waiting("k"))
			a.try("k")
		}
		a.reset("k")
		if got := a.waiting("k"); got != 0 {
			t.Errorf("wait after reset = %v, want 0", got)
		}
	})
}

// A try is counted before the password is checked, so that tries at the
// same moment see each other; a right password takes its count back.
func TestAttemptsTry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fresh := func() *attempts {
		return newAttempts(5, 2*time.Second, 5*time.Minute, time.Hour, func() time.Time { return now })
	}
	tries := func(a *attempts, n int, keys ...string) {
		for range n {
			if wait, _ := a.try(keys...); wait > 0 {
				t.Fatalf("try waits %v, want none", wait)
			}
		}
	}
	tests := []struct {
		name string
		run  func(t *testing.T, a *attempts)
	}{
		{"a burst after the free tries lets one through", func(t *testing.T, a *attempts) {
			tries(a, 5, "k")
			var through atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if wait, _ := a.try("k"); wait == 0 {
						through.Add(1)
					}
				})
			}
			wg.Wait()
			if got := through.Load(); got != 1 {
				t.Errorf("%d of 20 tries went ahead, want 1", got)
			}
		}},
		{"a refused try counts nothing", func(t *testing.T, a *attempts) {
			tries(a, 6, "k")
			for range 10 {
				a.try("k")
			}
			now = now.Add(a.waiting("k"))
			tries(a, 1, "k")
			if got := a.waiting("k"); got != 4*time.Second {
				t.Errorf("wait after the seventh counted try = %v, want 4s", got)
			}
		}},
		{"release takes back the try, not the failures before it", func(t *testing.T, a *attempts) {
			tries(a, 5, "k")
			tries(a, 1, "k")
			a.release("k")
			if got := a.waiting("k"); got != 0 {
				t.Fatalf("wait after release = %v, want 0", got)
			}
			tries(a, 1, "k")
			if got := a.waiting("k"); got != 2*time.Second {
				t.Errorf("wait after the next try = %v, want 2s: the five failures before were kept", got)
			}
		}},
		{"reset and release touch only their keys", func(t *testing.T, a *attempts) {
			tries(a, 6, "mine", "shared", "other")
			a.reset("mine")
			a.release("shared")
			for key, want := range map[string]time.Duration{"mine": 0, "shared": 0, "other": 2 * time.Second} {
				if got := a.waiting(key); got != want {
					t.Errorf("wait of %s = %v, want %v", key, got, want)
				}
			}
			tries(a, 1, "mine", "shared")
			if got := a.waiting("shared"); got != 2*time.Second {
				t.Errorf("shared key after one more try waits %v, want 2s", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, fresh()) })
	}
}
