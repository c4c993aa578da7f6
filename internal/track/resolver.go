package track

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

// Resolver maps codes to their targets through a bounded cache. Entries
// live for ttl, so a changed website or a deleted link on another node is
// seen within that time; this node forgets a code at once when it deletes
// it.
type Resolver struct {
	resolve  func(ctx context.Context, code string) (*referral.LinkTarget, error)
	fallback func(ctx context.Context) (string, error)
	now      func() time.Time
	ttl      time.Duration

	mu      sync.RWMutex
	entries map[string]entry
	home    entry
}

type entry struct {
	target  *referral.LinkTarget // nil: no such code
	url     string
	expires time.Time
}

// maxEntries bounds the cache; past it, it starts afresh.
const maxEntries = 100_000

// NewResolver returns a resolver over the given lookups.
func NewResolver(resolve func(context.Context, string) (*referral.LinkTarget, error), fallback func(context.Context) (string, error), now func() time.Time, ttl time.Duration) *Resolver {
	return &Resolver{resolve: resolve, fallback: fallback, now: now, ttl: ttl, entries: map[string]entry{}}
}

// Resolve returns the target of code, or nil when the code is unknown.
func (r *Resolver) Resolve(ctx context.Context, code string) (*referral.LinkTarget, error) {
	now := r.now()
	r.mu.RLock()
	e, ok := r.entries[code]
	r.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.target, nil
	}
	t, err := r.resolve(ctx, code)
	if errors.Is(err, referral.ErrLinkNotFound) {
		t, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if len(r.entries) >= maxEntries {
		r.entries = map[string]entry{}
	}
	r.entries[code] = entry{target: t, expires: now.Add(r.ttl)}
	r.mu.Unlock()
	return t, nil
}

// Home is where unknown codes go: the default program's website.
func (r *Resolver) Home(ctx context.Context) (string, error) {
	now := r.now()
	r.mu.RLock()
	h := r.home
	r.mu.RUnlock()
	if now.Before(h.expires) {
		return h.url, nil
	}
	u, err := r.fallback(ctx)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.home = entry{url: u, expires: now.Add(r.ttl)}
	r.mu.Unlock()
	return u, nil
}

// Forget drops codes from the cache after they changed on this node; with
// no codes it drops everything (a program's website or parameter changed).
func (r *Resolver) Forget(codes ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(codes) == 0 {
		r.entries = map[string]entry{}
	}
	for _, c := range codes {
		delete(r.entries, c)
	}
	r.home = entry{}
}
