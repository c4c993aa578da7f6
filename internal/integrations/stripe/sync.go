package stripe

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Syncer replays the events Stripe's events API still holds (30 days),
// for what webhooks missed while Advocate was down. Applying an event
// already applied changes nothing (the store records each event id), so a
// sync can run any time and be run again after an error.
type Syncer struct {
	Client *Client
	// Apply applies one event, exactly as the webhook endpoint does.
	Apply func(ctx context.Context, ev *Event) error
	// Progress, when set, is told how many of the events are applied: once
	// with done 0 when they are all listed, then after each.
	Progress func(done, total int)
}

// Run lists every event of HandledTypes created at or after since, then
// applies them oldest first, as they happened: a payment before its
// refund. It stops at the first event that cannot be applied and returns
// how many were applied before it.
func (s *Syncer) Run(ctx context.Context, since time.Time) (applied int, err error) {
	var events []*Event
	seen := map[string]bool{}
	after := ""
	for {
		page, more, err := s.Client.ListEvents(ctx, since, after, HandledTypes)
		if err != nil {
			return 0, fmt.Errorf("list events: %w", err)
		}
		for _, ev := range page {
			if !seen[ev.ID] {
				seen[ev.ID] = true
				events = append(events, ev)
			}
		}
		// Progress while listing too (nothing applied yet, the total so
		// far): a long listing keeps the sync's heartbeat going.
		s.progress(0, len(events))
		if !more || len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
	}
	// Stripe lists newest first; events of the same second keep Stripe's
	// order, reversed.
	slices.Reverse(events)
	slices.SortStableFunc(events, func(a, b *Event) int { return a.Created.Compare(b.Created) })
	s.progress(0, len(events))
	for i, ev := range events {
		if err := s.Apply(ctx, ev); err != nil {
			return i, fmt.Errorf("apply event %s (%s): %w", ev.ID, ev.Type, err)
		}
		s.progress(i+1, len(events))
	}
	return len(events), nil
}

func (s *Syncer) progress(done, total int) {
	if s.Progress != nil {
		s.Progress(done, total)
	}
}
