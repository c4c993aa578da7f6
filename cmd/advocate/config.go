package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
)

// config is every setting of the binary, with defaults that run with zero
// configuration. Each comes from its flag, else ADVOCATE_<NAME>, else the
// default.
type config struct {
	Addr              string
	DB                string
	BaseURL           string
	LogFormat         string
	LogLevel          string
	RateLimit         int
	RateBurst         int
	ShutdownTimeout   time.Duration
	AdminEmail        string
	IPRateLimit       int
	IPRateBurst       int
	TrustForwardedFor bool
	MetricsAddr       string // a private listener for /metrics; "" for none
	MetricsToken      string // bearer token for /metrics on Addr; "" keeps it off there
	TrustedProxies    string
	SQLiteWALVFS      bool // the SQLite writer's log through internal/walvfs
	// WebhookAllowPrivate lets webhook endpoints resolve to private,
	// loopback and link-local addresses (webhooks.Guard.AllowPrivate).
	WebhookAllowPrivate bool
	// SMTPURL turns email notifications on: smtp://user:pass@host:587
	// (STARTTLS) or smtps://…:465; EmailFrom is their sender.
	SMTPURL   string
	EmailFrom string
	// EncryptionKey seals integration secrets (Stripe keys) in the
	// database; "" uses a key file beside a SQLite database.
	EncryptionKey string
	smtp          *email.SMTP      // SMTPURL, checked by validate
	proxies       clientip.Proxies // TrustedProxies or TrustForwardedFor, parsed by validate

	envErrs []error // malformed ADVOCATE_* values, reported by validate
}

// flags binds the settings every command shares to fs.
func (c *config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.DB, "db", env("DB", "advocate-data/advocate.db"), "SQLite file path or postgres:// URL (ADVOCATE_DB)")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "text"), "log format: text or json (ADVOCATE_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn, error (ADVOCATE_LOG_LEVEL)")
	fs.StringVar(&c.EncryptionKey, "encryption-key", env("ENCRYPTION_KEY", ""), "32 random bytes in base64 (openssl rand -base64 32) that seal integration secrets such as Stripe keys; the same on every node (ADVOCATE_ENCRYPTION_KEY; default: SQLite keeps a generated key in encryption.key beside the database, PostgreSQL stores no secrets)")
	fs.BoolVar(&c.SQLiteWALVFS, "sqlite-wal-vfs", c.envBool("SQLITE_WAL_VFS", true), "SQLite: write each commit's log frames in a few system calls (internal/walvfs); false uses SQLite's own unix VFS (ADVOCATE_SQLITE_WAL_VFS)")
}

// storeOptions are the settings that reach store.Open.
func (c *config) storeOptions() []store.Option {
	return []store.Option{store.SQLiteWALVFS(c.SQLiteWALVFS)}
}

// serveFlags binds the settings only serve uses.
func (c *config) serveFlags(fs *flag.FlagSet) {
	c.flags(fs)
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (ADVOCATE_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", env("BASE_URL", ""), "public URL of this server, for short links (ADVOCATE_BASE_URL; default http://ADDR)")
	fs.IntVar(&c.RateLimit, "rate-limit", c.envInt("RATE_LIMIT", httpapi.DefaultRateLimit), "requests per second per secret API key, 0 for none (ADVOCATE_RATE_LIMIT)")
	fs.IntVar(&c.RateBurst, "rate-burst", c.envInt("RATE_BURST", httpapi.DefaultRateBurst), "burst size per secret API key (ADVOCATE_RATE_BURST)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.envDuration("SHUTDOWN_TIMEOUT", 30*time.Second), "how long in-flight requests may finish on SIGTERM (ADVOCATE_SHUTDOWN_TIMEOUT)")
	fs.IntVar(&c.IPRateLimit, "ip-rate-limit", c.envInt("IP_RATE_LIMIT", httpapi.DefaultIPRateLimit), "browser requests (publishable key, click beacons) per second per client address and program, 0 for none (ADVOCATE_IP_RATE_LIMIT)")
	fs.IntVar(&c.IPRateBurst, "ip-rate-burst", c.envInt("IP_RATE_BURST", httpapi.DefaultIPRateBurst), "burst size per client address (ADVOCATE_IP_RATE_BURST)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "reverse proxies whose X-Forwarded-For is believed: a number of hops, or addresses and CIDR ranges such as 10.0.0.0/8,127.0.0.1 (ADVOCATE_TRUSTED_PROXIES; default none)")
	fs.BoolVar(&c.TrustForwardedFor, "trust-forwarded-for", env("TRUST_FORWARDED_FOR", "") == "true", "shorthand for --trusted-proxies=1: one proxy in front (ADVOCATE_TRUST_FORWARDED_FOR=true)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", env("METRICS_ADDR", ""), "serve /metrics without a token on this private address, e.g. 127.0.0.1:9090 (ADVOCATE_METRICS_ADDR; default none)")
	fs.StringVar(&c.MetricsToken, "metrics-token", env("METRICS_TOKEN", ""), "serve /metrics on --addr to requests with this bearer token (ADVOCATE_METRICS_TOKEN; default: not served there)")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", c.envBool("WEBHOOK_ALLOW_PRIVATE", false), "let webhook endpoints resolve to private, loopback and link-local addresses, for internal receivers and tests; off to prevent SSRF (ADVOCATE_WEBHOOK_ALLOW_PRIVATE)")
	fs.StringVar(&c.SMTPURL, "smtp-url", env("SMTP_URL", ""), "send email notifications through this server: smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465 (ADVOCATE_SMTP_URL; default: no email)")
	fs.StringVar(&c.EmailFrom, "email-from", env("EMAIL_FROM", ""), "sender of email notifications, such as \"Acme <rewards@acme.example>\"; required with --smtp-url (ADVOCATE_EMAIL_FROM)")
	fs.StringVar(&c.AdminEmail, "admin-email", env("ADMIN_EMAIL", "admin@advocate.localhost"), "email of the first admin, made on an empty database (ADVOCATE_ADMIN_EMAIL)")
}

// validate checks settings at start and fills derived defaults.
func (c *config) validate() error {
	if len(c.envErrs) > 0 {
		return errors.Join(c.envErrs...)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	if c.RateLimit < 0 || c.RateBurst < 1 || c.IPRateLimit < 0 || c.IPRateBurst < 1 {
		return fmt.Errorf("--rate-limit and --ip-rate-limit must be ≥ 0, --rate-burst and --ip-rate-burst ≥ 1")
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return fmt.Errorf("--metrics-token must be at least 16 characters")
	}
	proxies, err := clientip.Parse(c.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.TrustForwardedFor {
		if c.TrustedProxies != "" {
			return fmt.Errorf("--trust-forwarded-for is short for --trusted-proxies=1; set only one of them")
		}
		proxies = clientip.Hops(1)
	}
	c.proxies = proxies
	if c.SMTPURL != "" {
		if c.EmailFrom == "" {
			return fmt.Errorf("--email-from (ADVOCATE_EMAIL_FROM) is required with --smtp-url: the address emails are sent from")
		}
		if c.smtp, err = email.NewSMTP(c.SMTPURL, c.EmailFrom); err != nil {
			return fmt.Errorf("--smtp-url: %w", err)
		}
	} else if c.EmailFrom != "" {
		return fmt.Errorf("--email-from needs --smtp-url (ADVOCATE_SMTP_URL): no email is sent without an SMTP server")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return nil
}

func (c *config) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// String shows the settings with secrets masked, for the start-up log.
func (c *config) String() string {
	metrics := "off"
	switch {
	case c.MetricsAddr != "" && c.MetricsToken != "":
		metrics = c.MetricsAddr + "+token"
	case c.MetricsAddr != "":
		metrics = c.MetricsAddr
	case c.MetricsToken != "":
		metrics = "token"
	}
	smtp := "off"
	if c.smtp != nil {
		smtp = c.smtp.String()
	}
	return fmt.Sprintf("addr=%s db=%s base_url=%s rate_limit=%d/s burst=%d trusted_proxies=%q metrics=%s sqlite_wal_vfs=%t webhook_allow_private=%t smtp=%s email_from=%q", c.Addr, store.Redacted(c.DB), c.BaseURL, c.RateLimit, c.RateBurst, c.proxies, metrics, c.SQLiteWALVFS, c.WebhookAllowPrivate, smtp, c.EmailFrom)
}

func env(name, def string) string {
	if v, ok := os.LookupEnv("ADVOCATE_" + name); ok {
		return v
	}
	return def
}

func (c *config) envInt(name string, def int) int {
	if v, ok := os.LookupEnv("ADVOCATE_" + name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("ADVOCATE_%s=%q is not a whole number", name, v))
		}
		return n
	}
	return def
}

func (c *config) envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv("ADVOCATE_" + name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("ADVOCATE_%s=%q is not true or false", name, v))
		}
		return b
	}
	return def
}

func (c *config) envDuration(name string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv("ADVOCATE_" + name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			c.envErrs = append(c.envErrs, fmt.Errorf("ADVOCATE_%s=%q is not a duration such as 30s", name, v))
		}
		return d
	}
	return def
}
