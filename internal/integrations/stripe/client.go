package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIVersion is the Stripe-Version every request is pinned to, so that a
// change of the account's default version never changes what the calls
// mean (promotion codes take `coupon`, not basil's `promotion[coupon]`).
const APIVersion = "2024-06-20"

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = "https://api.stripe.com"

// DefaultTimeout bounds one request when Client.Timeout is not set.
const DefaultTimeout = 30 * time.Second

const (
	// maxResponse caps the body of a response to a write: Stripe's are a
	// few kilobytes.
	maxResponse = 1 << 20
	// maxEventsPage caps a page of 100 events, which carry whole objects
	// (an invoice with its lines is tens of kilobytes).
	maxEventsPage = 32 << 20
	// eventsPageSize is the most events Stripe returns per page.
	eventsPageSize = 100
)

// ErrInvalidParams is a call refused before it is sent: retrying the same
// call cannot help.
var ErrInvalidParams = errors.New("stripe: invalid parameters")

// Client calls Stripe's API with one account's key. The zero HTTP uses
// http.DefaultClient; a Client is safe for concurrent use.
type Client struct {
	// BaseURL is Stripe's API (DefaultBaseURL when empty), or a proxy or
	// fake of it.
	BaseURL   string
	SecretKey string
	HTTP      *http.Client
	// Timeout bounds each request (DefaultTimeout when zero).
	Timeout time.Duration
}

// access is what a restricted key needs for a call, named as Stripe's
// dashboard names it, for the message of a 403.
type access struct {
	op       string // what the call does: "create coupons"
	resource string // "Coupons"
	level    string // "read" or "write"
}

var (
	balanceAccess    = access{"add customer balance transactions", "Customers", "write"}
	couponAccess     = access{"create coupons", "Coupons", "write"}
	promoAccess      = access{"create promotion codes", "Promotion codes", "write"}
	deactivateAccess = access{"deactivate promotion codes", "Promotion codes", "write"}
	eventsAccess     = access{"list events", "Events", "read"}
	errNoSecretKey   = fmt.Errorf("%w: no secret key", ErrInvalidParams)
	errNoIdempotent  = fmt.Errorf("%w: no idempotency key", ErrInvalidParams)
)

// CreateBalanceTransaction adds amount, in Stripe's minor units of
// currency (lower-case), to the customer's balance: negative is a credit
// the customer's next invoices use up, positive a debit. It returns the
// balance transaction's id.
func (c *Client) CreateBalanceTransaction(ctx context.Context, customerID string, amount int64, currency, description, idemKey string, metadata map[string]string) (string, error) {
	if customerID == "" || amount == 0 || currency == "" {
		return "", fmt.Errorf("%w: a balance transaction needs a customer, an amount and a currency", ErrInvalidParams)
	}
	p := url.Values{}
	p.Set("amount", strconv.FormatInt(amount, 10))
	p.Set("currency", strings.ToLower(currency))
	if description != "" {
		p.Set("description", description)
	}
	setMetadata(p, metadata)
	var out struct{ ID string }
	err := c.do(ctx, http.MethodPost, "/v1/customers/"+url.PathEscape(customerID)+"/balance_transactions", p, idemKey, balanceAccess, maxResponse, &out)
	return out.ID, err
}

// CouponParams is a single-use coupon for one invoice.
type CouponParams struct {
	// PercentOff is in basis points (1250 is 12.5 %); or AmountOff, in
	// Stripe's minor units of Currency (lower-case).
	PercentOff int64
	AmountOff  int64
	Currency   string
	// Name is shown on the customer's invoice.
	Name string
	// ExpiresAt, when set, is the coupon's redeem_by.
	ExpiresAt *time.Time
	Metadata  map[string]string
}

// CreateCoupon creates a coupon that applies once and can be redeemed
// once, and returns its id.
func (c *Client) CreateCoupon(ctx context.Context, cp CouponParams, idemKey string) (string, error) {
	p := url.Values{}
	switch {
	case cp.PercentOff > 0 && cp.AmountOff == 0:
		if cp.PercentOff > 10000 {
			return "", fmt.Errorf("%w: percent off above 100 %%", ErrInvalidParams)
		}
		p.Set("percent_off", percent(cp.PercentOff))
	case cp.AmountOff > 0 && cp.PercentOff == 0 && cp.Currency != "":
		p.Set("amount_off", strconv.FormatInt(cp.AmountOff, 10))
		p.Set("currency", strings.ToLower(cp.Currency))
	default:
		return "", fmt.Errorf("%w: a coupon needs a positive percent off, or an amount off and a currency", ErrInvalidParams)
	}
	p.Set("duration", "once")
	p.Set("max_redemptions", "1")
	if cp.Name != "" {
		p.Set("name", cp.Name)
	}
	if cp.ExpiresAt != nil {
		p.Set("redeem_by", strconv.FormatInt(cp.ExpiresAt.Unix(), 10))
	}
	setMetadata(p, cp.Metadata)
	var out struct{ ID string }
	err := c.do(ctx, http.MethodPost, "/v1/coupons", p, idemKey, couponAccess, maxResponse, &out)
	return out.ID, err
}

// CreatePromotionCode creates the customer-facing code of a coupon, usable
// once and only by the customer, and returns its id.
func (c *Client) CreatePromotionCode(ctx context.Context, couponID, code, customerID string, expiresAt *time.Time, idemKey string) (string, error) {
	if couponID == "" || code == "" || customerID == "" {
		return "", fmt.Errorf("%w: a promotion code needs a coupon, a code and a customer", ErrInvalidParams)
	}
	p := url.Values{}
	p.Set("coupon", couponID)
	p.Set("code", code)
	p.Set("customer", customerID)
	p.Set("max_redemptions", "1")
	if expiresAt != nil {
		p.Set("expires_at", strconv.FormatInt(expiresAt.Unix(), 10))
	}
	var out struct{ ID string }
	err := c.do(ctx, http.MethodPost, "/v1/promotion_codes", p, idemKey, promoAccess, maxResponse, &out)
	return out.ID, err
}

// DeactivatePromotionCode makes a promotion code unusable (Stripe keeps it).
func (c *Client) DeactivatePromotionCode(ctx context.Context, id, idemKey string) error {
	if id == "" {
		return fmt.Errorf("%w: no promotion code", ErrInvalidParams)
	}
	p := url.Values{}
	p.Set("active", "false")
	var out struct{ ID string }
	return c.do(ctx, http.MethodPost, "/v1/promotion_codes/"+url.PathEscape(id), p, idemKey, deactivateAccess, maxResponse, &out)
}

// ListEvents returns a page of the events of the given types created at
// or after since (all when since is zero), newest first, after the event
// startingAfter ("" for the first page); hasMore says another page follows
// the last event returned. Stripe keeps events for 30 days.
func (c *Client) ListEvents(ctx context.Context, since time.Time, startingAfter string, types []string) (page []*Event, hasMore bool, err error) {
	p := url.Values{}
	if !since.IsZero() {
		p.Set("created[gte]", strconv.FormatInt(since.Unix(), 10))
	}
	p.Set("limit", strconv.Itoa(eventsPageSize))
	if startingAfter != "" {
		p.Set("starting_after", startingAfter)
	}
	for _, t := range types {
		p.Add("types[]", t)
	}
	var out struct {
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/events", p, "", eventsAccess, maxEventsPage, &out); err != nil {
		return nil, false, err
	}
	page = make([]*Event, 0, len(out.Data))
	for _, raw := range out.Data {
		ev, err := eventFromJSON(raw)
		if err != nil {
			return nil, false, err
		}
		page = append(page, ev)
	}
	return page, out.HasMore, nil
}

// eventFromJSON reads an event's envelope as the events API lists it.
func eventFromJSON(raw json.RawMessage) (*Event, error) {
	var env struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Created    int64  `json:"created"`
		Livemode   bool   `json:"livemode"`
		APIVersion string `json:"api_version"`
		Data       struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("stripe: list events: malformed event: %w", err)
	}
	if env.ID == "" || env.Type == "" || len(env.Data.Object) == 0 {
		return nil, errors.New("stripe: list events: an event without id, type or data.object")
	}
	return &Event{ID: env.ID, Type: env.Type, Created: time.Unix(env.Created, 0).UTC(), Livemode: env.Livemode,
		APIVersion: env.APIVersion, Object: env.Data.Object, Raw: raw}, nil
}

// percent writes basis points as Stripe's decimal percent_off: 1250 is
// "12.5", 1000 is "10", 5 is "0.05".
func percent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s
}

func setMetadata(p url.Values, m map[string]string) {
	for k, v := range m {
		p.Set("metadata["+k+"]", v)
	}
}

// do sends one request and decodes a 2xx response into out. A POST
// always carries idemKey as its Idempotency-Key, so that Stripe applies
// it once however often it is sent.
func (c *Client) do(ctx context.Context, method, path string, params url.Values, idemKey string, need access, limit int64, out any) error {
	if c.SecretKey == "" {
		return errNoSecretKey
	}
	if method == http.MethodPost && idemKey == "" {
		return errNoIdempotent
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u := base + path
	var body io.Reader
	if method == http.MethodGet {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(rctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidParams, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.SecretKey)
	req.Header.Set("Stripe-Version", APIVersion)
	req.Header.Set("User-Agent", "Advocate")
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", idemKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return transportError(ctx, need.op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return transportError(ctx, need.op, err)
	}
	if int64(len(data)) > limit {
		return fmt.Errorf("stripe: %s: response larger than %d bytes", need.op, limit)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, data, need)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("stripe: %s: malformed response (%d): %w", need.op, resp.StatusCode, err)
	}
	return nil
}

// NetworkError is a request that got no response: the connection failed
// or was lost, or Stripe did not answer in time. Stripe may have applied
// it; a retry with the same Idempotency-Key is safe.
type NetworkError struct {
	Op      string
	Timeout bool
	Err     error
}

func (e *NetworkError) Error() string {
	if e.Timeout {
		return "stripe: " + e.Op + ": no answer in time: " + e.Err.Error()
	}
	return "stripe: " + e.Op + ": " + e.Err.Error()
}

func (e *NetworkError) Unwrap() error { return e.Err }

// transportError tells a request that failed on the way from one whose
// caller gave up: only the first is worth retrying.
func transportError(parent context.Context, op string, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("stripe: %s: %w", op, parent.Err())
	}
	return &NetworkError{Op: op, Timeout: errors.Is(err, context.DeadlineExceeded) || isTimeout(err), Err: err}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// APIError is an error response of Stripe's API.
type APIError struct {
	Status int
	// Type, Code, Message and Param are Stripe's error object's.
	Type, Code, Message, Param string
	// RequestID is Stripe's Request-Id, to quote to Stripe's support.
	RequestID string

	shouldRetry string // Stripe-Should-Retry, when Stripe sent it
	need        access
}

// Error is a sentence for the dashboard; a key Stripe refuses, or one
// without the permission a call needs, says what to change.
func (e *APIError) Error() string {
	said := e.Message
	if said == "" {
		said = http.StatusText(e.Status)
	}
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("The Stripe key was refused (invalid, expired or revoked): set a current secret key (sk_…) or restricted key (rk_…) in the Stripe integration. Stripe said: %s", said)
	case http.StatusForbidden:
		if e.need.resource != "" {
			return fmt.Sprintf("The Stripe key cannot %s: it lacks permission for %s; give the restricted key %s access to %s (%q). Stripe said: %s",
				e.need.op, e.need.resource, e.need.level, e.need.resource, e.need.resource+": "+e.need.level, said)
		}
	}
	var b strings.Builder
	b.WriteString("stripe")
	if e.need.op != "" {
		b.WriteString(": " + e.need.op)
	}
	fmt.Fprintf(&b, ": %s (%d", said, e.Status)
	for _, s := range []string{e.Type, e.Code} {
		if s != "" {
			b.WriteString(" " + s)
		}
	}
	if e.Param != "" {
		b.WriteString(", param " + e.Param)
	}
	b.WriteString(")")
	return b.String()
}

// Retryable says whether the same request may succeed later: rate limits,
// Stripe's own errors, and conflicts with a request still in flight (the
// same Idempotency-Key in use, a locked object). Stripe-Should-Retry,
// when sent, decides.
func (e *APIError) Retryable() bool {
	switch e.shouldRetry {
	case "true":
		return true
	case "false":
		return false
	}
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	case e.Status == http.StatusConflict:
		return true // idempotency_key_in_use, lock_timeout: the first request is still running
	}
	return e.Code == "lock_timeout" || e.Code == "idempotency_key_in_use"
}

// Retryable says whether a failed call may succeed if made again with the
// same Idempotency-Key: a retryable APIError, or a NetworkError (a timeout
// or a lost connection). A call whose context was cancelled is not.
func Retryable(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var ne *NetworkError
	return errors.As(err, &ne)
}

func apiError(resp *http.Response, body []byte, need access) *APIError {
	e := &APIError{Status: resp.StatusCode, RequestID: resp.Header.Get("Request-Id"),
		shouldRetry: resp.Header.Get("Stripe-Should-Retry"), need: need}
	var env struct {
		Error struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		e.Type, e.Code, e.Message, e.Param = env.Error.Type, env.Error.Code, env.Error.Message, env.Error.Param
	}
	return e
}
