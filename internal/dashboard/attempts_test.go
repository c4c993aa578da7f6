package dashboard

import (
	"testing"
	"time"
)

// The delay after each failure grows from 2 s, doubles, and stops at five
// minutes; a success or an hour's quiet starts afresh.
func TestAttemptsDelay(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := newAttempts(5, 2*time.Second, 5*time.Minute, time.Hour, func() time.Time { return now })
	tests := []struct {
		name    string
		failure int // the n-th failure in a row
		want    time.Duration
		started bool
	}{
		{"first five are free", 5, 0, false},
		{"sixth starts the delay", 6, 2 * time.Second, true},
		{"seventh doubles it", 7, 4 * time.Second, false},
		{"eighth", 8, 8 * time.Second, false},
		{"twelfth", 12, 128 * time.Second, false},
		{"thirteenth", 13, 256 * time.Second, false},
		{"fourteenth is capped", 14, 5 * time.Minute, false},
		{"fiftieth is still capped", 50, 5 * time.Minute, false},
	}
	n := 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var started []string
			for n < tt.failure {
				now = now.Add(a.wait("k")) // each try waits its turn
				started = a.fail("k")
				n++
			}
			if got := a.wait("k"); got != tt.want {
				t.Errorf("wait after failure %d = %v, want %v", tt.failure, got, tt.want)
			}
			if (len(started) > 0) != tt.started {
				t.Errorf("failure %d started the delay: %v, want %v", tt.failure, started, tt.started)
			}
		})
	}
	t.Run("keys are separate", func(t *testing.T) {
		if got := a.wait("other"); got != 0 {
			t.Errorf("wait of an untouched key = %v, want 0", got)
		}
		if got := a.wait("other", "k"); got != 5*time.Minute {
			t.Errorf("wait of two keys = %v, want the longer, 5m", got)
		}
	})
	t.Run("an hour of quiet starts afresh", func(t *testing.T) {
		now = now.Add(time.Hour + time.Second)
		if got := a.wait("k"); got != 0 {
			t.Fatalf("wait = %v, want 0", got)
		}
		a.fail("k")
		if got := a.wait("k"); got != 0 {
			t.Errorf("one failure after the quiet hour waits %v, want 0", got)
		}
	})
	t.Run("a success starts afresh", func(t *testing.T) {
		for range 8 {
			now = now.Add(a.wait("k"))
			a.fail("k")
		}
		a.reset("k")
		if got := a.wait("k"); got != 0 {
			t.Errorf("wait after reset = %v, want 0", got)
		}
	})
}
