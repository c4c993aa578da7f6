package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/web"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

func parse(name string, args []string, stderr io.Writer, bind func(*flag.FlagSet)) error {
	fs := flag.NewFlagSet("advocate "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bind(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return nil
}

// openDB opens the configured database and applies migrations.
func openDB(ctx context.Context, c *config) (*store.DB, error) {
	if len(c.envErrs) > 0 {
		return nil, errors.Join(c.envErrs...)
	}
	db, err := store.Open(ctx, c.DB, c.storeOptions()...)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if db.Secrets, err = c.secrets(db.Engine); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// secrets is the box integration secrets are sealed with: from
// --encryption-key, else (SQLite only) from encryption.key beside the
// database, made on first use so that the zero-config start can connect
// Stripe. PostgreSQL serves several nodes, which must share one key: there
// it must be configured, and without it no secret can be stored (the API
// and dashboard say so).
func (c *config) secrets(engine store.Engine) (*secrets.Box, error) {
	if c.EncryptionKey != "" {
		key, err := secrets.ParseKey(c.EncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("--encryption-key: %w", err)
		}
		return secrets.New(key)
	}
	if engine != store.SQLite {
		return nil, nil
	}
	key, _, err := secrets.LoadOrCreateKeyFile(filepath.Join(filepath.Dir(c.DB), "encryption.key"))
	if err != nil {
		return nil, fmt.Errorf("encryption key file: %w", err)
	}
	return secrets.New(key)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	if err := parse("serve", args, stderr, c.serveFlags); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log := c.logger(stderr)
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// A listener for /metrics that only the scraper can reach, as
	// Prometheus exporters usually have; it needs no token.
	var mln net.Listener
	if c.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
		defer mln.Close()
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + ln.Addr().String()
	}
	log.Info("starting", "config", c.String(), "engine", db.Engine)
	if db.Secrets == nil {
		log.Warn("no --encryption-key: integration secrets cannot be stored, so Stripe cannot be connected; set the same key on every node")
	}
	if mln != nil {
		log.Info("metrics", "addr", mln.Addr().String())
	}
	if err := bootstrap(ctx, db, &c, stdout); err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "\nAdvocate is running at %s\n  Dashboard: %s/dashboard/\n  API:       %s/v1\n  OpenAPI:   %s/openapi.yaml\n\n", c.BaseURL, c.BaseURL, c.BaseURL, c.BaseURL)

	// The clock of the API, the dashboard and the workers; tests of those
	// parts pass their own.
	now := time.Now
	// Webhook endpoints must resolve to public addresses (SSRF), in the API
	// and the dashboard alike, unless the operator allows private ones.
	guard := webhooks.Guard{AllowPrivate: c.WebhookAllowPrivate}
	api := httpapi.New(db, log, httpapi.Config{BaseURL: c.BaseURL, RateLimit: c.RateLimit, RateBurst: c.RateBurst,
		IPRateLimit: c.IPRateLimit, IPRateBurst: c.IPRateBurst, Proxies: c.proxies,
		MetricsToken: c.MetricsToken, Now: now, CheckWebhookHost: guard.CheckHost})
	dash := dashboard.New(db, log, dashboard.Config{BaseURL: c.BaseURL, Proxies: c.proxies, Now: now, CheckWebhookHost: guard.CheckHost,
		EmailEnabled: c.smtp != nil, EmailFrom: c.EmailFrom, StripeSync: api.Stripe})
	dash.OnLinksChanged = api.ForgetLinks
	srv := &http.Server{
		Handler:           web.Handler(api, dash),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// The workers stop when serve returns for any reason, not only on a
	// signal: an early Serve failure must not leave serve waiting on them.
	workCtx, stopWork := context.WithCancel(ctx)
	var workers sync.WaitGroup
	workers.Go(func() { purgeIdempotencyKeys(workCtx, db, log, now) })
	workers.Go(func() { releaseRewards(workCtx, db, log, now, time.Minute) })
	// Webhooks: events from the outbox to the endpoints, signed, through
	// the Guard's client (the address actually dialled must be public).
	deliverer := &webhooks.Deliverer{Store: db, Client: guard.Client(webhooks.Timeout), Render: api.EventBody, Now: now, Log: log,
		Busy: api.Writing}
	workers.Go(func() { deliverer.Run(workCtx) })
	// Email: queued by the deliverer's dispatch from the same outbox, sent
	// by the mailer; without SMTP nothing is queued.
	if c.smtp != nil {
		db.Emails = true
		mailer := &email.Mailer{Store: db, Sender: c.smtp, BaseURL: c.BaseURL, Now: now, Log: log}
		workers.Go(func() { mailer.Run(workCtx) })
	}
	// Stripe: syncs started from the dashboard or the API run in the
	// background of this node; rewards are applied in Stripe from the
	// outbox (queued by the deliverer's dispatch).
	// Stripe's API is called through the Guard's client too: a program's
	// api_base_url must resolve to a public address (SSRF), unless
	// --webhook-allow-private.
	api.Stripe.Now, api.Stripe.HTTP = now, guard.Client(stripe.DefaultTimeout)
	workers.Go(func() { api.Stripe.Run(workCtx) })
	applier := &stripe.Applier{Store: db, Now: now, Log: log, HTTP: guard.Client(stripe.DefaultTimeout)}
	workers.Go(func() { applier.Run(workCtx) })
	// Clicks are written until the HTTP server has drained, then flushed.
	clicksCtx, stopClicks := context.WithCancel(context.WithoutCancel(ctx))
	workers.Go(func() { api.Run(clicksCtx) })
	// Deferred calls run last first: stop the click writer, wait for every
	// worker, and only then (deferred earlier) close the database.
	defer workers.Wait()
	defer stopClicks()
	defer stopWork()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if mln != nil {
		msrv := &http.Server{Handler: web.MetricsHandler(api), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go msrv.Serve(mln)
		defer msrv.Close()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// SIGTERM: stop accepting, let in-flight requests finish (each commits
	// or rolls back whole), then close the database.
	log.Info("shutting down", "timeout", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// bootstrap makes the first admin and a first program on an empty database
// and prints how to use them. Secrets are printed once and never stored in
// plaintext.
func bootstrap(ctx context.Context, db *store.DB, c *config, stdout io.Writer) error {
	n, err := db.AdminCount(ctx)
	if err != nil || n > 0 {
		return err
	}
	programs, err := db.Programs(ctx)
	if err != nil {
		return err
	}
	password := rand.Text()
	var first *referral.Program
	if len(programs) == 0 {
		if first, err = referral.NewProgram("My referral program", "USD", "https://example.com"); err != nil {
			return err
		}
	}
	created, err := db.FirstStart(ctx, c.AdminEmail, password, first)
	if err != nil {
		return err
	}
	prog, sk, pk := created.Program, created.SecretKey, created.Publishable
	fmt.Fprintf(stdout, "First start: created the first admin and a first program.\n\n")
	fmt.Fprintf(stdout, "  Dashboard login:  %s\n  Password:         %s\n", c.AdminEmail, password)
	if prog != nil {
		fmt.Fprintf(stdout, "  Program:          %s (%s, %s, %s)\n", prog.Name, prog.ID, prog.Currency, prog.WebsiteURL)
		fmt.Fprintf(stdout, "  Secret key:       %s\n  Publishable key:  %s\n", sk, pk)
		fmt.Fprintf(stdout, "\nThese are shown only once. Set your website with:\n")
		fmt.Fprintf(stdout, "  curl -X PUT %s/v1/program -H \"Authorization: Bearer %s\" -H \"Content-Type: application/json\" -d '{\"website_url\":\"https://yoursite.com\"}'\n", c.BaseURL, sk)
	}
	return nil
}

// purgeIdempotencyKeys forgets Idempotency-Key records after 25 hours, an
// hour past the 24 that clients are promised.
func purgeIdempotencyKeys(ctx context.Context, db *store.DB, log *slog.Logger, now func() time.Time) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := db.PurgeIdempotencyKeys(ctx, now().Add(-25*time.Hour)); err != nil && ctx.Err() == nil {
			log.Error("purge idempotency keys", "err", err)
		} else if n > 0 {
			log.Info("purged idempotency keys", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
