package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"
)

// DeliveryStore is what the Deliverer needs of the store (*store.DB).
type DeliveryStore interface {
	DispatchEvents(ctx context.Context, now time.Time, limit int) (int, error)
	ClaimDeliveries(ctx context.Context, c Claim) ([]Outgoing, error)
	RecordAttempt(ctx context.Context, deliveryID string, a Attempt) error
}

// Timeout is how long a receiver has to answer a delivery.
const Timeout = 15 * time.Second

// Deliverer sends the events of the outbox to the endpoints subscribed to
// them. Any number of Deliverers may run on one database, in one process
// or on several nodes: each event reaches each endpoint once (more only
// when a worker dies mid-send, after its lease).
type Deliverer struct {
	Store DeliveryStore
	// Client sends the requests: Guard.Client(Timeout), which refuses
	// private addresses and does not follow redirects.
	Client *http.Client
	// Render returns the body of an event's webhook.
	Render func(ctx context.Context, ev Event) ([]byte, error)
	Now    func() time.Time
	Log    *slog.Logger
	// Concurrency bounds the sends in flight (default 16), PerEndpoint
	// those to one endpoint (default 4), so that a slow endpoint never
	// delays the others.
	Concurrency int
	PerEndpoint int
	// Interval is how often the outbox is polled (default a second);
	// Notify polls at once.
	Interval time.Duration
	// Lease is how long a claimed delivery is this Deliverer's before it
	// is due again (default a minute: well beyond Timeout).
	Lease time.Duration

	once sync.Once
	wake chan struct{}
}

// dispatchBatch is how many events one DispatchEvents call takes.
const dispatchBatch = 500

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Concurrency <= 0 {
			d.Concurrency = 16
		}
		if d.PerEndpoint <= 0 {
			d.PerEndpoint = 4
		}
		if d.Interval <= 0 {
			d.Interval = time.Second
		}
		if d.Lease <= 0 {
			d.Lease = time.Minute
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Notify asks a running Deliverer to look for work now, such as after a
// change that wrote events; it never blocks.
func (d *Deliverer) Notify() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is done, then waits for the sends in flight,
// which finish and are recorded whatever ctx says (at most Timeout).
func (d *Deliverer) Run(ctx context.Context) {
	d.init()
	t := time.NewTicker(d.Interval)
	defer t.Stop()
	var (
		mu    sync.Mutex
		busy  = map[string]int{} // in flight, by endpoint
		total int
		sends sync.WaitGroup
	)
	defer sends.Wait()
	for {
		d.dispatch(ctx)
		mu.Lock()
		c := Claim{Now: d.Now(), Limit: d.Concurrency - total, Lease: d.Lease, PerEndpoint: d.PerEndpoint, Busy: maps.Clone(busy)}
		mu.Unlock()
		if c.Limit > 0 && ctx.Err() == nil {
			out, err := d.Store.ClaimDeliveries(ctx, c)
			if err != nil && ctx.Err() == nil {
				d.Log.Error("claim webhook deliveries", "err", err)
			}
			mu.Lock()
			for _, o := range out {
				busy[o.Delivery.EndpointID]++
				total++
				sends.Go(func() {
					d.send(context.WithoutCancel(ctx), o)
					mu.Lock()
					if busy[o.Delivery.EndpointID]--; busy[o.Delivery.EndpointID] == 0 {
						delete(busy, o.Delivery.EndpointID)
					}
					total--
					mu.Unlock()
					d.Notify() // a slot is free: fill it now
				})
			}
			mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// dispatch turns new events into deliveries until it has caught up.
func (d *Deliverer) dispatch(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := d.Store.DispatchEvents(ctx, d.Now(), dispatchBatch)
		if err != nil {
			if ctx.Err() == nil {
				d.Log.Error("dispatch webhook events", "err", err)
			}
			return
		}
		if n < dispatchBatch {
			return
		}
	}
}

// send makes one attempt at a delivery and records it.
func (d *Deliverer) send(ctx context.Context, o Outgoing) {
	a := d.attempt(ctx, o)
	if err := d.Store.RecordAttempt(ctx, o.Delivery.ID, a); err != nil {
		// The lease runs out and the delivery is sent again.
		d.Log.Error("record webhook attempt", "delivery", o.Delivery.ID, "err", err)
		return
	}
	if !a.Succeeded() {
		d.Log.Info("webhook attempt failed", "delivery", o.Delivery.ID, "endpoint", o.Delivery.EndpointID,
			"event", o.Event.ID, "status", a.StatusCode, "err", a.Error)
	}
}

// render is Render, with a panic turned into an error: one event that
// cannot be rendered must not stop the deliveries of every program.
func (d *Deliverer) render(ctx context.Context, ev Event) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return d.Render(ctx, ev)
}

// attempt renders, signs and posts a delivery. Whatever goes wrong is a
// failed attempt, retried on the schedule.
func (d *Deliverer) attempt(ctx context.Context, o Outgoing) (a Attempt) {
	start := time.Now()
	defer func() { a.Duration = time.Since(start) }()
	body, err := d.render(ctx, o.Event)
	if err != nil {
		return Attempt{Error: "render: " + err.Error()}
	}
	var secrets []Secret
	for _, s := range o.Secrets {
		sec, err := ParseSecret(s)
		if err != nil {
			return Attempt{Error: fmt.Sprintf("endpoint secret: %v", err)}
		}
		secrets = append(secrets, sec)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
	if err != nil {
		return Attempt{Error: err.Error()}
	}
	req.Header = Headers(o.Event.ID, d.Now(), body, secrets...)
	resp, err := d.Client.Do(req)
	if err != nil {
		return Attempt{Error: err.Error()}
	}
	defer resp.Body.Close()
	a.StatusCode = resp.StatusCode
	a.Response, err = ReadLimited(resp.Body, MaxResponse)
	switch {
	case err != nil && a.Succeeded():
		// The receiver said yes; a body cut short changes nothing.
	case err != nil:
		a.Error = "read response: " + err.Error()
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = "redirect to " + resp.Header.Get("Location") + " not followed"
	}
	return a
}
