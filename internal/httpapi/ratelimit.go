package httpapi

import (
	"sync"
	"time"
)

// limiter is a per-key rate limit using the generic cell rate algorithm:
// for each key it keeps only the theoretical arrival time of the next
// request, so it needs no timers and no floating point. It limits one node;
// behind a load balancer each node enforces it on its share of traffic.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration // one request's worth of time
	burst    time.Duration // how far ahead of schedule a key may run
	tat      map[string]time.Time
	now      func() time.Time
	sweep    time.Time
}

func newLimiter(perSecond, burst int, now func() time.Time) *limiter {
	interval := time.Second / time.Duration(perSecond)
	return &limiter{interval: interval, burst: interval * time.Duration(burst-1), tat: map[string]time.Time{}, now: now}
}

// allow reports whether key may make a request now, and if not, how long
// until it may.
func (l *limiter) allow(key string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		for k, t := range l.tat {
			if t.Before(now) {
				delete(l.tat, k)
			}
		}
		l.sweep = now
	}
	tat := l.tat[key]
	if tat.Before(now) {
		tat = now
	}
	if ahead := tat.Sub(now); ahead > l.burst {
		return ahead - l.burst, false
	}
	l.tat[key] = tat.Add(l.interval)
	return 0, true
}
