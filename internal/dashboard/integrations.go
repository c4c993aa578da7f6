package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// The Integrations page: connecting a program to Stripe, step by step,
// then its status, settings, a sync of missed events and disconnecting.
// Viewers see it all; only owners change it (signedIn refuses their posts).

// stripeStore is what the Integrations page needs of the store. *store.DB
// has it and is the default; tests put a fake in its place.
type stripeStore interface {
	ConnectStripe(ctx context.Context, programID string, in store.StripeSettings) (*store.StripeIntegration, error)
	StripeIntegration(ctx context.Context, programID string) (*store.StripeIntegration, error)
	DisconnectStripe(ctx context.Context, programID string) error
}

// StripeSyncStarter starts a reconcile sync of a program's missed Stripe
// events in the background and returns once it is recorded as running (or
// refused: store.ErrStripeSyncRunning, store.ErrStripeNotConnected). It
// must not keep using ctx, which ends with the request.
type StripeSyncStarter interface {
	StartSync(ctx context.Context, programID string, since time.Time) error
}

const (
	// stripeQuietDays is how long without an event the status light
	// stays green.
	stripeQuietDays = 7
	// stripeSyncDays is how far back a sync may reach: Stripe keeps
	// events for 30 days. stripeSyncDefaultDays is the form's default.
	stripeSyncDays        = 30
	stripeSyncDefaultDays = 3
	// stripeRefresh is how often the page reloads while a sync runs.
	stripeRefresh = 2 * time.Second
	dateLayout    = "2006-01-02"
)

// stripeEventHelp says what Advocate does with each event type it handles,
// for the list of events to enable in Stripe.
var stripeEventHelp = map[string]string{
	"customer.created":                         "Binds the Stripe customer to one of yours, or creates it, referred by the code in its metadata.",
	"customer.updated":                         "Keeps the customer's email and name up to date.",
	"checkout.session.completed":               "A paid one-off Checkout is a purchase; a subscription Checkout binds the subscriber.",
	"checkout.session.async_payment_succeeded": "A Checkout paid later (a bank debit, say) is a purchase when the money arrives.",
	"invoice.paid":                             "Each paid invoice: a subscription's first payment and every renewal.",
	"invoice_payment.paid":                     "Links an invoice to the payment that paid it (API versions from 2025 on).",
	"charge.refunded":                          "Refunds claw back the rewards the payment gave, in proportion.",
	"charge.dispute.created":                   "Holds the payment's pending rewards for your review.",
	"charge.dispute.closed":                    "A lost dispute claws back like a refund.",
}

// stripeEvent is one event type to enable in Stripe.
type stripeEvent struct{ Type, Help string }

// stripeLight is the integration's status light.
type stripeLight struct {
	Color string // green, amber or red
	Label string
	Why   string
}

// integrationsData is what the Integrations page shows.
type integrationsData struct {
	WebhookURL string
	Events     []stripeEvent
	// Stripe is the program's integration; nil when not connected.
	Stripe *store.StripeIntegration
	Light  stripeLight
	// NeedsKey: the server has no encryption key for secrets.
	NeedsKey bool
	// CanSync: the server can sync from the dashboard.
	CanSync        bool
	SyncMin        string // the earliest date a sync may start from
	SyncMax        string // today
	Running        bool   // a sync is running: the page reloads itself
	Refresh        int    // milliseconds between reloads while Running
	RefreshSeconds int
	SecretKeyHint  string
	APIBase        string // store.DefaultStripeAPIBaseURL, for the placeholder
	Progress       int    // percent of a sync done
}

func integrationsPath(pid string) string { return "/dashboard/p/" + pid + "/integrations" }

// IntegrationsPage shows the Stripe guide, or the connection's status and
// settings.
func (d *Dashboard) IntegrationsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.renderIntegrations(w, r, http.StatusOK, p, nil, nil, false)
}

// renderIntegrations renders the page with the form as posted (nil: from
// the stored integration) and its errors.
func (d *Dashboard) renderIntegrations(w http.ResponseWriter, r *http.Request, status int, p *referral.Program,
	form url.Values, errs map[string]string, needsKey bool) {
	in, err := d.stripe.StripeIntegration(r.Context(), p.ID)
	if errors.Is(err, store.ErrStripeNotConnected) {
		in, err = nil, nil
	}
	// Without an encryption key no secret can be stored or read: the
	// guide, with the banner that says how to start the server.
	if errors.Is(err, store.ErrEncryptionKeyRequired) {
		in, err, needsKey = nil, nil, true
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	now := d.now()
	data := integrationsData{
		WebhookURL:     d.BaseURL + stripe.WebhookPath(p.ID),
		Stripe:         in,
		NeedsKey:       needsKey,
		CanSync:        d.StripeSync != nil,
		SyncMin:        now.AddDate(0, 0, -stripeSyncDays).UTC().Format(dateLayout),
		SyncMax:        now.UTC().Format(dateLayout),
		Refresh:        int(stripeRefresh / time.Millisecond),
		RefreshSeconds: int(stripeRefresh / time.Second),
		APIBase:        store.DefaultStripeAPIBaseURL,
	}
	for _, t := range stripe.HandledTypes {
		data.Events = append(data.Events, stripeEvent{Type: t, Help: stripeEventHelp[t]})
	}
	if form == nil {
		form = url.Values{"since": {now.AddDate(0, 0, -stripeSyncDefaultDays).UTC().Format(dateLayout)}}
		if in != nil {
			form.Set("api_base_url", in.APIBaseURL)
			if in.ApplyRewards {
				form.Set("apply_rewards", "on")
			}
		}
	}
	if in != nil {
		data.Light = stripeStatus(in, now)
		data.SecretKeyHint = "Not set. "
		if in.SecretKey != "" {
			data.SecretKeyHint = "Set. Leave blank to keep it. "
		}
		data.SecretKeyHint += "A restricted key needs Customers, Coupons and Promotion codes: Write, and Events: Read."
		s := in.Sync
		data.Running = s.Status == "running"
		if s.Total > 0 {
			data.Progress = min(100, s.Done*100/s.Total)
		}
	}
	d.render(w, r, status, "integrations", &view{Title: "Integrations", Nav: "integrations", Program: p,
		Form: form, Errors: errs, Data: data})
}

// stripeStatus is the status light: red when the last error is newer than
// the last event, green after an event in the last week, amber otherwise.
func stripeStatus(in *store.StripeIntegration, now time.Time) stripeLight {
	switch {
	case in.LastErrorAt != nil && (in.LastEventAt == nil || in.LastErrorAt.After(*in.LastEventAt)):
		return stripeLight{"red", "Failing", "The last thing that happened was an error; see below."}
	case in.LastEventAt == nil:
		return stripeLight{"amber", "Waiting for the first event", "Connected, but no event has arrived from Stripe yet. Check the endpoint in Stripe, or send a test event from there."}
	case now.Sub(*in.LastEventAt) > stripeQuietDays*24*time.Hour:
		return stripeLight{"amber", "Quiet", "No event from Stripe in the last 7 days. If you had payments since, check the endpoint in Stripe."}
	}
	return stripeLight{"green", "Receiving events", "Events arrive from Stripe and are applied."}
}

// StripeSave connects Stripe or changes its settings. Secrets left blank
// keep their stored values; a problem is shown at its field and nothing is
// saved.
func (d *Dashboard) StripeSave(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ctx, f := r.Context(), r.PostForm
	cur, err := d.stripe.StripeIntegration(ctx, p.ID)
	if errors.Is(err, store.ErrEncryptionKeyRequired) {
		d.renderIntegrations(w, r, http.StatusConflict, p, nil, nil, true)
		return
	}
	if err != nil && !errors.Is(err, store.ErrStripeNotConnected) {
		d.serverError(w, r, err)
		return
	}
	in := stripeSettings(f, cur != nil)
	_, err = d.stripe.ConnectStripe(ctx, p.ID, in)
	// Secrets typed are never sent back into the page.
	shown := url.Values{"api_base_url": {f.Get("api_base_url")}, "apply_rewards": {f.Get("apply_rewards")},
		"remove_secret_key": {f.Get("remove_secret_key")}}
	if errors.Is(err, store.ErrEncryptionKeyRequired) {
		d.renderIntegrations(w, r, http.StatusConflict, p, shown, nil, true)
		return
	}
	if errs := formErrors(err); errs != nil {
		d.renderIntegrations(w, r, http.StatusUnprocessableEntity, p, shown, errs, false)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	msg := "Stripe settings saved."
	if cur == nil {
		msg = "Stripe is connected. Events appear here as Stripe sends them."
	}
	d.redirect(w, r, integrationsPath(p.ID), msg)
}

// stripeSettings reads the Stripe form. A blank secret keeps the stored
// one, except on the first connect, where the store asks for the signing
// secret; the remove box removes the secret key; a blank API URL is
// Stripe's own.
func stripeSettings(f url.Values, connected bool) store.StripeSettings {
	var in store.StripeSettings
	if s := strings.TrimSpace(f.Get("webhook_secret")); s != "" || !connected {
		in.WebhookSecret = &s
	}
	if f.Get("remove_secret_key") != "" {
		in.SecretKey = new(string)
	} else if s := strings.TrimSpace(f.Get("secret_key")); s != "" {
		in.SecretKey = &s
	}
	apply := f.Get("apply_rewards") != ""
	in.ApplyRewards = &apply
	base := strings.TrimSpace(f.Get("api_base_url"))
	if base == "" {
		base = store.DefaultStripeAPIBaseURL
	}
	in.APIBaseURL = &base
	return in
}

// StripeSyncStart starts a sync of the events Stripe sent since a date
// (at most 30 days back); the page then shows its progress.
func (d *Dashboard) StripeSyncStart(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	back := integrationsPath(p.ID) + "#sync"
	if d.StripeSync == nil {
		d.redirect(w, r, back, "!This server cannot sync from the dashboard; run `advocate stripe sync --since <date>` on it.")
		return
	}
	since, msg := syncSince(r.PostForm.Get("since"), d.now())
	if msg != "" {
		d.renderIntegrations(w, r, http.StatusUnprocessableEntity, p, r.PostForm, map[string]string{"since": msg}, false)
		return
	}
	err := d.StripeSync.StartSync(r.Context(), p.ID, since)
	e, isClient := referral.AsError(err)
	switch {
	case err == nil:
		d.redirect(w, r, back, "Sync started: events Stripe sent since "+since.Format("Jan 2, 2006")+" are applied, oldest first. Those already applied are skipped.")
	case isClient && e.Kind != referral.KindInternal:
		d.redirect(w, r, back, "!"+e.Message)
	default:
		d.serverError(w, r, err)
	}
}

// syncSince reads the sync form's date (UTC midnight): not in the future,
// and not before what Stripe still keeps. msg says what is wrong.
func syncSince(s string, now time.Time) (since time.Time, msg string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, "Pick the date to sync from."
	}
	since, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, "Give a date as YYYY-MM-DD."
	}
	today := now.UTC().Truncate(24 * time.Hour)
	switch {
	case since.After(today):
		return time.Time{}, "The date is in the future."
	case since.Before(today.AddDate(0, 0, -stripeSyncDays)):
		return time.Time{}, "Stripe keeps events for 30 days: pick a date from " + today.AddDate(0, 0, -stripeSyncDays).Format("Jan 2, 2006") + " on."
	}
	return since, ""
}

// StripeDisconnect removes the program's Stripe connection. Customers,
// payments and rewards that came through it stay.
func (d *Dashboard) StripeDisconnect(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	err := d.stripe.DisconnectStripe(r.Context(), p.ID)
	switch {
	case err == nil:
		d.redirect(w, r, integrationsPath(p.ID), "Stripe is disconnected: Advocate no longer accepts its events. Customers, payments and rewards it brought in stay.")
	case errors.Is(err, store.ErrStripeNotConnected):
		d.redirect(w, r, integrationsPath(p.ID), "!Stripe is not connected to this program.")
	default:
		d.serverError(w, r, err)
	}
}
