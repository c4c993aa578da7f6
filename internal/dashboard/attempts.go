package dashboard

import (
	"slices"
	"sync"
	"time"
)

// attempts slows down password guessing per account and per address with
// a growing delay instead of a lock: after free failures each further one
// makes the key wait base, then twice as long, up to ceiling. A hard lock
// would let anyone who knows an admin's email keep them out; a delay of a
// few minutes at most still leaves a guesser a handful of tries an hour.
// A success resets the key; a key quiet for forget starts afresh.
type attempts struct {
	mu      sync.Mutex
	free    int
	base    time.Duration
	ceiling time.Duration
	forget  time.Duration
	now     func() time.Time
	keys    map[string]*strikes
}

type strikes struct {
	fails int
	last  time.Time // of the last failure
	until time.Time // no tries before this
}

func newAttempts(free int, base, ceiling, forget time.Duration, now func() time.Time) *attempts {
	return &attempts{free: free, base: base, ceiling: ceiling, forget: forget, now: now, keys: map[string]*strikes{}}
}

// wait reports how long the longest-waiting of keys must still wait
// before its next try; 0 lets the try go ahead.
func (a *attempts) wait(keys ...string) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	var longest time.Duration
	for _, k := range keys {
		if s := a.keys[k]; s != nil && s.until.After(now) {
			longest = max(longest, s.until.Sub(now))
		}
	}
	return longest
}

// fail records a failure for every key and returns the keys whose delay
// has just begun, so that the caller can tell the admins once.
func (a *attempts) fail(keys ...string) (started []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.keys) > 10_000 { // forget the idle ones
		for k, s := range a.keys {
			if now.Sub(s.last) > a.forget {
				delete(a.keys, k)
			}
		}
	}
	for _, k := range keys {
		s := a.keys[k]
		if s == nil || now.Sub(s.last) > a.forget {
			s = &strikes{}
			a.keys[k] = s
		}
		s.fails++
		s.last = now
		if over := s.fails - a.free; over > 0 {
			s.until = now.Add(a.delay(over))
			if over == 1 {
				started = append(started, k)
			}
		}
	}
	return started
}

// delay is the wait after the n-th failure beyond the free ones.
func (a *attempts) delay(n int) time.Duration {
	d := a.base
	for i := 1; i < n && d < a.ceiling; i++ {
		d *= 2
	}
	return min(d, a.ceiling)
}

// reset forgets failures after a successful sign-in.
func (a *attempts) reset(keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		delete(a.keys, k)
	}
}

// addrs remembers the client addresses each account last signed in from.
// Only correct passwords add to it, so it holds a few entries per admin.
type addrs struct {
	mu sync.Mutex
	m  map[string][]string
}

const addrsPerAccount = 5

func (a *addrs) has(account, addr string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Contains(a.m[account], addr)
}

func (a *addrs) add(account, addr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string][]string{}
	}
	list := slices.DeleteFunc(a.m[account], func(s string) bool { return s == addr })
	a.m[account] = append([]string{addr}, list[:min(len(list), addrsPerAccount-1)]...)
}
