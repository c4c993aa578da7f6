package dashboard

import (
	"mime"
	"net/http"

	"github.com/advocate-oss/advocate/internal/referral"
)

// checkText refuses, before any handler runs, a request whose path, query
// or form holds text PostgreSQL cannot store (NUL, invalid UTF-8), which
// SQLite would keep: both engines then answer alike and no page needs a
// check of its own. A path that cannot exist is a 404; a parameter or
// form field a 422 that names it; a POST body that is not an urlencoded
// form a 415.
func (d *Dashboard) checkText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !referral.ValidText(r.URL.Path) {
			d.fail(w, r, http.StatusNotFound, "No such page.")
			return
		}
		if name, ok := referral.BadValue(r.URL.Query()); ok {
			d.fail(w, r, http.StatusUnprocessableEntity, "The parameter “"+name+"” holds a NUL character or invalid UTF-8.")
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") != "" && mt != "application/x-www-form-urlencoded" {
			// The dashboard's forms are all urlencoded; another body (a
			// multipart one, which FormValue would read too) is refused
			// rather than left unchecked.
			d.fail(w, r, http.StatusUnsupportedMediaType, "Send the form as application/x-www-form-urlencoded.")
			return
		}
		if r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded" {
			if err := r.ParseForm(); err != nil {
				d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if name, ok := referral.BadValue(r.PostForm); ok {
				d.fail(w, r, http.StatusUnprocessableEntity, "The field “"+name+"” holds a NUL character or invalid UTF-8.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
