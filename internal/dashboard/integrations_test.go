package dashboard_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// fakeStripe is the store's Stripe integration as the contract describes
// it (validation, secrets kept, sync state), in memory: the page is tested
// against it until the store's own is written.
type fakeStripe struct {
	mu    sync.Mutex
	now   func() time.Time
	noKey bool // the server has no encryption key
	by    map[string]*store.StripeIntegration
}

func newFakeStripe(now func() time.Time) *fakeStripe {
	return &fakeStripe{now: now, by: map[string]*store.StripeIntegration{}}
}

func (f *fakeStripe) ConnectStripe(_ context.Context, programID string, in store.StripeSettings) (*store.StripeIntegration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noKey {
		return nil, store.ErrEncryptionKeyRequired
	}
	cur, connected := f.by[programID]
	next := store.StripeIntegration{ProgramID: programID, APIBaseURL: store.DefaultStripeAPIBaseURL, CreatedAt: f.now()}
	if connected {
		next = *cur
	}
	switch {
	case in.WebhookSecret == nil && !connected, in.WebhookSecret != nil && !strings.HasPrefix(*in.WebhookSecret, "whsec_"):
		return nil, referral.FieldError("invalid_webhook_secret", "webhook_secret", "Paste the endpoint's signing secret from Stripe: it starts with whsec_.")
	case in.WebhookSecret != nil:
		next.WebhookSecret = *in.WebhookSecret
	}
	if in.SecretKey != nil {
		switch k := *in.SecretKey; {
		case strings.HasPrefix(k, "pk_"):
			return nil, referral.FieldError("invalid_secret_key", "secret_key", "That is a publishable key, which cannot change anything in Stripe: use a secret key (sk_) or a restricted key (rk_).")
		case k != "" && !strings.HasPrefix(k, "sk_") && !strings.HasPrefix(k, "rk_"):
			return nil, referral.FieldError("invalid_secret_key", "secret_key", "A Stripe secret key starts with sk_ or rk_.")
		default:
			next.SecretKey = k
		}
	}
	if in.APIBaseURL != nil {
		u, err := url.Parse(*in.APIBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return nil, referral.FieldError("invalid_api_base_url", "api_base_url", "The API base URL must be an absolute http(s) URL without a query.")
		}
		next.APIBaseURL = *in.APIBaseURL
	}
	if in.ApplyRewards != nil {
		next.ApplyRewards = *in.ApplyRewards
	}
	if next.ApplyRewards && next.SecretKey == "" {
		return nil, referral.FieldError("secret_key_required", "secret_key", "Applying rewards in Stripe needs a secret key.")
	}
	next.UpdatedAt = f.now()
	f.by[programID] = &next
	out := next
	return &out, nil
}

func (f *fakeStripe) StripeIntegration(_ context.Context, programID string) (*store.StripeIntegration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.by[programID]
	if !ok {
		return nil, store.ErrStripeNotConnected
	}
	out := *in
	return &out, nil
}

func (f *fakeStripe) DisconnectStripe(_ context.Context, programID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.by[programID]; !ok {
		return store.ErrStripeNotConnected
	}
	delete(f.by, programID)
	return nil
}

func (f *fakeStripe) setNoKey(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noKey = v
}

// get returns a program's integration, nil when not connected.
func (f *fakeStripe) get(programID string) *store.StripeIntegration {
	in, _ := f.StripeIntegration(context.Background(), programID)
	return in
}

// update changes a connected program's integration as events and syncs do.
func (f *fakeStripe) update(t *testing.T, programID string, change func(*store.StripeIntegration)) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.by[programID]
	if !ok {
		t.Fatal("not connected")
	}
	change(in)
}

// fakeSync is the sync starter: it records the runs asked for and marks
// them running, as the real one does before it returns.
type fakeSync struct {
	store *fakeStripe
	err   error
	mu    sync.Mutex
	calls []time.Time
}

func (s *fakeSync) StartSync(_ context.Context, programID string, since time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.calls = append(s.calls, since)
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	in, ok := s.store.by[programID]
	if !ok {
		return store.ErrStripeNotConnected
	}
	now := s.store.now()
	in.Sync = store.StripeSync{Status: "running", Since: &since, StartedAt: &now}
	return nil
}

func (s *fakeSync) runs() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.calls...)
}

// newStripeEnv is an env whose dashboard uses the fakes; without a sync
// starter when sync is nil.
func newStripeEnv(t *testing.T, db *store.DB, withSync bool) (*env, *fakeStripe, *fakeSync) {
	t.Helper()
	var fs *fakeStripe
	var sy *fakeSync
	e := newEnv(t, db, func(c *dashboard.Config) {
		fs = newFakeStripe(c.Now)
		if withSync {
			sy = &fakeSync{store: fs}
			c.StripeSync = sy
		}
	})
	dashboard.SetStripeStore(e.dash, fs)
	return e, fs, sy
}

// connectForm is the Stripe form as a browser posts it.
func connectForm(pairs ...string) url.Values {
	f := url.Values{"webhook_secret": {""}, "secret_key": {""}, "api_base_url": {store.DefaultStripeAPIBaseURL}}
	for i := 0; i+1 < len(pairs); i += 2 {
		f.Set(pairs[i], pairs[i+1])
	}
	return f
}

const (
	whsec = "whsec_test_5Zr2XQm8c1Nq"
	rkey  = "rk_test_51HxYzRestricted"
)

var lightRE = regexp.MustCompile(`id="stripe-light" data-light="([a-z]+)"`)

// light is the colour of the page's status light.
func (p *page) light() string {
	if m := lightRE.FindStringSubmatch(p.Body); m != nil {
		return m[1]
	}
	return ""
}

// eachStripeEnv runs fn on every engine with a Stripe env.
func eachStripeEnv(t *testing.T, withSync bool, fn func(t *testing.T, e *env, fs *fakeStripe, sy *fakeSync)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, fs, sy := newStripeEnv(t, db, withSync)
		fn(t, e, fs, sy)
	})
}

// The guide, connecting, changing the settings and the status light.
func TestIntegrationsConnect(t *testing.T) {
	t.Parallel()
	eachStripeEnv(t, true, func(t *testing.T, e *env, fs *fakeStripe, _ *fakeSync) {
		c := e.asOwner(t)
		page := c.get(e.path("integrations")).want(t, http.StatusOK)
		hook := e.srv.URL + stripe.WebhookPath(e.program.ID)
		page.has(t, `href="/dashboard/p/`+e.program.ID+`/integrations" aria-current="page">Integrations</a>`,
			`id="stripe-state">Not connected`, `id="stripe-webhook-url" value="`+hook+`" readonly`, `data-copy="stripe-webhook-url"`,
			`name="webhook_secret" type="password"`, `name="secret_key" type="password"`, `name="apply_rewards"`,
			`name="api_base_url" type="url" value=""`, "Connect Stripe")
		events := regexp.MustCompile(`(?s)<ul class="event-list" id="stripe-events">.*?</ul>`).FindString(page.Body)
		if n := strings.Count(events, "<code>"); n != len(stripe.HandledTypes) {
			t.Errorf("%d events listed, want the %d handled: %s", n, len(stripe.HandledTypes), events)
		}
		for _, typ := range stripe.HandledTypes {
			if !strings.Contains(events, "<code>"+typ+"</code><br><small") {
				t.Errorf("the guide does not list %s with what it does", typ)
			}
		}
		if strings.Contains(page.Body, `id="sync-form"`) || strings.Contains(page.Body, "stripe/disconnect") {
			t.Error("sync or disconnect offered before connecting")
		}

		// Connect.
		p := c.post(e.path("integrations/stripe"), connectForm("webhook_secret", " "+whsec+" ", "secret_key", rkey,
			"apply_rewards", "on", "api_base_url", "")).want(t, http.StatusSeeOther)
		if p.Location != e.path("integrations") {
			t.Errorf("redirect to %q", p.Location)
		}
		page = c.follow(p).want(t, http.StatusOK)
		if f := page.flash(); !strings.HasPrefix(f, "Stripe is connected.") {
			t.Errorf("flash %q", f)
		}
		in := fs.get(e.program.ID)
		if in == nil || in.WebhookSecret != whsec || in.SecretKey != rkey || !in.ApplyRewards || in.APIBaseURL != store.DefaultStripeAPIBaseURL {
			t.Fatalf("stored %+v", in)
		}
		if strings.Contains(page.Body, whsec) || strings.Contains(page.Body, rkey) {
			t.Error("a secret is shown on the page")
		}
		page.has(t, `id="stripe-webhook-secret-state">Set<`, `id="stripe-secret-key-state">Set<`, `id="stripe-apply-state">Applied<`,
			`id="stripe-events-received">0<`, `name="remove_secret_key"`, `name="apply_rewards" id="apply_rewards" checked`,
			`value="`+store.DefaultStripeAPIBaseURL+`"`, `id="stripe-webhook-url" value="`+hook+`"`, "Save settings", `id="sync-form"`, "Disconnect Stripe")
		if got := page.light(); got != "amber" {
			t.Errorf("light %q before any event, want amber", got)
		}

		// Blank secrets keep theirs; the box turns applying off.
		p = c.post(e.path("integrations/stripe"), connectForm("api_base_url", "https://stripe-proxy.acme.example")).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); f != "Stripe settings saved." {
			t.Errorf("flash %q", f)
		}
		in = fs.get(e.program.ID)
		if in.WebhookSecret != whsec || in.SecretKey != rkey || in.ApplyRewards || in.APIBaseURL != "https://stripe-proxy.acme.example" {
			t.Errorf("after saving with blank secrets: %+v", in)
		}
		// A new signing secret, and the secret key removed.
		c.post(e.path("integrations/stripe"), connectForm("webhook_secret", "whsec_rolled", "secret_key", "rk_ignored",
			"remove_secret_key", "on")).want(t, http.StatusSeeOther)
		in = fs.get(e.program.ID)
		if in.WebhookSecret != "whsec_rolled" || in.SecretKey != "" {
			t.Errorf("after rolling and removing: %+v", in)
		}
		page = c.get(e.path("integrations"))
		page.has(t, `id="stripe-secret-key-state">Not set<`, `id="sync-needs-key"`)
		if strings.Contains(page.Body, `name="remove_secret_key"`) || strings.Contains(page.Body, `id="sync-form"`) {
			t.Error("removing or syncing offered without a secret key")
		}

		// The light follows the events and errors.
		now := e.clock.Now()
		at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
		fs.update(t, e.program.ID, func(in *store.StripeIntegration) {
			in.EventsReceived, in.LastEventAt, in.LastEventType = 42, at(-time.Hour), "invoice.paid"
		})
		page = c.get(e.path("integrations"))
		if got := page.light(); got != "green" {
			t.Errorf("light %q after a recent event, want green", got)
		}
		page.has(t, `id="stripe-events-received">42<`, "<code>invoice.paid</code> · "+at(-time.Hour).UTC().Format("Jan 2, 2006 15:04 UTC"))
		fs.update(t, e.program.ID, func(in *store.StripeIntegration) {
			in.LastError, in.LastErrorAt = "The Stripe key cannot create balance transactions: it lacks permission for customers.", at(-time.Minute)
		})
		page = c.get(e.path("integrations"))
		if got := page.light(); got != "red" {
			t.Errorf("light %q after an error newer than the last event, want red", got)
		}
		if !strings.Contains(page.text(), "The Stripe key cannot create balance transactions: it lacks permission for customers. · "+at(-time.Minute).UTC().Format("Jan 2, 2006 15:04 UTC")) {
			t.Errorf("the last error is not shown with its time: %s", page.text())
		}
		fs.update(t, e.program.ID, func(in *store.StripeIntegration) { in.LastEventAt = at(0) })
		if got := c.get(e.path("integrations")).light(); got != "green" {
			t.Errorf("light %q after an event newer than the error, want green", got)
		}
		e.clock.advance(8 * 24 * time.Hour)
		c = e.asOwner(t) // the session has ended meanwhile
		if got := c.get(e.path("integrations")).light(); got != "amber" {
			t.Errorf("light %q after 8 quiet days, want amber", got)
		}
	})
}

// Each problem is shown at its field, nothing is saved, and secrets typed
// are not sent back.
func TestIntegrationsValidation(t *testing.T) {
	t.Parallel()
	eachStripeEnv(t, false, func(t *testing.T, e *env, fs *fakeStripe, _ *fakeSync) {
		c := e.asOwner(t)
		for _, tc := range []struct {
			name, field, want string
			form              url.Values
		}{
			{"no signing secret", "webhook_secret", "starts with whsec_", connectForm()},
			{"not a signing secret", "webhook_secret", "starts with whsec_", connectForm("webhook_secret", "sk_test_oops")},
			{"publishable key", "secret_key", "publishable key", connectForm("webhook_secret", whsec, "secret_key", "pk_test_123")},
			{"not a key", "secret_key", "starts with sk_ or rk_", connectForm("webhook_secret", whsec, "secret_key", "hello")},
			{"apply without a key", "secret_key", "needs a secret key", connectForm("webhook_secret", whsec, "apply_rewards", "on")},
			{"API URL with a query", "api_base_url", "without a query", connectForm("webhook_secret", whsec, "api_base_url", "https://api.stripe.com/?x=1")},
			{"API URL not absolute", "api_base_url", "absolute", connectForm("webhook_secret", whsec, "api_base_url", "api.stripe.com")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				page := c.post(e.path("integrations/stripe"), tc.form).want(t, http.StatusUnprocessableEntity)
				if got := page.fieldError(tc.field); !strings.Contains(got, tc.want) {
					t.Errorf("error at %s: %q, want it to say %q; page: %s", tc.field, got, tc.want, page.text())
				}
				if fs.get(e.program.ID) != nil {
					t.Error("saved")
				}
				for _, k := range []string{"webhook_secret", "secret_key"} {
					if v := tc.form.Get(k); v != "" && strings.Contains(page.Body, v) {
						t.Errorf("the typed %s is sent back", k)
					}
				}
				if tc.field == "api_base_url" && !strings.Contains(page.Body, `<details class="advanced" open>`) {
					t.Error("the advanced section with the error is closed")
				}
			})
		}

		t.Run("no encryption key", func(t *testing.T) {
			fs.setNoKey(true)
			defer fs.setNoKey(false)
			page := c.post(e.path("integrations/stripe"), connectForm("webhook_secret", whsec)).want(t, http.StatusConflict)
			page.has(t, `id="encryption-key-required"`, "--encryption-key")
			if fs.get(e.program.ID) != nil {
				t.Error("saved")
			}
		})

		// A refused update keeps what is stored.
		c.post(e.path("integrations/stripe"), connectForm("webhook_secret", whsec)).want(t, http.StatusSeeOther)
		before := *fs.get(e.program.ID)
		page := c.post(e.path("integrations/stripe"), connectForm("secret_key", "pk_live_nope", "apply_rewards", "on")).want(t, http.StatusUnprocessableEntity)
		if !strings.Contains(page.fieldError("secret_key"), "publishable key") {
			t.Errorf("no error at the secret key: %s", page.text())
		}
		page.has(t, `name="apply_rewards" id="apply_rewards" checked`, `id="stripe-light"`)
		if after := *fs.get(e.program.ID); after != before {
			t.Errorf("changed by a refused update: %+v", after)
		}
	})
}

// connect connects the env's program to the fake with a secret key.
func connect(t *testing.T, e *env, fs *fakeStripe) {
	t.Helper()
	if _, err := fs.ConnectStripe(t.Context(), e.program.ID, store.StripeSettings{WebhookSecret: ptr(whsec), SecretKey: ptr(rkey)}); err != nil {
		t.Fatal(err)
	}
}

// Viewers read the page and change nothing.
func TestIntegrationsViewer(t *testing.T) {
	t.Parallel()
	eachStripeEnv(t, true, func(t *testing.T, e *env, fs *fakeStripe, sy *fakeSync) {
		v := e.asViewer(t)
		page := v.get(e.path("integrations")).want(t, http.StatusOK)
		page.has(t, `id="stripe-webhook-url"`, `<fieldset disabled class="plain">`, "Only owners can connect Stripe.")
		if strings.Contains(page.Body, "Connect Stripe</button>") {
			t.Error("a viewer is offered the connect button")
		}
		v.post(e.path("integrations/stripe"), connectForm("webhook_secret", whsec)).want(t, http.StatusForbidden)
		if fs.get(e.program.ID) != nil {
			t.Error("a viewer connected Stripe")
		}

		connect(t, e, fs)
		page = v.get(e.path("integrations")).want(t, http.StatusOK)
		page.has(t, `id="stripe-light"`, `id="stripe-secret-key-state">Set<`, `<fieldset disabled class="plain stack">`, "Only owners can start a sync.")
		for _, offered := range []string{"Save settings</button>", `id="sync-form"`, "stripe/disconnect", whsec, rkey} {
			if strings.Contains(page.Body, offered) {
				t.Errorf("a viewer sees %q", offered)
			}
		}
		before := *fs.get(e.program.ID)
		for _, path := range []string{"integrations/stripe", "integrations/stripe/sync", "integrations/stripe/disconnect"} {
			v.post(e.path(path), connectForm("webhook_secret", "whsec_viewer", "since", e.clock.Now().Format("2006-01-02"))).want(t, http.StatusForbidden)
		}
		if after := *fs.get(e.program.ID); after != before {
			t.Errorf("viewer posts changed the integration: %+v", after)
		}
		if runs := sy.runs(); len(runs) != 0 {
			t.Errorf("a viewer started syncs: %v", runs)
		}
	})
}

// Starting a sync, its progress while it runs, and its end.
func TestIntegrationsSync(t *testing.T) {
	t.Parallel()
	eachStripeEnv(t, true, func(t *testing.T, e *env, fs *fakeStripe, sy *fakeSync) {
		c := e.asOwner(t)
		connect(t, e, fs)
		now := e.clock.Now().UTC()
		day := func(d int) string { return now.AddDate(0, 0, d).Format("2006-01-02") }
		page := c.get(e.path("integrations")).want(t, http.StatusOK)
		page.has(t, `id="since" name="since" type="date" value="`+day(-3)+`" min="`+day(-30)+`" max="`+day(0)+`"`, "Start sync")
		if strings.Contains(page.Body, "data-refresh") || strings.Contains(page.Body, `id="sync-status"`) {
			t.Error("progress shown before any sync")
		}

		for _, tc := range []struct{ since, want string }{
			{"", "Pick the date"},
			{"03/01/2025", "YYYY-MM-DD"},
			{day(1), "in the future"},
			{day(-31), "30 days"},
		} {
			page := c.post(e.path("integrations/stripe/sync"), url.Values{"since": {tc.since}}).want(t, http.StatusUnprocessableEntity)
			if got := page.fieldError("since"); !strings.Contains(got, tc.want) {
				t.Errorf("since %q: error %q, want it to say %q", tc.since, got, tc.want)
			}
		}
		if runs := sy.runs(); len(runs) != 0 {
			t.Fatalf("refused dates started syncs: %v", runs)
		}

		p := c.post(e.path("integrations/stripe/sync"), url.Values{"since": {day(-30)}}).want(t, http.StatusSeeOther)
		if p.Location != e.path("integrations")+"#sync" {
			t.Errorf("redirect to %q", p.Location)
		}
		page = c.follow(p)
		if f := page.flash(); !strings.HasPrefix(f, "Sync started") {
			t.Errorf("flash %q", f)
		}
		want, _ := time.Parse("2006-01-02", day(-30))
		if runs := sy.runs(); len(runs) != 1 || !runs[0].Equal(want) {
			t.Errorf("syncs started %v, want one since %v", runs, want)
		}
		// Running, the events not listed yet: an indeterminate bar.
		page.has(t, `data-status="running" data-refresh="2000"`, `<progress id="sync-progress">`, "Fetching the list of events",
			"Sync running…</button>", "events since "+want.Format("Jan 2, 2006"))
		fs.update(t, e.program.ID, func(in *store.StripeIntegration) { in.Sync.Done, in.Sync.Total = 40, 160 })
		page = c.get(e.path("integrations"))
		page.has(t, `data-refresh="2000"`, `<progress id="sync-progress" value="40" max="160">25%</progress>`)
		if !strings.Contains(page.text(), "40 of 160 events applied (25%)") {
			t.Errorf("no count: %s", page.text())
		}

		// A second start while one runs is refused with the store's reason.
		sy.mu.Lock()
		sy.err = store.ErrStripeSyncRunning
		sy.mu.Unlock()
		p = c.post(e.path("integrations/stripe/sync"), url.Values{"since": {day(-3)}}).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); f != "A Stripe sync is already running for this program." {
			t.Errorf("flash %q", f)
		}

		finished := now.Add(time.Minute)
		fs.update(t, e.program.ID, func(in *store.StripeIntegration) {
			in.Sync.Status, in.Sync.Done, in.Sync.FinishedAt = "done", 160, &finished
		})
		page = c.get(e.path("integrations"))
		page.has(t, `data-status="done" role="status"`, `value="160" max="160"`, "Start sync</button>")
		if strings.Contains(page.Body, "data-refresh") {
			t.Error("the page keeps refreshing after the sync ended")
		}
		fs.update(t, e.program.ID, func(in *store.StripeIntegration) {
			in.Sync.Status, in.Sync.Done, in.Sync.Error = "failed", 12, "Stripe answered 401: the key was revoked."
		})
		page = c.get(e.path("integrations"))
		page.has(t, `data-status="failed"`, `<p class="error" id="sync-error">Stripe answered 401: the key was revoked.</p>`)
	})
}

// Without a sync starter the page says how to sync from the command line.
func TestIntegrationsSyncFromCommandLine(t *testing.T) {
	t.Parallel()
	eachStripeEnv(t, false, func(t *testing.T, e *env, fs *fakeStripe, _ *fakeSync) {
		c := e.asOwner(t)
		connect(t, e, fs)
		page := c.get(e.path("integrations")).want(t, http.StatusOK)
		page.has(t, `id="sync-cli"`, "advocate stripe sync --since")
		if strings.Contains(page.Body, `id="sync-form"`) {
			t.Error("the sync form is offered without a sync starter")
		}
		p := c.post(e.path("integrations/stripe/sync"), url.Values{"since": {e.clock.Now().Format("2006-01-02")}}).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); !strings.Contains(f, "advocate stripe sync") {
			t.Errorf("flash %q", f)
		}
	})
}

func TestIntegrationsDisconnect(t *testing.T) {
	t.Parallel()
	eachStripeEnv(t, true, func(t *testing.T, e *env, fs *fakeStripe, _ *fakeSync) {
		c := e.asOwner(t)
		connect(t, e, fs)
		page := c.get(e.path("integrations"))
		page.has(t, `id="stripe-disconnect" data-confirm="Disconnect Stripe?`)
		p := c.post(e.path("integrations/stripe/disconnect"), nil).want(t, http.StatusSeeOther)
		page = c.follow(p)
		if f := page.flash(); !strings.HasPrefix(f, "Stripe is disconnected") {
			t.Errorf("flash %q", f)
		}
		if fs.get(e.program.ID) != nil {
			t.Error("still connected")
		}
		page.has(t, `id="stripe-state">Not connected`, "Connect Stripe")
		p = c.post(e.path("integrations/stripe/disconnect"), nil).want(t, http.StatusSeeOther)
		if f := c.follow(p).flash(); f != "Stripe is not connected to this program." {
			t.Errorf("flash %q", f)
		}
	})
}

// A store failure is a 500 that says nothing of it.
func TestIntegrationsStoreFailure(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db)
		dashboard.SetStripeStore(e.dash, brokenStripe{})
		c := e.asOwner(t)
		page := c.get(e.path("integrations")).want(t, http.StatusInternalServerError)
		if strings.Contains(page.Body, "disk on fire") {
			t.Error("the error is shown")
		}
		c.post(e.path("integrations/stripe"), connectForm("webhook_secret", whsec)).want(t, http.StatusInternalServerError)
		c.post(e.path("integrations/stripe/disconnect"), nil).want(t, http.StatusInternalServerError)
	})
}

type brokenStripe struct{}

var errDisk = errors.New("disk on fire")

func (brokenStripe) ConnectStripe(context.Context, string, store.StripeSettings) (*store.StripeIntegration, error) {
	return nil, errDisk
}
func (brokenStripe) StripeIntegration(context.Context, string) (*store.StripeIntegration, error) {
	return nil, errDisk
}
func (brokenStripe) DisconnectStripe(context.Context, string) error { return errDisk }
