package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/advocate-oss/advocate/internal/email"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// The Emails page: a program's sender settings, its kinds of email with
// each switched on or off, and an editor per kind with a preview. Viewers
// see everything; only owners change it (signedIn refuses their posts),
// and the preview is a POST, so it is the owners' too.

// emailDocs is where the page points for turning email on.
const emailDocs = "https://github.com/advocate-oss/advocate/blob/main/docs/email.md"

const noEmailKind = "There is no such kind of email."

func emailsPath(pid string) string { return "/dashboard/p/" + pid + "/emails" }

// emailKindRow is one kind in the list, with the program's template.
type emailKindRow struct {
	email.Kind
	Enabled, Customized bool
}

type emailsData struct {
	Enabled bool   // SMTP is configured
	From    string // --email-from
	Docs    string
	Kinds   []emailKindRow
}

// EmailsPage lists the kinds of email and shows the sender settings.
func (d *Dashboard) EmailsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	s, err := d.DB.EmailSettings(r.Context(), p.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.renderEmails(w, r, http.StatusOK, p, url.Values{"sender_name": {s.SenderName}, "reply_to": {s.ReplyTo},
		"brand_color": {s.BrandColor}}, nil)
}

func (d *Dashboard) renderEmails(w http.ResponseWriter, r *http.Request, status int, p *referral.Program, form url.Values, errs map[string]string) {
	ts, err := d.DB.EmailTemplates(r.Context(), p.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	data := emailsData{Enabled: d.emailEnabled, From: d.emailFrom, Docs: emailDocs}
	for i, k := range email.Kinds {
		def := email.Default(k.Name)
		data.Kinds = append(data.Kinds, emailKindRow{Kind: k, Enabled: ts[i].Enabled,
			Customized: ts[i].Subject != def.Subject || ts[i].Body != def.Body})
	}
	d.render(w, r, status, "emails", &view{Title: "Emails", Nav: "emails", Program: p, Form: form, Errors: errs, Data: data})
}

// EmailSettingsSave changes the sender name, reply-to address and brand
// colour; a bad one is shown at its field and nothing is saved.
func (d *Dashboard) EmailSettingsSave(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	_, err := d.DB.UpdateEmailSettings(r.Context(), p.ID, store.EmailSettings{SenderName: f.Get("sender_name"),
		ReplyTo: f.Get("reply_to"), BrandColor: f.Get("brand_color")})
	if errs := formErrors(err); errs != nil {
		d.renderEmails(w, r, http.StatusUnprocessableEntity, p, f, errs)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, emailsPath(p.ID), "Email settings saved.")
}

// formErrors is clientErrors without the general message when a field
// carries the problem.
func formErrors(err error) map[string]string {
	errs := clientErrors(err)
	if len(errs) > 1 {
		delete(errs, "")
	}
	return errs
}

// EmailEnable switches a kind of email on.
func (d *Dashboard) EmailEnable(w http.ResponseWriter, r *http.Request) {
	d.setEmailEnabled(w, r, true, "is sent again.")
}

// EmailDisable switches a kind of email off: nothing of it is sent, also
// what is already queued.
func (d *Dashboard) EmailDisable(w http.ResponseWriter, r *http.Request) {
	d.setEmailEnabled(w, r, false, "is switched off: none is sent.")
}

func (d *Dashboard) setEmailEnabled(w http.ResponseWriter, r *http.Request, on bool, done string) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	k, ok := d.emailKind(w, r)
	if !ok {
		return
	}
	if _, err := d.DB.SetEmailEnabled(r.Context(), p.ID, k.Name, on); err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, emailsPath(p.ID), "“"+k.Title+"” "+done)
}

// emailKind is the kind named in the URL; an unknown one is a 404.
func (d *Dashboard) emailKind(w http.ResponseWriter, r *http.Request) (email.Kind, bool) {
	k, ok := email.KindByName(r.PathValue("kind"))
	if !ok {
		d.fail(w, r, http.StatusNotFound, noEmailKind)
	}
	return k, ok
}

// emailPreview is a rendered template, for the edit page.
type emailPreview struct {
	Subject, Text string
	// Document is the URL of the HTML part (EmailPreviewDocument), for
	// the preview's frame.
	Document string
	// Unsaved says the preview shows text posted, not the saved template.
	Unsaved bool
	HTML    string
}

// emailPreview renders t with the kind's example values in the program's
// brand. unsaved says t is text posted to the editor: its frame's
// document is asked for with the text in its query.
func (d *Dashboard) emailPreview(ctx context.Context, p *referral.Program, k email.Kind, t email.Template, unsaved bool) (*emailPreview, error) {
	s, err := d.DB.EmailSettings(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	c, err := email.Render(t, email.Examples(k.Name), email.Brand{ProgramName: p.Name, Color: s.BrandColor}, "")
	if err != nil {
		return nil, err
	}
	doc := emailsPath(p.ID) + "/" + k.Name + "/preview.html"
	if unsaved {
		doc += "?" + url.Values{"subject": {t.Subject}, "body": {t.Body}}.Encode()
	}
	return &emailPreview{Subject: c.Subject, Text: c.Text, Document: doc, Unsaved: unsaved, HTML: c.HTML}, nil
}

type emailEditData struct {
	Kind       email.Kind
	Enabled    bool
	Customized bool
	Preview    *emailPreview
}

// EmailEdit shows the editor of one kind, filled with the program's
// template.
func (d *Dashboard) EmailEdit(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	k, ok := d.emailKind(w, r)
	if !ok {
		return
	}
	t, err := d.DB.EmailTemplate(r.Context(), p.ID, k.Name)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	// The saved template, previewed: viewers, who may not post, see it too.
	pv, err := d.emailPreview(r.Context(), p, k, t, false)
	if err != nil {
		// Saved templates were validated; a preview that fails must not
		// keep anyone from the editor that fixes it.
		d.Log.WarnContext(r.Context(), "email preview", "kind", k.Name, "err", err)
		pv = nil
	}
	d.renderEmailEdit(w, r, http.StatusOK, p, k, t, url.Values{"subject": {t.Subject}, "body": {t.Body}}, nil, pv)
}

func (d *Dashboard) renderEmailEdit(w http.ResponseWriter, r *http.Request, status int, p *referral.Program, k email.Kind,
	t email.Template, form url.Values, errs map[string]string, preview *emailPreview) {
	def := email.Default(k.Name)
	data := emailEditData{Kind: k, Enabled: t.Enabled, Customized: t.Subject != def.Subject || t.Body != def.Body, Preview: preview}
	d.render(w, r, status, "email_edit", &view{Title: k.Title + " · Emails", Nav: "emails", Program: p, Form: form,
		Errors: errs, Data: data})
}

// EmailSave saves the subject and body of one kind. A placeholder the
// kind does not have, or any other problem, is shown at its field with
// the text as typed, and nothing is saved.
func (d *Dashboard) EmailSave(w http.ResponseWriter, r *http.Request) {
	d.emailForm(w, r, false)
}

// EmailPreview renders the subject and body posted with the kind's
// example values and the program's brand, saving nothing.
func (d *Dashboard) EmailPreview(w http.ResponseWriter, r *http.Request) {
	d.emailForm(w, r, true)
}

func (d *Dashboard) emailForm(w http.ResponseWriter, r *http.Request, preview bool) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	k, ok := d.emailKind(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ctx, f := r.Context(), r.PostForm
	cur, err := d.DB.EmailTemplate(ctx, p.ID, k.Name)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	t := email.Template{Kind: k.Name, Enabled: cur.Enabled, Subject: f.Get("subject"), Body: f.Get("body")}
	if preview {
		pv, err := d.emailPreview(ctx, p, k, t, true)
		if errs := formErrors(err); errs != nil {
			d.renderEmailEdit(w, r, http.StatusUnprocessableEntity, p, k, cur, f, errs, nil)
			return
		}
		if err != nil {
			d.serverError(w, r, err)
			return
		}
		d.renderEmailEdit(w, r, http.StatusOK, p, k, cur, f, nil, pv)
		return
	}
	_, err = d.DB.SaveEmailTemplate(ctx, p.ID, t)
	if errs := formErrors(err); errs != nil {
		d.renderEmailEdit(w, r, http.StatusUnprocessableEntity, p, k, cur, f, errs, nil)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, emailsPath(p.ID)+"/"+k.Name, "“"+k.Title+"” saved.")
}

// EmailReset puts a kind's subject and body back to the defaults.
func (d *Dashboard) EmailReset(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	k, ok := d.emailKind(w, r)
	if !ok {
		return
	}
	_, err := d.DB.ResetEmailTemplate(r.Context(), p.ID, k.Name)
	if errors.Is(err, store.ErrUnknownEmailKind) {
		d.fail(w, r, http.StatusNotFound, noEmailKind)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, emailsPath(p.ID)+"/"+k.Name, "“"+k.Title+"” is back to the default text.")
}

// CustomerEmailOptOut opts a customer out of the program's emails, or
// back in, as the API's email_opt_out does (customer.updated is written).
func (d *Dashboard) CustomerEmailOptOut(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	var out bool
	switch r.PostForm.Get("email_opt_out") {
	case "true":
		out = true
	case "false":
	default:
		d.fail(w, r, http.StatusBadRequest, "Say whether the customer gets emails: email_opt_out is true or false.")
		return
	}
	key := r.PathValue("key")
	_, err := d.DB.UpdateCustomer(r.Context(), p, key, referral.CustomerUpdate{EmailOptOut: &out})
	if !d.found(w, r, err, referral.ErrCustomerNotFound, "No such customer in this program. They may have been deleted.") {
		return
	}
	msg := "Subscribed to emails again."
	if out {
		msg = "Unsubscribed: this customer gets none of the program's emails."
	}
	d.redirect(w, r, customerURL(p.ID, key), msg)
}

// EmailPreviewDocument is the HTML part of a kind's email as a document of
// its own, for the editor's preview frame: the subject and body in the
// query (the program's saved template when there are none), filled with
// the kind's example values in the program's brand. Email is styled
// inline, so this document, unlike the dashboard's pages, allows inline
// styles; it allows nothing else (no script, no fetch), may only be framed
// by the dashboard, and the frame is sandboxed too. Viewers may look.
func (d *Dashboard) EmailPreviewDocument(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	k, ok := d.emailKind(w, r)
	if !ok {
		return
	}
	ctx, q := r.Context(), r.URL.Query()
	t, err := d.DB.EmailTemplate(ctx, p.ID, k.Name)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	if q.Has("subject") || q.Has("body") {
		t.Subject, t.Body = q.Get("subject"), q.Get("body")
	}
	pv, err := d.emailPreview(ctx, p, k, t, false)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'self'; form-action 'none'")
	if errs := formErrors(err); errs != nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnprocessableEntity)
		for _, field := range []string{"subject", "body"} {
			if msg := errs[field]; msg != "" {
				fmt.Fprintf(w, "%s: %s\n", field, msg)
			}
		}
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, pv.HTML)
}
