package webhooks

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/referral"
)

// Limits of an endpoint and of a program's endpoints.
const (
	MaxEndpoints      = 20  // live endpoints per program
	MaxEvents         = 50  // entries of an endpoint's events
	MaxDescriptionLen = 500 // characters
)

// SecretGrace is how long the secret before a rotation keeps signing
// deliveries beside the new one: a day, as Standard Webhooks and Stripe
// give, for receivers to deploy the new secret.
const SecretGrace = 24 * time.Hour

// ErrEndpointNotFound is returned for an unknown or deleted endpoint.
var ErrEndpointNotFound = referral.Errorf(referral.KindNotFound, "webhook_endpoint_not_found",
	"No webhook endpoint with that id exists in this program.")

// ErrTooManyEndpoints refuses an endpoint beyond MaxEndpoints.
var ErrTooManyEndpoints = referral.Errorf(referral.KindInvalid, "too_many_webhook_endpoints",
	"A program may have at most %d webhook endpoints; delete one first.", MaxEndpoints)

// Endpoint is where a program's events are delivered.
type Endpoint struct {
	ID          string
	ProgramID   string
	URL         string
	Description string
	// Events are the subscribed types, or just AllEvents.
	Events []string
	Active bool
	// DisabledReason says why the system turned the endpoint off (such as
	// "410 Gone"); "" when it is active or a person paused it.
	DisabledReason string
	// Secret signs deliveries. PreviousSecret, the one before the last
	// rotation, signs them too until SecretRotatedAt + SecretGrace.
	Secret          string
	PreviousSecret  string
	SecretRotatedAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// LiveSecrets returns the secrets that sign a delivery made at now: the
// current one, then the previous one during SecretGrace after a rotation.
func (e *Endpoint) LiveSecrets(now time.Time) []string {
	live := []string{e.Secret}
	if e.PreviousSecret != "" && now.Before(e.SecretRotatedAt.Add(SecretGrace)) {
		live = append(live, e.PreviousSecret)
	}
	return live
}

// Subscribed reports whether the endpoint receives events of type typ.
func (e *Endpoint) Subscribed(typ string) bool {
	return slices.Contains(e.Events, AllEvents) || slices.Contains(e.Events, typ)
}

// EndpointInput is an endpoint as a client sends it. On an update, a
// field left out (nil) keeps its value.
type EndpointInput struct {
	URL         *string   `json:"url"`
	Events      *[]string `json:"events"`
	Description *string   `json:"description"`
	Active      *bool     `json:"active"`
}

// Apply returns base changed by in, validated: every bad field is named at
// once. Resuming an endpoint clears the reason the system disabled it.
// base is a new Endpoint{Active: true} for a creation.
func Apply(base Endpoint, in EndpointInput) (Endpoint, error) {
	e := base
	if in.URL != nil {
		e.URL = strings.TrimSpace(*in.URL)
	}
	if in.Events != nil {
		e.Events = *in.Events
	}
	if in.Description != nil {
		e.Description = strings.TrimSpace(*in.Description)
	}
	if in.Active != nil {
		e.Active = *in.Active
	}
	if e.Active {
		e.DisabledReason = ""
	}
	var v referral.Validation
	_, err := CheckURL(e.URL)
	addField(&v, err)
	e.Events, err = checkEvents(e.Events)
	addField(&v, err)
	switch {
	case !referral.ValidText(e.Description):
		v.AddCode("description", referral.ErrBadText.Code, referral.BadTextMessage)
	case utf8.RuneCountInString(e.Description) > MaxDescriptionLen:
		v.AddCode("description", "description_too_long", "Description must be at most 500 characters.")
	}
	return e, v.Err("invalid_webhook_endpoint")
}

// addField adds the field of err, a FieldError or nil, to v with its own
// code, so that a request with one problem is answered with that
// problem's code.
func addField(v *referral.Validation, err error) {
	if fe, ok := referral.AsError(err); ok {
		for f, m := range fe.Fields {
			v.AddCode(f, fe.Code, m)
		}
	}
}

// checkEvents validates an endpoint's event types and returns them without
// repeats, in the order given.
func checkEvents(events []string) ([]string, error) {
	switch {
	case len(events) == 0:
		return nil, referral.FieldError("events_required", "events",
			`List the event types to deliver, or ["*"] for all of them.`)
	case len(events) > MaxEvents:
		return nil, referral.FieldError("too_many_events", "events", fmt.Sprintf("List at most %d event types.", MaxEvents))
	}
	var out []string
	for i, typ := range events {
		if typ == TestEventType {
			return nil, referral.FieldError("event_type_on_request", fmt.Sprintf("events.%d", i),
				fmt.Sprintf("%s is sent only when asked for (POST /v1/webhook_endpoints/{id}/test); it cannot be subscribed to.", typ))
		}
		if !KnownEvent(typ) {
			return nil, referral.FieldError("unknown_event_type", fmt.Sprintf("events.%d", i),
				fmt.Sprintf("Unknown event type %q; see the list in the API reference.", referral.CleanText(typ, 64)))
		}
		if !slices.Contains(out, typ) {
			out = append(out, typ)
		}
	}
	if len(out) > 1 && slices.Contains(out, AllEvents) {
		return nil, referral.FieldError("invalid_events", "events", `"*" subscribes to every event type; send it alone.`)
	}
	return out, nil
}
