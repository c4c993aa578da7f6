package dashboard

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/clientip"
	"github.com/advocate-oss/advocate/internal/store"
)

func (d *Dashboard) LoginPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "login", &view{Title: "Sign in", Form: url.Values{"next": {safeNext(r.URL.Query().Get("next"))}}})
}

// Login signs an admin in. Every try counts against the client address
// and the account until it proves right (see attempts), so that guesses
// sent all at once are held back like guesses one by one. At an address
// the account last signed in from, the account is counted for that
// address alone: a guesser elsewhere cannot keep the admin out there, and
// a guesser sharing the address (a NAT, or the proxy's address when no
// proxy is trusted) is still delayed. Every failure answers the same
// message.
func (d *Dashboard) Login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	ip := d.Proxies.IP(r)
	addr := "ip:" + clientip.Bucket(ip)
	// The IP goes first: it has no spaces, so no email can make another
	// account's key.
	account, pair := "email:"+email, "pair:"+ip+" "+email
	keys := []string{addr, account}
	if d.knownAddrs.has(email, ip) {
		keys[1] = pair
	}
	form := url.Values{"email": {email}, "next": {safeNext(r.PostForm.Get("next"))}}
	wait, started := d.signIns.try(keys...)
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d.render(w, r, http.StatusTooManyRequests, "login", &view{Title: "Sign in", Form: form,
			Errors: map[string]string{"": fmt.Sprintf("Too many failed attempts. Try again in %s.", waitText(secs))}})
		return
	}
	token, _, err := d.DB.SignIn(r.Context(), email, r.PostForm.Get("password"))
	if errors.Is(err, store.ErrBadCredentials) {
		if len(started) > 0 {
			d.Log.WarnContext(r.Context(), "sign-in attempts are being slowed down after repeated failures",
				"account", email, "address", ip, "keys", started)
		}
		d.render(w, r, http.StatusUnauthorized, "login", &view{Title: "Sign in", Form: form,
			Errors: map[string]string{"": "Wrong email or password."}})
		return
	}
	if err != nil {
		// Not a wrong password: SignIn fails otherwise only before the
		// password check or after a right one.
		d.signIns.release(keys...)
		d.serverError(w, r, err)
		return
	}
	// The account's own keys start afresh; the address keeps the failures
	// of everyone else there.
	d.signIns.reset(account, pair)
	d.signIns.release(addr)
	d.knownAddrs.add(email, ip)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/dashboard/", HttpOnly: true,
		Secure: d.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: int(store.SessionMax.Seconds())})
	http.Redirect(w, r, form.Get("next"), http.StatusSeeOther)
}

func (d *Dashboard) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := d.DB.SignOut(r.Context(), c.Value); err != nil {
			d.serverError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/dashboard/", MaxAge: -1, HttpOnly: true, Secure: d.secure(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}

// waitText says how long to wait, in the unit a person would use.
func waitText(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 90:
		return fmt.Sprintf("%d seconds", secs)
	default:
		return fmt.Sprintf("%d minutes", (secs+59)/60)
	}
}

// newPassword makes a one-time password for an invited admin.
func newPassword() string { return rand.Text()[:20] }
