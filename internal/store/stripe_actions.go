package store

// SKELETON (issue 18): see /work/briefs/stripe-api.md.

import (
	"context"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
)

// ClaimStripeActions returns up to limit pending actions due at now (the
// first pending one of each reward only), due again only at now+lease.
func (db *DB) ClaimStripeActions(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]stripe.Action, error) {
	return nil, errStripeTODO
}

// RecordStripeAction records an attempt at an action.
func (db *DB) RecordStripeAction(ctx context.Context, id string, o stripe.ActionOutcome) error {
	return errStripeTODO
}
