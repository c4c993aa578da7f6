package dashboard

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// view is what every page template receives.
type view struct {
	Title    string
	Admin    *store.Admin
	Program  *referral.Program   // the program being viewed, if any
	Programs []*referral.Program // for the program switcher
	Nav      string              // the active navigation item
	Flash    string
	FlashBad bool
	Errors   map[string]string // form field → message
	Form     url.Values        // submitted values, to refill a form
	Data     any
}

// CanEdit says whether the signed-in admin may change things.
func (v *view) CanEdit() bool { return v.Admin != nil && v.Admin.Role == store.RoleOwner }

// Value returns a submitted form value, or def.
func (v *view) Value(name, def string) string {
	if v.Form != nil && v.Form.Has(name) {
		return v.Form.Get(name)
	}
	return def
}

// pages holds one template set per page, each with the shared layout.
type pages struct {
	sets map[string]*template.Template
}

var funcs = template.FuncMap{
	"money": func(minor int64, currency string) string {
		if currency == "" {
			return string(money.FormatPercent(minor)) + "%"
		}
		return formatMoney(minor, currency)
	},
	"percent": func(bp int64) string { return string(money.FormatPercent(bp)) + "%" },
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("Jan 2, 2006")
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("Jan 2, 2006 15:04 UTC")
	},
	"title": func(s string) string {
		s = strings.ReplaceAll(s, "_", " ")
		if s == "" {
			return s
		}
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"add":     func(a, b int) int { return a + b },
	"summary": ruleSummary,
	"limits":  ruleLimits,
	"list":    func(v ...string) []string { return v },
	"even":    func(i int) bool { return i%2 == 0 },
	// dict builds a map for passing several values to a sub-template.
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"query": func(pairs ...string) template.URL { return template.URL(encodeQuery(pairs...)) },
	// billingKind names what a reward's billing action does.
	"billingKind": func(kind string) string {
		switch kind {
		case "credit":
			return "balance credit"
		case "debit":
			return "balance clawback"
		case "discount":
			return "promotion code"
		case "void":
			return "promotion code deactivated"
		}
		return kind
	},
	// billingError says why a billing action did not happen, in words
	// when the store recorded a reason code.
	"billingError": func(msg string) string {
		if msg == "no_stripe_customer" {
			return "The recipient has no Stripe customer yet: nothing was applied in Stripe."
		}
		return msg
	},
}

// encodeQuery encodes name, value pairs as a query string, leaving out
// the empty values.
func encodeQuery(pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	return q.Encode()
}

// formatMoney renders minor units with the currency's symbol position kept
// simple and unambiguous: "USD 1,234.50".
func formatMoney(minor int64, currency string) string {
	s := string(money.Format(minor, currency))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "−" + out
	}
	return currency + " " + out
}

func mustParsePages() *pages {
	p := &pages{sets: map[string]*template.Template{}}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		p.sets[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", f))
	}
	return p
}

// render writes page name with the layout; it renders into a buffer first
// so that a template error becomes a clean 500, not half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	t, ok := d.pages.sets[name]
	if !ok {
		panic("dashboard: no template " + name)
	}
	if v.Admin == nil {
		v.Admin = adminFrom(r.Context())
	}
	if v.Admin != nil && v.Programs == nil {
		v.Programs, _ = d.DB.Programs(r.Context())
	}
	if v.Flash == "" {
		v.Flash, v.FlashBad = takeFlash(w, r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		d.Log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// flashCookie carries a one-time message across a redirect after a POST.
const flashCookie = "adv_flash"

// redirect sends the browser on after a successful POST, with a message.
func (d *Dashboard) redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(flash), Path: "/dashboard/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: d.secure(r), MaxAge: 60})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func takeFlash(w http.ResponseWriter, r *http.Request) (string, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", false
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/dashboard/", MaxAge: -1})
	msg, _ := url.QueryUnescape(c.Value)
	bad := strings.HasPrefix(msg, "!")
	return strings.TrimPrefix(msg, "!"), bad
}

// clientErrors turns an error a person caused into per-field messages for
// a form (the general message under ""), or returns nil for any other
// error, which the caller answers as a server error.
func clientErrors(err error) map[string]string {
	e, ok := referral.AsError(err)
	if !ok || e.Kind == referral.KindInternal {
		return nil
	}
	out := map[string]string{"": e.Message}
	for f, m := range e.Fields {
		out[f] = m
	}
	return out
}
