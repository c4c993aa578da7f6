package browsertest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// receiver is a business's webhook endpoint: it checks each request's
// signature with the secret the dashboard showed, and answers 200 or,
// once told to fail, a 500 whose body is a script.
type receiver struct {
	srv       *httptest.Server
	fail      atomic.Bool
	mu        sync.Mutex
	secret    webhooks.Secret
	got       []string // the type of each verified request's event
	verifyErr []error
}

// script is what a failing receiver answers: the log must show it as
// text and never run it.
const script = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">`

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		err := webhooks.Verify(rc.secret, r.Header, body, time.Now(), time.Minute)
		if err != nil {
			rc.verifyErr = append(rc.verifyErr, err)
		} else if typ, _, ok := strings.Cut(strings.TrimPrefix(string(body), `{"type":"`), `"`); ok {
			rc.got = append(rc.got, typ)
		}
		rc.mu.Unlock()
		if rc.fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, script)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// verified returns the event types of the requests whose signature held,
// and the errors of those whose did not.
func (rc *receiver) verified() ([]string, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.got...), append([]error(nil), rc.verifyErr...)
}

// reloadUntil reloads the page until expr holds.
func (b *tab) reloadUntil(url, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		b.open(url)
		if ok, _ := evalErr[bool](b, `!!(`+expr+`)`); ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s; the page says: %s", expr, b.text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWebhookDeliveryLogInBrowser: an owner adds an endpoint pointing at a
// receiver, sends a test event, and sees it delivered (signed with the
// secret the page showed) and logged as succeeded; the receiver then
// fails, the owner retries, and the log shows the 500 with the receiver's
// answer as inert text.
func TestWebhookDeliveryLogInBrowser(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.admin("owner@acme.example", store.RoleOwner)
	p, _, _ := storetest.Program(t, s.db, "Acme Referrals", "USD", "https://shop.acme.example")
	base := s.url + "/dashboard/p/" + p.ID
	rc := newReceiver(t)

	// The deliverer `advocate serve` runs, sending to the receiver on
	// 127.0.0.1 (serve's guard would refuse a private address).
	render := httpapi.New(s.db, slog.New(slog.DiscardHandler), httpapi.Config{BaseURL: s.url, Now: s.clock.Now})
	ctx, stop := context.WithCancel(context.Background())
	dl := &webhooks.Deliverer{Store: s.db, Client: rc.srv.Client(), Render: render.EventBody, Interval: 50 * time.Millisecond}
	done := make(chan struct{})
	go func() { dl.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	b := newTab(t)
	b.open(s.url + "/dashboard/login")
	b.fill("#email", "owner@acme.example", "#password", adminPassword)
	b.submit(`form[action="/dashboard/login"] button[type=submit]`, `location.pathname.startsWith('/dashboard/')`)

	t.Log("add an endpoint subscribed to reward.created only, and keep its secret")
	b.open(base + "/developers")
	b.fill("#url", rc.srv.URL+"/hooks")
	b.do(chromedp.Click(chromedp.CSS(`#webhook-form input[value="reward.created"]`)))
	b.submit(`#webhook-form button[type=submit]`, `!!document.getElementById('new-webhook-secret')`)
	secret, err := webhooks.ParseSecret(eval[string](b, `document.getElementById('new-webhook-secret').value`))
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.secret = secret
	rc.mu.Unlock()

	t.Log("open its delivery log from the developers page")
	b.open(base + "/developers")
	b.submit(`a[href$="/deliveries"]`, `location.pathname.endsWith('/deliveries')`)
	log := b.location()
	if text := b.text(); !strings.Contains(text, "No deliveries yet") {
		t.Errorf("a new endpoint's log: %s", text)
	}

	t.Log("send a test event: delivered, signed, and logged as succeeded")
	b.submit(`#send-test`, `document.querySelectorAll('tr[id^=delivery-]').length === 1`)
	if text := b.text(); !strings.Contains(text, "Test event queued") || !strings.Contains(text, "webhook_endpoint.test") {
		t.Errorf("after sending: %s", text)
	}
	status := `document.querySelector('tr[id^=delivery-] .badge').textContent.trim()`
	b.reloadUntil(log, status+` === 'Succeeded'`)
	if row := eval[string](b, `document.querySelector('tr[id^=delivery-]').innerText`); !strings.Contains(row, "HTTP 200") {
		t.Errorf("the succeeded row: %s", row)
	}
	got, errs := rc.verified()
	if len(got) != 1 || got[0] != "webhook_endpoint.test" || len(errs) != 0 {
		t.Fatalf("the receiver verified %v and refused %v, want the one test event", got, errs)
	}

	t.Log("the receiver fails; retry: the log shows the 500 and its body as text")
	rc.fail.Store(true)
	b.submit(`tr[id^=delivery-] form[action$="/retry"] button`, `location.pathname.endsWith('/deliveries')`)
	if text := b.text(); !strings.Contains(text, "Delivery queued again") {
		t.Errorf("after retrying: %s", text)
	}
	b.reloadUntil(log, `document.querySelector('tr[id^=delivery-]').innerText.includes('HTTP 500')`)
	if st := eval[string](b, status); st != "Pending" {
		t.Errorf("after a failed retry the delivery is %q, want Pending (retried later)", st)
	}
	b.do(chromedp.Click(chromedp.CSS(`tr[id^=delivery-] details.excerpt > summary`)))
	if shown := eval[string](b, `document.querySelector('tr[id^=delivery-] pre[data-excerpt=response]').textContent`); shown != script {
		t.Errorf("the response excerpt shows %q, want the receiver's body as text", shown)
	}
	if eval[bool](b, `window.__pwned !== undefined || document.querySelector('main img') !== null`) {
		t.Error("the receiver's answer ran in the dashboard")
	}
	if got, errs := rc.verified(); len(got) != 2 || len(errs) != 0 {
		t.Errorf("the receiver verified %v and refused %v, want the test event twice", got, errs)
	}
	b.pageShot("webhook-deliveries")
	b.noExceptions()
}
