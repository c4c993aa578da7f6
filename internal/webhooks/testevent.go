package webhooks

import "github.com/advocate-oss/advocate/internal/referral"

// TestMessage is the message of a webhook_endpoint.test event.
const TestMessage = "A test event from Advocate: your endpoint received it. Check its webhook-signature with the endpoint's secret."

// ErrEndpointPaused refuses a test event to an endpoint that is not
// active: its delivery would wait for a resume, and a test that waits
// tells nothing.
var ErrEndpointPaused = referral.Errorf(referral.KindConflict, "webhook_endpoint_paused",
	"The endpoint is paused or disabled: resume it to send a test event.")

// TestEvent returns what a webhook_endpoint.test event to e records (the
// Stripe or Svix "ping"), or ErrEndpointPaused. The event goes to e alone,
// whatever e subscribes to, through the normal signed delivery, so that it
// proves the receiver verifies signatures.
func TestEvent(e *Endpoint) (map[string]any, error) {
	if !e.Active {
		return nil, ErrEndpointPaused
	}
	return map[string]any{"webhook_endpoint_id": e.ID, "message": TestMessage}, nil
}
