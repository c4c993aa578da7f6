// Package httpapi serves Advocate's REST API (/v1), short links, the
// browser SDK, the health and metrics endpoints and the OpenAPI document.
// Its handlers are exported methods of Server so that the one list of
// every URL, internal/web/routes.go, can name them; api/openapi.yaml
// documents each.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/integrations/stripesync"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/track"
)

// Config holds what the API needs beyond its store.
type Config struct {
	// BaseURL is Advocate's public URL, used in short links.
	BaseURL string
	// RateLimit is requests per second allowed per secret API key (0:
	// unlimited), with bursts of RateBurst. Publishable keys are limited
	// per visitor address instead (IPRateLimit).
	RateLimit int
	RateBurst int
	// IdempotencyStale is how long an unfinished Idempotency-Key claim
	// blocks retries before another request may take it over.
	IdempotencyStale time.Duration
	// IPRateLimit is requests per second allowed per client address and
	// program on browser endpoints (publishable keys, click beacons); 0
	// for none. Bursts of IPRateBurst.
	IPRateLimit int
	IPRateBurst int
	// Proxies are the reverse proxies trusted to report the client's
	// address; the zero value trusts none.
	Proxies clientip.Proxies
	// LinkCacheTTL is how long a resolved short-link code is reused.
	LinkCacheTTL time.Duration
	// MetricsToken, when set, serves GET /metrics on the API's own
	// listener to requests with "Authorization: Bearer <MetricsToken>".
	// Unset, /metrics is not served there (404); web.MetricsHandler serves
	// it on a separate, private listener instead.
	MetricsToken string
	// CheckWebhookHost refuses a webhook endpoint whose host is not a
	// public address (webhooks.Guard.CheckHost), on creation and when its
	// URL changes. serve always sets it (with --webhook-allow-private
	// carried in the Guard); unset, as in tests that do not look at
	// hosts, any host is accepted.
	CheckWebhookHost func(ctx context.Context, host string) error
	// Now is the clock (default time.Now); tests pass one they move, the
	// same one the store stamps rows with.
	Now func() time.Time
}

// The defaults of the rate limits, which serve uses. A secret key gets
// Stripe's live-mode budget of 100 requests a second, with ten seconds of
// it as a burst so that a backend may start a bulk sync at full speed; a
// visitor's browser needs a few requests per page view.
const (
	DefaultRateLimit   = 100
	DefaultRateBurst   = 1000
	DefaultIPRateLimit = 20
	DefaultIPRateBurst = 60
)

// Server is the API: handlers are its methods.
type Server struct {
	DB     *store.DB
	Log    *slog.Logger
	Config Config
	// Stripe receives and syncs Stripe events; serve runs it (Run) and
	// shares it with the dashboard.
	Stripe     *stripesync.Service
	limiter    *limiter
	ipLimiter  *limiter
	metrics    *metrics
	reg        *prometheus.Registry
	clicks     *track.Recorder
	links      *track.Resolver
	preflights map[string]bool // paths with an OPTIONS route
	inFlight   sync.Map        // program id + Idempotency-Key of requests running on this node
	writing    atomic.Int64    // requests that may change something, running now (Writing)
	quiet      map[string]bool // routes logged only on errors
}

// New returns a Server with its own Prometheus registry.
func New(db *store.DB, log *slog.Logger, cfg Config) *Server {
	if cfg.IdempotencyStale == 0 {
		cfg.IdempotencyStale = time.Minute
	}
	if cfg.LinkCacheTTL == 0 {
		cfg.LinkCacheTTL = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	reg := prometheus.NewRegistry()
	s := &Server{DB: db, Log: log, Config: cfg, reg: reg, preflights: map[string]bool{}, quiet: map[string]bool{},
		clicks: track.NewRecorder(db, log),
		links:  track.NewResolver(db.ResolveCode, db.DefaultWebsite, cfg.Now, cfg.LinkCacheTTL)}
	s.metrics = newMetrics(reg, db, s.clicks)
	s.Stripe = &stripesync.Service{DB: db, Now: cfg.Now, Log: log}
	if cfg.RateLimit > 0 {
		s.limiter = newLimiter(cfg.RateLimit, max(cfg.RateBurst, cfg.RateLimit), cfg.Now)
	}
	if cfg.IPRateLimit > 0 {
		s.ipLimiter = newLimiter(cfg.IPRateLimit, max(cfg.IPRateBurst, cfg.IPRateLimit), cfg.Now)
	}
	return s
}

// now is the server's clock (Config.Now).
func (s *Server) now() time.Time { return s.Config.Now() }

// Run does the server's background work until ctx ends: writing buffered
// clicks. It writes what is still buffered before it returns.
func (s *Server) Run(ctx context.Context) { s.clicks.Run(ctx) }

// ForgetLinks drops codes from the short-link cache after they changed;
// with none, it drops every code (a program's website changed).
func (s *Server) ForgetLinks(codes ...string) { s.links.Forget(codes...) }

// FlushClicks writes the clicks buffered so far; tests and load tests call
// it before counting.
func (s *Server) FlushClicks(ctx context.Context) { s.clicks.Flush(ctx) }

// Registry is where the server's metrics live; serve adds its own.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

type ctxKey int

const (
	keyAuth ctxKey = iota
	keyRequestID
)

// auth is the API key a request was made with and its program.
type auth struct {
	Key     *referral.APIKey
	Program *referral.Program
}

func authFrom(ctx context.Context) *auth {
	a, _ := ctx.Value(keyAuth).(*auth)
	return a
}

// program returns the program of the request's API key.
func program(r *http.Request) *referral.Program { return authFrom(r.Context()).Program }

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}
