package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/integrations/stripesync"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// stripeSync replays what Stripe sent while Advocate was down: it pages
// through Stripe's events API since a date and applies each event exactly
// once (events already applied are recorded and skipped), printing a
// progress bar.
func stripeSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var since, programID string
	var allowPrivate bool
	err := parse("stripe sync", args, stderr, func(fs *flag.FlagSet) {
		c.flags(fs)
		fs.BoolVar(&allowPrivate, "webhook-allow-private", c.envBool("WEBHOOK_ALLOW_PRIVATE", false), "let the program's Stripe API base URL resolve to a private or loopback address, as serve's flag does (ADVOCATE_WEBHOOK_ALLOW_PRIVATE)")
		fs.StringVar(&since, "since", "", "replay events created at or after this date (2026-12-01) or time (RFC 3339); at most 30 days ago (required)")
		fs.StringVar(&programID, "program", "", "the program whose Stripe events to replay (default: the only program connected to Stripe)")
	})
	if err != nil {
		return err
	}
	from, ok := stripesync.ParseSince(since)
	if !ok {
		return fmt.Errorf("--since must be a date such as %s or an RFC 3339 time", time.Now().AddDate(0, 0, -3).Format(time.DateOnly))
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	if programID == "" {
		if programID, err = onlyStripeProgram(ctx, db); err != nil {
			return err
		}
	}
	// Stripe's API through the SSRF guard, as serve calls it: a program's
	// api_base_url must be public unless --webhook-allow-private.
	guard := webhooks.Guard{AllowPrivate: allowPrivate}
	svc := &stripesync.Service{DB: db, HTTP: guard.Client(stripe.DefaultTimeout),
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	bar := progressBar{w: stderr}
	rep, err := svc.Sync(ctx, programID, from, bar.update)
	bar.end()
	if err != nil {
		return fmt.Errorf("stripe sync: %w", err)
	}
	fmt.Fprintf(stdout, "%d events since %s: %d applied, %d already applied, %d ignored, %d not applicable\n",
		rep.Fetched, from.Format(time.RFC3339), rep.Applied, rep.Replays, rep.Ignored, len(rep.Errors))
	for _, e := range rep.Errors {
		fmt.Fprintln(stdout, "  not applied:", e)
	}
	return nil
}

// onlyStripeProgram is the program connected to Stripe when exactly one is.
func onlyStripeProgram(ctx context.Context, db *store.DB) (string, error) {
	programs, err := db.Programs(ctx)
	if err != nil {
		return "", err
	}
	var connected []string
	for _, p := range programs {
		_, err := db.StripeIntegration(ctx, p.ID)
		if errors.Is(err, store.ErrStripeNotConnected) {
			continue
		}
		if err != nil {
			return "", err
		}
		connected = append(connected, p.ID)
	}
	switch len(connected) {
	case 0:
		return "", errors.New("no program is connected to Stripe: connect one in the dashboard (Integrations) or with PUT /v1/integrations/stripe")
	case 1:
		return connected[0], nil
	}
	return "", fmt.Errorf("several programs are connected to Stripe (%s): choose one with --program", strings.Join(connected, ", "))
}

// progressBar draws "[#####.....] 120/400" on one terminal line.
type progressBar struct {
	w     io.Writer
	drawn bool
	last  time.Time
}

func (b *progressBar) update(done, total int) {
	now := time.Now()
	if done < total && now.Sub(b.last) < 100*time.Millisecond {
		return
	}
	b.last = now
	const width = 30
	filled := width
	if total > 0 {
		filled = done * width / total
	}
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d events", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
	b.drawn = true
}

func (b *progressBar) end() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
