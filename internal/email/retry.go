package email

import "time"

// retrySchedule is how long after each failed attempt the next one comes:
// soon at first, for a blip at the mail server, then spread over about a
// day, for an outage.
var retrySchedule = []time.Duration{
	time.Minute,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	6 * time.Hour,
	12 * time.Hour,
}

// MaxAttempts is how many times a message is tried before it fails: the
// first attempt and one after each delay of the schedule.
const MaxAttempts = 7

// RetryDelay returns how long to wait after the attempt-th failed attempt
// (counting from 1) before the next; false when that was the last attempt
// and the message has failed.
func RetryDelay(attempt int) (time.Duration, bool) {
	if attempt < 1 || attempt > len(retrySchedule) {
		return 0, false
	}
	return retrySchedule[attempt-1], true
}
