package webhooks

import "slices"

// AllEvents is the event type that subscribes an endpoint to every event,
// including types added later.
const AllEvents = "*"

// EventType is an event a business may subscribe an endpoint to.
type EventType struct {
	Type        string
	Description string
}

// TestEventType is the type sent only when asked for, to one endpoint
// (see TestEvent): no endpoint subscribes to it.
const TestEventType = "webhook_endpoint.test"

// EventTypes lists every event the outbox records, in the order the API
// documents them. TestEventTypesListed fails when the code writes a type
// missing here, so that no event is delivered that nobody can subscribe to.
var EventTypes = []EventType{
	{"customer.created", "A customer was created."},
	{"customer.updated", "A customer's details changed."},
	{"customer.deleted", "A customer was deleted."},
	{"referral.created", "A customer signed up with a referral code."},
	{"referral.successful", "A referral became successful: the friend did what an active referrer rule rewards."},
	{"referral.pending", "A successful referral went back to pending: the payment that made it successful was refunded."},
	{"referral.rejected", "A referral was judged fraudulent: its referrer's reward was rejected."},
	{"transaction.created", "A payment was recorded."},
	{"transaction.refunded", "A payment was refunded, in part or in full."},
	{"transaction.disputed", "A payment was disputed (a chargeback): its pending rewards wait for a person to approve or reject them."},
	{"reward.created", "A reward was given, pending or available."},
	{"reward.available", "A reward became available to its customer."},
	{"reward.rejected", "A pending reward was rejected."},
	{"reward.reversed", "A reward was reversed, in part or in full: its payment was refunded, or its referral taken back."},
	{"balance.credited", "A customer's balance was credited by hand."},
	{"balance.debited", "A customer's balance was spent or debited by hand."},
	{"discount_code.redeemed", "A discount code was redeemed."},
	{"webhook_endpoint.disabled", "A webhook endpoint was disabled: it answered 410 Gone, or every delivery to it failed for 5 days."},
	{TestEventType, "A test event, sent only when asked for, to one endpoint whatever it subscribes to."},
}

// KnownEvent reports whether typ is an event type an endpoint may list:
// one of EventTypes not sent on request only, or AllEvents.
func KnownEvent(typ string) bool {
	return typ == AllEvents || slices.ContainsFunc(EventTypes, func(e EventType) bool { return e.Type == typ && e.Type != TestEventType })
}

// Subscribable returns the event types an endpoint may list, in order.
func Subscribable() []EventType {
	var out []EventType
	for _, e := range EventTypes {
		if e.Type != TestEventType {
			out = append(out, e)
		}
	}
	return out
}
