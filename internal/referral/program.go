package referral

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/currency"
)

// Attribution policies: which referral code wins when a visitor followed
// several links within the cookie window.
const (
	FirstClick = "first_click"
	LastClick  = "last_click"
)

// Program is one referral program of a business. Every customer, key and
// reward belongs to exactly one program.
type Program struct {
	ID             string
	Name           string
	Currency       string
	WebsiteURL     string
	AllowedDomains []string
	RefParam       string // query parameter carrying the code, "ref" by default
	CookieDays     int
	Attribution    string
	WidgetSecret   string
	// PreviousWidgetSecret is the secret before the last rotation, still
	// accepted until WidgetSecretRotatedAt + WidgetSecretGrace.
	PreviousWidgetSecret  string
	WidgetSecretRotatedAt time.Time
	RequireHash           bool // the widget needs a valid customer_hash
	// RequireApproval holds every reward until a person approves it,
	// instead of releasing it when its holding period ends.
	RequireApproval bool
	// NewCustomersOnly rewards nobody for a friend who paid before they
	// were referred: a customer is not "brought" by a referral after the
	// fact. On by default.
	NewCustomersOnly bool
	// ShowLeaderboard adds the program's top referrers, by display name
	// only, to the widget. Off by default: not every business wants its
	// customers ranked in public.
	ShowLeaderboard bool
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// NewProgram returns a program with the documented defaults, validated.
func NewProgram(name, cur, website string) (*Program, error) {
	p := &Program{
		Name:             strings.TrimSpace(name),
		Currency:         strings.ToUpper(strings.TrimSpace(cur)),
		WebsiteURL:       strings.TrimSpace(website),
		RefParam:         "ref",
		CookieDays:       30,
		Attribution:      FirstClick,
		RequireHash:      true,
		NewCustomersOnly: true,
	}
	return p, p.Validate()
}

// Validate checks every setting and names each bad field.
func (p *Program) Validate() error {
	var v Validation
	if p.Name == "" || len(p.Name) > 200 {
		v.Add("name", "Name must be 1 to 200 characters.")
	}
	if ValidCurrency(p.Currency) != nil {
		v.Add("currency", errCurrency.Message)
	}
	if u, err := url.Parse(p.WebsiteURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		v.Add("website_url", "Website URL must be an absolute http(s) URL such as https://example.com.")
	}
	for _, d := range p.AllowedDomains {
		if !validDomain(d) {
			v.Add("allowed_domains", "Allowed domains must be host names such as app.example.com.")
		}
	}
	if !validParam(p.RefParam) {
		v.Add("referral_param", "The referral parameter must be 1 to 32 letters, digits, '-' or '_'.")
	}
	if p.CookieDays < 1 || p.CookieDays > 365 {
		v.Add("cookie_days", "The cookie window must be 1 to 365 days.")
	}
	if p.Attribution != FirstClick && p.Attribution != LastClick {
		v.Add("attribution", "Attribution must be first_click or last_click.")
	}
	return v.Err("invalid_program")
}

// ValidCurrency reports whether code is an ISO 4217 currency code.
func ValidCurrency(code string) error {
	if len(code) != 3 || strings.ToUpper(code) != code {
		return errCurrency
	}
	// ParseISO accepts "XXX" ("no currency") as the zero Unit; money has no
	// digits for it, so amounts in it could be neither parsed nor shown.
	if u, err := currency.ParseISO(code); err != nil || u == (currency.Unit{}) {
		return errCurrency
	}
	return nil
}

// NormalizeCurrency upper-cases a currency code as clients send it
// ("usd", as billing systems such as Stripe do); ValidCurrency then checks
// it.
func NormalizeCurrency(code string) string { return strings.ToUpper(code) }

var errCurrency = &Error{Kind: KindInvalid, Code: "invalid_currency", Message: "Currency must be an ISO 4217 code such as USD."}

func validParam(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.Trim(d, ".") != d {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// WidgetSecretGrace is how long hashes made with the previous widget
// secret still verify after a rotation: a day, as Stripe and Standard
// Webhooks give for their secrets, time to deploy the new one everywhere.
const WidgetSecretGrace = 24 * time.Hour

// CustomerHash is what the business's backend computes to let the widget
// show a customer's data: hex(HMAC-SHA256(widget_secret, customer_key)).
func (p *Program) CustomerHash(customerKey string) string {
	return customerHash(p.WidgetSecret, customerKey)
}

func customerHash(secret, customerKey string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(customerKey))
	return hex.EncodeToString(m.Sum(nil))
}

// PreviousSecretExpires is when the previous widget secret stops
// verifying; zero if there is none.
func (p *Program) PreviousSecretExpires() time.Time {
	if p.PreviousWidgetSecret == "" {
		return time.Time{}
	}
	return p.WidgetSecretRotatedAt.Add(WidgetSecretGrace)
}

// ValidCustomerHash checks a presented hash in constant time against the
// current widget secret and, before its grace period ends at now, the
// previous one. Both comparisons always run, so timing says nothing about
// which secret matched.
func (p *Program) ValidCustomerHash(customerKey, hash string, now time.Time) bool {
	presented := []byte(strings.ToLower(hash))
	ok := hmac.Equal([]byte(p.CustomerHash(customerKey)), presented)
	if p.PreviousWidgetSecret != "" {
		prev := hmac.Equal([]byte(customerHash(p.PreviousWidgetSecret, customerKey)), presented)
		ok = ok || (prev && now.Before(p.PreviousSecretExpires()))
	}
	return ok
}
