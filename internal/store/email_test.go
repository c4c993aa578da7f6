package store_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// emailFixture is a program whose signups give the referrer a held credit
// and an immediate one, and the friend an immediate 20 % discount code.
type emailFixture struct {
	p         *referral.Program
	jane, bob *referral.Customer // bob signed up with jane's code
	now       func() time.Time
	jump      func(time.Duration)
}

func newEmailFixture(t *testing.T, db *store.DB) *emailFixture {
	t.Helper()
	ctx := t.Context()
	var mu sync.Mutex
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	db.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	f := &emailFixture{p: newProgram(t, db), now: db.Now}
	f.jump = func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	for _, r := range []rewards.Rule{
		{Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit, Unit: rewards.Fixed, Amount: 1000, Currency: "USD", HoldingDays: 30},
		{Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit, Unit: rewards.Fixed, Amount: 500, Currency: "USD"},
		{Trigger: rewards.Signup, Recipient: rewards.Friend, RewardType: rewards.Discount, Unit: rewards.Percentage, Amount: 2000},
	} {
		r.ProgramID, r.Recurrence, r.Active = f.p.ID, rewards.First, true
		if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
	}
	f.jane = newCustomer(t, db, f.p, referral.NewCustomer{Key: "jane", Email: "jane@example.com", Name: "Jane <b>Doe</b>"})
	f.bob = newCustomer(t, db, f.p, referral.NewCustomer{Key: "bob", Email: "bob@example.com", Name: "Bob", ReferredBy: f.jane.ReferralCode})
	return f
}

// queued lists a program's emails as "kind → recipient (status)", sorted.
func queued(t *testing.T, db *store.DB, programID string) []string {
	t.Helper()
	ms, err := db.EmailMessages(t.Context(), programID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, fmt.Sprintf("%s → %s (%s)", m.Kind, m.Recipient, m.Status))
	}
	slices.Sort(out)
	return out
}

// TestDispatchEmails: each event makes its emails once however often
// dispatch runs; a reward created available makes one email, not two; a
// held one makes a second when released; nothing is queued while email is
// off.
func TestDispatchEmails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.Emails = false
		f := newEmailFixture(t, db)
		dispatch(t, db, f.now())
		if got := queued(t, db, f.p.ID); len(got) != 0 {
			t.Fatalf("email off: queued %v", got)
		}

		db.Emails = true
		newCustomer(t, db, f.p, referral.NewCustomer{Key: "cy", Email: "cy@example.com", ReferredBy: f.bob.ReferralCode})
		dispatch(t, db, f.now())
		dispatch(t, db, f.now())
		want := []string{
			"friend_discount_code → cy@example.com (pending)",
			"friend_signed_up → bob@example.com (pending)",
			"reward_earned → bob@example.com (pending)",
			"reward_earned → bob@example.com (pending)",
		}
		if diff := cmp.Diff(want, queued(t, db, f.p.ID)); diff != "" {
			t.Fatalf("queued (-want +got):\n%s", diff)
		}
		// The held rewards become available: one more email to bob, and
		// one to jane (her reward was earned while email was off).
		f.jump(31 * 24 * time.Hour)
		if _, err := db.ReleaseDueRewards(ctx, f.now(), 100); err != nil {
			t.Fatal(err)
		}
		dispatch(t, db, f.now())
		want = append(want, "reward_available → bob@example.com (pending)", "reward_available → jane@example.com (pending)")
		slices.Sort(want)
		if diff := cmp.Diff(want, queued(t, db, f.p.ID)); diff != "" {
			t.Fatalf("after release (-want +got):\n%s", diff)
		}
	})
}

// TestDispatchEmailsSkips: a customer who opted out and a kind switched
// off get nothing at dispatch; when either changes after an email was
// queued, the email is skipped at send time.
func TestDispatchEmailsSkips(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.Emails = true
		f := newEmailFixture(t, db)
		dispatch(t, db, f.now())
		if _, err := db.UpdateCustomer(ctx, f.p, "jane", referral.CustomerUpdate{EmailOptOut: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		off := email.Default(email.FriendDiscount)
		off.Enabled = false
		if err := db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.SaveEmailTemplate(ctx, f.p.ID, off); return err }); err != nil {
			t.Fatal(err)
		}
		newCustomer(t, db, f.p, referral.NewCustomer{Key: "cy", Email: "cy@example.com", ReferredBy: f.jane.ReferralCode})
		newCustomer(t, db, f.p, referral.NewCustomer{Key: "di", Email: "di@example.com", ReferredBy: f.bob.ReferralCode})
		dispatch(t, db, f.now())
		want := []string{
			"friend_signed_up → bob@example.com (pending)",     // di signed up with bob's code
			"friend_signed_up → jane@example.com (pending)",    // bob signed up, before jane opted out
			"reward_earned → bob@example.com (pending)",        // di's signup
			"reward_earned → bob@example.com (pending)",        // di's signup
			"reward_earned → jane@example.com (pending)",       // bob's signup
			"reward_earned → jane@example.com (pending)",       // bob's signup
			"friend_discount_code → bob@example.com (pending)", // before the kind was switched off
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, queued(t, db, f.p.ID)); diff != "" {
			t.Fatalf("queued (-want +got):\n%s", diff)
		}
		// At send time: jane's are skipped (opted out), bob's discount code too (kind off).
		out, err := db.ClaimEmails(ctx, f.now(), 50, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		skipped := 0
		for _, q := range out {
			p, err := db.PrepareEmail(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			wantSkip := q.Recipient == "jane@example.com" || q.Kind == email.FriendDiscount
			if (p.Skip != "") != wantSkip {
				t.Errorf("%s to %s: skip %q, want skipped %t", q.Kind, q.Recipient, p.Skip, wantSkip)
			}
			if p.Skip != "" {
				skipped++
				if err := db.RecordEmail(ctx, q.ID, email.Outcome{Skipped: p.Skip}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if skipped != 4 {
			t.Errorf("skipped %d, want 4", skipped)
		}
	})
}

// TestClaimEmails: a claimed email is not due again until its lease ends
// (a worker that died mid-send), then is sent again; an attempt recorded
// moves it on: sent, retried after RetryDelay, failed for good.
func TestClaimEmails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.Emails = true
		f := newEmailFixture(t, db)
		dispatch(t, db, f.now())
		now := f.now()
		first, err := db.ClaimEmails(ctx, now, 50, time.Minute)
		if err != nil || len(first) != 4 {
			t.Fatalf("claim: %d, %v; want 4", len(first), err)
		}
		if again, _ := db.ClaimEmails(ctx, now.Add(59*time.Second), 50, time.Minute); len(again) != 0 {
			t.Fatalf("claimed again within the lease: %d", len(again))
		}
		after, _ := db.ClaimEmails(ctx, now.Add(61*time.Second), 50, time.Minute)
		if len(after) != 4 {
			t.Fatalf("after the lease: claimed %d, want 4", len(after))
		}
		outcomes := []email.Outcome{{Sent: true}, {Error: "451 try later"}, {Error: "550 no such user", Permanent: true}, {Skipped: "off"}}
		for i, q := range after {
			if err := db.RecordEmail(ctx, q.ID, outcomes[i]); err != nil {
				t.Fatal(err)
			}
		}
		// A late record from the first claimer changes nothing.
		if err := db.RecordEmail(ctx, first[0].ID, email.Outcome{Error: "late"}); err != nil {
			t.Fatal(err)
		}
		ms, err := db.EmailMessages(ctx, f.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]store.EmailMessage{}
		for _, m := range ms {
			byID[m.ID] = m
		}
		wantStatus := []string{email.StatusSent, email.StatusPending, email.StatusFailed, email.StatusSkipped}
		for i, q := range after {
			m := byID[q.ID]
			if m.Status != wantStatus[i] {
				t.Errorf("%d: status %s, want %s", i, m.Status, wantStatus[i])
			}
		}
		retried := byID[after[1].ID]
		delay, _ := email.RetryDelay(1)
		if retried.NextAt == nil || retried.Attempts != 1 || retried.LastError != "451 try later" {
			t.Fatalf("retried: %+v", retried)
		}
		if got, _ := db.ClaimEmails(ctx, retried.NextAt.Add(-time.Second), 50, time.Minute); len(got) != 0 {
			t.Errorf("retried email due before its delay (%v)", delay)
		}
		if got, _ := db.ClaimEmails(ctx, *retried.NextAt, 50, time.Minute); len(got) != 1 || got[0].ID != retried.ID {
			t.Errorf("retried email not due after its delay: %v", got)
		}
		// Attempts up to MaxAttempts, then failed.
		for range email.MaxAttempts {
			if err := db.RecordEmail(ctx, retried.ID, email.Outcome{Error: "451 again"}); err != nil {
				t.Fatal(err)
			}
		}
		ms, _ = db.EmailMessages(ctx, f.p.ID)
		for _, m := range ms {
			if m.ID == retried.ID && (m.Status != email.StatusFailed || m.Attempts != email.MaxAttempts) {
				t.Errorf("after %d failures: %s, %d attempts", email.MaxAttempts, m.Status, m.Attempts)
			}
		}
	})
}

// TestClaimEmailsConcurrently: claimers racing on one database never get
// the same email.
func TestClaimEmailsConcurrently(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.Emails = true
		f := newEmailFixture(t, db)
		for i := range 10 {
			newCustomer(t, db, f.p, referral.NewCustomer{Key: fmt.Sprint("f", i), Email: fmt.Sprintf("f%d@example.com", i), ReferredBy: f.jane.ReferralCode})
		}
		dispatch(t, db, f.now())
		now := f.now()
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					out, err := db.ClaimEmails(ctx, now, 3, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(out) == 0 {
						return
					}
					mu.Lock()
					for _, q := range out {
						seen[q.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		total := len(queued(t, db, f.p.ID))
		if len(seen) != total {
			t.Errorf("claimed %d distinct emails, want %d", len(seen), total)
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s claimed %d times", id, n)
			}
		}
	})
}

// TestEndpointDisabledEmailsAdmins: an endpoint disabled by a 410 writes
// webhook_endpoint.disabled once, which emails every admin.
func TestEndpointDisabledEmailsAdmins(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.Emails = true
		now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		p := newProgram(t, db)
		for _, a := range []string{"owner@example.com", "viewer@example.com"} {
			if err := db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.CreateAdmin(ctx, a, "correct horse battery", store.RoleOwner)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		newEndpoint(t, db, p.ID, "https://gone.example.com/", "customer.created")
		namedCustomer(t, db, p, "ada")
		namedCustomer(t, db, p, "bea")
		dispatch(t, db, now)
		out := claim(t, db, now)
		for _, o := range out {
			if err := db.RecordAttempt(ctx, o.Delivery.ID, webhooks.Attempt{StatusCode: 410}); err != nil {
				t.Fatal(err)
			}
		}
		if n := slices.Index(eventTypes(t, db, p.ID), "webhook_endpoint.disabled"); n < 0 {
			t.Fatalf("no webhook_endpoint.disabled in %v", eventTypes(t, db, p.ID))
		}
		disabled := 0
		for _, typ := range eventTypes(t, db, p.ID) {
			if typ == "webhook_endpoint.disabled" {
				disabled++
			}
		}
		if disabled != 1 {
			t.Errorf("%d webhook_endpoint.disabled events for 2 attempts answered 410, want 1", disabled)
		}
		dispatch(t, db, now)
		want := []string{"webhook_endpoint_disabled → owner@example.com (pending)", "webhook_endpoint_disabled → viewer@example.com (pending)"}
		if diff := cmp.Diff(want, queued(t, db, p.ID)); diff != "" {
			t.Fatalf("queued (-want +got):\n%s", diff)
		}
		qs, err := db.ClaimEmails(ctx, now, 10, time.Minute)
		if err != nil || len(qs) != 2 {
			t.Fatalf("claim: %v %v", qs, err)
		}
		pr, err := db.PrepareEmail(ctx, qs[0])
		if err != nil {
			t.Fatal(err)
		}
		if pr.Values["endpoint_url"] != "https://gone.example.com/" || pr.UnsubscribeToken != "" {
			t.Errorf("prepared %+v", pr)
		}
	})
}

// TestUnsubscribe: a signed link opts its customer out once (a
// customer.updated event), again changes nothing; a forged link or one
// signed for another program is refused and changes nothing.
func TestUnsubscribe(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		db.Emails = true
		f := newEmailFixture(t, db)
		dispatch(t, db, f.now()) // makes the program's key
		qs, err := db.ClaimEmails(ctx, f.now(), 50, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var token string
		for _, q := range qs {
			if q.CustomerID == f.jane.ID {
				p, err := db.PrepareEmail(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				token = p.UnsubscribeToken
			}
		}
		if token == "" {
			t.Fatal("no unsubscribe token for jane")
		}
		for _, bad := range []string{"", "garbage", email.UnsubscribeToken([]byte("another key, another key, 32 b!"), f.p.ID, f.jane.ID),
			email.UnsubscribeToken([]byte("another key, another key, 32 b!"), f.p.ID, f.bob.ID)} {
			if _, err := db.Unsubscribe(ctx, bad); !errors.Is(err, store.ErrUnsubscribeLinkInvalid) {
				t.Errorf("Unsubscribe(%q) = %v, want ErrUnsubscribeLinkInvalid", bad, err)
			}
		}
		before := len(events(t, db, f.p.ID))
		u, err := db.UnsubscribeLink(ctx, token)
		if err != nil || u.OptedOut || u.Email != "jane@example.com" || u.ProgramName != f.p.Name {
			t.Fatalf("UnsubscribeLink = %+v, %v", u, err)
		}
		for range 2 {
			if u, err = db.Unsubscribe(ctx, token); err != nil || !u.OptedOut {
				t.Fatalf("Unsubscribe = %+v, %v", u, err)
			}
		}
		c, err := db.Customer(ctx, f.p.ID, "jane")
		if err != nil || !c.EmailOptOut {
			t.Fatalf("jane after unsubscribing: %+v, %v", c, err)
		}
		if got := eventTypes(t, db, f.p.ID)[before:]; !slices.Equal(got, []string{"customer.updated"}) {
			t.Errorf("events of two unsubscribes: %v, want one customer.updated", got)
		}
		if b, _ := db.Customer(ctx, f.p.ID, "bob"); b.EmailOptOut {
			t.Error("bob opted out too")
		}
	})
}

// TestSetEmailEnabled: switching a kind off and on keeps its texts,
// whether it was ever saved or not; a reset keeps it off; an unknown kind
// is refused.
func TestSetEmailEnabled(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		off, err := db.SetEmailEnabled(ctx, p.ID, email.RewardEarned, false)
		want := email.Default(email.RewardEarned)
		want.Enabled = false
		if err != nil || off != want {
			t.Fatalf("a default kind switched off: %+v, %v", off, err)
		}
		custom := email.Template{Kind: email.RewardEarned, Subject: "{{reward_amount}}!", Body: "Thanks."}
		if _, err := db.SaveEmailTemplate(ctx, p.ID, custom); err != nil {
			t.Fatal(err)
		}
		on, err := db.SetEmailEnabled(ctx, p.ID, email.RewardEarned, true)
		custom.Enabled = true
		if err != nil || on != custom {
			t.Fatalf("switched on: %+v, %v; want %+v", on, err, custom)
		}
		if _, err := db.SetEmailEnabled(ctx, p.ID, email.RewardEarned, false); err != nil {
			t.Fatal(err)
		}
		reset, err := db.ResetEmailTemplate(ctx, p.ID, email.RewardEarned)
		if err != nil || reset != want {
			t.Errorf("reset while off: %+v, %v; want %+v", reset, err, want)
		}
		if _, err := db.SetEmailEnabled(ctx, p.ID, "nope", false); !errors.Is(err, store.ErrUnknownEmailKind) {
			t.Errorf("unknown kind: %v", err)
		}
	})
}
