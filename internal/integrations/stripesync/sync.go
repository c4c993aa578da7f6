package stripesync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
)

// MaxSyncAge is how far back a sync may go: Stripe's events API keeps
// events for 30 days.
const MaxSyncAge = 30 * 24 * time.Hour

// progressEvery is how often a running sync writes its progress (and
// heartbeat) to the database.
const progressEvery = 500 * time.Millisecond

// SyncReport is what a sync did.
type SyncReport struct {
	Fetched, Applied, Replays, Ignored int
	// Errors are events that could not be applied (a refund of a payment
	// Stripe no longer lists, say), each "evt_…: message"; the sync goes on.
	Errors []string
}

// ParseSince reads where a sync starts: an RFC 3339 time, or a date
// (midnight UTC).
func ParseSince(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// CheckSince refuses a sync start outside Stripe's 30 days.
func (s *Service) CheckSince(since time.Time) error {
	now := s.now()
	if since.IsZero() || since.After(now) || now.Sub(since) > MaxSyncAge+time.Hour {
		return ErrSyncSince
	}
	return nil
}

// StartSync starts a sync of programID's events since then in the
// background (the dashboard's button, the API) and returns once it is
// recorded as running: store.ErrStripeSyncRunning when one already is.
func (s *Service) StartSync(ctx context.Context, programID string, since time.Time) error {
	if err := s.CheckSince(since); err != nil {
		return err
	}
	_, in, err := s.connected(ctx, programID)
	if err != nil {
		return err
	}
	if in.SecretKey == "" {
		return ErrSyncNeedsKey
	}
	if err := s.DB.StartStripeSync(ctx, programID, since); err != nil {
		return err
	}
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	if base == nil {
		base = context.WithoutCancel(ctx)
	}
	s.syncs.Add(1)
	go func() {
		defer s.syncs.Done()
		if _, err := s.sync(base, programID, since, nil); err != nil && base.Err() == nil {
			s.Log.Warn("stripe sync failed", "program", programID, "err", err)
		}
	}()
	return nil
}

// Sync runs a sync in the foreground (`advocate stripe sync`), reporting
// progress to progress as well as to the database.
func (s *Service) Sync(ctx context.Context, programID string, since time.Time, progress func(done, total int)) (SyncReport, error) {
	if err := s.CheckSince(since); err != nil {
		return SyncReport{}, err
	}
	_, in, err := s.connected(ctx, programID)
	if err != nil {
		return SyncReport{}, err
	}
	if in.SecretKey == "" {
		return SyncReport{}, ErrSyncNeedsKey
	}
	if err := s.DB.StartStripeSync(ctx, programID, since); err != nil {
		return SyncReport{}, err
	}
	return s.sync(ctx, programID, since, progress)
}

// sync pages through Stripe's events since then and applies them oldest
// first, recording progress; the sync was marked running by the caller.
func (s *Service) sync(ctx context.Context, programID string, since time.Time, progress func(done, total int)) (SyncReport, error) {
	var rep SyncReport
	finish := func(err error) (SyncReport, error) {
		status, msg := "done", ""
		if err != nil {
			status, msg = "failed", err.Error()
		} else if len(rep.Errors) > 0 {
			msg = fmt.Sprintf("%d events could not be applied; the first: %s", len(rep.Errors), rep.Errors[0])
		}
		// Recorded even when ctx ended (a shutdown): the sync must not
		// look running forever.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if perr := s.DB.StripeSyncProgress(wctx, programID, rep.Applied+rep.Replays+rep.Ignored+len(rep.Errors), rep.Fetched, status, msg); perr != nil && err == nil {
			err = perr
		}
		return rep, err
	}
	p, in, err := s.connected(ctx, programID)
	if err != nil {
		return finish(err)
	}
	httpc := s.HTTP
	if httpc == nil {
		httpc = &http.Client{Timeout: 30 * time.Second}
	}
	var last time.Time
	syncer := &stripe.Syncer{
		Client: &stripe.Client{BaseURL: in.APIBaseURL, SecretKey: in.SecretKey, HTTP: httpc},
		Apply: func(ctx context.Context, ev *stripe.Event) error {
			res, err := s.apply(ctx, p, ev)
			switch {
			case err == nil && res.Outcome == "replay":
				rep.Replays++
			case err == nil && res.Outcome == "applied":
				rep.Applied++
			case err == nil:
				rep.Ignored++
			default:
				var re *referral.Error
				if errors.As(err, &re) {
					// An event that cannot be applied does not stop the
					// others; it is reported.
					rep.Errors = append(rep.Errors, ev.ID+": "+err.Error())
					return nil
				}
				return err
			}
			return nil
		},
		Progress: func(done, total int) {
			rep.Fetched = total
			if progress != nil {
				progress(done, total)
			}
			if now := time.Now(); now.Sub(last) >= progressEvery || done == total {
				last = now
				if err := s.DB.StripeSyncProgress(ctx, programID, done, total, "running", ""); err != nil && ctx.Err() == nil {
					s.Log.Warn("stripe sync progress", "program", programID, "err", err)
				}
			}
		},
	}
	if _, err := syncer.Run(ctx, since); err != nil {
		return finish(err)
	}
	return finish(nil)
}
