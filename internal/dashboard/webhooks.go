package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// The Webhooks section of the developers page: a program's endpoints, as
// the API's /v1/webhook_endpoints manages them. Viewers see the list;
// only owners change it (signedIn refuses their posts).

const noEndpoint = "No such webhook endpoint in this program."

func developersPath(pid string) string { return "/dashboard/p/" + pid + "/developers" }

// endpointForm fills the endpoint form from a stored endpoint.
func endpointForm(e *webhooks.Endpoint) url.Values {
	return url.Values{"url": {e.URL}, "description": {e.Description}, "events": e.Events}
}

// endpointInput reads the endpoint form. Ticking "All events" subscribes
// to everything whatever else is ticked (the page's script greys the
// others out; without it they may still be posted).
func endpointInput(f url.Values) webhooks.EndpointInput {
	u, desc := f.Get("url"), f.Get("description")
	events := f["events"]
	if slices.Contains(events, webhooks.AllEvents) {
		events = []string{webhooks.AllEvents}
	}
	if events == nil {
		events = []string{}
	}
	return webhooks.EndpointInput{URL: &u, Events: &events, Description: &desc}
}

// endpointErrors is clientErrors for the endpoint form: an unknown event
// type (events.2) is shown by the event list, and the general message
// only when no field carries the problem (such as too many endpoints).
func endpointErrors(err error) map[string]string {
	errs := clientErrors(err)
	if errs == nil {
		return nil
	}
	for f, m := range errs {
		if strings.HasPrefix(f, "events.") {
			delete(errs, f)
			errs["events"] = m
		}
	}
	if len(errs) > 1 {
		delete(errs, "")
	}
	return errs
}

// hostErrors checks the host of the URL posted as the API does (see
// httpapi's checkWebhookHost): a URL wrong whatever its host resolves to
// is left to the store's validation.
func (d *Dashboard) hostErrors(ctx context.Context, raw string) map[string]string {
	if d.checkWebhookHost == nil {
		return nil
	}
	u, err := webhooks.CheckURL(strings.TrimSpace(raw))
	if err != nil {
		return nil
	}
	return endpointErrors(d.checkWebhookHost(ctx, u.Hostname()))
}

// WebhookEdit shows the developers page with the form filled from an
// endpoint.
func (d *Dashboard) WebhookEdit(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	e, err := d.DB.WebhookEndpoint(r.Context(), p.ID, r.PathValue("id"))
	if !d.found(w, r, err, webhooks.ErrEndpointNotFound, noEndpoint) {
		return
	}
	d.renderDevelopers(w, r, p, developersShown{form: endpointForm(e), editing: e.ID})
}

// WebhookSave adds an endpoint (no id in the path), showing its secret
// this once, or changes one. A host that is not a public address is
// refused with the form's other problems, and nothing is saved.
func (d *Dashboard) WebhookSave(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	base := webhooks.Endpoint{ProgramID: p.ID, Active: true}
	if id != "" {
		old, err := d.DB.WebhookEndpoint(ctx, p.ID, id)
		if !d.found(w, r, err, webhooks.ErrEndpointNotFound, noEndpoint) {
			return
		}
		base = *old
	}
	in := endpointInput(r.PostForm)
	errs := d.hostErrors(ctx, *in.URL)
	if errs != nil {
		_, err := webhooks.Apply(base, in)
		for f, m := range endpointErrors(err) {
			if _, ok := errs[f]; !ok && f != "" {
				errs[f] = m
			}
		}
	} else {
		var e *webhooks.Endpoint
		var err error
		if id == "" {
			e, err = d.DB.CreateWebhookEndpoint(ctx, p.ID, in)
		} else {
			e, err = d.DB.UpdateWebhookEndpoint(ctx, p.ID, id, in)
		}
		if errors.Is(err, webhooks.ErrEndpointNotFound) {
			d.fail(w, r, http.StatusNotFound, noEndpoint)
			return
		}
		errs = endpointErrors(err)
		switch {
		case errs != nil:
		case err != nil:
			d.serverError(w, r, err)
			return
		case id == "":
			d.renderDevelopers(w, r, p, developersShown{newSecret: &newSecret{Endpoint: e}})
			return
		default:
			d.redirect(w, r, developersPath(p.ID)+"#webhooks", "Webhook endpoint saved.")
			return
		}
	}
	d.renderDevelopers(w, r, p, developersShown{status: http.StatusUnprocessableEntity, form: r.PostForm, errs: errs, editing: id})
}

// WebhookPause stops deliveries to an endpoint until it is resumed.
func (d *Dashboard) WebhookPause(w http.ResponseWriter, r *http.Request) {
	d.setEndpointActive(w, r, false, "Webhook endpoint paused: nothing is delivered to it until you resume it.")
}

// WebhookResume turns an endpoint back on, also one the system disabled
// (after a 410 Gone, say), which clears the reason.
func (d *Dashboard) WebhookResume(w http.ResponseWriter, r *http.Request) {
	d.setEndpointActive(w, r, true, "Webhook endpoint resumed.")
}

func (d *Dashboard) setEndpointActive(w http.ResponseWriter, r *http.Request, active bool, flash string) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	_, err := d.DB.UpdateWebhookEndpoint(r.Context(), p.ID, r.PathValue("id"), webhooks.EndpointInput{Active: &active})
	d.endpointDone(w, r, p.ID, err, flash)
}

// WebhookDelete deletes an endpoint; nothing more is delivered to it.
func (d *Dashboard) WebhookDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	err := d.DB.DeleteWebhookEndpoint(r.Context(), p.ID, r.PathValue("id"))
	d.endpointDone(w, r, p.ID, err, "Webhook endpoint deleted. Nothing more is delivered to it.")
}

// WebhookRotate gives an endpoint a new secret, shown this once; the old
// one keeps signing deliveries beside it for webhooks.SecretGrace.
func (d *Dashboard) WebhookRotate(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	e, err := d.DB.RotateWebhookSecret(r.Context(), p.ID, r.PathValue("id"))
	if !d.found(w, r, err, webhooks.ErrEndpointNotFound, noEndpoint) {
		return
	}
	d.renderDevelopers(w, r, p, developersShown{newSecret: &newSecret{Endpoint: e, Rotated: true}})
}

// endpointDone answers a change to an endpoint made by a button: back to
// the list with flash, a 404 for an unknown endpoint, or the reason a
// stored endpoint could not be changed.
func (d *Dashboard) endpointDone(w http.ResponseWriter, r *http.Request, pid string, err error, flash string) {
	d.endpointDoneAt(w, r, developersPath(pid)+"#webhooks", err, flash)
}

// endpointDoneAt is endpointDone going back to the page at to.
func (d *Dashboard) endpointDoneAt(w http.ResponseWriter, r *http.Request, to string, err error, flash string) {
	e, isClient := referral.AsError(err)
	switch {
	case err == nil:
		d.redirect(w, r, to, flash)
	case errors.Is(err, webhooks.ErrEndpointNotFound):
		d.fail(w, r, http.StatusNotFound, noEndpoint)
	case isClient && e.Kind != referral.KindInternal:
		d.redirect(w, r, to, "!"+e.Message)
	default:
		d.serverError(w, r, err)
	}
}
