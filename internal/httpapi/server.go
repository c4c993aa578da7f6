// Package httpapi serves Advocate's REST API (/v1), its health and metrics
// endpoints and the OpenAPI document. routes.go lists every route.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// Config holds what the API needs beyond its store.
type Config struct {
	// BaseURL is Advocate's public URL, used in short links.
	BaseURL string
	// RateLimit is requests per second allowed per API key (0: unlimited),
	// with bursts of RateBurst.
	RateLimit int
	RateBurst int
	// IdempotencyStale is how long an unfinished Idempotency-Key claim
	// blocks retries before another request may take it over.
	IdempotencyStale time.Duration
}

// Server is the API: handlers are its methods.
type Server struct {
	DB      *store.DB
	Log     *slog.Logger
	Config  Config
	limiter *limiter
	metrics *metrics
	reg     *prometheus.Registry
}

// New returns a Server with its own Prometheus registry.
func New(db *store.DB, log *slog.Logger, cfg Config) *Server {
	if cfg.IdempotencyStale == 0 {
		cfg.IdempotencyStale = time.Minute
	}
	reg := prometheus.NewRegistry()
	s := &Server{DB: db, Log: log, Config: cfg, reg: reg, metrics: newMetrics(reg, db)}
	if cfg.RateLimit > 0 {
		s.limiter = newLimiter(cfg.RateLimit, max(cfg.RateBurst, cfg.RateLimit), db.Now)
	}
	return s
}

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
