package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/advocate-oss/advocate/internal/store"
)

// releaseRewards ends holding periods: every interval it makes due pending
// rewards available, in batches, until none are due. Safe on several nodes
// at once (the store claims rows with SKIP LOCKED on PostgreSQL).
func releaseRewards(ctx context.Context, db *store.DB, log *slog.Logger, now func() time.Time, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := db.ReleaseDueRewards(ctx, now(), 500)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("release rewards", "err", err)
				}
				break
			}
			if n > 0 {
				log.Info("released rewards", "count", n)
			}
			if n < 500 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
