package webhooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// clock is the real time moved ahead by what tests add, so that retries
// hours away come at once while signatures still carry a time the
// reference library accepts (before the first move).
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint played by a test server: it keeps what it
// receives and answers with answer (200 when nil), given how many requests
// came before.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request, n int)
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, n int)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(w, r, n)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// ids counts the requests by webhook-id.
func (rc *receiver) ids() map[string]int {
	out := map[string]int{}
	for _, r := range rc.requests() {
		out[r.header.Get("webhook-id")]++
	}
	return out
}

// render is the test's Render: the event as JSON.
func render(_ context.Context, ev webhooks.Event) ([]byte, error) {
	return json.Marshal(map[string]any{"id": ev.ID, "type": ev.Type, "data": ev.Data})
}

// env is a program in a database, with a clock shared by the store and
// the deliverers.
type env struct {
	db  *store.DB
	dsn string
	clk *clock
	p   *referral.Program
	n   int // customers made
}

func newEnv(t *testing.T, e store.Engine) *env {
	db, dsn := storetest.OpenDSN(t, e)
	clk := &clock{}
	db.Now = clk.Now
	p, err := referral.NewProgram("Acme", "USD", "https://yoursite.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateProgram(t.Context(), p) }); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, dsn: dsn, clk: clk, p: p}
}

// endpoint subscribes url to events.
func (e *env) endpoint(t *testing.T, url string, events ...string) *webhooks.Endpoint {
	t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	ep, err := e.db.CreateWebhookEndpoint(t.Context(), e.p.ID, webhooks.EndpointInput{URL: &url, Events: &events})
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

// customers creates n customers: n customer.created events.
func (e *env) customers(t *testing.T, n int) {
	t.Helper()
	for range n {
		e.n++
		key := fmt.Sprintf("c%d", e.n)
		if _, err := e.db.CreateCustomer(t.Context(), e.p, referral.NewCustomer{Key: key, Email: key + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
}

// deliverer returns a Deliverer on db that polls often, to start with run.
func (e *env) deliverer(db *store.DB, timeout time.Duration) *webhooks.Deliverer {
	return &webhooks.Deliverer{
		Store:    db,
		Client:   webhooks.Guard{AllowPrivate: true}.Client(timeout),
		Render:   render,
		Now:      e.clk.Now,
		Interval: 20 * time.Millisecond,
	}
}

// run runs d until the test ends.
func run(t *testing.T, d *webhooks.Deliverer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// eachEngine runs fn as a subtest on each engine, in a new env.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { fn(t, newEnv(t, engine)) })
	}
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// only returns the one delivery to endpoint, as stored; a zero one
// before it is dispatched.
func (e *env) only(t *testing.T, endpointID string) *webhooks.Delivery {
	t.Helper()
	ds, _, err := e.db.WebhookDeliveries(t.Context(), e.p.ID, endpointID, store.Page{})
	if err != nil || len(ds) > 1 {
		t.Fatalf("deliveries: %d, %v", len(ds), err)
	}
	if len(ds) == 0 {
		return &webhooks.Delivery{}
	}
	return ds[0]
}

// TestDeliverSigned: a delivery is what Render returned, signed so that the
// reference library and Verify accept it, with the event's id as
// webhook-id; a 500 is retried 5 s later with the same webhook-id.
func TestDeliverSigned(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			e := newEnv(t, engine)
			rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n == 0 {
					http.Error(w, "not yet", http.StatusInternalServerError)
				}
			})
			ep := e.endpoint(t, rc.URL)
			e.customers(t, 1)
			events, err := e.db.Events(t.Context(), e.p.ID, "", 10)
			if err != nil || len(events) != 1 {
				t.Fatalf("events: %v, %v", events, err)
			}
			run(t, e.deliverer(e.db, 5*time.Second))

			eventually(t, "the first attempt", func() bool { return e.only(t, ep.ID).Attempts == 1 })
			want, _ := render(t.Context(), events[0])
			first := rc.requests()[0]
			ref, err := standardwebhooks.NewWebhook(ep.Secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := ref.Verify(first.body, first.header); err != nil {
				t.Errorf("reference Verify: %v", err)
			}
			secret, err := webhooks.ParseSecret(ep.Secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := webhooks.Verify(secret, first.header, first.body, e.clk.Now(), webhooks.DefaultTolerance); err != nil {
				t.Errorf("Verify: %v", err)
			}
			if id := first.header.Get("webhook-id"); id != events[0].ID || !bytes.Equal(first.body, want) {
				t.Errorf("got webhook-id %s, body %s; want %s, %s", id, first.body, events[0].ID, want)
			}

			e.clk.Add(4 * time.Second)
			time.Sleep(100 * time.Millisecond)
			if n := len(rc.requests()); n != 1 {
				t.Fatalf("%d requests before the retry is due", n)
			}
			e.clk.Add(time.Second)
			eventually(t, "the retry", func() bool { return e.only(t, ep.ID).Status == webhooks.DeliverySucceeded })
			got := rc.requests()
			if len(got) != 2 || got[1].header.Get("webhook-id") != events[0].ID || !bytes.Equal(got[1].body, want) {
				t.Errorf("retry: %d requests, the second %v", len(got), got[len(got)-1])
			}
			if err := webhooks.Verify(secret, got[1].header, got[1].body, e.clk.Now(), webhooks.DefaultTolerance); err != nil {
				t.Errorf("Verify the retry: %v", err)
			}
		})
	}
}

// TestDeliverOnlySubscribed: each event reaches each active endpoint
// subscribed to its type once; paused endpoints and other types get none.
func TestDeliverOnlySubscribed(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		all, customers, rewards, paused := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
		e.endpoint(t, all.URL)
		e.endpoint(t, customers.URL, "customer.created")
		e.endpoint(t, rewards.URL, "reward.created")
		pe := e.endpoint(t, paused.URL)
		if _, err := e.db.UpdateWebhookEndpoint(t.Context(), e.p.ID, pe.ID, webhooks.EndpointInput{Active: new(bool)}); err != nil {
			t.Fatal(err)
		}
		e.customers(t, 3)
		run(t, e.deliverer(e.db, 5*time.Second))
		eventually(t, "deliveries", func() bool { return len(all.requests()) == 3 && len(customers.requests()) == 3 })
		time.Sleep(100 * time.Millisecond)
		for name, rc := range map[string]*receiver{"*": all, "customer.created": customers} {
			if ids := rc.ids(); len(ids) != 3 || len(rc.requests()) != 3 {
				t.Errorf("%s got %v", name, ids)
			}
		}
		if n, m := len(rewards.requests()), len(paused.requests()); n+m != 0 {
			t.Errorf("reward.created got %d, paused got %d", n, m)
		}
	})
}

// TestDeliverFailures: every answer but a 2xx is retried; a 410 disables
// the endpoint; a redirect is not followed; after the last attempt the
// delivery has failed.
func TestDeliverFailures(t *testing.T) {
	t.Parallel()
	elsewhere := newReceiver(t, nil)
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, n int)
		code   int
		err    string
	}{
		{"timeout", func(w http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, 0, "Timeout"},
		{"redirect", func(w http.ResponseWriter, r *http.Request, _ int) {
			http.Redirect(w, r, elsewhere.URL, http.StatusFound)
		}, 302, "not followed"},
		{"client error", func(w http.ResponseWriter, _ *http.Request, _ int) { http.Error(w, "bad", 400) }, 400, ""},
		{"server error", func(w http.ResponseWriter, _ *http.Request, _ int) { http.Error(w, "oops", 500) }, 500, ""},
	}
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := newEnv(t, engine)
					rc := newReceiver(t, tt.answer)
					ep := e.endpoint(t, rc.URL)
					e.customers(t, 1)
					run(t, e.deliverer(e.db, 200*time.Millisecond))
					for i := 1; i <= webhooks.MaxAttempts; i++ {
						eventually(t, fmt.Sprintf("attempt %d", i), func() bool { return e.only(t, ep.ID).Attempts == i })
						d := e.only(t, ep.ID)
						if d.LastStatusCode != tt.code || !strings.Contains(d.LastError, tt.err) {
							t.Fatalf("attempt %d: %d %q, want %d %q", i, d.LastStatusCode, d.LastError, tt.code, tt.err)
						}
						delay, more := webhooks.RetryDelay(i)
						if !more {
							if d.Status != webhooks.DeliveryFailed || !d.NextAttemptAt.IsZero() {
								t.Errorf("after the last attempt: %+v", d)
							}
							break
						}
						if d.Status != webhooks.DeliveryPending {
							t.Fatalf("attempt %d: %s", i, d.Status)
						}
						e.clk.Add(delay)
					}
					e.clk.Add(48 * time.Hour)
					time.Sleep(100 * time.Millisecond)
					if n := len(rc.requests()); n != webhooks.MaxAttempts {
						t.Errorf("%d requests, want %d", n, webhooks.MaxAttempts)
					}
					if n := len(elsewhere.requests()); n != 0 {
						t.Errorf("a redirect was followed %d times", n)
					}
				})
			}
			t.Run("410", func(t *testing.T) {
				e := newEnv(t, engine)
				rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) { w.WriteHeader(http.StatusGone) })
				ep := e.endpoint(t, rc.URL)
				e.customers(t, 2)
				run(t, e.deliverer(e.db, time.Second))
				eventually(t, "disabled", func() bool {
					got, err := e.db.WebhookEndpoint(t.Context(), e.p.ID, ep.ID)
					return err == nil && !got.Active && got.DisabledReason == "410 Gone from "+ep.URL
				})
			})
		})
	}
}

// countingBody counts the bytes read from a response body.
type countingBody struct {
	io.ReadCloser
	n *int64
	m *sync.Mutex
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.m.Lock()
	*c.n += int64(n)
	c.m.Unlock()
	return n, err
}

type countingTransport struct {
	http.RoundTripper
	n int64
	m sync.Mutex
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.RoundTripper.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &c.n, &c.m}
	}
	return resp, err
}

// TestDeliverHugeResponse: of a 10 MB answer, MaxResponse bytes are read
// and 1 KB is kept.
func TestDeliverHugeResponse(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.WriteHeader(500)
			w.Write(bytes.Repeat([]byte("x"), 10<<20))
		})
		ep := e.endpoint(t, rc.URL)
		e.customers(t, 1)
		d := e.deliverer(e.db, 5*time.Second)
		ct := &countingTransport{RoundTripper: d.Client.Transport}
		d.Client.Transport = ct
		run(t, d)
		eventually(t, "the attempt", func() bool { return e.only(t, ep.ID).Attempts == 1 })
		got := e.only(t, ep.ID)
		ct.m.Lock()
		read := ct.n
		ct.m.Unlock()
		if read > webhooks.MaxResponse || len(got.LastResponse) != webhooks.MaxExcerpt || got.LastStatusCode != 500 {
			t.Errorf("read %d bytes, kept %d, status %d", read, len(got.LastResponse), got.LastStatusCode)
		}
	})
}

// TestDeliverRenderError: an event that cannot be rendered is a failed
// attempt, retried, and the worker goes on.
func TestDeliverRenderError(t *testing.T) {
	t.Parallel()
	e := newEnv(t, store.SQLite)
	rc := newReceiver(t, nil)
	ep := e.endpoint(t, rc.URL)
	e.customers(t, 2)
	d := e.deliverer(e.db, time.Second)
	var once sync.Once
	d.Render = func(ctx context.Context, ev webhooks.Event) (body []byte, err error) {
		switch ev.Data["customer_key"] {
		case "c1": // fails once
			once.Do(func() { err = errors.New("no template") })
			if err != nil {
				return nil, err
			}
		case "c2":
			panic("a bug")
		}
		return render(ctx, ev)
	}
	run(t, d)
	eventually(t, "attempts", func() bool {
		ds, _, _ := e.db.WebhookDeliveries(t.Context(), e.p.ID, ep.ID, store.Page{})
		return len(ds) == 2 && ds[0].Attempts == 1 && ds[1].Attempts == 1
	})
	ds, _, _ := e.db.WebhookDeliveries(t.Context(), e.p.ID, ep.ID, store.Page{})
	for _, d := range ds {
		if d.Status != webhooks.DeliveryPending || !strings.HasPrefix(d.LastError, "render: ") {
			t.Errorf("%+v", d)
		}
	}
	e.clk.Add(5 * time.Second)
	eventually(t, "the retry of c1", func() bool { return len(rc.requests()) == 1 })
}

// TestDeliverAfterCrash: deliveries claimed by a worker that died are sent
// after their lease; events written while no worker ran are sent when one
// starts.
func TestDeliverAfterCrash(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t, nil)
		ep := e.endpoint(t, rc.URL)
		e.customers(t, 3)
		// The worker that crashes: it dispatches and claims, then is gone.
		if _, err := e.db.DispatchEvents(t.Context(), e.clk.Now(), 100); err != nil {
			t.Fatal(err)
		}
		out, err := e.db.ClaimDeliveries(t.Context(), webhooks.Claim{Now: e.clk.Now(), Limit: 2, Lease: time.Minute, PerEndpoint: 4})
		if err != nil || len(out) != 2 {
			t.Fatalf("claimed %d, %v", len(out), err)
		}
		e.customers(t, 2) // while no worker runs
		d := e.deliverer(e.db, time.Second)
		d.Lease = time.Minute
		run(t, d)
		eventually(t, "the unclaimed", func() bool { return len(rc.ids()) == 3 })
		// Recorded before the clock passes the lease: else a send whose
		// success is still being written would be due again, as it must.
		eventually(t, "the unclaimed recorded", func() bool {
			ds, _, err := e.db.WebhookDeliveries(t.Context(), e.p.ID, ep.ID, store.Page{Limit: 10})
			n := 0
			for _, d := range ds {
				if d.Status == webhooks.DeliverySucceeded {
					n++
				}
			}
			return err == nil && n == 3
		})
		time.Sleep(100 * time.Millisecond)
		if n := len(rc.requests()); n != 3 {
			t.Fatalf("%d requests during the dead worker's lease, want 3", n)
		}
		e.clk.Add(time.Minute)
		eventually(t, "the claimed, after the lease", func() bool { return len(rc.ids()) == 5 })
		for id, n := range rc.ids() {
			if n != 1 {
				t.Errorf("%s received %d times", id, n)
			}
		}
	})
}

// TestDeliverTwoWorkers: two Deliverers on one database, each with its
// own connections as on two nodes, send each event to each endpoint once.
func TestDeliverTwoWorkers(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		second, err := store.Open(t.Context(), e.dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { second.Close() })
		second.Now = e.clk.Now
		a, b := newReceiver(t, nil), newReceiver(t, nil)
		e.endpoint(t, a.URL)
		e.endpoint(t, b.URL)
		const events = 150
		e.customers(t, events/2)
		for _, db := range []*store.DB{e.db, second} {
			d := e.deliverer(db, 5*time.Second)
			d.Concurrency = 8
			run(t, d)
		}
		e.customers(t, events/2) // while they run
		eventually(t, "every delivery", func() bool { return len(a.ids()) == events && len(b.ids()) == events })
		time.Sleep(200 * time.Millisecond)
		for _, rc := range []*receiver{a, b} {
			if n := len(rc.requests()); n != events {
				t.Errorf("%d requests for %d events", n, events)
			}
		}
	})
}

// TestDeliverSlowEndpoint: an endpoint that takes 2 s per request does not
// hold up another's deliveries: they are all done before the slow
// endpoint has answered once.
func TestDeliverSlowEndpoint(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		})
		fast := newReceiver(t, nil)
		e.endpoint(t, slow.URL) // older: its deliveries come first
		e.endpoint(t, fast.URL)
		e.customers(t, 20)
		d := e.deliverer(e.db, 5*time.Second)
		d.Concurrency, d.PerEndpoint = 8, 4
		start := time.Now()
		run(t, d)
		eventually(t, "the fast endpoint's deliveries", func() bool { return len(fast.ids()) == 20 })
		if took := time.Since(start); took > 1900*time.Millisecond {
			t.Errorf("the fast endpoint waited %v", took)
		}
	})
}

// TestDeliverSlowEndpointBacklog: with many deliveries due to an endpoint
// that never answers and to a fast one, and claims of a few dozen, the
// slow endpoint holds no more than PerEndpoint sends, and the fast one
// gets every delivery meanwhile.
func TestDeliverSlowEndpointBacklog(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		release := make(chan struct{})
		slow := newReceiver(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		})
		fast := newReceiver(t, nil)
		e.endpoint(t, slow.URL) // older: its deliveries come first
		e.endpoint(t, fast.URL)
		const events = 150
		e.customers(t, events)
		d := e.deliverer(e.db, 10*time.Second)
		d.Concurrency, d.PerEndpoint, d.Batch = 8, 4, 32
		run(t, d)
		t.Cleanup(func() { close(release) }) // before run's cleanup waits for the sends
		eventually(t, "the fast endpoint's deliveries", func() bool { return len(fast.ids()) == events })
		if n := len(slow.requests()); n != d.PerEndpoint {
			t.Errorf("the slow endpoint got %d requests, want %d (PerEndpoint)", n, d.PerEndpoint)
		}
		for id, n := range fast.ids() {
			if n != 1 {
				t.Errorf("%s received %d times", id, n)
			}
		}
	})
}

// TestDeliverFlushOnShutdown: attempts wait for Flush to be recorded
// together, and those still waiting when Run is stopped are recorded
// before it returns.
func TestDeliverFlushOnShutdown(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t, nil)
		ep := e.endpoint(t, rc.URL)
		e.customers(t, 5)
		d := e.deliverer(e.db, 5*time.Second)
		d.Flush = time.Hour
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		eventually(t, "the sends", func() bool { return len(rc.ids()) == 5 })
		statuses := func() map[string]int {
			ds, _, err := e.db.WebhookDeliveries(t.Context(), e.p.ID, ep.ID, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, d := range ds {
				out[d.Status]++
			}
			return out
		}
		if got := statuses(); got[webhooks.DeliveryPending] != 5 {
			t.Fatalf("before the flush: %v, want 5 pending", got)
		}
		cancel()
		<-done
		if got := statuses(); got[webhooks.DeliverySucceeded] != 5 {
			t.Errorf("after Run returned: %v, want 5 succeeded", got)
		}
	})
}

// TestDeliverReleaseOnShutdown: deliveries claimed but still queued behind
// a slow send when Run stops are due again at once, not after their
// lease; the one in flight is recorded.
func TestDeliverReleaseOnShutdown(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		release := make(chan struct{})
		rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request, n int) {
			if n > 0 {
				<-release
			}
		})
		ep := e.endpoint(t, rc.URL)
		d := e.deliverer(e.db, 10*time.Second)
		d.PerEndpoint = 1
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { d.Run(ctx); close(done) }()
		// A first delivery, answered at once, shows the endpoint fast:
		// the next claim takes more than PerEndpoint for it.
		e.customers(t, 1)
		eventually(t, "the first delivery", func() bool { return e.only(t, ep.ID).Status == webhooks.DeliverySucceeded })
		e.customers(t, 5)
		eventually(t, "the second send", func() bool { return len(rc.requests()) == 2 })
		eventually(t, "the deliveries", func() bool {
			ds, _, err := e.db.WebhookDeliveries(t.Context(), e.p.ID, ep.ID, store.Page{Limit: 10})
			return err == nil && len(ds) == 6
		})
		time.Sleep(100 * time.Millisecond) // polls every 20 ms: all claimed
		cancel()
		close(release)
		<-done
		ds, _, err := e.db.WebhookDeliveries(t.Context(), e.p.ID, ep.ID, store.Page{Limit: 10})
		succeeded := 0
		for _, d := range ds {
			if d.Status == webhooks.DeliverySucceeded {
				succeeded++
			}
		}
		if err != nil || len(ds) != 6 || succeeded != 2 {
			t.Fatalf("%d deliveries, %d succeeded (%v); want 6, the 2 sent", len(ds), succeeded, err)
		}
		out, err := e.db.ClaimDeliveries(t.Context(), webhooks.Claim{Now: e.clk.Now(), Limit: 10, Lease: time.Minute, PerEndpoint: 10})
		if err != nil || len(out) != 4 {
			t.Fatalf("due after the stop: %d (%v), want the 4 not sent", len(out), err)
		}
		for _, o := range out {
			if o.Delivery.Attempts != 0 {
				t.Errorf("released %+v", o.Delivery)
			}
		}
	})
}

// TestDeliverRenderOnce: an event's deliveries to several endpoints,
// claimed together, are rendered once.
func TestDeliverRenderOnce(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		var rcs []*receiver
		for range 3 {
			rc := newReceiver(t, nil)
			e.endpoint(t, rc.URL)
			rcs = append(rcs, rc)
		}
		const events = 20
		e.customers(t, events)
		d := e.deliverer(e.db, 5*time.Second)
		d.PerEndpoint = events // the first claim takes every delivery
		var mu sync.Mutex
		rendered := map[string]int{}
		d.Render = func(ctx context.Context, ev webhooks.Event) ([]byte, error) {
			mu.Lock()
			rendered[ev.ID]++
			mu.Unlock()
			return render(ctx, ev)
		}
		run(t, d)
		eventually(t, "every delivery", func() bool {
			for _, rc := range rcs {
				if len(rc.ids()) != events {
					return false
				}
			}
			return true
		})
		mu.Lock()
		defer mu.Unlock()
		if len(rendered) != events {
			t.Errorf("%d events rendered, want %d", len(rendered), events)
		}
		for id, n := range rendered {
			if n != 1 {
				t.Errorf("%s rendered %d times", id, n)
			}
		}
	})
}

// dispatchCounter counts the DispatchEvents calls of a store.
type dispatchCounter struct {
	*store.DB
	calls atomic.Int64
}

func (c *dispatchCounter) DispatchEvents(ctx context.Context, now time.Time, limit int) (int, error) {
	c.calls.Add(1)
	return c.DB.DispatchEvents(ctx, now, limit)
}

// TestDeliverYieldsWhileBusy: while the API writes, the Deliverer
// dispatches one batch per poll, and a Notify does not poll; once the
// writes stop it catches up, and nothing is lost.
func TestDeliverYieldsWhileBusy(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		rc := newReceiver(t, nil)
		e.endpoint(t, rc.URL, "customer.created")
		const events = 700 // more than one dispatch batch (500)
		e.customers(t, events)
		counter := &dispatchCounter{DB: e.db}
		d := e.deliverer(e.db, 5*time.Second)
		d.Store = counter
		d.Interval = time.Hour // the first poll only, unless notified
		var busy atomic.Bool
		busy.Store(true)
		d.Busy = busy.Load
		run(t, d)
		eventually(t, "the first dispatch", func() bool { return counter.calls.Load() == 1 })
		d.Notify()
		time.Sleep(200 * time.Millisecond)
		if n := counter.calls.Load(); n != 1 {
			t.Fatalf("%d dispatches while busy, want 1", n)
		}
		busy.Store(false)
		d.Notify()
		eventually(t, "every delivery once the writes stop", func() bool { return len(rc.ids()) == events })
	})
}
