// Package dashboard is Advocate's admin UI: server-rendered pages
// (html/template, embedded assets, no build step) for setting up and
// running referral programs. Admins sign in with email and password;
// owners may change anything, viewers only look.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Dashboard serves /dashboard/. Its handlers are exported methods so that
// the one list of every URL, internal/web/routes.go, can name them.
type Dashboard struct {
	DB  *store.DB
	Log *slog.Logger
	// BaseURL and Proxies are Config's.
	BaseURL string
	Proxies clientip.Proxies
	now     func() time.Time
	pages   *pages
	assets  http.Handler
	signIns *attempts
	// knownAddrs are where each admin last signed in from: there the
	// account's failures are counted for that address alone.
	knownAddrs addrs
	// OnLinksChanged is told of codes whose links changed, so that the
	// API's short-link cache forgets them.
	OnLinksChanged func(codes ...string)
	// checkWebhookHost is Config's.
	checkWebhookHost func(ctx context.Context, host string) error
	// emailEnabled and emailFrom are Config's EmailEnabled and EmailFrom.
	emailEnabled bool
	emailFrom    string
	// stripe is the store's Stripe integration (the DB unless a test
	// replaces it).
	stripe stripeStore
	// StripeSync is Config's.
	StripeSync StripeSyncStarter
}

// Config holds what the dashboard needs beyond its store and logger.
type Config struct {
	// BaseURL is Advocate's public URL, shown in snippets and short links.
	BaseURL string
	// Proxies are the reverse proxies trusted to report the client's
	// address, as for the API; the zero value trusts none.
	Proxies clientip.Proxies
	// Now is the clock (default time.Now); tests pass one they move, the
	// same one the store stamps rows with.
	Now func() time.Time
	// CheckWebhookHost refuses a webhook endpoint whose host is not a
	// public address, as httpapi.Config's does for the API (serve passes
	// both webhooks.Guard.CheckHost); nil checks nothing.
	CheckWebhookHost func(ctx context.Context, host string) error
	// EmailEnabled says emails are sent (serve's --smtp-url); without it
	// the Emails page says how to turn them on. EmailFrom is the
	// --email-from sender, shown there.
	EmailEnabled bool
	EmailFrom    string
	// StripeSync starts a reconcile sync in the background, for the
	// Integrations page's "Sync missed events" (nil: the form is hidden).
	StripeSync StripeSyncStarter
}

// New returns the dashboard.
func New(db *store.DB, log *slog.Logger, cfg Config) *Dashboard {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Dashboard{DB: db, Log: log, BaseURL: strings.TrimRight(cfg.BaseURL, "/"), Proxies: cfg.Proxies, now: cfg.Now,
		pages: mustParsePages(), assets: assets(),
		signIns: newAttempts(5, 2*time.Second, 5*time.Minute, time.Hour, cfg.Now), OnLinksChanged: func(...string) {},
		checkWebhookHost: cfg.CheckWebhookHost, emailEnabled: cfg.EmailEnabled, emailFrom: cfg.EmailFrom,
		stripe: db, StripeSync: cfg.StripeSync}
}

// ctxKey keys request-scoped values.
type ctxKey int

const keyAdmin ctxKey = iota

func adminFrom(ctx context.Context) *store.Admin {
	a, _ := ctx.Value(keyAdmin).(*store.Admin)
	return a
}

// sessionCookie holds the session token; its SHA-256 is stored.
const sessionCookie = "adv_session"

// signedIn requires a live session; pages redirect to sign-in, and owners-
// only actions answer 403 to viewers.
func (d *Dashboard) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var a *store.Admin
		if err == nil {
			a, err = d.DB.SessionAdmin(r.Context(), c.Value)
		}
		if errors.Is(err, store.ErrNoSession) || errors.Is(err, http.ErrNoCookie) {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/dashboard/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
				return
			}
			d.fail(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if err != nil {
			d.serverError(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && a.Role != store.RoleOwner {
			d.fail(w, r, http.StatusForbidden, "Viewers can look but not change anything. Ask an owner.")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), keyAdmin, a)))
	})
}

// safeNext keeps only local dashboard paths as a post-sign-in target, so
// the sign-in page cannot be used as an open redirect.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/dashboard/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/dashboard/"
	}
	return next
}

// program loads the program named in the URL; an unknown id is a 404.
func (d *Dashboard) program(w http.ResponseWriter, r *http.Request) (*referral.Program, bool) {
	p, err := d.DB.Program(r.Context(), r.PathValue("pid"))
	if !d.found(w, r, err, referral.ErrProgramNotFound, "No such program.") {
		return nil, false
	}
	return p, true
}

// found reports whether a look-up succeeded. When err is notFound it
// shows a 404 with msg; any other error is a 500. Either way the response
// is written and found returns false.
func (d *Dashboard) found(w http.ResponseWriter, r *http.Request, err, notFound error, msg string) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, notFound):
		d.fail(w, r, http.StatusNotFound, msg)
	default:
		d.serverError(w, r, err)
	}
	return false
}

func (d *Dashboard) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if store.BadText(err) { // the last line behind checkText
		d.fail(w, r, http.StatusUnprocessableEntity, "A value holds a NUL character or invalid UTF-8. Nothing was changed.")
		return
	}
	d.Log.ErrorContext(r.Context(), "dashboard", "err", err, "path", r.URL.Path)
	d.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side. Nothing was changed; try again.")
}

// fail renders an error page with status.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	d.render(w, r, status, "error", &view{Title: http.StatusText(status), Data: map[string]any{"Status": status, "Message": message}})
}

// secure says whether cookies should be Secure: behind TLS, or when the
// public URL is https (TLS ends at a proxy).
func (d *Dashboard) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(d.BaseURL, "https://")
}
