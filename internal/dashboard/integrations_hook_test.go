package dashboard

// SetStripeStore puts s in the place of the store's Stripe integration,
// for tests of the Integrations page while the store's is a stand-in.
func SetStripeStore(d *Dashboard, s stripeStore) { d.stripe = s }
