package stripe

import "time"

// retrySchedule is how long after each failed attempt at an action the
// next one comes: soon at first, for a blip or a rate limit, then spread
// over most of a day, for an outage. The attempts all fall within 24 hours
// of the first because Stripe keeps an Idempotency-Key for 24 hours: a
// retry after that could apply again a call whose response was lost.
var retrySchedule = []time.Duration{
	30 * time.Second,
	2 * time.Minute,
	10 * time.Minute,
	time.Hour,
	3 * time.Hour,
	6 * time.Hour,
	12 * time.Hour,
}

// MaxAttempts is how many times an action is tried before it fails: the
// first attempt and one after each delay of the schedule.
const MaxAttempts = 8

// RetryDelay returns how long to wait after the attempts-th failed
// attempt (counting from 1) before the next; false when that was the last
// and the action has failed.
func RetryDelay(attempts int) (time.Duration, bool) {
	if attempts < 1 || attempts > len(retrySchedule) {
		return 0, false
	}
	return retrySchedule[attempts-1], true
}
