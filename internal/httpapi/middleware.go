package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// handlerFunc is an API handler: it writes a response and returns nil, or
// returns an error that the route turns into a problem response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route wraps h in the middleware that acc calls for, outermost first:
// request id and access log, metrics, panic recovery, authentication,
// authorization and rate limiting, text checks of the path and query, and
// idempotency for POSTs with a key. Visitor routes get only the first
// three (see hot).
func (s *Server) route(mux *http.ServeMux, pattern string, acc Access, h handlerFunc) {
	switch acc {
	case Visitor:
		s.hot(mux, pattern, h)
		return
	case MetricsToken:
		if s.Config.MetricsToken == "" {
			return // not served on this listener (see Config.MetricsToken)
		}
	case Public, SecretKey, PublishableKey, BrowserPublic:
	default:
		panic(fmt.Sprintf("httpapi: route %q has no access level", pattern))
	}
	method, path, _ := strings.Cut(pattern, " ")
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
	if acc.CrossOrigin() && !s.preflights[path] {
		s.preflights[path] = true
		mux.Handle("OPTIONS "+path, s.instrument("OPTIONS "+path, http.HandlerFunc(preflight)))
	}
	keyed := acc == SecretKey || acc == PublishableKey
	if method == http.MethodPost && keyed {
		next = s.idempotent(next)
	}
	next = checkText(wildcards(pattern), next)
	switch {
	case keyed:
		next = s.authenticate(acc, next)
	case acc == MetricsToken:
		next = s.metricsToken(next)
	}
	next = s.recoverPanics(next)
	next = s.instrument(pattern, next)
	mux.Handle(pattern, next)
}

// hot registers a high-volume public route (short-link redirects): like
// route (request id, headers, metrics), but its successful (2xx and 3xx)
// requests are logged only at Debug; 4xx and 5xx are logged as usual.
func (s *Server) hot(mux *http.ServeMux, pattern string, h handlerFunc) {
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
	next = s.recoverPanics(next)
	s.quiet[pattern] = true
	mux.Handle(pattern, s.instrument(pattern, next))
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Instrument wraps a handler that is not an API route (the dashboard) in
// the same request id, headers, access log and metrics, so that every
// response the binary serves is traceable; route names its metrics label.
func (s *Server) Instrument(route string, next http.Handler) http.Handler {
	return s.instrument(route, next)
}

// instrument assigns the request id, sets the headers every response
// carries, logs the request and records metrics. It is the one place for
// all of these, wrapped around every route.
func (s *Server) instrument(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !validRequestID(rid) {
			rid = "req_" + rand.Text()
		}
		h := w.Header()
		h.Set("X-Request-Id", rid)
		// Browsers must not guess another type than the one we declare
		// (a JSON body sniffed as HTML is a script injection vector). Set
		// by its canonical key, with a shared value: no allocation on the
		// short-link path.
		h["X-Content-Type-Options"] = nosniff
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, rid))
		sw := &statusWriter{ResponseWriter: w}
		if writes(r.Method) && !s.quiet[pattern] {
			s.writing.Add(1)
			defer s.writing.Add(-1)
		}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.observe(pattern, sw.status, d)
		level := slog.LevelInfo
		switch {
		case sw.status >= 500:
			level = slog.LevelError
		case s.quiet[pattern] && sw.status < 400:
			level = slog.LevelDebug // counted in metrics; failures are still logged
		}
		// Quiet routes are the busiest: skip building a record nobody logs.
		if !s.Log.Enabled(r.Context(), level) {
			return
		}
		attrs := []any{
			slog.String("request_id", rid), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", d), slog.Int("bytes", sw.bytes),
			slog.String("client_ip", s.Config.Proxies.IP(r)),
		}
		if a := authFrom(r.Context()); a != nil {
			attrs = append(attrs, slog.String("program_id", a.Program.ID), slog.String("key", a.Key.Prefix))
		}
		s.Log.Log(r.Context(), level, "request", attrs...)
	})
}

// nosniff is the value of X-Content-Type-Options, shared by every
// response (the header is only ever set, never appended to).
var nosniff = []string{"nosniff"}

func validRequestID(id string) bool { return len(id) <= 128 && printable(id) }

// printable reports whether s is non-empty printable ASCII without spaces,
// safe to echo in a header and to log.
func printable(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				s.writeError(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves the bearer key to its program. Unknown, malformed
// and revoked keys get one and the same 401, so a caller learns nothing
// about which keys exist. Publishable keys are for browsers: their requests
// must come from the program's own site and are limited per visitor
// address; secret keys are limited per key.
func (s *Server) authenticate(acc Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !bearer {
			plain = "" // a key must come as a bearer token, never bare
		}
		key, prog, err := s.lookupKey(r, strings.TrimSpace(plain))
		if err != nil {
			if errors.Is(err, errUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="advocate"`)
			}
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), keyAuth, &auth{Key: key, Program: prog}))
		if key.Kind == referral.PublishableKey {
			if acc == SecretKey {
				s.writeError(w, r, errSecretKeyRequired)
				return
			}
			if err := s.allowOrigin(w, r, prog); err != nil {
				s.writeError(w, r, err)
				return
			}
			if err := s.limitIP(w, r, prog.ID); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		// A publishable key is shared by every visitor of the site, so
		// only the per-address limit above applies to it; a budget per
		// key would throttle a busy site as a whole.
		if s.limiter != nil && key.Kind == referral.SecretKey {
			if wait, ok := s.limiter.allow(key.ID); !ok {
				s.writeError(w, r, tooMany(w, wait, "this API key"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// lookupKey finds an active key and its program.
func (s *Server) lookupKey(r *http.Request, plain string) (*referral.APIKey, *referral.Program, error) {
	kind, valid := referral.ParseAPIKey(plain)
	if !valid {
		return nil, nil, errUnauthorized
	}
	key, prog, err := s.DB.APIKeyByHash(r.Context(), referral.HashAPIKey(plain))
	if errors.Is(err, store.ErrKeyNotFound) || (err == nil && key.Kind != kind) {
		return nil, nil, errUnauthorized
	}
	if err != nil {
		return nil, nil, err
	}
	return key, prog, nil
}

func tooMany(w http.ResponseWriter, wait time.Duration, what string) error {
	w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return referral.Errorf(referral.KindTooMany, "rate_limited",
		"Too many requests for %s; retry after the time in the Retry-After header.", what)
}

// limitIP applies the per-address limit of browser requests.
func (s *Server) limitIP(w http.ResponseWriter, r *http.Request, programID string) error {
	if s.ipLimiter == nil {
		return nil
	}
	if wait, ok := s.ipLimiter.allow(programID + "|" + clientip.Bucket(s.Config.Proxies.IP(r))); !ok {
		return tooMany(w, wait, "this address")
	}
	return nil
}

var errOrigin = referral.Errorf(referral.KindForbidden, "origin_not_allowed",
	"This page's origin is not the program's website or one of its allowed domains (see PUT /v1/program).")

// allowOrigin lets a browser on the program's own site read the response.
// Requests without an Origin (servers, curl) pass.
func (s *Server) allowOrigin(w http.ResponseWriter, r *http.Request, p *referral.Program) error {
	origin := r.Header.Get("Origin")
	w.Header().Add("Vary", "Origin")
	if origin == "" {
		return nil
	}
	if !p.AllowsOrigin(origin) {
		return errOrigin
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	return nil
}

// preflight answers CORS preflight requests of browser routes. It cannot
// know the key yet (browsers send none), so it allows the request shape;
// the real request is checked against the program's domains.
func preflight(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// recorder holds a response back, so that idempotency can answer with the
// stored one instead when another request with the key won.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.buf.Write(b)
}

// idempotent implements Idempotency-Key on POST: the first request with a
// key runs and its response is stored; a retry with the same key and body
// gets that response again (Idempotent-Replayed: true); the same key with
// another body is a 422, and a retry while the first is running is a 409.
// Responses of 5xx are not stored, so the client's retry runs afresh.
//
// A handler that changes something stores the response in the same
// transaction as its change (respond and store.WithIdempotency): one
// commit, as without the header. Any other response worth keeping (a
// client error found before any change) is stored on its own.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ikey := r.Header.Get("Idempotency-Key")
		if ikey == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !printable(ikey) || len(ikey) > 255 {
			s.writeError(w, r, referral.Errorf(referral.KindMalformed, "invalid_idempotency_key",
				"Idempotency-Key must be 1 to 255 printable characters."))
			return
		}
		body, err := readBody(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r.Body = readCloser{bytes.NewReader(body)}
		sum := sha256.New()
		fmt.Fprintf(sum, "%s %s\n", r.Method, r.URL.RequestURI())
		sum.Write(body)
		req := &store.IdempotentRequest{ProgramID: program(r).ID, Key: ikey, RequestHash: hex.EncodeToString(sum.Sum(nil))}
		// On this node a request waits for no other with its key; across
		// nodes, the transaction that stores the key settles it.
		slot := req.ProgramID + "\x00" + ikey
		if running, busy := s.inFlight.LoadOrStore(slot, req.RequestHash); busy {
			if running != req.RequestHash {
				s.writeError(w, r, errIdempotencyKeyReused)
			} else {
				s.writeError(w, r, errIdempotencyKeyInUse)
			}
			return
		}
		defer s.inFlight.Delete(slot)
		if s.replay(w, r, req) {
			return
		}
		rec := &recorder{header: w.Header()}
		next.ServeHTTP(rec, r.WithContext(store.WithIdempotency(r.Context(), req)))
		if req.Raced() {
			if !s.replay(w, r, req) {
				s.writeError(w, r, errIdempotencyKeyInUse)
			}
			return
		}
		if stored := req.Stored(); stored != nil {
			w.WriteHeader(stored.Status)
			w.Write(stored.Body)
			return
		}
		if rec.status != 0 && rec.status < 500 {
			ctx := context.WithoutCancel(r.Context())
			if _, err := s.DB.SaveIdempotentResponse(ctx, req, rec.status, w.Header().Get("Content-Type"), rec.buf.Bytes()); err != nil {
				s.Log.ErrorContext(ctx, "store idempotent response", "err", err, "request_id", requestID(ctx))
			}
		}
		if rec.status != 0 {
			w.WriteHeader(rec.status)
		}
		w.Write(rec.buf.Bytes())
	})
}

var (
	errIdempotencyKeyInUse = referral.Errorf(referral.KindConflict, "idempotency_key_in_use",
		"A request with this Idempotency-Key is still being processed; retry shortly.")
	errIdempotencyKeyReused = referral.Errorf(referral.KindInvalid, "idempotency_key_reused",
		"This Idempotency-Key was used with a different request; use a new key for a new request.")
)

// replay answers a request from what is stored for its key, and reports
// whether there was anything: the stored response, a 422 for another
// request reusing the key, or a 409 while a claim an older version left
// unfinished is not yet stale.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, req *store.IdempotentRequest) bool {
	rec, err := s.DB.IdempotentResponse(r.Context(), req.ProgramID, req.Key)
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case rec == nil:
		return false
	case rec.RequestHash != req.RequestHash:
		s.writeError(w, r, errIdempotencyKeyReused)
	case !rec.Done:
		if s.now().Sub(rec.CreatedAt) > s.Config.IdempotencyStale {
			return false // its node died: this request takes it over
		}
		s.writeError(w, r, errIdempotencyKeyInUse)
	default:
		w.Header().Set("Content-Type", rec.ContentType)
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(rec.Status)
		w.Write(rec.Body)
	}
	return true
}

// respond runs op, a store operation, and writes its result as render
// says. When the request carries an Idempotency-Key, op's transaction
// stores the same response with its change.
func respond[T any](w http.ResponseWriter, r *http.Request, op func(context.Context) (T, error), render func(T) (int, any)) error {
	if req := store.IdempotentRequestOf(r.Context()); req != nil {
		req.Respond = func(result any) (int, string, []byte, error) {
			v, ok := result.(T)
			if !ok {
				return 0, "", nil, fmt.Errorf("idempotent response: the operation returned %T, want %T", result, v)
			}
			status, body := render(v)
			b, err := encodeJSON(body)
			return status, "application/json", b, err
		}
	}
	v, err := op(r.Context())
	if err != nil {
		return err
	}
	status, body := render(v)
	writeJSON(w, status, body)
	return nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// writes reports whether a request of this method may change something.
func writes(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// Writing reports whether requests that may change something (other than
// the quiet click beacons) are running on this node: background work
// that writes, such as webhook delivery, yields to them.
func (s *Server) Writing() bool { return s.writing.Load() > 0 }
