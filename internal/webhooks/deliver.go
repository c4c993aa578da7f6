package webhooks

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"
)

// DeliveryStore is what the Deliverer needs of the store (*store.DB).
type DeliveryStore interface {
	DispatchEvents(ctx context.Context, now time.Time, limit int) (int, error)
	ClaimDeliveries(ctx context.Context, c Claim) ([]Outgoing, error)
	RecordAttempts(ctx context.Context, outcomes []Outcome) error
	ReleaseDeliveries(ctx context.Context, now time.Time, held []Outgoing) error
}

// Timeout is how long a receiver has to answer a delivery.
const Timeout = 15 * time.Second

// Deliverer sends the events of the outbox to the endpoints subscribed to
// them. Any number of Deliverers may run on one database, in one process
// or on several nodes: each event reaches each endpoint once (more only
// when a worker dies mid-send, after its lease).
//
// It claims due deliveries a batch at a time, queues them by endpoint and
// sends them as slots free up; the attempts are recorded a batch at a time
// too. Few write transactions thus carry many deliveries: on SQLite they
// share the single writer with every other write.
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
	// Batch bounds the deliveries claimed and not yet sent (default 256).
	// An endpoint gets only as many as its sends get through until the
	// next poll, at the pace they have taken so far (see depth).
	Batch int
	// Interval is how often the outbox is polled (default a second);
	// Notify polls at once.
	Interval time.Duration
	// Lease is how long a claimed delivery is this Deliverer's before it
	// is due again (default a minute: well beyond Timeout).
	Lease time.Duration
	// Flush is how long a finished attempt may wait to be recorded with
	// others (default 50 ms).
	Flush time.Duration
	// Busy, when set, reports whether the API is writing (serve: requests
	// that change something are in flight on this node). While it is, the
	// Deliverer yields: it dispatches one batch of events and claims once
	// per Interval, neither more often nor between polls, because on
	// SQLite every delivery row it writes waits for the writer the
	// payments wait for. It catches up as soon as the writes stop; events
	// wait in the outbox meanwhile, never lost.
	Busy func() bool

	once sync.Once
	wake chan struct{}
}

const (
	// dispatchBatch is how many events one DispatchEvents call takes, and
	// dispatchRounds how many calls one poll makes at most.
	dispatchBatch  = 500
	dispatchRounds = 4
	// recordBatch is how many attempts one RecordAttempts call takes at most.
	recordBatch = 128
)

func (d *Deliverer) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Concurrency <= 0 {
			d.Concurrency = 16
		}
		if d.PerEndpoint <= 0 {
			d.PerEndpoint = 4
		}
		if d.Batch <= 0 {
			d.Batch = 256
		}
		if d.Interval <= 0 {
			d.Interval = time.Second
		}
		if d.Lease <= 0 {
			d.Lease = time.Minute
		}
		if d.Flush <= 0 {
			d.Flush = 50 * time.Millisecond
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
// Deliveries claimed but not yet sent are released: due again at once.
func (d *Deliverer) Run(ctx context.Context) {
	d.init()
	results := make(chan sent, d.Batch)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		d.record(context.WithoutCancel(ctx), results)
	}()
	p := &pump{d: d, results: results, done: make(chan finished, d.Concurrency),
		queued: map[string][]Outgoing{}, inFlight: map[string]int{}, held: map[string]int{}, took: map[string]pace{},
		bodies: bodies{d: d, m: map[string]*body{}}}
	p.run(ctx)
	close(results)
	<-recorded
}

// sent is an attempt made, to record.
type sent struct {
	o Outgoing
	a Attempt
}

// finished tells the pump that a send to an endpoint is over.
type finished struct {
	endpoint string
	took     time.Duration
}

// pace is how long an endpoint's sends take, smoothed, as of when.
type pace struct {
	took time.Duration
	at   time.Time
}

// pump holds a running Deliverer's claimed deliveries: queued by endpoint
// until a send slot is free, and in flight. Only run's goroutine uses it.
type pump struct {
	d        *Deliverer
	results  chan<- sent
	done     chan finished
	queued   map[string][]Outgoing // by endpoint, longest due first
	order    []string              // the endpoints with queued deliveries, served in turn
	inFlight map[string]int
	sending  int
	held     map[string]int // queued and in flight, by endpoint
	holding  int
	took     map[string]pace
	bodies   bodies
	sends    sync.WaitGroup
}

func (p *pump) run(ctx context.Context) {
	d := p.d
	t := time.NewTicker(d.Interval)
	defer t.Stop()
	poll, more := true, false
	for {
		busy := d.busy()
		if poll {
			if d.dispatch(ctx, busy) {
				d.Notify() // more to dispatch: poll again once this claim is sent
			}
			p.forget()
		}
		// Claim on every poll while there is room, and between polls
		// while the last claim found work and half the batch is gone
		// (unless the API is busy writing).
		if ctx.Err() == nil && p.holding < d.Batch && (poll || more && !busy && p.holding <= d.Batch/2) {
			more = p.claim(ctx)
		}
		p.start(ctx)
		poll = false
		select {
		case <-ctx.Done():
			p.releaseQueued(context.WithoutCancel(ctx))
			for p.sending > 0 {
				p.finish(<-p.done)
			}
			p.sends.Wait()
			return
		case <-t.C:
			poll = true
		case <-d.wake:
			poll = !d.busy() // else the next tick polls
		case f := <-p.done:
			p.finish(f)
		}
	}
}

// timeout is how long a send may take.
func (d *Deliverer) timeout() time.Duration {
	if d.Client.Timeout > 0 {
		return d.Client.Timeout
	}
	return Timeout
}

// depth returns how many deliveries to an endpoint may be held: as many
// as its sends, at the pace they have taken, get through until the next
// poll claims more (or through the part of the lease that leaves room
// for the last send, if shorter), on top of PerEndpoint. A slow endpoint
// thus holds few, and its held deliveries are sent well within their lease.
func (p *pump) depth(pc pace) int {
	d := p.d
	window := min(d.Interval, d.Lease-2*d.timeout())
	if window <= 0 {
		return d.PerEndpoint
	}
	n := int64(d.PerEndpoint) * (1 + int64(window/max(pc.took, time.Millisecond)))
	return int(min(n, int64(d.Batch)))
}

// claim claims what the batch has room for and queues it; it reports
// whether claiming again soon may find more: something was claimed, or an
// endpoint had no room left.
func (p *pump) claim(ctx context.Context) bool {
	d := p.d
	c := Claim{Now: d.Now(), Limit: d.Batch - p.holding, Lease: d.Lease, PerEndpoint: d.PerEndpoint,
		Max: make(map[string]int, len(p.took)), Busy: maps.Clone(p.held)}
	for ep, pc := range p.took {
		c.Max[ep] = p.depth(pc)
	}
	out, err := d.Store.ClaimDeliveries(ctx, c)
	if err != nil {
		if ctx.Err() == nil {
			d.Log.Error("claim webhook deliveries", "err", err)
		}
		return false
	}
	for _, o := range out {
		ep := o.Delivery.EndpointID
		if len(p.queued[ep]) == 0 {
			p.order = append(p.order, ep)
		}
		p.queued[ep] = append(p.queued[ep], o)
		p.bodies.hold(o.Event.ID)
		p.held[ep]++
		p.holding++
	}
	full := false
	for ep := range p.held {
		full = full || c.Room(ep)-(p.held[ep]-c.Busy[ep]) <= 0
	}
	return len(out) > 0 || full
}

// start sends queued deliveries while there are free slots, the endpoints
// in turn, each up to PerEndpoint at once. A delivery whose lease ends
// before a send could be over is dropped: it is due again then, and
// sending it now could send it twice.
func (p *pump) start(ctx context.Context) {
	d := p.d
	if len(p.order) > 1 { // who goes first changes each time
		p.order = append(p.order[1:], p.order[0])
	}
	for progress := true; progress && p.sending < d.Concurrency; {
		progress = false
		for i := 0; i < len(p.order) && p.sending < d.Concurrency; {
			ep := p.order[i]
			if p.inFlight[ep] >= d.PerEndpoint {
				i++
				continue
			}
			o := p.queued[ep][0]
			p.queued[ep] = p.queued[ep][1:]
			progress = true
			if d.Now().Add(min(d.timeout(), d.Lease/2)).After(o.Delivery.NextAttemptAt) {
				d.Log.Warn("webhook delivery left to its lease", "delivery", o.Delivery.ID, "endpoint", ep)
				p.bodies.drop(o.Event.ID)
				p.release(ep)
			} else {
				p.send(ctx, o)
			}
			if len(p.queued[ep]) > 0 {
				i++
				continue
			}
			delete(p.queued, ep)
			p.order = slices.Delete(p.order, i, i+1)
		}
	}
}

// send sends a delivery in a goroutine of its own and hands the attempt
// to the recorder.
func (p *pump) send(ctx context.Context, o Outgoing) {
	ep := o.Delivery.EndpointID
	p.inFlight[ep]++
	p.sending++
	p.sends.Go(func() {
		a := p.d.attempt(context.WithoutCancel(ctx), o, p.bodies.get)
		p.bodies.drop(o.Event.ID)
		p.results <- sent{o, a}
		p.done <- finished{ep, a.Duration}
	})
}

// finish frees a send's slot and notes how long it took.
func (p *pump) finish(f finished) {
	if p.inFlight[f.endpoint]--; p.inFlight[f.endpoint] == 0 {
		delete(p.inFlight, f.endpoint)
	}
	p.sending--
	pc, ok := p.took[f.endpoint]
	if ok {
		f.took = (4*pc.took + f.took) / 5
	}
	p.took[f.endpoint] = pace{f.took, time.Now()}
	p.release(f.endpoint)
}

// release lets go of a delivery held for endpoint.
func (p *pump) release(endpoint string) {
	if p.held[endpoint]--; p.held[endpoint] == 0 {
		delete(p.held, endpoint)
	}
	p.holding--
}

// releaseQueued gives back the deliveries queued and not sent, so that
// they need not wait for their lease (a restart would delay a batch of
// them by a minute).
func (p *pump) releaseQueued(ctx context.Context) {
	var held []Outgoing
	for _, q := range p.queued {
		held = append(held, q...)
	}
	if len(held) == 0 {
		return
	}
	if err := p.d.Store.ReleaseDeliveries(ctx, p.d.Now(), held); err != nil {
		p.d.Log.Error("release webhook deliveries", "deliveries", len(held), "err", err)
	}
}

// bodies renders each event once for all its deliveries the pump holds:
// Render reads the database, and an event has a delivery to each
// subscribed endpoint, mostly claimed together.
type bodies struct {
	d  *Deliverer
	mu sync.Mutex
	m  map[string]*body // by event id
}

type body struct {
	once  sync.Once
	b     []byte
	err   error
	users int // the deliveries held that send it
}

// hold notes a delivery of the event to send.
func (bs *bodies) hold(eventID string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[eventID]
	if b == nil {
		b = &body{}
		bs.m[eventID] = b
	}
	b.users++
}

// get returns the event's body, rendering it on first use.
func (bs *bodies) get(ctx context.Context, ev Event) ([]byte, error) {
	bs.mu.Lock()
	b := bs.m[ev.ID]
	bs.mu.Unlock()
	b.once.Do(func() { b.b, b.err = bs.d.render(ctx, ev) })
	return b.b, b.err
}

// drop notes a delivery of the event sent or let go; the body goes with
// the last.
func (bs *bodies) drop(eventID string) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if b := bs.m[eventID]; b != nil {
		if b.users--; b.users == 0 {
			delete(bs.m, eventID)
		}
	}
}

// forget drops the pace of endpoints not sent to for a while, so that
// the map does not grow with every endpoint ever seen.
func (p *pump) forget() {
	for ep, pc := range p.took {
		if time.Since(pc.at) > 10*time.Minute {
			delete(p.took, ep)
		}
	}
}

// record writes the attempts sent on results, a batch at a time: when
// recordBatch have come, or Flush after the first of a batch, and what is
// left when results is closed.
func (d *Deliverer) record(ctx context.Context, results <-chan sent) {
	var batch []sent
	var flush <-chan time.Time
	for {
		select {
		case r, ok := <-results:
			if !ok {
				d.write(ctx, batch)
				return
			}
			batch = append(batch, r)
			if len(batch) < recordBatch {
				if flush == nil {
					flush = time.After(d.Flush)
				}
				continue
			}
		case <-flush:
		}
		d.write(ctx, batch)
		batch, flush = batch[:0], nil
	}
}

// write records a batch of attempts in one go.
func (d *Deliverer) write(ctx context.Context, batch []sent) {
	if len(batch) == 0 {
		return
	}
	outcomes := make([]Outcome, len(batch))
	for i, r := range batch {
		outcomes[i] = Outcome{DeliveryID: r.o.Delivery.ID, Attempt: r.a}
	}
	if err := d.Store.RecordAttempts(ctx, outcomes); err != nil {
		// The leases run out and the deliveries are sent again.
		d.Log.Error("record webhook attempts", "deliveries", len(batch), "err", err)
		return
	}
	for _, r := range batch {
		if !r.a.Succeeded() {
			d.Log.Info("webhook attempt failed", "delivery", r.o.Delivery.ID, "endpoint", r.o.Delivery.EndpointID,
				"event", r.o.Event.ID, "status", r.a.StatusCode, "err", r.a.Error)
		}
	}
}

// dispatch turns new events into deliveries, a few batches per poll (one
// while the API is busy writing), so that a backlog of events does not
// hold up the sending of what is already claimed. It reports whether
// events are left.
func (d *Deliverer) dispatch(ctx context.Context, busy bool) (more bool) {
	for i := 1; ctx.Err() == nil; i++ {
		n, err := d.Store.DispatchEvents(ctx, d.Now(), dispatchBatch)
		if err != nil {
			if ctx.Err() == nil {
				d.Log.Error("dispatch webhook events", "err", err)
			}
			return false
		}
		if n < dispatchBatch {
			return false
		}
		if busy || i == dispatchRounds {
			return true
		}
	}
	return false
}

// busy reports whether the Deliverer should yield to the API's writes.
func (d *Deliverer) busy() bool { return d.Busy != nil && d.Busy() }

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

// attempt renders (with render), signs and posts a delivery. Whatever
// goes wrong is a failed attempt, retried on the schedule.
func (d *Deliverer) attempt(ctx context.Context, o Outgoing, render func(context.Context, Event) ([]byte, error)) (a Attempt) {
	start := time.Now()
	defer func() { a.Duration = time.Since(start) }()
	body, err := render(ctx, o.Event)
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
