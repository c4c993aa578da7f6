package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/track"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, db *store.DB, clicks *track.Recorder) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "advocate_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "advocate_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "advocate_clicks_dropped_total",
			Help: "Clicks lost because the click buffer was full."}, func() float64 { return float64(clicks.Dropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "advocate_clicks_failed_total",
			Help: "Clicks whose batch could not be written."}, func() float64 { return float64(clicks.Failed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "advocate_clicks_queued",
			Help: "Clicks waiting to be written."}, func() float64 { return float64(clicks.Queued()) }),
	)
	reg.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db.WriteStats(), "write"), collectors.NewDBStatsCollector(db.ReadStats(), "read"))
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Metrics serves the metrics in Prometheus' text format.
func (s *Server) Metrics(w http.ResponseWriter, r *http.Request) error {
	promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}).ServeHTTP(w, r)
	return nil
}

var errMetricsToken = referral.Errorf(referral.KindUnauthorized, "invalid_metrics_token",
	"Send the metrics token (--metrics-token) as 'Authorization: Bearer <token>'.")

// metricsToken lets through only a scraper presenting the configured
// bearer token: the metrics name routes, pool sizes and traffic, which
// outsiders need not see. The token's hashes are compared, in constant
// time and whatever the lengths.
func (s *Server) metricsToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(s.Config.MetricsToken))
		if subtle.ConstantTimeCompare(a[:], b[:]) != 1 || !bearer {
			w.Header().Set("WWW-Authenticate", `Bearer realm="advocate-metrics"`)
			s.writeError(w, r, errMetricsToken)
			return
		}
		next.ServeHTTP(w, r)
	})
}
