package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// hook creates an endpoint of the env's program in the store.
func (e *env) hook(t *testing.T, u string, events ...string) *webhooks.Endpoint {
	t.Helper()
	h, err := e.db.CreateWebhookEndpoint(t.Context(), e.program.ID, webhooks.EndpointInput{URL: &u, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// deliveries returns an endpoint's deliveries, newest first, from the store.
func (e *env) deliveries(t *testing.T, programID, endpointID string) []*webhooks.Delivery {
	t.Helper()
	out, _, err := e.db.WebhookDeliveries(t.Context(), programID, endpointID, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dispatch turns the events written so far into deliveries.
func (e *env) dispatch(t *testing.T) {
	t.Helper()
	if _, err := e.db.DispatchEvents(t.Context(), e.clock.Now(), 500); err != nil {
		t.Fatal(err)
	}
}

// record records an attempt at a delivery, as the Deliverer does.
func (e *env) record(t *testing.T, deliveryID string, a webhooks.Attempt) {
	t.Helper()
	if err := e.db.RecordAttempt(t.Context(), deliveryID, a); err != nil {
		t.Fatal(err)
	}
}

// deliveryRow returns the row of one delivery in a log page.
func deliveryRow(p *page, id string) string {
	return regexp.MustCompile(`(?s)<tr id="delivery-` + regexp.QuoteMeta(id) + `">.*?</tr>`).FindString(p.Body)
}

// The log shows each delivery with what its last attempt gave, a
// receiver's answer escaped; an owner retries a delivery and sends a test
// event, and a paused endpoint's test is refused with the reason.
func TestWebhookDeliveryLog(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		h := e.hook(t, "https://hooks.acme.example/in", "customer.created")
		e.customer("ann", "Ann", "")
		e.customer("bob", "Bob", "")
		e.dispatch(t)
		ds := e.deliveries(t, e.program.ID, h.ID)
		if len(ds) != 2 {
			t.Fatalf("%d deliveries, want 2", len(ds))
		}
		failing, ok := ds[1], ds[0]
		e.record(t, failing.ID, webhooks.Attempt{StatusCode: 500, Response: []byte(`<script>alert("pwned")</script> & more`),
			Duration: 1500 * time.Millisecond})
		e.record(t, ok.ID, webhooks.Attempt{StatusCode: 204, Duration: 42 * time.Millisecond})

		c := e.asOwner(t)
		log := e.path("developers/webhooks/" + h.ID + "/deliveries")
		c.get(e.path("developers")).want(t, http.StatusOK).has(t, `href="`+log+`"`)
		page := c.get(log).want(t, http.StatusOK)
		page.has(t, "https://hooks.acme.example/in", `id="send-test"`, `action="`+e.path("developers/webhooks/"+h.ID+"/test")+`"`)
		if strings.Contains(page.Body, `<script>alert`) {
			t.Fatal("the receiver's response is in the page unescaped")
		}
		row := deliveryRow(page, failing.ID)
		for _, want := range []string{"customer.created", failing.EventID, `status-pending`, "HTTP 500", "in 1.5 s",
			`&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; more`, `action="` + e.path("developers/deliveries/"+failing.ID+"/retry") + `"`} {
			if !strings.Contains(row, want) {
				t.Errorf("the failing delivery's row lacks %q: %s", want, row)
			}
		}
		row = deliveryRow(page, ok.ID)
		for _, want := range []string{"status-succeeded", "Succeeded", "HTTP 204", "in 42 ms"} {
			if !strings.Contains(row, want) {
				t.Errorf("the succeeded delivery's row lacks %q: %s", want, row)
			}
		}
		if strings.Index(page.Body, "delivery-"+ok.ID) > strings.Index(page.Body, "delivery-"+failing.ID) {
			t.Error("the log is not newest first")
		}

		// Retry: a succeeded delivery is sent again.
		p := c.post(e.path("developers/deliveries/"+ok.ID+"/retry"), nil).want(t, http.StatusSeeOther)
		if p.Location != log {
			t.Errorf("retry goes to %s, want %s", p.Location, log)
		}
		if f := c.follow(p).flash(); !strings.HasPrefix(f, "Delivery queued again") {
			t.Errorf("flash %q", f)
		}
		if got, err := e.db.WebhookDelivery(t.Context(), e.program.ID, ok.ID); err != nil || got.Status != webhooks.DeliveryPending ||
			got.NextAttemptAt.After(e.clock.Now()) {
			t.Errorf("after the retry: %+v, %v", got, err)
		}

		// Send test event: one delivery more, to this endpoint only.
		p = c.post(e.path("developers/webhooks/"+h.ID+"/test"), nil).want(t, http.StatusSeeOther)
		page = c.follow(p)
		if f := page.flash(); !strings.HasPrefix(f, "Test event queued") {
			t.Errorf("flash %q", f)
		}
		ds = e.deliveries(t, e.program.ID, h.ID)
		if len(ds) != 3 || ds[0].EventType != "webhook_endpoint.test" || ds[0].Status != webhooks.DeliveryPending {
			t.Fatalf("deliveries after the test: %+v", ds)
		}
		if row := deliveryRow(page, ds[0].ID); !strings.Contains(row, "webhook_endpoint.test") || !strings.Contains(row, "status-pending") {
			t.Errorf("the test delivery's row: %s", row)
		}

		// A paused endpoint: no test, and the page says why.
		if _, err := e.db.UpdateWebhookEndpoint(t.Context(), e.program.ID, h.ID, webhooks.EndpointInput{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		page = c.get(log).want(t, http.StatusOK)
		page.has(t, `disabled aria-describedby="inactive-hint"`, "This endpoint is paused.")
		if strings.Contains(page.Body, `id="send-test"`) {
			t.Error("a paused endpoint's page offers the test button")
		}
		before := e.snapshot()
		p = c.post(e.path("developers/webhooks/"+h.ID+"/test"), nil).want(t, http.StatusSeeOther)
		page = c.follow(p)
		if f := page.flash(); f != webhooks.ErrEndpointPaused.Message || !strings.Contains(page.Body, "flash-bad") {
			t.Errorf("flash %q, want the refusal", f)
		}
		if after := e.snapshot(); after != before {
			t.Errorf("a refused test changed data:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// The log pages newest first, 25 at a time.
func TestWebhookDeliveryLogPages(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		h := e.hook(t, "https://hooks.acme.example/in", "*")
		for i := range 26 {
			e.customer(fmt.Sprintf("c%02d", i), "", "")
		}
		e.dispatch(t)
		ds := e.deliveries(t, e.program.ID, h.ID)
		if len(ds) != 26 {
			t.Fatalf("%d deliveries, want 26", len(ds))
		}
		c := e.asViewer(t)
		log := e.path("developers/webhooks/" + h.ID + "/deliveries")
		first := c.get(log).want(t, http.StatusOK)
		if n := strings.Count(first.Body, `<tr id="delivery-`); n != 25 {
			t.Errorf("first page shows %d deliveries, want 25", n)
		}
		older := log + "?" + url.Values{"after": {ds[24].ID}}.Encode()
		first.has(t, `rel="next" href="`+older+`"`, deliveryRow(first, ds[0].ID))
		second := c.get(older).want(t, http.StatusOK)
		if n := strings.Count(second.Body, `<tr id="delivery-`); n != 1 || deliveryRow(second, ds[25].ID) == "" {
			t.Errorf("second page shows %d deliveries, want the oldest: %s", n, second.text())
		}
		second.has(t, `href="`+log+`?">First page</a>`)
		if strings.Contains(second.Body, `rel="next"`) {
			t.Error("the last page links to an older one")
		}
	})
}

// Viewers read the log but have no buttons and their posts change
// nothing; unknown or another program's endpoints and deliveries are 404s.
func TestWebhookDeliveryLogRefused(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		h := e.hook(t, "https://hooks.acme.example/in", "*")
		e.customer("ann", "Ann", "")
		e.dispatch(t)
		d := e.deliveries(t, e.program.ID, h.ID)[0]
		e.record(t, d.ID, webhooks.Attempt{StatusCode: 503, Response: []byte("<b>down</b>")})

		log := e.path("developers/webhooks/" + h.ID + "/deliveries")
		test, retry := e.path("developers/webhooks/"+h.ID+"/test"), e.path("developers/deliveries/"+d.ID+"/retry")
		viewer := e.asViewer(t)
		page := viewer.get(log).want(t, http.StatusOK)
		page.has(t, "HTTP 503", "&lt;b&gt;down&lt;/b&gt;", `id="delivery-`+d.ID+`"`)
		for _, s := range []string{test, retry, `id="send-test"`, "Send test event"} {
			if strings.Contains(page.Body, s) {
				t.Errorf("a viewer's log holds %q", s)
			}
		}
		before := e.snapshot()
		owner := e.asOwner(t)
		for _, path := range []string{test, retry} {
			viewer.post(path, nil).want(t, http.StatusForbidden)
			owner.post(path, nil, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example").want(t, http.StatusForbidden)
			e.client().post(path, nil).want(t, http.StatusUnauthorized)
		}
		if after := e.snapshot(); after != before {
			t.Errorf("refused posts changed data:\nbefore %s\nafter  %s", before, after)
		}

		other, _, _ := e.newProgram("Other", "EUR", "https://other.example")
		theirs, err := e.db.CreateWebhookEndpoint(t.Context(), other.ID, webhooks.EndpointInput{
			URL: ptr("https://other.example/hooks"), Events: &[]string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.SendTestWebhook(t.Context(), other.ID, theirs.ID); err != nil {
			t.Fatal(err)
		}
		theirDelivery := e.deliveries(t, other.ID, theirs.ID)[0]
		deleted := e.hook(t, "https://hooks.acme.example/gone", "*")
		if err := e.db.DeleteWebhookEndpoint(t.Context(), e.program.ID, deleted.ID); err != nil {
			t.Fatal(err)
		}
		before = e.snapshot()
		for _, id := range []string{theirs.ID, deleted.ID, "we_unknown"} {
			owner.get(e.path("developers/webhooks/"+id+"/deliveries")).want(t, http.StatusNotFound)
			owner.post(e.path("developers/webhooks/"+id+"/test"), nil).want(t, http.StatusNotFound)
		}
		for _, id := range []string{theirDelivery.ID, "whd_unknown"} {
			p := owner.post(e.path("developers/deliveries/"+id+"/retry"), nil).want(t, http.StatusNotFound)
			if !strings.Contains(p.text(), "No such webhook delivery") {
				t.Errorf("404 says %q", p.text())
			}
		}
		if after := e.snapshot(); after != before {
			t.Errorf("404s changed data:\nbefore %s\nafter  %s", before, after)
		}
		if got := e.deliveries(t, other.ID, theirs.ID)[0]; got.UpdatedAt != theirDelivery.UpdatedAt {
			t.Errorf("another program's delivery changed: %+v", got)
		}
	})
}
