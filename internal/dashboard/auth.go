package dashboard

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/advocate-oss/advocate/internal/store"
)

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "login", &view{Title: "Sign in", Form: url.Values{"next": {safeNext(r.URL.Query().Get("next"))}}})
}

// login signs an admin in. Failures are limited per email and per address
// (5 in 15 minutes) and always answer the same message.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	ip := d.Proxies.IP(r)
	keys := []string{"email:" + email, "ip:" + ip}
	form := url.Values{"email": {email}, "next": {safeNext(r.PostForm.Get("next"))}}
	if d.signIns.blocked(keys...) {
		d.render(w, r, http.StatusTooManyRequests, "login", &view{Title: "Sign in", Form: form,
			Errors: map[string]string{"": "Too many failed attempts. Wait 15 minutes and try again."}})
		return
	}
	token, _, err := d.DB.SignIn(r.Context(), email, r.PostForm.Get("password"))
	if errors.Is(err, store.ErrBadCredentials) {
		d.signIns.fail(keys...)
		d.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in", Form: form,
			Errors: map[string]string{"": "Wrong email or password."}})
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.signIns.reset(keys...)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/dashboard/", HttpOnly: true,
		Secure: d.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(store.SessionMax.Seconds())})
	http.Redirect(w, r, form.Get("next"), http.StatusSeeOther)
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := d.DB.SignOut(r.Context(), c.Value); err != nil {
			d.serverError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/dashboard/", MaxAge: -1, HttpOnly: true, Secure: d.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}

// newPassword makes a one-time password for an invited admin.
func newPassword() string { return rand.Text()[:20] }
