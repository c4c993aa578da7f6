package referral

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Customer is a user of the business's product, addressed by the business's
// own Key. Every customer can refer others with their ReferralCode.
type Customer struct {
	ID           string
	ProgramID    string
	Key          string
	Email        string
	Name         string
	Metadata     map[string]any
	ReferralCode string
	ReferredBy   string // the code the customer arrived with, "" if not referred
	ReferrerID   string
	ReferrerKey  string
	// PaidBeforeReferral says the customer had transactions when a
	// referrer was attached: under the program's NewCustomersOnly their
	// referral earns nothing (NotRewardedReason).
	PaidBeforeReferral bool
	// ReferralStatus is the state of the customer's own referral, as the
	// referrer's stats count it: successful, pending or rejected ("" when
	// not referred).
	ReferralStatus string
	// EmailOptOut says the customer gets none of the program's emails.
	EmailOptOut bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Limits on customer fields, chosen to match what billing systems allow.
const (
	MaxKeyLen   = 255
	MaxNameLen  = 200
	MaxEmailLen = 254
)

// ValidKey reports a problem with a customer key, or "". Keys appear in URL
// paths, so they are printable ASCII without '/', '?', '#', '%' or '\'.
func ValidKey(key string) string {
	if key == "" {
		return "Key is required."
	}
	if len(key) > MaxKeyLen {
		return "Key must be at most 255 characters."
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`/?#%\`, c) >= 0 {
			return "Key may contain printable ASCII characters except space, '/', '?', '#', '%' and '\\'."
		}
	}
	return ""
}

// NormalizeEmail validates an email address and returns it trimmed, or a
// message saying what is wrong.
func NormalizeEmail(email string) (string, string) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", "Email is required."
	}
	if len(email) > MaxEmailLen {
		return "", "Email must be at most 254 characters."
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return "", "Email must be a plain address such as jane@example.com."
	}
	at := strings.LastIndexByte(email, '@')
	if !strings.Contains(email[at+1:], ".") {
		return "", "Email must be a plain address such as jane@example.com."
	}
	return email, ""
}

// EmailKey is the form under which an email is unique in a program: lower case.
func EmailKey(email string) string { return strings.ToLower(email) }

// EmailIdentity is the form used to spot self-referrals: lower case, with
// the "+tag" and the dots of the local part removed, so that
// "Jane.Doe+2@x.com" and "janedoe@x.com" are one person.
func EmailIdentity(email string) string {
	email = strings.ToLower(email)
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return email
	}
	local, domain := email[:at], email[at:]
	if i := strings.IndexByte(local, '+'); i >= 0 {
		local = local[:i]
	}
	return strings.ReplaceAll(local, ".", "") + domain
}

// ValidName reports a problem with a display name, or "".
func ValidName(name string) string {
	if !utf8.ValidString(name) {
		return "Name must be valid UTF-8."
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return "Name must be at most 200 characters."
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return "Name must not contain control characters."
		}
	}
	return ""
}

// NewCustomer is what a client sends to create a customer.
type NewCustomer struct {
	Key          string
	Email        string
	Name         string
	Metadata     map[string]any
	ReferralCode string // optional custom code
	ReferredBy   string // optional code of the referrer
	EmailOptOut  bool
}

// Normalize validates every field, naming each bad one, and puts the values
// in their stored form.
func (n *NewCustomer) Normalize() error {
	var v Validation
	if msg := ValidKey(n.Key); msg != "" {
		v.Add("key", msg)
	}
	email, msg := NormalizeEmail(n.Email)
	if msg != "" {
		v.Add("email", msg)
	}
	n.Email = email
	n.Name = strings.TrimSpace(n.Name)
	if msg := ValidName(n.Name); msg != "" {
		v.Add("name", msg)
	}
	if n.ReferralCode != "" {
		n.ReferralCode = NormalizeCode(n.ReferralCode)
		if msg := ValidCode(n.ReferralCode); msg != "" {
			v.Add("referral_code", msg)
		}
	}
	if n.ReferredBy != "" {
		n.ReferredBy = NormalizeCode(n.ReferredBy)
		if len(n.ReferredBy) > MaxCodeLen {
			v.Add("referred_by", "No customer has that referral code.")
		}
	}
	if n.Metadata == nil {
		n.Metadata = map[string]any{}
	}
	v.AddError(ValidateMetadata(n.Metadata))
	return v.Err("invalid_customer")
}

// CustomerUpdate is a partial change to a customer; nil fields stay as
// they are. Metadata is merged key by key.
type CustomerUpdate struct {
	Name        *string
	Email       *string
	MetadataSet map[string]any
	MetadataDel []string
	ReferredBy  *string
	EmailOptOut *bool
}

// Normalize validates the fields that are present.
func (u *CustomerUpdate) Normalize() error {
	var v Validation
	if u.Name != nil {
		name := strings.TrimSpace(*u.Name)
		u.Name = &name
		if msg := ValidName(name); msg != "" {
			v.Add("name", msg)
		}
	}
	if u.Email != nil {
		email, msg := NormalizeEmail(*u.Email)
		if msg != "" {
			v.Add("email", msg)
		}
		u.Email = &email
	}
	if u.MetadataSet != nil {
		v.AddError(ValidateMetadata(u.MetadataSet))
	}
	if u.ReferredBy != nil {
		code := NormalizeCode(*u.ReferredBy)
		u.ReferredBy = &code
		if code == "" || len(code) > MaxCodeLen {
			v.Add("referred_by", "No customer has that referral code.")
		}
	}
	return v.Err("invalid_customer")
}

// Errors about referrals.
var (
	ErrUnknownReferralCode = FieldError("unknown_referral_code", "referred_by", "No customer has that referral code.")
	ErrSelfReferral        = FieldError("self_referral", "referred_by", "A customer cannot refer themselves.")
	ErrAlreadyReferred     = FieldError("already_referred", "referred_by", "This customer was already referred by someone else; a referrer cannot be changed.")
	ErrCustomerKeyTaken    = &Error{Kind: KindConflict, Code: "customer_key_taken", Message: "A customer with this key already exists.", Fields: map[string]string{"key": "A customer with this key already exists."}}
	ErrCustomerEmailTaken  = &Error{Kind: KindConflict, Code: "customer_email_taken", Message: "A customer with this email already exists.", Fields: map[string]string{"email": "A customer with this email already exists."}}
	ErrReferralCodeTaken   = &Error{Kind: KindConflict, Code: "referral_code_taken", Message: "This referral code is already in use.", Fields: map[string]string{"referral_code": "This referral code is already in use."}}
)

// NotRewardedReason says why nobody is rewarded for this customer's
// actions, or "" when nothing stops it.
func (c *Customer) NotRewardedReason(p *Program) string {
	if c.ReferrerID != "" && c.PaidBeforeReferral && p.NewCustomersOnly {
		return "paid_before_referral"
	}
	return ""
}
