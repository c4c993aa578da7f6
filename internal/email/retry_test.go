package email_test

import (
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/email"
)

// TestRetryDelay: the schedule after each failed attempt, 7 attempts in all.
func TestRetryDelay(t *testing.T) {
	tests := []struct {
		attempt int
		want    time.Duration
		more    bool
	}{
		{0, 0, false},
		{1, time.Minute, true},
		{2, 5 * time.Minute, true},
		{3, 30 * time.Minute, true},
		{4, 2 * time.Hour, true},
		{5, 6 * time.Hour, true},
		{6, 12 * time.Hour, true},
		{7, 0, false},
		{8, 0, false},
	}
	for _, tt := range tests {
		got, more := email.RetryDelay(tt.attempt)
		if got != tt.want || more != tt.more {
			t.Errorf("RetryDelay(%d) = %v, %v; want %v, %v", tt.attempt, got, more, tt.want, tt.more)
		}
	}
	if email.MaxAttempts != 7 {
		t.Errorf("MaxAttempts = %d, want 7", email.MaxAttempts)
	}
}
