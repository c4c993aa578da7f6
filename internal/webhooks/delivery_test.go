package webhooks_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/webhooks"
)

// TestRetryDelay: the schedule after each failed attempt, 8 attempts in all.
func TestRetryDelay(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
		more     bool
	}{
		{0, 0, false},
		{1, 5 * time.Second, true},
		{2, 5 * time.Minute, true},
		{3, 30 * time.Minute, true},
		{4, 2 * time.Hour, true},
		{5, 5 * time.Hour, true},
		{6, 10 * time.Hour, true},
		{7, 10 * time.Hour, true},
		{8, 0, false},
		{9, 0, false},
	}
	for _, tt := range tests {
		got, more := webhooks.RetryDelay(tt.attempts)
		if got != tt.want || more != tt.more {
			t.Errorf("RetryDelay(%d) = %v, %v; want %v, %v", tt.attempts, got, more, tt.want, tt.more)
		}
	}
	if webhooks.MaxAttempts != 8 {
		t.Errorf("MaxAttempts = %d, want 8", webhooks.MaxAttempts)
	}
}

// TestExcerpt: at most MaxExcerpt bytes of valid UTF-8 without NUL.
func TestExcerpt(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "oops", "oops"},
		{"NUL", "a\x00b", "a\uFFFDb"},
		{"invalid", "a\xffb", "a\uFFFDb"},
		{"long", strings.Repeat("x", 5000), strings.Repeat("x", webhooks.MaxExcerpt)},
		{"split rune", "x" + strings.Repeat("é", 1000), "x" + strings.Repeat("é", 511)},
		{"replacements", strings.Repeat("\x00", 2000), strings.Repeat("\uFFFD", webhooks.MaxExcerpt/3)},
	}
	for _, tt := range tests {
		got := webhooks.Excerpt([]byte(tt.in))
		if got != tt.want || len(got) > webhooks.MaxExcerpt || !utf8.ValidString(got) {
			t.Errorf("%s: Excerpt = %q (%d bytes), want %q", tt.name, got, len(got), tt.want)
		}
	}
}
