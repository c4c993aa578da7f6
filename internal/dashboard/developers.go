package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// developersData is what the API keys and widget page shows.
type developersData struct {
	Keys        []*referral.APIKey
	NewKey      string // a key just created, shown this once
	Snippet     string
	Widget      string
	Backend     string
	BaseURL     string
	Hash        string // the hash for an example customer key
	Example     string
	Publishable string
	// PreviousExpires is when the widget secret before the last rotation
	// stops verifying, if it still does.
	PreviousExpires string

	Webhooks   []*webhooks.Endpoint
	EventTypes []webhooks.EventType
	// Ticked are the event types ticked in the endpoint form.
	Ticked map[string]bool
	// Editing is the id of the endpoint the form edits, or "".
	Editing string
	// NewSecret is an endpoint's secret just made, shown this once.
	NewSecret *newSecret
}

// developersShown is what one response of the developers page adds to
// the page as stored: a key or secret made by the request, or the
// endpoint form as posted with its errors.
type developersShown struct {
	status    int // 200 when zero
	newKey    string
	newSecret *newSecret
	form      url.Values
	errs      map[string]string
	editing   string
}

// newSecret is an endpoint's signing secret, just created or rotated.
type newSecret struct {
	Endpoint *webhooks.Endpoint
	Rotated  bool
}

func (d *Dashboard) DevelopersPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.renderDevelopers(w, r, p, developersShown{})
}

func (d *Dashboard) renderDevelopers(w http.ResponseWriter, r *http.Request, p *referral.Program, shown developersShown) {
	keys, err := d.DB.APIKeys(r.Context(), p.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	// A program has at most webhooks.MaxEndpoints: one page holds them all.
	hooks, _, err := d.DB.WebhookEndpoints(r.Context(), p.ID, store.Page{Limit: webhooks.MaxEndpoints})
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	newKey := shown.newKey
	pk := "pk_…"
	if strings.HasPrefix(newKey, "pk_") {
		pk = newKey
	}
	data := developersData{Keys: keys, NewKey: newKey, BaseURL: d.BaseURL, Example: "cust_123", Publishable: pk,
		Webhooks: hooks, EventTypes: webhooks.Subscribable(), Ticked: map[string]bool{}, Editing: shown.editing, NewSecret: shown.newSecret}
	for _, typ := range shown.form["events"] {
		data.Ticked[typ] = true
	}
	data.Hash = p.CustomerHash(data.Example)
	if exp := p.PreviousSecretExpires(); exp.After(d.now()) {
		data.PreviousExpires = exp.UTC().Format("2006-01-02 15:04")
	}
	data.Snippet = `<script>
!function(w,d,u){w.po=w.po||function(){(w.po.q=w.po.q||[]).push(arguments)};var s=d.createElement('script');s.async=1;s.src=u;d.head.appendChild(s)}(window,document,'` + d.BaseURL + `/js/po.js');
po('init', {publishable_key: '` + pk + `'});
</script>`
	data.Widget = `<div id="referral-widget"></div>
<script>
  po('renderReferralWidget', {
    container: '#referral-widget',
    customer_key: 'cust_123',
    customer_hash: '<computed by your backend>',
    theme: 'light',
    show_stats: true
  });
</script>`
	data.Backend = `// Node.js: compute customer_hash on your server, never in the browser.
const crypto = require('crypto');
const customerHash = crypto.createHmac('sha256', process.env.ADVOCATE_WIDGET_SECRET)
  .update(customer.key).digest('hex');`
	status := shown.status
	if status == 0 {
		status = http.StatusOK
	}
	d.render(w, r, status, "developers", &view{Title: "API keys & widget", Nav: "developers", Program: p,
		Form: shown.form, Errors: shown.errs, Data: data})
}

// KeyCreate makes an API key and shows it once; only its hash is kept.
func (d *Dashboard) KeyCreate(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	kind := r.PostFormValue("kind")
	if kind != referral.SecretKey && kind != referral.PublishableKey {
		d.fail(w, r, http.StatusUnprocessableEntity, "Choose a secret or a publishable key.")
		return
	}
	k, err := d.DB.CreateAPIKey(r.Context(), p.ID, kind)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.renderDevelopers(w, r, p, developersShown{newKey: k.Plain})
}

func (d *Dashboard) KeyRevoke(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	err := d.DB.RevokeAPIKey(r.Context(), p.ID, r.PathValue("id"))
	if e, ok := referral.AsError(err); ok && e.Kind == referral.KindNotFound {
		d.fail(w, r, http.StatusNotFound, "No such API key in this program.")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, "/dashboard/p/"+p.ID+"/developers", "Key revoked. Requests with it are refused from now on.")
}

// WidgetSecretRotate replaces the widget secret; the previous one keeps
// verifying for referral.WidgetSecretGrace. Viewers are refused by
// signedIn, cross-site posts by the CSRF check.
func (d *Dashboard) WidgetSecretRotate(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	p, err := d.DB.RotateWidgetSecret(r.Context(), p.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, "/dashboard/p/"+p.ID+"/developers", "Widget secret rotated. The previous one verifies until "+
		p.PreviousSecretExpires().UTC().Format("2006-01-02 15:04")+" UTC: deploy the new one to your servers before then.")
}

func (d *Dashboard) TeamPage(w http.ResponseWriter, r *http.Request) {
	d.renderTeam(w, r, http.StatusOK, nil, nil, "")
}

func (d *Dashboard) renderTeam(w http.ResponseWriter, r *http.Request, status int, form url.Values, errs map[string]string, invited string) {
	admins, err := d.DB.Admins(r.Context())
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	if form == nil {
		form = url.Values{"role": {store.RoleViewer}}
	}
	d.render(w, r, status, "team", &view{Title: "Team", Nav: "team", Form: form, Errors: errs,
		Data: map[string]any{"Admins": admins, "Invited": invited, "Me": adminFrom(r.Context()).ID}})
}

// Invite adds an admin with a one-time password shown to the inviting
// owner, who passes it on; there is no email sending in a self-hosted
// install without a mail server.
func (d *Dashboard) Invite(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	password := newPassword()
	a, err := d.DB.CreateAdmin(r.Context(), r.PostForm.Get("email"), password, r.PostForm.Get("role"))
	if errs := clientErrors(err); errs != nil {
		d.renderTeam(w, r, http.StatusUnprocessableEntity, r.PostForm, errs, "")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.renderTeam(w, r, http.StatusOK, nil, nil, a.Email+" can sign in with the password "+password)
}

func (d *Dashboard) RemoveAdmin(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == adminFrom(r.Context()).ID {
		d.redirect(w, r, "/dashboard/team", "!You cannot remove yourself.")
		return
	}
	err := d.DB.DeleteAdmin(r.Context(), id)
	if e, ok := referral.AsError(err); ok {
		if e.Kind == referral.KindNotFound {
			d.fail(w, r, http.StatusNotFound, e.Message)
			return
		}
		d.redirect(w, r, "/dashboard/team", "!"+e.Message)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, "/dashboard/team", "Removed. Their sessions have ended.")
}
