package webhooks

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/referral"
)

// Event is one row of the events outbox, as the store reads it. Data is
// what the change recorded (ids and amounts, numbers as json.Number); the
// webhook body is rendered from it when it is sent. It lives here, not in
// the store, because the store imports this package (store.Event is an
// alias of it).
type Event struct {
	ID        string
	ProgramID string
	Type      string
	Data      map[string]any
	CreatedAt time.Time
}

// The states of a delivery: pending until an attempt succeeds (a 2xx) or
// the retries run out (or the receiver answers 410 Gone).
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one event on its way to one endpoint, with what its last
// attempt gave: the delivery log a program's developers read.
type Delivery struct {
	ID         string
	ProgramID  string
	EndpointID string
	EventID    string
	EventType  string
	Status     string
	// Attempts counts the attempts made so far.
	Attempts int
	// NextAttemptAt is when the next attempt is due; zero once the
	// delivery is finished.
	NextAttemptAt  time.Time
	LastAttemptAt  time.Time // zero before the first attempt
	LastStatusCode int       // 0 when there was no response
	LastError      string
	// LastResponse is the start of the receiver's last response body, at
	// most MaxExcerpt bytes.
	LastResponse string
	LastDuration time.Duration
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ErrDeliveryNotFound is returned for an unknown delivery.
var ErrDeliveryNotFound = referral.Errorf(referral.KindNotFound, "webhook_delivery_not_found",
	"No webhook delivery with that id exists in this program.")

// Outgoing is a claimed delivery with what sending it needs.
type Outgoing struct {
	Delivery Delivery
	URL      string
	// Secrets are the endpoint's live secrets at the claim (see
	// Endpoint.LiveSecrets), as stored.
	Secrets []string
	Event   Event
}

// Claim asks for due deliveries. The deliveries claimed are not due again
// until Now+Lease, so that no other worker takes them while this one sends;
// a worker that dies mid-send leaves them to be sent again after the
// lease, never lost.
type Claim struct {
	Now   time.Time
	Limit int
	Lease time.Duration
	// PerEndpoint caps the deliveries one endpoint may have in hand on
	// this worker, Max overrides it by endpoint id, and Busy holds the ones
	// it has already. A slow endpoint thus never takes the whole claim.
	PerEndpoint int
	Max         map[string]int
	Busy        map[string]int
}

// Room returns how many more deliveries to endpoint may be claimed.
func (c Claim) Room(endpoint string) int {
	limit, ok := c.Max[endpoint]
	if !ok {
		limit = c.PerEndpoint
	}
	return limit - c.Busy[endpoint]
}

// Outcome is an attempt at a delivery, to record.
type Outcome struct {
	DeliveryID string
	Attempt    Attempt
}

// Attempt is the outcome of one attempt to send a delivery.
type Attempt struct {
	StatusCode int // 0 when no response came
	Error      string
	Response   []byte // the body as read, up to MaxResponse
	Duration   time.Duration
}

// Succeeded reports whether the receiver took the delivery: a 2xx.
func (a Attempt) Succeeded() bool { return a.StatusCode >= 200 && a.StatusCode < 300 }

// MaxExcerpt bounds the response excerpt and the error text kept with a
// delivery: enough to show what went wrong.
const MaxExcerpt = 1 << 10

// Excerpt returns the start of b as text to store: at most MaxExcerpt
// bytes of valid UTF-8 without NUL (which PostgreSQL text refuses).
func Excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b[:min(len(b), MaxExcerpt)]), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	for len(s) > MaxExcerpt { // replacements lengthen it
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// retrySchedule is how long after each failed attempt the next one comes:
// quickly at first, for a blip, then spread over about a day and a half,
// for an outage. An attempt after the last of these is the last one.
var retrySchedule = []time.Duration{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// MaxAttempts is how many times a delivery is tried before it fails: the
// first attempt and one after each delay of the schedule.
const MaxAttempts = 8

// RetryDelay returns how long to wait after a failed attempt, the
// attempts-th (counting from 1), before the next; false when that was the
// last attempt and the delivery has failed.
func RetryDelay(attempts int) (time.Duration, bool) {
	if attempts < 1 || attempts > len(retrySchedule) {
		return 0, false
	}
	return retrySchedule[attempts-1], true
}

// FailingLimit is how long an endpoint may fail every delivery (nothing
// succeeding since its first failed attempt) before it is disabled.
const FailingLimit = 5 * 24 * time.Hour
