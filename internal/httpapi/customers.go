package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// customerJSON is a customer on the wire.
type customerJSON struct {
	Key          string         `json:"key"`
	Email        string         `json:"email"`
	Name         string         `json:"name"`
	Metadata     map[string]any `json:"metadata"`
	ReferralCode string         `json:"referral_code"`
	ReferralURL  string         `json:"referral_url"`
	ReferredBy   *string        `json:"referred_by"`
	ReferrerKey  *string        `json:"referrer_key"`
	// NotRewardedReason says why nobody is rewarded for the customer's
	// actions (paid_before_referral), or null.
	NotRewardedReason *string `json:"not_rewarded_reason"`
	// ReferralStatus is the customer's own referral as their referrer's
	// stats count it (successful, pending, rejected), or null when not
	// referred.
	ReferralStatus *string `json:"referral_status"`
	// EmailOptOut says the customer gets none of the program's emails.
	EmailOptOut bool      `json:"email_opt_out"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toCustomerJSON(p *referral.Program, c *referral.Customer) customerJSON {
	out := customerJSON{
		Key: c.Key, Email: c.Email, Name: c.Name, Metadata: c.Metadata,
		ReferralCode: c.ReferralCode, ReferralURL: referral.WithRef(p.WebsiteURL, p.RefParam, c.ReferralCode),
		ReferralStatus: optString(c.ReferralStatus), EmailOptOut: c.EmailOptOut, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if c.ReferredBy != "" {
		out.ReferredBy = &c.ReferredBy
	}
	if c.ReferrerKey != "" { // "" once the referrer is deleted: their key is erased
		out.ReferrerKey = &c.ReferrerKey
	}
	if reason := c.NotRewardedReason(p); reason != "" {
		out.NotRewardedReason = &reason
	}
	return out
}

type customerEnvelope struct {
	Customer customerJSON `json:"customer"`
}

func (s *Server) CreateCustomer(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Email        string          `json:"email"`
		Name         string          `json:"name"`
		Key          string          `json:"key"`
		Metadata     json.RawMessage `json:"metadata"`
		ReferralCode string          `json:"referral_code"`
		ReferredBy   string          `json:"referred_by"`
		EmailOptOut  bool            `json:"email_opt_out"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	p := program(r)
	if in.ReferralCode != "" && authFrom(r.Context()).Key.Kind != referral.SecretKey {
		return &referral.Error{Kind: referral.KindForbidden, Code: "secret_key_required",
			Message: "Only a secret key may set a custom referral code.", Fields: map[string]string{"referral_code": "Needs a secret key."}}
	}
	meta, dels, err := referral.ParseMetadata(in.Metadata)
	var v referral.Validation
	v.AddError(err)
	if len(dels) > 0 {
		v.Add("metadata", "Metadata values may not be null when creating a customer.")
	}
	if err := v.Err("invalid_customer"); err != nil {
		return err
	}
	nc := referral.NewCustomer{Key: in.Key, Email: in.Email, Name: in.Name, Metadata: meta,
		ReferralCode: in.ReferralCode, ReferredBy: in.ReferredBy, EmailOptOut: in.EmailOptOut}
	browser := authFrom(r.Context()).Key.Kind == referral.PublishableKey
	err = respond(w, r, func(ctx context.Context) (*referral.Customer, error) { return s.DB.CreateCustomer(ctx, p, nc) },
		func(c *referral.Customer) (int, any) {
			if browser {
				return http.StatusCreated, publicCustomerEnvelope{toPublicCustomerJSON(p, c)}
			}
			return http.StatusCreated, customerEnvelope{toCustomerJSON(p, c)}
		})
	if browser && (errors.Is(err, referral.ErrCustomerKeyTaken) || errors.Is(err, referral.ErrCustomerEmailTaken)) {
		// The SDK may call createCustomer on every sign-in: the same key and
		// email again is the same customer, not a duplicate.
		existing, gerr := s.DB.Customer(r.Context(), p.ID, in.Key)
		if gerr == nil && strings.EqualFold(existing.Email, strings.TrimSpace(in.Email)) {
			writeJSON(w, http.StatusOK, publicCustomerEnvelope{toPublicCustomerJSON(p, existing)})
			return nil
		}
	}
	return err
}

// publicCustomerJSON is what a publishable key may see of a customer: what
// the browser that created them already knows, and their referral link.
type publicCustomerJSON struct {
	Key          string    `json:"key"`
	Name         string    `json:"name"`
	ReferralCode string    `json:"referral_code"`
	ReferralURL  string    `json:"referral_url"`
	ReferredBy   *string   `json:"referred_by"`
	CreatedAt    time.Time `json:"created_at"`
}

type publicCustomerEnvelope struct {
	Customer publicCustomerJSON `json:"customer"`
}

func toPublicCustomerJSON(p *referral.Program, c *referral.Customer) publicCustomerJSON {
	full := toCustomerJSON(p, c)
	return publicCustomerJSON{Key: full.Key, Name: full.Name, ReferralCode: full.ReferralCode,
		ReferralURL: full.ReferralURL, ReferredBy: full.ReferredBy, CreatedAt: full.CreatedAt}
}

func (s *Server) GetCustomer(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	c, err := s.DB.Customer(r.Context(), p.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, customerEnvelope{toCustomerJSON(p, c)})
	return nil
}

func (s *Server) ListCustomers(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "cus")
	if err != nil {
		return err
	}
	f := store.CustomerFilter{Page: pg, Email: r.URL.Query().Get("email")}
	switch v := r.URL.Query().Get("referred"); v {
	case "":
	case "true", "false":
		referred := v == "true"
		f.Referred = &referred
	default:
		return referral.FieldError("invalid_parameter", "referred", "Referred must be true or false.")
	}
	p := program(r)
	cs, more, err := s.DB.Customers(r.Context(), p.ID, f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(cs, more,
		func(c *referral.Customer) customerJSON { return toCustomerJSON(p, c) },
		func(c *referral.Customer) string { return c.ID }))
	return nil
}

func (s *Server) UpdateCustomer(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Name        *string         `json:"name"`
		Email       *string         `json:"email"`
		Metadata    json.RawMessage `json:"metadata"`
		ReferredBy  *string         `json:"referred_by"`
		EmailOptOut *bool           `json:"email_opt_out"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	u := referral.CustomerUpdate{Name: in.Name, Email: in.Email, ReferredBy: in.ReferredBy, EmailOptOut: in.EmailOptOut}
	if len(in.Metadata) > 0 && string(in.Metadata) != "null" {
		set, dels, err := referral.ParseMetadata(in.Metadata)
		if err != nil {
			var v referral.Validation
			v.AddError(err)
			return v.Err("invalid_customer")
		}
		u.MetadataSet, u.MetadataDel = set, dels
	}
	p := program(r)
	c, err := s.DB.UpdateCustomer(r.Context(), p, r.PathValue("key"), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, customerEnvelope{toCustomerJSON(p, c)})
	return nil
}

func (s *Server) DeleteCustomer(w http.ResponseWriter, r *http.Request) error {
	codes, err := s.DB.DeleteCustomer(r.Context(), program(r).ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	s.links.Forget(codes...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
