package httpapi

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/advocate-oss/advocate/internal/store"
)

// Unsubscribe links (RFC 8058): every email to a customer carries
// List-Unsubscribe: <BaseURL/unsubscribe/{token}>. A GET only shows a
// confirmation page, because mail scanners follow links; a POST of
// List-Unsubscribe=One-Click (the mail provider's one click, or the
// page's button) opts the customer out. No login and no CSRF check: the
// signed token is the authority, and providers post cross-site.

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2937;line-height:1.5}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#4f46e5;color:#fff;cursor:pointer}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{if .Form}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>{{end}}
</body></html>
`))

type unsubscribeView struct {
	Title, Message string
	Form           bool
}

func writeUnsubscribePage(w http.ResponseWriter, status int, v unsubscribeView) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	w.WriteHeader(status)
	unsubscribePage.Execute(w, v)
}

var invalidLinkView = unsubscribeView{Title: "Link not valid",
	Message: "This unsubscribe link is not valid: it may be damaged or incomplete. Use the link of a recent email, or ask the sender to stop."}

// UnsubscribePage shows what an unsubscribe link would do, with a button.
func (s *Server) UnsubscribePage(w http.ResponseWriter, r *http.Request) error {
	if err := s.limitIP(w, r, "unsubscribe"); err != nil {
		return err
	}
	u, err := s.DB.UnsubscribeLink(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, store.ErrUnsubscribeLinkInvalid):
		writeUnsubscribePage(w, http.StatusNotFound, invalidLinkView)
		return nil
	case err != nil:
		return err
	case u.OptedOut:
		writeUnsubscribePage(w, http.StatusOK, unsubscribeView{Title: "You are unsubscribed",
			Message: u.Email + " gets no more emails from " + u.ProgramName + "."})
	default:
		writeUnsubscribePage(w, http.StatusOK, unsubscribeView{Title: "Unsubscribe from " + u.ProgramName,
			Message: "Stop all emails from " + u.ProgramName + " to " + u.Email + "?", Form: true})
	}
	return nil
}

// Unsubscribe opts the customer a link names out of the program's emails;
// again is the same answer.
func (s *Server) Unsubscribe(w http.ResponseWriter, r *http.Request) error {
	if err := s.limitIP(w, r, "unsubscribe"); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		writeUnsubscribePage(w, http.StatusBadRequest, unsubscribeView{Title: "Nothing changed",
			Message: "The request body is not a small form. Open the link in a browser to use the button."})
		return nil
	}
	if r.PostForm.Get("List-Unsubscribe") != "One-Click" {
		writeUnsubscribePage(w, http.StatusUnprocessableEntity, unsubscribeView{Title: "Nothing changed",
			Message: "Unsubscribing needs the form body List-Unsubscribe=One-Click (RFC 8058). Open the link in a browser to use the button."})
		return nil
	}
	u, err := s.DB.Unsubscribe(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, store.ErrUnsubscribeLinkInvalid):
		writeUnsubscribePage(w, http.StatusNotFound, invalidLinkView)
		return nil
	case err != nil:
		return err
	}
	writeUnsubscribePage(w, http.StatusOK, unsubscribeView{Title: "You are unsubscribed",
		Message: u.Email + " gets no more emails from " + u.ProgramName + "."})
	return nil
}
