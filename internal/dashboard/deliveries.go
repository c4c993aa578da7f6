package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// The delivery log of one webhook endpoint, as the API's
// /v1/webhook_endpoints/{id}/deliveries lists it, with the buttons that
// retry a delivery and send a test event. Viewers read the log; only
// owners press the buttons (signedIn refuses their posts).

// deliveryPageSize is how many deliveries one page of the log shows.
const deliveryPageSize = 25

func deliveriesPath(pid, endpointID string) string {
	return developersPath(pid) + "/webhooks/" + endpointID + "/deliveries"
}

type deliveriesData struct {
	Endpoint *webhooks.Endpoint
	Rows     []deliveryRow
	Pager    pager
	Paged    bool
}

// deliveryRow is one delivery with its last attempt's duration as people
// read it.
type deliveryRow struct {
	*webhooks.Delivery
	Duration string
}

// duration renders how long an attempt took: milliseconds under a second.
func duration(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// WebhookDeliveries shows an endpoint's deliveries, newest first, a page
// at a time (older pages by the after cursor).
func (d *Dashboard) WebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	ctx, id := r.Context(), r.PathValue("id")
	e, err := d.DB.WebhookEndpoint(ctx, p.ID, id)
	if !d.found(w, r, err, webhooks.ErrEndpointNotFound, noEndpoint) {
		return
	}
	after := r.URL.Query().Get("after")
	rows, more, err := d.DB.WebhookDeliveries(ctx, p.ID, id, store.Page{Limit: deliveryPageSize, After: after})
	if !d.found(w, r, err, webhooks.ErrEndpointNotFound, noEndpoint) {
		return
	}
	data := deliveriesData{Endpoint: e, Paged: after != ""}
	for _, dl := range rows {
		data.Rows = append(data.Rows, deliveryRow{Delivery: dl, Duration: duration(dl.LastDuration)})
	}
	if more {
		data.Pager.Next = rows[len(rows)-1].ID
	}
	data.Pager.link(deliveriesPath(p.ID, id), data.Paged)
	d.render(w, r, http.StatusOK, "deliveries", &view{Title: "Webhook deliveries", Nav: "developers", Program: p, Data: data})
}

// WebhookTest sends a webhook_endpoint.test event to the endpoint alone
// and shows its log, where the delivery appears once it is sent. A paused
// endpoint is refused with the reason.
func (d *Dashboard) WebhookTest(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	_, err := d.DB.SendTestWebhook(r.Context(), p.ID, id)
	d.endpointDoneAt(w, r, deliveriesPath(p.ID, id), err,
		"Test event queued: it is sent within seconds. Refresh to see how your endpoint answered.")
}

// WebhookRetry makes a delivery due now, whatever its state, and shows
// its endpoint's log.
func (d *Dashboard) WebhookRetry(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	dl, err := d.DB.RetryWebhookDelivery(r.Context(), p.ID, r.PathValue("id"))
	if errors.Is(err, webhooks.ErrDeliveryNotFound) {
		d.fail(w, r, http.StatusNotFound, "No such webhook delivery in this program.")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, deliveriesPath(p.ID, dl.EndpointID),
		"Delivery queued again: it is sent within seconds while the endpoint is active. Refresh to see the outcome.")
}
