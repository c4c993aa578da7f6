package store_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

const (
	testWebhookSecret = "whsec_plaintext_webhook_1234"
	testSecretKey     = "sk_test_plaintext_key_5678"
)

// withSecrets gives db a box with a fresh key, as serve does.
func withSecrets(t *testing.T, db *store.DB) {
	t.Helper()
	key, err := secrets.ParseKey(secrets.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	if db.Secrets, err = secrets.New(key); err != nil {
		t.Fatal(err)
	}
}

// stripeProgram is a program connected to Stripe, on a stepping clock.
func stripeProgram(t *testing.T, db *store.DB) *referral.Program {
	t.Helper()
	stepClock(db, time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC))
	withSecrets(t, db)
	p := newProgram(t, db)
	if _, err := db.ConnectStripe(t.Context(), p.ID, store.StripeSettings{WebhookSecret: ptr(testWebhookSecret)}); err != nil {
		t.Fatal(err)
	}
	return p
}

func newRule(t *testing.T, db *store.DB, r rewards.Rule) {
	t.Helper()
	r.Active = true
	if r.Unit == "" {
		r.Unit, r.Currency = rewards.Fixed, "USD"
	}
	if _, err := db.CreateRule(t.Context(), r); err != nil {
		t.Fatal(err)
	}
}

func stripeEvent(id, typ string) *stripe.Event {
	return &stripe.Event{ID: id, Type: typ, Created: time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)}
}

// applyStripe applies an event and fails the test on error.
func applyStripe(t *testing.T, db *store.DB, p *referral.Program, id string, ch stripe.Change) store.StripeApplied {
	t.Helper()
	out, err := db.ApplyStripeEvent(t.Context(), p, stripeEvent(id, "test.event"), ch)
	if err != nil {
		t.Fatalf("apply %s: %v", id, err)
	}
	return out
}

func purchase(key string, party stripe.Party, amount int64, aliases ...string) stripe.Change {
	return stripe.Change{Payment: &stripe.Payment{Party: party, Key: key, Aliases: aliases, Type: rewards.Purchase,
		Amount: amount, Currency: "USD", OccurredAt: time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)}}
}

// rowCounts counts the rows a payment, refund or customer writes.
func rowCounts(t *testing.T, db *store.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"customers", "transactions", "refunds", "rewards", "ledger_entries", "events",
		"stripe_events", "stripe_customers", "stripe_payments", "stripe_charges", "stripe_disputes"} {
		out[table] = count(t, db, table)
	}
	return out
}

// exceptEventRecords drops the record of Stripe events from a fingerprint:
// an event that changes nothing else is still recorded as received.
func exceptEventRecords(fp map[string]int64) map[string]int64 {
	delete(fp, "stripe_events")
	return fp
}

func mustCustomer(t *testing.T, db *store.DB, p *referral.Program, key string) *referral.Customer {
	t.Helper()
	c, err := db.Customer(t.Context(), p.ID, key)
	if err != nil {
		t.Fatalf("customer %q: %v", key, err)
	}
	return c
}

func mustTransaction(t *testing.T, db *store.DB, p *referral.Program, key string) *rewards.Transaction {
	t.Helper()
	tr, err := db.Transaction(t.Context(), p.ID, key)
	if err != nil {
		t.Fatalf("transaction %q: %v", key, err)
	}
	return tr
}

// boundTo returns the key of the customer a Stripe customer is bound to.
func boundTo(t *testing.T, db *store.DB, stripeID string) string {
	t.Helper()
	var key string
	err := db.WriteStats().QueryRowContext(t.Context(), `SELECT c.key FROM stripe_customers s JOIN customers c ON c.id = s.customer_id
		WHERE s.stripe_customer_id = $1`, stripeID).Scan(&key)
	if err != nil {
		t.Fatalf("binding of %s: %v", stripeID, err)
	}
	return key
}

func TestStripeConnectValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		withSecrets(t, db)
		p := newProgram(t, db)
		cases := []struct {
			name        string
			in          store.StripeSettings
			code, field string
		}{
			{"no webhook secret", store.StripeSettings{SecretKey: ptr(testSecretKey)}, "invalid_webhook_secret", "webhook_secret"},
			{"empty webhook secret", store.StripeSettings{WebhookSecret: ptr("  ")}, "invalid_webhook_secret", "webhook_secret"},
			{"webhook secret without whsec_", store.StripeSettings{WebhookSecret: ptr("sec_123")}, "invalid_webhook_secret", "webhook_secret"},
			{"bare whsec_", store.StripeSettings{WebhookSecret: ptr("whsec_")}, "invalid_webhook_secret", "webhook_secret"},
			{"webhook secret with a space", store.StripeSettings{WebhookSecret: ptr("whsec_a b")}, "invalid_webhook_secret", "webhook_secret"},
			{"publishable key", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), SecretKey: ptr("pk_test_123")}, "invalid_secret_key", "secret_key"},
			{"not a key", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), SecretKey: ptr("key_123")}, "invalid_secret_key", "secret_key"},
			{"ftp base URL", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), APIBaseURL: ptr("ftp://api.stripe.com")}, "invalid_api_base_url", "api_base_url"},
			{"relative base URL", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), APIBaseURL: ptr("/v1")}, "invalid_api_base_url", "api_base_url"},
			{"base URL with a query", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), APIBaseURL: ptr("https://proxy.example?x=1")}, "invalid_api_base_url", "api_base_url"},
			{"apply rewards without a key", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), ApplyRewards: ptr(true)}, "secret_key_required", "secret_key"},
			{"apply rewards, key removed", store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), SecretKey: ptr(""), ApplyRewards: ptr(true)}, "secret_key_required", "secret_key"},
		}
		for _, c := range cases {
			_, err := db.ConnectStripe(ctx, p.ID, c.in)
			e, ok := referral.AsError(err)
			if !ok || e.Code != c.code || e.Kind != referral.KindInvalid || e.Fields[c.field] == "" {
				t.Errorf("%s: got %v (fields %v), want %s on %s", c.name, err, e, c.code, c.field)
			}
			if c.code == "invalid_secret_key" && strings.HasPrefix(*c.in.SecretKey, "pk_") && !strings.Contains(e.Message, "publishable") {
				t.Errorf("%s: message %q does not say publishable keys cannot be used", c.name, e.Message)
			}
			if n := count(t, db, "stripe_integrations"); n != 0 {
				t.Fatalf("%s: %d integrations written", c.name, n)
			}
		}
		// An update that fails changes nothing either.
		if _, err := db.ConnectStripe(ctx, p.ID, store.StripeSettings{WebhookSecret: ptr(testWebhookSecret)}); err != nil {
			t.Fatal(err)
		}
		before := rawIntegration(t, db, p.ID)
		for _, c := range cases[2:] {
			c.in.WebhookSecret = nil
			if c.field == "webhook_secret" {
				c.in.WebhookSecret = ptr("nope")
			}
			_, err := db.ConnectStripe(ctx, p.ID, c.in)
			wantCode(t, err, c.code)
			if after := rawIntegration(t, db, p.ID); !maps.Equal(before, after) {
				t.Errorf("%s: a refused update changed the row: %v -> %v", c.name, before, after)
			}
		}
	})
}

// rawIntegration reads a program's integration row as stored, every
// column as text.
func rawIntegration(t *testing.T, db *store.DB, programID string) map[string]string {
	t.Helper()
	cols := []string{"webhook_secret", "secret_key", "apply_rewards", "api_base_url", "events_received", "last_event_at",
		"last_event_type", "last_error", "updated_at"}
	vals := make([]any, len(cols))
	for i := range vals {
		vals[i] = new(any)
	}
	if err := db.WriteStats().QueryRowContext(t.Context(), `SELECT `+strings.Join(cols, ", ")+
		` FROM stripe_integrations WHERE program_id = $1`, programID).Scan(vals...); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, c := range cols {
		v := *(vals[i].(*any))
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		if v == nil {
			v = "NULL"
		}
		out[c] = fmt.Sprint(v)
	}
	return out
}

func TestStripeConnectSealsSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		withSecrets(t, db)
		p := newProgram(t, db)
		got, err := db.ConnectStripe(ctx, p.ID, store.StripeSettings{WebhookSecret: ptr(" " + testWebhookSecret + " "),
			SecretKey: ptr(testSecretKey), ApplyRewards: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if got.WebhookSecret != testWebhookSecret || got.SecretKey != testSecretKey || !got.ApplyRewards ||
			got.APIBaseURL != store.DefaultStripeAPIBaseURL {
			t.Errorf("connected: %+v", got)
		}
		raw := rawIntegration(t, db, p.ID)
		for col, v := range raw {
			if strings.Contains(v, "plaintext") {
				t.Errorf("column %s holds a secret in the clear: %q", col, v)
			}
		}
		if !strings.HasPrefix(raw["webhook_secret"], "v1:") || !strings.HasPrefix(raw["secret_key"], "v1:") {
			t.Errorf("secrets not sealed: %v", raw)
		}
		// Nothing else holds them either: the outbox, idempotency keys.
		for _, table := range []string{"events", "idempotency_keys"} {
			var n int
			q := `SELECT COUNT(*) FROM ` + table + ` WHERE ` + map[string]string{"events": "data", "idempotency_keys": "body"}[table] + ` LIKE '%plaintext%'`
			if err := db.WriteStats().QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%s holds a secret in the clear", table)
			}
		}
		read, err := db.StripeIntegration(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if read.WebhookSecret != testWebhookSecret || read.SecretKey != testSecretKey {
			t.Errorf("read back: %+v", read)
		}
		// Another key cannot open them.
		withSecrets(t, db)
		if _, err := db.StripeIntegration(ctx, p.ID); !errors.Is(err, store.ErrEncryptionKeyMismatch) {
			t.Errorf("opened with another key: %v", err)
		}
	})
}

func TestStripeConnectNeedsEncryptionKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		_, err := db.ConnectStripe(t.Context(), p.ID, store.StripeSettings{WebhookSecret: ptr(testWebhookSecret)})
		if !errors.Is(err, store.ErrEncryptionKeyRequired) {
			t.Errorf("connect without a key: %v", err)
		}
		// Not connected is not connected, key or no key.
		if _, err := db.StripeIntegration(t.Context(), p.ID); !errors.Is(err, store.ErrStripeNotConnected) {
			t.Errorf("read without a key: %v", err)
		}
		if n := count(t, db, "stripe_integrations"); n != 0 {
			t.Errorf("%d integrations written", n)
		}
		// Connected, the secrets cannot be read without the key.
		withSecrets(t, db)
		if _, err := db.ConnectStripe(t.Context(), p.ID, store.StripeSettings{WebhookSecret: ptr(testWebhookSecret)}); err != nil {
			t.Fatal(err)
		}
		db.Secrets = nil
		if _, err := db.StripeIntegration(t.Context(), p.ID); !errors.Is(err, store.ErrEncryptionKeyRequired) {
			t.Errorf("read a connected integration without a key: %v", err)
		}
	})
}

func TestStripeUpdateKeepsOmittedSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		withSecrets(t, db)
		p := newProgram(t, db)
		if _, err := db.ConnectStripe(ctx, p.ID, store.StripeSettings{WebhookSecret: ptr(testWebhookSecret), SecretKey: ptr(testSecretKey)}); err != nil {
			t.Fatal(err)
		}
		sealed := rawIntegration(t, db, p.ID)
		got, err := db.ConnectStripe(ctx, p.ID, store.StripeSettings{ApplyRewards: ptr(true), APIBaseURL: ptr("http://127.0.0.1:9999/")})
		if err != nil {
			t.Fatal(err)
		}
		if got.WebhookSecret != testWebhookSecret || got.SecretKey != testSecretKey || !got.ApplyRewards || got.APIBaseURL != "http://127.0.0.1:9999" {
			t.Errorf("after update: %+v", got)
		}
		if now := rawIntegration(t, db, p.ID); now["webhook_secret"] != sealed["webhook_secret"] || now["secret_key"] != sealed["secret_key"] {
			t.Error("omitted secrets were sealed again or changed")
		}
		// Removing the key while rewards are applied is refused; with them off it is done.
		_, err = db.ConnectStripe(ctx, p.ID, store.StripeSettings{SecretKey: ptr("")})
		wantCode(t, err, "secret_key_required")
		got, err = db.ConnectStripe(ctx, p.ID, store.StripeSettings{SecretKey: ptr(""), ApplyRewards: ptr(false), WebhookSecret: ptr("whsec_new")})
		if err != nil {
			t.Fatal(err)
		}
		if got.SecretKey != "" || got.WebhookSecret != "whsec_new" || got.ApplyRewards || got.APIBaseURL != "http://127.0.0.1:9999" {
			t.Errorf("after removing the key: %+v", got)
		}
		if raw := rawIntegration(t, db, p.ID); raw["secret_key"] != "" {
			t.Errorf("secret key still stored: %q", raw["secret_key"])
		}
	})
}

func TestStripeDisconnect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		applyStripe(t, db, p, "evt_c", stripe.Change{Customer: &stripe.Party{StripeCustomerID: "cus_1", Email: "ann@example.com"}})
		if err := db.DisconnectStripe(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.StripeIntegration(ctx, p.ID); !errors.Is(err, store.ErrStripeNotConnected) {
			t.Errorf("read after disconnect: %v", err)
		}
		if err := db.DisconnectStripe(ctx, p.ID); !errors.Is(err, store.ErrStripeNotConnected) {
			t.Errorf("disconnect again: %v", err)
		}
		if err := db.RecordStripeError(ctx, p.ID, "x"); !errors.Is(err, store.ErrStripeNotConnected) {
			t.Errorf("error of a disconnected program: %v", err)
		}
		if boundTo(t, db, "cus_1") != "cus_1" || count(t, db, "stripe_events") != 1 {
			t.Error("disconnecting dropped the bindings or the history")
		}
	})
}

func TestStripeErrorAndSync(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		if err := db.RecordStripeError(ctx, p.ID, "signature: "+strings.Repeat("é", 2000)); err != nil {
			t.Fatal(err)
		}
		since := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
		if err := db.StartStripeSync(ctx, p.ID, since); err != nil {
			t.Fatal(err)
		}
		if err := db.StartStripeSync(ctx, p.ID, since); !errors.Is(err, store.ErrStripeSyncRunning) {
			t.Errorf("second sync: %v", err)
		}
		if err := db.StripeSyncProgress(ctx, p.ID, 3, 10, "running", ""); err != nil {
			t.Fatal(err)
		}
		s, err := db.StripeIntegration(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.LastError == "" || utf8.RuneCountInString(s.LastError) > 1000 || s.LastErrorAt == nil {
			t.Errorf("last error: %q at %v", s.LastError, s.LastErrorAt)
		}
		if s.Sync.Status != "running" || s.Sync.Done != 3 || s.Sync.Total != 10 || !s.Sync.Since.Equal(since) || s.Sync.StartedAt == nil {
			t.Errorf("sync: %+v", s.Sync)
		}
		// A sync whose heartbeat stopped is stale: it reads as failed and another may start.
		later := db.Now().Add(3 * time.Minute)
		db.Now = func() time.Time { return later }
		if s, _ := db.StripeIntegration(ctx, p.ID); s.Sync.Status != "failed" {
			t.Errorf("stale sync reads %q", s.Sync.Status)
		}
		if err := db.StartStripeSync(ctx, p.ID, since); err != nil {
			t.Fatalf("start over a stale sync: %v", err)
		}
		if err := db.StripeSyncProgress(ctx, p.ID, 10, 10, "done", ""); err != nil {
			t.Fatal(err)
		}
		if s, _ := db.StripeIntegration(ctx, p.ID); s.Sync.Status != "done" || s.Sync.FinishedAt == nil || s.Sync.Done != 10 {
			t.Errorf("finished sync: %+v", s.Sync)
		}
		if err := db.StartStripeSync(ctx, p.ID, since); err != nil {
			t.Errorf("start after a finished sync: %v", err)
		}
	})
}

func TestStripeEventReplay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		newRule(t, db, rewards.Rule{ProgramID: p.ID, Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Amount: 1000, Recurrence: rewards.Every})
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com"})
		ch := purchase("pi_1", stripe.Party{StripeCustomerID: "cus_1", Email: "ann@example.com", ReferralCode: jane.ReferralCode}, 5000, "cs_1")
		first := applyStripe(t, db, p, "evt_1", ch)
		if first.Replay || first.Outcome != "applied" || first.TransactionKey != "pi_1" || first.CustomerKey != "cus_1" {
			t.Errorf("first: %+v", first)
		}
		before, integ := rowCounts(t, db), rawIntegration(t, db, p.ID)
		if before["transactions"] != 1 || before["rewards"] != 1 {
			t.Fatalf("first delivery wrote %v", before)
		}
		// The same id again, even meaning something else now, changes nothing.
		for _, again := range []stripe.Change{ch, purchase("pi_2", stripe.Party{StripeCustomerID: "cus_2"}, 100)} {
			out := applyStripe(t, db, p, "evt_1", again)
			if !out.Replay || out.Outcome != "applied" {
				t.Errorf("replay: %+v", out)
			}
		}
		if after := rowCounts(t, db); !maps.Equal(before, after) {
			t.Errorf("replay wrote rows: %v -> %v", before, after)
		}
		if after := rawIntegration(t, db, p.ID); !maps.Equal(integ, after) {
			t.Errorf("replay counted: %v -> %v", integ, after)
		}
		s, err := db.StripeIntegration(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.EventsReceived != 1 || s.LastEventType != "test.event" || s.LastEventAt == nil {
			t.Errorf("integration: %+v", s)
		}
		verifyLedger(t, db)
	})
}

func TestStripeWhoIsWho(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		newRule(t, db, rewards.Rule{ProgramID: p.ID, Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Amount: 500, Recurrence: rewards.First})
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane"})
		bob := newCustomer(t, db, p, referral.NewCustomer{Key: "bob", Email: "bob@example.com", Name: "Bob"})
		n := 0
		pay := func(party stripe.Party) store.StripeApplied {
			t.Helper()
			n++
			key := "pi_" + string(rune('a'+n))
			out := applyStripe(t, db, p, "evt_"+key, purchase(key, party, 2000))
			if out.Outcome != "applied" {
				t.Fatalf("payment %s: %+v", key, out)
			}
			if tr := mustTransaction(t, db, p, key); tr.CustomerKey != out.CustomerKey {
				t.Errorf("payment %s recorded for %s, reported %s", key, tr.CustomerKey, out.CustomerKey)
			}
			return out
		}

		// 1. The metadata key names our customer, whatever else the party says.
		if out := pay(stripe.Party{StripeCustomerID: "cus_J", CustomerKey: "jane", Email: "bob@example.com"}); out.CustomerKey != "jane" {
			t.Errorf("metadata key: paid by %s", out.CustomerKey)
		}
		if boundTo(t, db, "cus_J") != "jane" {
			t.Error("cus_J not bound to jane")
		}
		// A key naming no one yet creates that customer.
		if out := pay(stripe.Party{StripeCustomerID: "cus_K", CustomerKey: "user_42", Email: "bob@example.com", Name: "Kim"}); out.CustomerKey != "user_42" {
			t.Errorf("new metadata key: paid by %s", out.CustomerKey)
		}
		if c := mustCustomer(t, db, p, "user_42"); c.Email != "" || c.Name != "Kim" {
			t.Errorf("user_42 got bob's email or lost the name: %+v", c)
		}
		// 2. A bound Stripe customer is its customer.
		if out := pay(stripe.Party{StripeCustomerID: "cus_J", Email: "someone@example.com"}); out.CustomerKey != "jane" {
			t.Errorf("binding: paid by %s", out.CustomerKey)
		}
		// 3. Else the same email, as the API normalises it.
		if out := pay(stripe.Party{StripeCustomerID: "cus_B", Email: "  BOB@Example.COM "}); out.CustomerKey != "bob" {
			t.Errorf("email match: paid by %s", out.CustomerKey)
		}
		if boundTo(t, db, "cus_B") != "bob" {
			t.Error("cus_B not bound to bob")
		}
		// 4. Else a new customer keyed by the Stripe id, referred by the code.
		signups := count(t, db, "rewards")
		carol := pay(stripe.Party{StripeCustomerID: "cus_C", Email: "carol@example.com", Name: "Carol",
			ReferralCode: " " + strings.ToLower(jane.ReferralCode) + " "})
		c := mustCustomer(t, db, p, carol.CustomerKey)
		if c.Key != "cus_C" || c.Email != "carol@example.com" || c.Name != "Carol" || c.ReferrerKey != "jane" || c.ReferralCode == "" {
			t.Errorf("new customer: %+v", c)
		}
		if count(t, db, "rewards") != signups+1 {
			t.Error("the signup rule did not fire for a customer created from Stripe")
		}
		var links int
		if err := db.WriteStats().QueryRowContext(ctx, `SELECT COUNT(*) FROM referral_links WHERE customer_id = $1 AND code = $2`,
			c.ID, c.ReferralCode).Scan(&links); err != nil || links != 1 {
			t.Errorf("default link of the new customer: %d, %v", links, err)
		}
		// An unknown code is ignored.
		if out := pay(stripe.Party{StripeCustomerID: "cus_D", ReferralCode: "NO-SUCH-CODE"}); mustCustomer(t, db, p, out.CustomerKey).ReferrerID != "" {
			t.Error("unknown code gave a referrer")
		}
		// A code over the length limit too.
		if out := pay(stripe.Party{StripeCustomerID: "cus_D2", ReferralCode: strings.Repeat("X", 100)}); mustCustomer(t, db, p, out.CustomerKey).ReferrerID != "" {
			t.Error("long code gave a referrer")
		}
		// Self-referral (the same person by email identity) is refused as the API refuses it.
		self := pay(stripe.Party{StripeCustomerID: "cus_E", Email: "jane+shop@example.com", ReferralCode: jane.ReferralCode})
		if c := mustCustomer(t, db, p, self.CustomerKey); c.ReferrerID != "" || c.Email != "jane+shop@example.com" {
			t.Errorf("self-referral: %+v", c)
		}
		// An email we refuse is left out; a long name is cut on a character.
		odd := pay(stripe.Party{StripeCustomerID: "cus_F", Email: "not an email", Name: strings.Repeat("é", 300) + "\x00\xff"})
		if c := mustCustomer(t, db, p, odd.CustomerKey); c.Email != "" || utf8.RuneCountInString(c.Name) != 200 || !utf8.ValidString(c.Name) {
			t.Errorf("odd customer: email %q, name of %d characters", c.Email, utf8.RuneCountInString(c.Name))
		}
		// A guest checkout is keyed by its fallback.
		if out := pay(stripe.Party{FallbackKey: "cs_guest", Email: "guest@example.com"}); out.CustomerKey != "cs_guest" {
			t.Errorf("guest: %s", out.CustomerKey)
		}
		// A customer Stripe told us of before the checkout with the code
		// (customer.created comes first) still gets the referrer.
		applyStripe(t, db, p, "evt_cus_G", stripe.Change{Customer: &stripe.Party{StripeCustomerID: "cus_G", Email: "gil@example.com"}})
		if out := pay(stripe.Party{StripeCustomerID: "cus_G", ReferralCode: bob.ReferralCode}); mustCustomer(t, db, p, out.CustomerKey).ReferrerKey != "bob" {
			t.Error("a found customer without a referrer did not get the code's owner")
		}
		// ... but a referrer is never changed.
		if out := pay(stripe.Party{StripeCustomerID: "cus_G", ReferralCode: jane.ReferralCode}); mustCustomer(t, db, p, out.CustomerKey).ReferrerKey != "bob" {
			t.Error("the referrer changed")
		}
		// A deleted customer is not found by email; their binding goes.
		if _, err := db.DeleteCustomer(ctx, p.ID, "cus_D"); err != nil {
			t.Fatal(err)
		}
		if out := pay(stripe.Party{StripeCustomerID: "cus_D", Email: "dee@example.com"}); out.CustomerKey != "cus_D" || boundTo(t, db, "cus_D") != "cus_D" {
			t.Errorf("after deleting cus_D: %+v", out)
		}
		verifyLedger(t, db)
	})
}

func TestStripeCustomerEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := stripeProgram(t, db)
		newCustomer(t, db, p, referral.NewCustomer{Key: "bob", Email: "bob@example.com"})
		out := applyStripe(t, db, p, "evt_1", stripe.Change{Customer: &stripe.Party{StripeCustomerID: "cus_1", Email: "ann@example.com", Name: "Ann"}})
		if out.Outcome != "applied" || out.CustomerKey != "cus_1" {
			t.Errorf("created: %+v", out)
		}
		// customer.updated: name and email follow; an email another customer has is left alone.
		applyStripe(t, db, p, "evt_2", stripe.Change{Customer: &stripe.Party{StripeCustomerID: "cus_1", Email: "ann.b@example.com", Name: "Ann B"}})
		if c := mustCustomer(t, db, p, "cus_1"); c.Email != "ann.b@example.com" || c.Name != "Ann B" {
			t.Errorf("updated: %+v", c)
		}
		applyStripe(t, db, p, "evt_3", stripe.Change{Customer: &stripe.Party{StripeCustomerID: "cus_1", Email: "bob@example.com", Name: "Ann C"}})
		if c := mustCustomer(t, db, p, "cus_1"); c.Email != "ann.b@example.com" || c.Name != "Ann C" {
			t.Errorf("updated with bob's email: %+v", c)
		}
		// An event that changes nothing adds no customer.updated.
		updates := count(t, db, "events")
		applyStripe(t, db, p, "evt_4", stripe.Change{Signup: &stripe.Party{StripeCustomerID: "cus_1", Email: "not valid", Name: "Ann C"}})
		if count(t, db, "events") != updates || count(t, db, "customers") != 2 {
			t.Error("an unchanged customer was written")
		}
		// A party naming no one is recorded, not failed.
		if out := applyStripe(t, db, p, "evt_5", stripe.Change{Customer: &stripe.Party{}}); out.Outcome != "no_customer" {
			t.Errorf("nobody: %+v", out)
		}
		verifyLedger(t, db)
	})
}

func TestStripePaymentAliases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		party := stripe.Party{StripeCustomerID: "cus_1", Email: "ann@example.com"}
		out := applyStripe(t, db, p, "evt_1", purchase("pi_1", party, 5000, "cs_1"))
		tr := mustTransaction(t, db, p, "pi_1")
		if out.TransactionKey != "pi_1" || tr.Amount != 5000 || tr.Currency != "USD" || tr.Type != rewards.Purchase ||
			!tr.OccurredAt.Equal(time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)) {
			t.Errorf("transaction: %+v", tr)
		}
		if tr.Metadata["stripe_event"] != "evt_1" || tr.Metadata["source"] != "stripe" {
			t.Errorf("metadata: %v", tr.Metadata)
		}
		// The same payment from other events (async_payment_succeeded, its
		// invoice) is not recorded again.
		before := count(t, db, "transactions")
		if out := applyStripe(t, db, p, "evt_2", purchase("pi_1", party, 5000, "cs_1")); out.Outcome != "already_recorded" || out.Replay {
			t.Errorf("same payment again: %+v", out)
		}
		invoice := purchase("in_1", party, 5000, "pi_1", "ch_1")
		if out := applyStripe(t, db, p, "evt_3", invoice); out.Outcome != "already_recorded" || out.TransactionKey != "pi_1" {
			t.Errorf("its invoice: %+v", out)
		}
		if count(t, db, "transactions") != before {
			t.Fatal("a payment was recorded twice")
		}
		// A refund naming the invoice's charge finds the checkout's payment.
		refund := stripe.Change{Refund: &stripe.Refund{ChargeID: "ch_1", AmountRefunded: 500, Amount: 5000, Currency: "USD"}}
		if out := applyStripe(t, db, p, "evt_4", refund); out.TransactionKey != "pi_1" || out.Outcome != "applied" {
			t.Errorf("refund by charge: %+v", out)
		}
		// basil: invoice_payment.paid names the invoice's payment before invoice.paid.
		applyStripe(t, db, p, "evt_5", stripe.Change{Link: &stripe.Link{Key: "in_2", Aliases: []string{"pi_2", "ch_2"}}})
		sub := purchase("in_2", party, 3000)
		sub.Payment.Type, sub.Payment.BillingReason, sub.Payment.SubscriptionID = rewards.Subscription, "subscription_create", "sub_1"
		if out := applyStripe(t, db, p, "evt_6", sub); out.Outcome != "applied" {
			t.Errorf("invoice after its link: %+v", out)
		}
		if tr := mustTransaction(t, db, p, "in_2"); tr.Metadata["billing_reason"] != "subscription_create" || tr.Metadata["stripe_subscription"] != "sub_1" {
			t.Errorf("invoice metadata: %v", tr.Metadata)
		}
		if out := applyStripe(t, db, p, "evt_7", stripe.Change{Refund: &stripe.Refund{ChargeID: "ch_2", AmountRefunded: 3000, Currency: "USD"}}); out.TransactionKey != "in_2" {
			t.Errorf("refund by linked charge: %+v", out)
		}
		if tr := mustTransaction(t, db, p, "in_2"); tr.Refunded != 3000 {
			t.Errorf("refunded %d", tr.Refunded)
		}
		// Payments that cannot be a transaction are recorded as events only.
		fp := exceptEventRecords(storetest.Fingerprint(t, db))
		bad := purchase("pi_bad", party, 0)
		if out := applyStripe(t, db, p, "evt_8", bad); out.Outcome != "invalid_payment" {
			t.Errorf("zero amount: %+v", out)
		}
		bad = purchase("pi_bad", party, 100)
		bad.Payment.Currency = "usd"
		if out := applyStripe(t, db, p, "evt_9", bad); out.Outcome != "unsupported_currency" {
			t.Errorf("bad currency: %+v", out)
		}
		if !maps.Equal(fp, exceptEventRecords(storetest.Fingerprint(t, db))) {
			t.Error("a refused payment wrote")
		}
		_ = ctx
		verifyLedger(t, db)
	})
}

func TestStripeSubscriptionRenewals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := stripeProgram(t, db)
		newRule(t, db, rewards.Rule{ProgramID: p.ID, Trigger: rewards.Subscription, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Amount: 300, Recurrence: rewards.Every, MaxCount: 2})
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com"})
		party := stripe.Party{StripeCustomerID: "cus_F", Email: "friend@example.com", ReferralCode: jane.ReferralCode}
		// checkout.session.completed in subscription mode: the customer, no payment.
		if out := applyStripe(t, db, p, "evt_cs", stripe.Change{Signup: &party}); out.CustomerKey != "cus_F" {
			t.Fatalf("signup: %+v", out)
		}
		if n := count(t, db, "transactions"); n != 0 {
			t.Fatalf("a subscription checkout recorded %d transactions", n)
		}
		invoice := func(id, reason string) {
			t.Helper()
			ch := stripe.Change{Payment: &stripe.Payment{Party: stripe.Party{StripeCustomerID: "cus_F"}, Key: id, Type: rewards.Subscription,
				Amount: 2000, Currency: "USD", SubscriptionID: "sub_1", BillingReason: reason}}
			if out := applyStripe(t, db, p, "evt_"+id, ch); out.Outcome != "applied" || out.CustomerKey != "cus_F" {
				t.Fatalf("invoice %s: %+v", id, out)
			}
		}
		invoice("in_1", "subscription_create")
		if n := count(t, db, "transactions"); n != 1 {
			t.Fatalf("checkout and first invoice: %d transactions", n)
		}
		invoice("in_2", "subscription_cycle")
		invoice("in_3", "subscription_cycle")
		if n := count(t, db, "transactions"); n != 3 {
			t.Errorf("%d transactions", n)
		}
		rws, _, err := db.Rewards(t.Context(), p.ID, store.RewardFilter{CustomerID: jane.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(rws) != 2 {
			t.Errorf("max_count 2: jane has %d rewards", len(rws))
		}
		verifyLedger(t, db)
	})
}

func TestStripeRefundBeforePayment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		refund := stripe.Change{Refund: &stripe.Refund{ChargeID: "ch_1", PaymentIntentID: "pi_1", AmountRefunded: 1000, Amount: 5000, Currency: "USD"}}
		dispute := stripe.Change{Dispute: &stripe.Dispute{ID: "dp_1", ChargeID: "ch_1", PaymentIntentID: "pi_1", Amount: 5000, Currency: "USD"}}
		before, integ := rowCounts(t, db), rawIntegration(t, db, p.ID)
		for id, ch := range map[string]stripe.Change{"evt_r": refund, "evt_d": dispute} {
			_, err := db.ApplyStripeEvent(ctx, p, stripeEvent(id, "charge.refunded"), ch)
			if !errors.Is(err, store.ErrStripePaymentUnknown) {
				t.Errorf("%s before its payment: %v", id, err)
			}
		}
		// A link alone is no payment.
		applyStripe(t, db, p, "evt_l", stripe.Change{Link: &stripe.Link{Key: "in_9", Aliases: []string{"ch_9"}}})
		if _, err := db.ApplyStripeEvent(ctx, p, stripeEvent("evt_r9", "charge.refunded"),
			stripe.Change{Refund: &stripe.Refund{ChargeID: "ch_9", AmountRefunded: 1, Currency: "USD"}}); !errors.Is(err, store.ErrStripePaymentUnknown) {
			t.Errorf("refund of a linked payment not received: %v", err)
		}
		after := rowCounts(t, db)
		after["stripe_events"]--
		after["stripe_payments"] -= 2
		if !maps.Equal(before, after) {
			t.Errorf("refused events wrote: %v -> %v", before, after)
		}
		if raw := rawIntegration(t, db, p.ID); raw["events_received"] != "1" || integ["events_received"] != "0" {
			t.Errorf("events received: %v", raw["events_received"])
		}
		// Stripe's retry, after the payment, applies it.
		applyStripe(t, db, p, "evt_p", purchase("pi_1", stripe.Party{StripeCustomerID: "cus_1"}, 5000))
		if out := applyStripe(t, db, p, "evt_r", refund); out.Replay || out.Outcome != "applied" {
			t.Errorf("retried refund: %+v", out)
		}
		if tr := mustTransaction(t, db, p, "pi_1"); tr.Refunded != 1000 {
			t.Errorf("refunded %d", tr.Refunded)
		}
		verifyLedger(t, db)
	})
}

func TestStripePartialRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := stripeProgram(t, db)
		newRule(t, db, rewards.Rule{ProgramID: p.ID, Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Unit: rewards.Percentage, Amount: 1000, Recurrence: rewards.Every})
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com"})
		applyStripe(t, db, p, "evt_p", purchase("pi_1", stripe.Party{StripeCustomerID: "cus_1", ReferralCode: jane.ReferralCode}, 5000))
		refund := func(id string, cumulative int64) store.StripeApplied {
			t.Helper()
			return applyStripe(t, db, p, id, stripe.Change{Refund: &stripe.Refund{ChargeID: "ch_1", PaymentIntentID: "pi_1",
				AmountRefunded: cumulative, Amount: 5000, Currency: "USD", RefundIDs: []string{"re_1"}}})
		}
		refund("evt_r1", 1000)
		before := rowCounts(t, db)
		if out := refund("evt_r1", 1000); !out.Replay {
			t.Errorf("redelivery: %+v", out)
		}
		if !maps.Equal(before, rowCounts(t, db)) {
			t.Error("a redelivered refund wrote")
		}
		refund("evt_r2", 1500)
		before = rowCounts(t, db)
		if out := refund("evt_r3", 1500); out.Replay || out.Outcome != "nothing_new" {
			t.Errorf("same figure, new event: %+v", out)
		}
		// An older figure arriving late does nothing either.
		if out := refund("evt_r0", 1000); out.Outcome != "nothing_new" {
			t.Errorf("older figure: %+v", out)
		}
		after := rowCounts(t, db)
		after["stripe_events"] -= 2
		if !maps.Equal(before, after) {
			t.Errorf("a seen figure wrote: %v -> %v", before, after)
		}
		tr := mustTransaction(t, db, p, "pi_1")
		if tr.Refunded != 1500 {
			t.Errorf("refunded %d, want 1500", tr.Refunded)
		}
		var amounts []int64
		rows, err := db.WriteStats().QueryContext(t.Context(), `SELECT amount FROM refunds ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a int64
			rows.Scan(&a)
			amounts = append(amounts, a)
		}
		rows.Close()
		if len(amounts) != 2 || amounts[0] != 1000 || amounts[1] != 500 {
			t.Errorf("refunds %v, want [1000 500]", amounts)
		}
		// 10% of 5000 is 500; 30% refunded claws back 150.
		if len(tr.Rewards) != 1 || tr.Rewards[0].Net() != 350 {
			t.Errorf("rewards after partial refunds: %+v", tr.Rewards)
		}
		// Past the whole amount nothing more than the rest is refunded.
		refund("evt_r4", 9000)
		if tr := mustTransaction(t, db, p, "pi_1"); tr.Refunded != 5000 {
			t.Errorf("refunded %d, want 5000", tr.Refunded)
		}
		verifyLedger(t, db)
	})
}

func TestStripeDispute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		newRule(t, db, rewards.Rule{ProgramID: p.ID, Trigger: rewards.Purchase, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Unit: rewards.Percentage, Amount: 1000, Recurrence: rewards.Every, HoldingDays: 30})
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@example.com"})
		applyStripe(t, db, p, "evt_p1", purchase("pi_1", stripe.Party{StripeCustomerID: "cus_1", ReferralCode: jane.ReferralCode}, 5000))
		applyStripe(t, db, p, "evt_p2", purchase("pi_2", stripe.Party{StripeCustomerID: "cus_1"}, 4000))
		// A dispute of part of the payment (the rest was refunded, say): a
		// second claw-back would still find something to take.
		dispute := &stripe.Dispute{ID: "dp_1", ChargeID: "ch_1", PaymentIntentID: "pi_1", Amount: 2000, Currency: "USD", Status: "needs_response"}
		if out := applyStripe(t, db, p, "evt_d1", stripe.Change{Dispute: dispute}); out.Outcome != "applied" || out.TransactionKey != "pi_1" {
			t.Errorf("opened: %+v", out)
		}
		held := func(key string) bool {
			t.Helper()
			tr := mustTransaction(t, db, p, key)
			if len(tr.Rewards) != 1 {
				t.Fatalf("%s has %d rewards", key, len(tr.Rewards))
			}
			return tr.Rewards[0].NeedsApproval
		}
		if !held("pi_1") || held("pi_2") {
			t.Error("the dispute held the wrong rewards")
		}
		var disputed []store.Event
		for _, e := range events(t, db, p.ID) {
			if e.Type == "transaction.disputed" {
				disputed = append(disputed, e)
			}
		}
		if len(disputed) != 1 || disputed[0].Data["dispute_id"] != "dp_1" || disputed[0].Data["key"] != "pi_1" ||
			disputed[0].Data["currency"] != "USD" {
			t.Errorf("transaction.disputed events: %+v", disputed)
		}
		// The holding job releases the other payment's reward, never the disputed one.
		if _, err := db.ReleaseDueRewards(ctx, db.Now().Add(31*24*time.Hour), 100); err != nil {
			t.Fatal(err)
		}
		if tr := mustTransaction(t, db, p, "pi_1"); tr.Rewards[0].Status != rewards.Pending {
			t.Errorf("disputed reward released: %s", tr.Rewards[0].Status)
		}
		if tr := mustTransaction(t, db, p, "pi_2"); tr.Rewards[0].Status != rewards.Available {
			t.Errorf("undisputed reward: %s", tr.Rewards[0].Status)
		}
		// Lost: clawed back once, whatever the redeliveries.
		lost := *dispute
		lost.Status, lost.Closed, lost.Lost = "lost", true, true
		if out := applyStripe(t, db, p, "evt_d2", stripe.Change{Dispute: &lost}); out.Outcome != "applied" {
			t.Errorf("lost: %+v", out)
		}
		before := rowCounts(t, db)
		if out := applyStripe(t, db, p, "evt_d3", stripe.Change{Dispute: &lost}); out.Outcome != "nothing_new" {
			t.Errorf("lost again: %+v", out)
		}
		// A late charge.dispute.created holds nothing more.
		if out := applyStripe(t, db, p, "evt_d4", stripe.Change{Dispute: dispute}); out.Outcome != "nothing_new" {
			t.Errorf("late opened: %+v", out)
		}
		after := rowCounts(t, db)
		after["stripe_events"] -= 2
		if !maps.Equal(before, after) {
			t.Errorf("a lost dispute redelivered wrote: %v -> %v", before, after)
		}
		tr := mustTransaction(t, db, p, "pi_1")
		if tr.Refunded != 2000 || tr.Rewards[0].Reversed != 200 { // 10% of 5000, 2000 of it refunded
			t.Errorf("after the lost dispute: refunded %d, reward reversed %d", tr.Refunded, tr.Rewards[0].Reversed)
		}
		var reason string
		if err := db.WriteStats().QueryRowContext(ctx, `SELECT reason FROM refunds`).Scan(&reason); err != nil || reason != "dispute lost: dp_1" {
			t.Errorf("refund reason %q, %v", reason, err)
		}
		// A won dispute changes nothing by itself.
		won := &stripe.Dispute{ID: "dp_2", ChargeID: "ch_2", PaymentIntentID: "pi_2", Amount: 4000, Currency: "USD", Status: "won", Closed: true}
		if out := applyStripe(t, db, p, "evt_d5", stripe.Change{Dispute: won}); out.Outcome != "nothing_new" {
			t.Errorf("won: %+v", out)
		}
		if tr := mustTransaction(t, db, p, "pi_2"); tr.Refunded != 0 {
			t.Errorf("won dispute refunded %d", tr.Refunded)
		}
		verifyLedger(t, db)
	})
}

func TestStripeIgnore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := stripeProgram(t, db)
		fp, rows := exceptEventRecords(storetest.Fingerprint(t, db)), rowCounts(t, db)
		out, err := db.ApplyStripeEvent(ctx, p, stripeEvent("evt_1", "checkout.session.completed"),
			stripe.Change{Ignore: "mode_setup", Detail: "A setup session takes no payment."})
		if err != nil {
			t.Fatal(err)
		}
		if out.Replay || out.Outcome != "mode_setup" {
			t.Errorf("ignored: %+v", out)
		}
		if !maps.Equal(fp, exceptEventRecords(storetest.Fingerprint(t, db))) {
			t.Error("an ignored event wrote")
		}
		after := rowCounts(t, db)
		if after["stripe_events"] != rows["stripe_events"]+1 {
			t.Error("the ignored event was not recorded")
		}
		var outcome string
		if err := db.WriteStats().QueryRowContext(ctx, `SELECT outcome FROM stripe_events WHERE event_id = 'evt_1'`).Scan(&outcome); err != nil || outcome != "mode_setup" {
			t.Errorf("recorded outcome %q, %v", outcome, err)
		}
		s, err := db.StripeIntegration(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.EventsReceived != 1 || s.LastEventType != "checkout.session.completed" || s.LastEventAt == nil {
			t.Errorf("integration: %+v", s)
		}
		applyStripe(t, db, p, "evt_2", stripe.Change{Ignore: "unhandled_type"})
		if s, _ := db.StripeIntegration(ctx, p.ID); s.EventsReceived != 2 || s.LastEventType != "test.event" {
			t.Errorf("integration after a second event: %+v", s)
		}
		verifyLedger(t, db)
	})
}
