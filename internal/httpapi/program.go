package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

// programJSON is the key's program on the wire. It includes the widget
// secret: only secret keys read it, and the business's backend needs it
// to compute customer_hash for the widget.
type programJSON struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	Currency            string   `json:"currency"`
	WebsiteURL          string   `json:"website_url"`
	AllowedDomains      []string `json:"allowed_domains"`
	ReferralParam       string   `json:"referral_param"`
	CookieDays          int      `json:"cookie_days"`
	Attribution         string   `json:"attribution"`
	RequireCustomerHash bool     `json:"require_customer_hash"`
	RequireApproval     bool     `json:"require_approval"`
	NewCustomersOnly    bool     `json:"new_customers_only"`
	ShowLeaderboard     bool     `json:"show_leaderboard"`
	WidgetSecret        string   `json:"widget_secret"`
	// PreviousSecretExpiresAt is when the secret before the last rotation
	// stops verifying customer_hash; null when none does any more.
	PreviousSecretExpiresAt *time.Time `json:"previous_widget_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func (s *Server) toProgramJSON(p *referral.Program) programJSON {
	out := programJSON{
		ID: p.ID, Name: p.Name, Currency: p.Currency, WebsiteURL: p.WebsiteURL, AllowedDomains: p.AllowedDomains,
		ReferralParam: p.RefParam, CookieDays: p.CookieDays, Attribution: p.Attribution,
		RequireCustomerHash: p.RequireHash, RequireApproval: p.RequireApproval, NewCustomersOnly: p.NewCustomersOnly, ShowLeaderboard: p.ShowLeaderboard, WidgetSecret: p.WidgetSecret, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if exp := p.PreviousSecretExpires(); exp.After(s.now()) {
		out.PreviousSecretExpiresAt = &exp
	}
	return out
}

func (s *Server) GetProgram(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]programJSON{"program": s.toProgramJSON(program(r))})
	return nil
}

// RotateWidgetSecret issues a new widget secret, returned in the program
// like GET /v1/program returns it. Hashes made with the one it replaces
// keep verifying for referral.WidgetSecretGrace, while backends switch.
func (s *Server) RotateWidgetSecret(w http.ResponseWriter, r *http.Request) error {
	if err := readNoFields(r); err != nil {
		return err
	}
	return respond(w, r, func(ctx context.Context) (*referral.Program, error) {
		return s.DB.RotateWidgetSecret(ctx, program(r).ID)
	}, func(p *referral.Program) (int, any) {
		return http.StatusOK, map[string]programJSON{"program": s.toProgramJSON(p)}
	})
}

// UpdateProgram changes the settings present in the body. The currency is
// fixed at creation: rewards and balances are kept in it.
func (s *Server) UpdateProgram(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Name                *string   `json:"name"`
		WebsiteURL          *string   `json:"website_url"`
		AllowedDomains      *[]string `json:"allowed_domains"`
		ReferralParam       *string   `json:"referral_param"`
		CookieDays          *int      `json:"cookie_days"`
		Attribution         *string   `json:"attribution"`
		RequireCustomerHash *bool     `json:"require_customer_hash"`
		RequireApproval     *bool     `json:"require_approval"`
		NewCustomersOnly    *bool     `json:"new_customers_only"`
		ShowLeaderboard     *bool     `json:"show_leaderboard"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	p := *program(r)
	set(&p.Name, in.Name)
	set(&p.WebsiteURL, in.WebsiteURL)
	set(&p.AllowedDomains, in.AllowedDomains)
	set(&p.RefParam, in.ReferralParam)
	set(&p.CookieDays, in.CookieDays)
	set(&p.Attribution, in.Attribution)
	set(&p.RequireHash, in.RequireCustomerHash)
	set(&p.RequireApproval, in.RequireApproval)
	set(&p.NewCustomersOnly, in.NewCustomersOnly)
	set(&p.ShowLeaderboard, in.ShowLeaderboard)
	if p.AllowedDomains == nil {
		p.AllowedDomains = []string{}
	}
	saved, err := s.DB.UpdateProgram(r.Context(), p)
	if err != nil {
		return err
	}
	s.links.Forget() // default links point at the website, which may have changed
	writeJSON(w, http.StatusOK, map[string]programJSON{"program": s.toProgramJSON(saved)})
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
