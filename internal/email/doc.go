// Package email holds what Advocate needs to send its notification emails:
// the kinds of email a program sends and their default texts, the templates
// a program edits (subject and body with {{placeholders}}), rendering them to
// a multipart text and HTML message in the program's colours, signed
// unsubscribe links, and an SMTP Sender.
//
// It knows nothing of HTTP handlers or SQL: the store keeps templates and
// the outbox, and checks templates here before saving them.
package email
