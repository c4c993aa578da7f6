package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/integrations/stripe/stripetest"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
)

// TestStripeSync replays missed events from (a fake of) Stripe's events
// API: each is applied once, oldest first, and a second run applies
// nothing; the key file beside the SQLite database opens the secrets the
// way serve sealed them.
func TestStripeSync(t *testing.T) {
	dir := t.TempDir()
	dsn := filepath.Join(dir, "advocate.db")
	p := createProgramJSON(t, dsn)
	fake := stripetest.NewServer(t)

	// Connect as serve would, with the key every command made beside the
	// database on first use.
	key, created, err := secrets.LoadOrCreateKeyFile(filepath.Join(dir, "encryption.key"))
	if err != nil || created {
		t.Fatalf("key file: created now %v, %v; want it made by program create", created, err)
	}
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if db.Secrets, err = secrets.New(key); err != nil {
		t.Fatal(err)
	}
	whsec, sk, base := "whsec_cli_sync_test", stripetest.SecretKey, fake.URL
	if _, err := db.ConnectStripe(t.Context(), p.ProgramID, store.StripeSettings{WebhookSecret: &whsec, SecretKey: &sk, APIBaseURL: &base}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	now := time.Now()
	fake.AddEvent(stripetest.NewEvent("evt_1", "customer.created", now.Add(-50*time.Hour), map[string]any{
		"id": "cus_1", "object": "customer", "email": "ada@example.com", "name": "Ada", "metadata": map[string]any{}}))
	fake.AddEvent(stripetest.NewEvent("evt_2", "checkout.session.completed", now.Add(-49*time.Hour), map[string]any{
		"id": "cs_1", "object": "checkout.session", "mode": "payment", "payment_status": "paid", "status": "complete",
		"amount_total": 3000, "currency": "eur", "customer": "cus_1", "payment_intent": "pi_1", "metadata": map[string]any{},
		"customer_details": map[string]any{"email": "ada@example.com", "name": "Ada"}}))
	fake.AddEvent(stripetest.NewEvent("evt_3", "charge.refunded", now.Add(-48*time.Hour), map[string]any{
		"id": "ch_1", "object": "charge", "amount": 3000, "amount_refunded": 1000, "currency": "eur", "payment_intent": "pi_1",
		"refunded": false}))
	// Older than --since: not asked for.
	fake.AddEvent(stripetest.NewEvent("evt_0", "customer.created", now.Add(-100*time.Hour), map[string]any{
		"id": "cus_0", "object": "customer", "email": "old@example.com", "metadata": map[string]any{}}))

	since := now.Add(-72 * time.Hour).UTC().Format(time.RFC3339)
	out, errOut, err := runCmd(t, "stripe", "sync", "--db", dsn, "--since", since, "--webhook-allow-private")
	if err != nil {
		t.Fatalf("stripe sync: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "3 events since") || !strings.Contains(out, "3 applied, 0 already applied") {
		t.Errorf("first sync printed %q", out)
	}
	if !strings.Contains(errOut, "3/3 events") {
		t.Errorf("no progress bar: %q", errOut)
	}
	// Without the flag, the fake's loopback address is refused (SSRF).
	_, _, err = runCmd(t, "stripe", "sync", "--db", dsn, "--since", since)
	wantErr(t, err, "public")
	out = mustRun(t, "stripe", "sync", "--db", dsn, "--since", since, "--webhook-allow-private")
	if !strings.Contains(out, "0 applied, 3 already applied") {
		t.Errorf("second sync printed %q", out)
	}

	db, err = store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	txn, err := db.Transaction(t.Context(), p.ProgramID, "pi_1")
	if err != nil || txn.Amount != 3000 || txn.Refunded != 1000 || txn.CustomerKey != "cus_1" {
		t.Fatalf("the synced payment: %+v %v", txn, err)
	}
	if _, err := db.Customer(t.Context(), p.ProgramID, "cus_0"); err == nil {
		t.Error("an event before --since was applied")
	}

	if out := mustRun(t, "verify", "--db", dsn); !strings.Contains(out, "ledger OK") {
		t.Errorf("verify after the sync: %q", out)
	}
	_, _, err = runCmd(t, "stripe", "sync", "--db", dsn)
	wantErr(t, err, "--since")
	_, _, err = runCmd(t, "stripe", "sync", "--db", dsn, "--since", now.AddDate(0, 0, -40).Format(time.DateOnly))
	wantErr(t, err, "30 days")
	_, _, err = runCmd(t, "stripe", "sync", "--db", dsn, "--since", since, "--program", "prg_nope")
	wantErr(t, err, "not connected")
	other := filepath.Join(t.TempDir(), "other.db")
	createProgramJSON(t, other)
	_, _, err = runCmd(t, "stripe", "sync", "--db", other, "--since", since)
	wantErr(t, err, "no program is connected to Stripe")
}
