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

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// handlerFunc is an API handler: it writes a response and returns nil, or
// returns an error that the route turns into a problem response.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says which keys may call a route.
type access int

const (
	public      access = iota // no key
	secretOnly                // sk_ keys
	browserSafe               // sk_ or pk_ keys
)

// route wraps h in the middleware every API route shares, outermost first:
// request id and access log, metrics, panic recovery, authentication and
// authorization, rate limiting, and idempotency for POSTs.
func (s *Server) route(mux *http.ServeMux, pattern string, acc access, h handlerFunc) {
	method, _, _ := strings.Cut(pattern, " ")
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
	if method == http.MethodPost && acc != public {
		next = s.idempotent(next)
	}
	if acc != public {
		next = s.authenticate(acc, next)
	}
	next = s.recoverPanics(next)
	next = s.instrument(pattern, next)
	mux.Handle(pattern, next)
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

// instrument assigns the request id, logs the request and records metrics.
func (s *Server) instrument(pattern string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-Id")
		if !validRequestID(rid) {
			rid = "req_" + rand.Text()
		}
		w.Header().Set("X-Request-Id", rid)
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, rid))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.observe(pattern, sw.status, d)
		attrs := []any{
			slog.String("request_id", rid), slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("duration", d), slog.Int("bytes", sw.bytes),
		}
		if a := authFrom(r.Context()); a != nil {
			attrs = append(attrs, slog.String("program_id", a.Program.ID), slog.String("key", a.Key.Prefix))
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		s.Log.Log(r.Context(), level, "request", attrs...)
	})
}

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
// about which keys exist.
func (s *Server) authenticate(acc access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		plain = strings.TrimSpace(plain)
		kind, valid := referral.ParseAPIKey(plain)
		if !ok || !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="advocate"`)
			s.writeError(w, r, errUnauthorized)
			return
		}
		key, err := s.DB.APIKeyByHash(r.Context(), referral.HashAPIKey(plain))
		if errors.Is(err, store.ErrKeyNotFound) || (err == nil && key.Kind != kind) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="advocate"`)
			s.writeError(w, r, errUnauthorized)
			return
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		prog, err := s.DB.Program(r.Context(), key.ProgramID)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), keyAuth, &auth{Key: key, Program: prog}))
		if acc == secretOnly && key.Kind != referral.SecretKey {
			s.writeError(w, r, errSecretKeyRequired)
			return
		}
		if s.limiter != nil {
			if wait, ok := s.limiter.allow(key.ID); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
				s.writeError(w, r, referral.Errorf(referral.KindTooMany, "rate_limited",
					"Too many requests for this API key; retry after the time in the Retry-After header."))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// recorder keeps a copy of a response so that idempotency can store it.
type recorder struct {
	statusWriter
	buf bytes.Buffer
}

func (w *recorder) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.statusWriter.Write(b)
}

// idempotent implements Idempotency-Key on POST: the first request with a
// key runs and its response is stored; a retry with the same key and body
// gets that response again (Idempotent-Replayed: true); the same key with
// another body is a 422, and a retry while the first is running is a 409.
// Responses of 5xx are not stored, so the client's retry runs afresh.
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
		hash := hex.EncodeToString(sum.Sum(nil))
		programID := program(r).ID
		rec, claimed, err := s.DB.ClaimIdempotencyKey(r.Context(), programID, ikey, hash, s.Config.IdempotencyStale)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !claimed {
			switch {
			case rec.RequestHash != hash:
				s.writeError(w, r, referral.Errorf(referral.KindInvalid, "idempotency_key_reused",
					"This Idempotency-Key was used with a different request; use a new key for a new request."))
			case !rec.Done:
				s.writeError(w, r, referral.Errorf(referral.KindConflict, "idempotency_key_in_use",
					"A request with this Idempotency-Key is still being processed; retry shortly."))
			default:
				w.Header().Set("Content-Type", rec.ContentType)
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(rec.Status)
				w.Write(rec.Body)
			}
			return
		}
		rw := &recorder{statusWriter: statusWriter{ResponseWriter: w}}
		completed := false
		defer func() {
			if !completed { // a panic: let the client's retry run again
				s.DB.ReleaseIdempotencyKey(context.WithoutCancel(r.Context()), programID, ikey)
			}
		}()
		next.ServeHTTP(rw, r)
		ctx := context.WithoutCancel(r.Context())
		if rw.status >= 500 || rw.status == 0 {
			err = s.DB.ReleaseIdempotencyKey(ctx, programID, ikey)
		} else {
			err = s.DB.CompleteIdempotencyKey(ctx, programID, ikey, rw.status, rw.Header().Get("Content-Type"), rw.buf.Bytes())
		}
		completed = true
		if err != nil {
			s.Log.ErrorContext(ctx, "store idempotent response", "err", err, "request_id", requestID(ctx))
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
