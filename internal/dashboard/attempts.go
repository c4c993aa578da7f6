package dashboard

import (
	"sync"
	"time"
)

// attempts limits failed sign-ins per email and per address: after max
// failures within window, further tries wait until the window passes.
type attempts struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
}

func newAttempts(max int, window time.Duration, now func() time.Time) *attempts {
	return &attempts{max: max, window: window, now: now, fails: map[string][]time.Time{}}
}

// blocked reports whether any of keys has too many recent failures.
func (a *attempts) blocked(keys ...string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		if len(a.recent(k)) >= a.max {
			return true
		}
	}
	return false
}

// fail records a failure for every key.
func (a *attempts) fail(keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		a.fails[k] = append(a.recent(k), a.now())
	}
	if len(a.fails) > 10_000 { // forget the idle ones
		for k := range a.fails {
			if len(a.recent(k)) == 0 {
				delete(a.fails, k)
			}
		}
	}
}

// reset forgets failures after a successful sign-in.
func (a *attempts) reset(keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		delete(a.fails, k)
	}
}

func (a *attempts) recent(k string) []time.Time {
	cut := a.now().Add(-a.window)
	ts := a.fails[k]
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	return ts[i:]
}
