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
// A try counts as a failure from the start (see try); a success takes it
// back. A key quiet for forget starts afresh.
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

// try lets a sign-in go ahead when none of keys must wait, and then
// counts it as a failure of each key at once, under the same lock: a burst
// of guesses sent when a wait ends gets only the free tries left and one
// more past the check, since each one counted starts or extends the wait
// the next one sees. A right password takes the count back (reset,
// release). started are the keys whose delay this try began, for the
// caller to tell the admins if the password was wrong.
func (a *attempts) try(keys ...string) (wait time.Duration, started []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for _, k := range keys {
		if s := a.keys[k]; s != nil && s.until.After(now) {
			wait = max(wait, s.until.Sub(now))
		}
	}
	if wait > 0 {
		return wait, nil
	}
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
	return 0, started
}

// delay is the wait after the n-th failure beyond the free ones.
func (a *attempts) delay(n int) time.Duration {
	d := a.base
	for i := 1; i < n && d < a.ceiling; i++ {
		d *= 2
	}
	return min(d, a.ceiling)
}

// reset forgets failures after a successful sign-in: for the keys that
// belong to the signed-in account alone.
func (a *attempts) reset(keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		delete(a.keys, k)
	}
}

// release takes back the failure a try counted when the try did not fail
// after all, keeping the key's earlier failures: a shared key, such as an
// address, must not be cleared by whoever signs in there, or a guesser
// could clear it with an account of their own. The try was let through,
// so no wait was owed before it; taking it back leaves none.
func (a *attempts) release(keys ...string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		s := a.keys[k]
		if s == nil {
			continue
		}
		if s.fails--; s.fails <= 0 {
			delete(a.keys, k)
			continue
		}
		s.until = time.Time{}
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
