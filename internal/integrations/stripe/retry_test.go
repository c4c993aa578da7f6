package stripe_test

import (
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
)

// TestRetryDelay: the schedule after each failed attempt, MaxAttempts in
// all, every one within the 24 hours Stripe keeps an Idempotency-Key.
func TestRetryDelay(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
		more     bool
	}{
		{0, 0, false},
		{1, 30 * time.Second, true},
		{2, 2 * time.Minute, true},
		{3, 10 * time.Minute, true},
		{4, time.Hour, true},
		{5, 3 * time.Hour, true},
		{6, 6 * time.Hour, true},
		{7, 12 * time.Hour, true},
		{8, 0, false},
		{9, 0, false},
	}
	for _, tt := range tests {
		got, more := stripe.RetryDelay(tt.attempts)
		if got != tt.want || more != tt.more {
			t.Errorf("RetryDelay(%d) = %v, %v; want %v, %v", tt.attempts, got, more, tt.want, tt.more)
		}
	}
	var total time.Duration
	for a := 1; ; a++ {
		d, ok := stripe.RetryDelay(a)
		if !ok {
			if a != stripe.MaxAttempts {
				t.Errorf("the last attempt is %d, MaxAttempts %d", a, stripe.MaxAttempts)
			}
			break
		}
		total += d
	}
	if total >= stripetest.IdempotencyWindow-time.Hour {
		t.Errorf("the last attempt comes %v after the first: too close to Stripe's %v", total, stripetest.IdempotencyWindow)
	}
}
