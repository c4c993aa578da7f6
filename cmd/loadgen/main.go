// Command loadgen drives a running Advocate server with concurrent requests
// and prints throughput and latency percentiles. It is the load tool of
// scripts/bench.sh.
//
//	loadgen -url http://127.0.0.1:8080/healthz -c 32 -d 10s
//	loadgen -url http://127.0.0.1:8080/v1/customers -key sk_… -c 32 -d 10s \
//	  -body '{"email":"u{n}@example.com","name":"User {n}","key":"u{n}"}'
//	loadgen -url http://127.0.0.1:8080/v1/customers -key sk_… -n 200 \
//	  -body '{"email":"r{i}@example.com","name":"Referrer {i}","key":"r{i}","referral_code":"REF{i}"}'
//	loadgen -url http://127.0.0.1:8080/r/REF1 -raw -rate 8000 -d 10s -status 302 -H 'User-Agent: Mozilla/5.0'
//	loadgen -url http://127.0.0.1:8080/integrations/stripe/webhook/prg_… -stripe-secret whsec_… -c 16 -d 10s \
//	  -body '{"id":"evt_{n}","type":"invoice.paid",…}'
//	loadgen bare302 -addr 127.0.0.1:9000 -location 'https://example.com/?ref=REF1'
//
// With -body every request is a POST. In the body, {n} becomes a number
// that is unique within the run, prefixed by a random run id, so that
// repeated runs against one database never collide; {i} becomes the
// request's number in this run (1, 2, …) and {i%K} cycles through 1…K.
//
// By default workers send requests back to back (a closed loop) for -d
// after a warm-up. With -n they send exactly that many requests and stop.
// With -rate they send requests on a fixed schedule whether or not earlier
// ones have come back (an open loop, like wrk2), and each latency is
// measured from the moment its request was due, so a server that stalls is
// charged for the requests that queued behind the stall.
//
// With -raw, GETs skip net/http's client: each worker writes the request
// as prebuilt bytes on its own kept-alive connection and reads no more of
// the response than it must, as wrk does, so that the load generator takes
// less of the CPU it shares with the server.
//
// The bare302 subcommand serves the baseline of the redirect benchmark: a
// bare net/http handler answering every request with the same 302 as
// Advocate's short links.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "bare302" {
		err = bare302(ctx, os.Args[2:], os.Stdout)
	} else if len(os.Args) > 1 && os.Args[1] == "receive" {
		err = receive(ctx, os.Args[2:], os.Stdout)
	} else {
		err = run(os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// config is one load run.
type config struct {
	URL         string
	Key         string
	Body        string
	Label       string
	Header      http.Header
	Status      int // the status that counts as success; 0: any 2xx
	Concurrency int
	Duration    time.Duration
	Warmup      time.Duration
	Requests    int     // > 0: send exactly this many, then stop
	Rate        float64 // > 0: requests per second on a fixed schedule
	Raw         bool    // GETs through rawConn instead of net/http's client
	// StripeSecret signs each body with a Stripe-Signature header, to load
	// a program's Stripe webhook endpoint.
	StripeSecret string
}

func run(args []string, stdout io.Writer) error {
	c := config{Header: http.Header{}}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.StringVar(&c.URL, "url", "", "URL to request (required)")
	fs.StringVar(&c.Key, "key", "", "API key sent as Authorization: Bearer KEY")
	fs.StringVar(&c.Body, "body", "", "JSON body to POST; {n} becomes a number unique to the request, {i} its number in the run, {i%K} cycles 1…K")
	fs.StringVar(&c.Label, "label", "", "name printed at the start of the result line (default METHOD PATH)")
	fs.Func("H", "request header 'Name: value' (repeatable); {n}, {i} and {i%K} expand as in -body", func(v string) error {
		name, value, ok := strings.Cut(v, ":")
		if !ok {
			return fmt.Errorf("header %q is not Name: value", v)
		}
		c.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		return nil
	})
	fs.IntVar(&c.Status, "status", 0, "response status that counts as success (default any 2xx); redirects are never followed")
	fs.IntVar(&c.Concurrency, "c", 32, "concurrent workers, each with one keep-alive connection")
	fs.DurationVar(&c.Duration, "d", 10*time.Second, "how long to measure")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "load applied before measuring, not counted")
	fs.IntVar(&c.Requests, "n", 0, "send exactly this many requests instead of running for -d (no warm-up)")
	fs.Float64Var(&c.Rate, "rate", 0, "requests per second on a fixed schedule (open loop) instead of back to back")
	fs.StringVar(&c.StripeSecret, "stripe-secret", "", "sign each -body with a Stripe-Signature header made with this signing secret (whsec_…), as Stripe signs webhooks")
	fs.BoolVar(&c.Raw, "raw", false, "send GETs as prebuilt bytes on one kept-alive connection per worker, as wrk does, instead of through net/http's client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.Raw && c.Body != "" {
		return errors.New("-raw sends GETs only; it does not go with -body")
	}
	if c.URL == "" || c.Concurrency < 1 || c.Duration <= 0 || c.Requests < 0 || c.Rate < 0 {
		return errors.New("-url is required, -c must be ≥ 1, -d > 0, -n and -rate ≥ 0")
	}
	if c.Requests > 0 && c.Rate > 0 {
		return errors.New("-n and -rate do not go together")
	}
	if c.Label == "" {
		method := http.MethodGet
		if c.Body != "" {
			method = http.MethodPost
		}
		path := c.URL
		if i := strings.Index(path, "://"); i >= 0 {
			if j := strings.IndexByte(path[i+3:], '/'); j >= 0 {
				path = path[i+3+j:]
			}
		}
		c.Label = method + " " + path
	}
	r := load(context.Background(), c)
	fmt.Fprintln(stdout, r)
	if r.Failed > 0 {
		return fmt.Errorf("%d requests failed; first: %s", r.Failed, r.FirstError)
	}
	return nil
}

// result is what a run measured.
type result struct {
	Label       string
	Concurrency int
	Rate        float64 // the fixed rate asked for; 0 in a closed loop
	Elapsed     time.Duration
	Latencies   []time.Duration // of successful requests, sorted
	Failed      int
	FirstError  string
	WarmupOK    int // successful requests of the warm-up, not in Latencies
}

// String is the line scripts/bench.sh and docs/benchmarks.md show.
func (r *result) String() string {
	rate := float64(len(r.Latencies)) / r.Elapsed.Seconds()
	load := fmt.Sprintf("c=%-3d", r.Concurrency)
	if r.Rate > 0 {
		load = fmt.Sprintf("rate=%.0f/s c=%d", r.Rate, r.Concurrency)
	}
	warm := ""
	if r.WarmupOK > 0 {
		warm = fmt.Sprintf(" (+%d in warm-up)", r.WarmupOK)
	}
	return fmt.Sprintf("%-30s %s %6d ok %3d failed in %.1fs  %8.0f req/s  p50 %s  p99 %s  max %s%s",
		r.Label, load, len(r.Latencies), r.Failed, r.Elapsed.Seconds(), rate,
		ms(r.percentile(50)), ms(r.percentile(99)), ms(r.percentile(100)), warm)
}

func (r *result) percentile(p int) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := (len(r.Latencies)*p+99)/100 - 1
	return r.Latencies[max(i, 0)]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// load runs c.Concurrency workers until the warm-up and the measured
// period have passed, or until c.Requests were sent. Only requests that
// start and end inside the measured period count; with a fixed rate, those
// that were due inside it.
func load(ctx context.Context, c config) *result {
	tr := &http.Transport{MaxIdleConnsPerHost: c.Concurrency, MaxConnsPerHost: c.Concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	runID := strings.ToLower(rand.Text()[:8])
	var seq atomic.Int64

	if c.Requests > 0 {
		c.Warmup = 0
	}
	start := time.Now().Add(c.Warmup)
	end := start.Add(c.Duration)
	// next hands out the request numbers and, with a fixed rate, the time
	// each request is due; ok is false when the run is over.
	next := func() (n int64, due time.Time, ok bool) {
		n = seq.Add(1)
		if c.Requests > 0 {
			return n, time.Now(), n <= int64(c.Requests)
		}
		due = time.Now()
		return n, due, due.Before(end)
	}
	if c.Rate > 0 {
		next = schedule(ctx, start.Add(-c.Warmup), end, c.Rate, &seq)
	}
	type worker struct {
		lat    []time.Duration
		failed int
		first  string
		warm   int
	}
	workers := make([]worker, c.Concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		wg.Go(func() {
			var raw *rawConn
			if c.Raw {
				var err error
				if raw, err = newRawConn(c); err != nil {
					w.failed, w.first = 1, err.Error()
					return
				}
				defer raw.close()
			}
			for {
				n, t0, ok := next()
				if !ok {
					return
				}
				var err error
				if raw != nil {
					err = raw.do(c.Status)
				} else {
					err = do(ctx, client, c, runID, n)
				}
				t1 := time.Now()
				if c.Requests == 0 && t0.Before(start) {
					if err == nil {
						w.warm++
					}
					continue
				}
				if c.Requests == 0 && c.Rate == 0 && t1.After(end) {
					continue
				}
				if err != nil {
					if w.failed == 0 {
						w.first = err.Error()
					}
					w.failed++
					continue
				}
				w.lat = append(w.lat, t1.Sub(t0))
			}
		})
	}
	wg.Wait()
	r := &result{Label: c.Label, Concurrency: c.Concurrency, Rate: c.Rate, Elapsed: c.Duration}
	if c.Requests > 0 {
		r.Elapsed = time.Since(start)
	}
	for _, w := range workers {
		r.Latencies = append(r.Latencies, w.lat...)
		r.WarmupOK += w.warm
		if w.failed > 0 && r.Failed == 0 {
			r.FirstError = w.first
		}
		r.Failed += w.failed
	}
	slices.Sort(r.Latencies)
	return r
}

// schedule returns a next for a fixed rate: request k is due at
// from + k/rate. A worker that asks early waits until its request is due; one
// that asks late (every worker was busy) gets the overdue request at once,
// and the wait counts in that request's latency.
func schedule(ctx context.Context, from, end time.Time, rate float64, seq *atomic.Int64) func() (int64, time.Time, bool) {
	interval := float64(time.Second) / rate
	return func() (int64, time.Time, bool) {
		n := seq.Add(1)
		due := from.Add(time.Duration(float64(n-1) * interval))
		if !due.Before(end) {
			return n, due, false
		}
		if wait := time.Until(due); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return n, due, false
			}
		}
		return n, due, true
	}
}

// do makes request number n and reads the whole response; a status other
// than c.Status (or a 2xx when that is 0) is an error.
func do(ctx context.Context, client *http.Client, c config, runID string, n int64) error {
	method, body := http.MethodGet, io.Reader(nil)
	var payload []byte
	if c.Body != "" {
		payload = []byte(expand(c.Body, runID, n))
		method, body = http.MethodPost, bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL, body)
	if err != nil {
		return err
	}
	for name, values := range c.Header {
		for _, v := range values {
			req.Header.Add(name, expand(v, runID, n)) // an Idempotency-Key per request: -H 'Idempotency-Key: k-{n}'
		}
	}
	if c.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	if c.StripeSecret != "" {
		// Signed as Stripe signs its webhooks, at the moment of sending.
		req.Header.Set("Stripe-Signature", stripe.Sign(payload, c.StripeSecret, time.Now()))
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !statusOK(resp.StatusCode, c.Status) {
		return fmt.Errorf("%s %s: %d %s", method, c.URL, resp.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// statusOK says whether status counts as success: it is want, or any 2xx
// when want is 0.
func statusOK(status, want int) bool {
	if want == 0 {
		return status/100 == 2
	}
	return status == want
}

// rawConn is one worker's connection for -raw: the request is built once
// and written as bytes, and the response is read just far enough to know
// its status and where it ends. net/http's client spends several times
// the CPU of a small server response on each request, and the load
// generator shares the machine with the server it measures.
type rawConn struct {
	addr    string
	request []byte
	conn    net.Conn
	br      *bufio.Reader
}

func newRawConn(c config) (*rawConn, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("-raw needs an http:// URL, not %q", c.URL)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\n", u.RequestURI(), u.Host)
	if c.Key != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", c.Key)
	}
	for name, values := range c.Header {
		for _, v := range values {
			fmt.Fprintf(&b, "%s: %s\r\n", name, v)
		}
	}
	b.WriteString("\r\n")
	addr := u.Host
	if u.Port() == "" {
		addr += ":80"
	}
	return &rawConn{addr: addr, request: b.Bytes()}, nil
}

// do sends the request and reads the response; a status other than want
// (or a 2xx when want is 0) is an error. After any failure the connection
// is dropped and the next request dials again.
func (rc *rawConn) do(want int) error {
	if rc.conn == nil {
		conn, err := net.DialTimeout("tcp", rc.addr, 10*time.Second)
		if err != nil {
			return err
		}
		rc.conn, rc.br = conn, bufio.NewReaderSize(conn, 16<<10)
	}
	rc.conn.SetDeadline(time.Now().Add(30 * time.Second))
	status, keep, err := rc.exchange()
	if err != nil || !keep {
		rc.close()
	}
	if err != nil {
		return err
	}
	if !statusOK(status, want) {
		return fmt.Errorf("GET http://%s: %d", rc.addr, status)
	}
	return nil
}

// exchange writes the request and reads one response: the status line,
// the headers it needs (Content-Length, chunked encoding, Connection:
// close), and the body, which it discards.
func (rc *rawConn) exchange() (status int, keep bool, err error) {
	if _, err := rc.conn.Write(rc.request); err != nil {
		return 0, false, err
	}
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err := rc.br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		for {
			line, err := rc.br.ReadSlice('\n')
			if err != nil {
				return 0, false, err
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil {
				return 0, false, fmt.Errorf("malformed chunk size %q", line)
			}
			if _, err := rc.br.Discard(int(size) + 2); err != nil { // the chunk and its CRLF
				return 0, false, err
			}
			if size == 0 {
				return status, keep, nil
			}
		}
	case length >= 0:
		_, err = rc.br.Discard(length)
		return status, keep, err
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, rc.br)
		return status, false, err
	}
}

func (rc *rawConn) close() {
	if rc.conn != nil {
		rc.conn.Close()
		rc.conn = nil
	}
}

// expand fills in a body template for request number n (see the package
// documentation). A {i%K} with a K that is not a positive number is left
// as it is, and the server will say what is wrong with the body.
func expand(tmpl, runID string, n int64) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			break
		}
		b.WriteString(tmpl[:open])
		tmpl = tmpl[open:]
		name, _, closed := strings.Cut(tmpl[1:], "}")
		k, mod := strings.CutPrefix(name, "i%")
		m, err := strconv.ParseInt(k, 10, 64)
		switch {
		case closed && name == "n":
			b.WriteString(runID + "-" + strconv.FormatInt(n, 10))
		case closed && name == "i":
			b.WriteString(strconv.FormatInt(n, 10))
		case closed && mod && err == nil && m > 0:
			b.WriteString(strconv.FormatInt((n-1)%m+1, 10))
		default: // not a placeholder, such as a JSON object's brace
			b.WriteByte('{')
			tmpl = tmpl[1:]
			continue
		}
		tmpl = tmpl[len(name)+2:]
	}
	b.WriteString(tmpl)
	return b.String()
}

// bare302 serves the redirect baseline until ctx ends: the least a Go
// server can do to answer a short link, with the headers Advocate sends.
func bare302(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen bare302", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	location := fs.String("location", "https://example.com/?ref=REF1", "where every request is redirected")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serveUntil(ctx, *addr, redirectTo(*location), "bare302", stdout)
}

// serveUntil serves h on addr until ctx ends, first printing
// "NAME listening on http://ADDR" for the script that started it.
func serveUntil(ctx context.Context, addr string, h http.Handler, name string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "%s listening on http://%s\n", name, ln.Addr())
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// receive is a webhook receiver for the benchmarks until ctx ends: it
// answers 204 to every POST at once and counts them; GET /count says how
// many arrived.
func receive(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadgen receive", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serveUntil(ctx, *addr, receiver(&atomic.Int64{}), "receive", stdout)
}

func receiver(n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/count" {
			fmt.Fprintln(w, n.Load())
			return
		}
		io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
}

func redirectTo(location string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer-when-downgrade")
		http.Redirect(w, r, location, http.StatusFound)
	})
}
