// Package webhooks sends Advocate's outgoing webhooks as the Standard
// Webhooks specification (https://www.standardwebhooks.com) describes them:
// a JSON body signed with HMAC-SHA256 under the endpoint's whsec_ secret and
// sent with the webhook-id, webhook-timestamp and webhook-signature headers.
//
// Deliveries are read from the events outbox (events written in the same
// database transaction as the change they announce), so a receiver hears of
// nothing that did not commit and of everything that did, retried until it
// answers 2xx. Any Standard Webhooks library can verify what we send.
//
// It knows nothing of HTTP handlers or SQL: the store keeps endpoints, and
// the API and the dashboard change them through the store's operations,
// which check them here.
package webhooks
