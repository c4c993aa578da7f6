package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
)

// linkJSON is a referral link on the wire.
type linkJSON struct {
	ID             string    `json:"id"`
	CustomerKey    string    `json:"customer_key"`
	Code           string    `json:"code"`
	URL            string    `json:"url"`
	ShortURL       string    `json:"short_url"`
	DestinationURL string    `json:"destination_url"`
	Default        bool      `json:"default"`
	Clicks         int64     `json:"clicks"`
	UniqueClicks   int64     `json:"unique_clicks"`
	CreatedAt      time.Time `json:"created_at"`
}

func (s *Server) toLinkJSON(p *referral.Program, l *referral.Link) linkJSON {
	dest := l.DestinationURL
	if dest == "" {
		dest = p.WebsiteURL
	}
	return linkJSON{
		ID: l.ID, CustomerKey: l.CustomerKey, Code: l.Code,
		URL:            referral.WithRef(dest, p.RefParam, l.Code),
		ShortURL:       strings.TrimRight(s.Config.BaseURL, "/") + "/r/" + l.Code,
		DestinationURL: dest, Default: l.Default, Clicks: l.Clicks, UniqueClicks: l.UniqueClicks, CreatedAt: l.CreatedAt,
	}
}

func (s *Server) ListCustomerLinks(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	links, err := s.DB.CustomerLinks(r.Context(), p.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	out := list[linkJSON]{Data: make([]linkJSON, 0, len(links))}
	for _, l := range links {
		out.Data = append(out.Data, s.toLinkJSON(p, l))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) CreateLink(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		CustomerKey    string `json:"customer_key"`
		DestinationURL string `json:"destination_url"`
		Code           string `json:"code"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	var v referral.Validation
	if in.CustomerKey == "" {
		v.Add("customer_key", "Customer key is required.")
	}
	if in.DestinationURL == "" {
		v.Add("destination_url", "Destination URL is required.")
	}
	if err := v.Err("invalid_referral_link"); err != nil {
		return err
	}
	p := program(r)
	return respond(w, r, func(ctx context.Context) (*referral.Link, error) {
		return s.DB.CreateLink(ctx, p, in.CustomerKey, in.DestinationURL, in.Code)
	}, func(l *referral.Link) (int, any) {
		return http.StatusCreated, map[string]linkJSON{"referral_link": s.toLinkJSON(p, l)}
	})
}

func (s *Server) DeleteLink(w http.ResponseWriter, r *http.Request) error {
	code, err := s.DB.DeleteLink(r.Context(), program(r).ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.links.Forget(code)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
