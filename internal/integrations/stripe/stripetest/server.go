// Package stripetest is a fake of the part of Stripe's API that Advocate
// calls, for tests: customer balance transactions, coupons, promotion
// codes and the events list. It is strict where Stripe is (form-encoded
// bodies, unknown or missing parameters, keys and their permissions,
// idempotency) and stricter where Advocate must be disciplined (every POST
// carries an Idempotency-Key, Stripe-Version is pinned, currencies are
// lower-case). Tests inject the failures Stripe and networks have: rate
// limits, errors, slow answers, and responses lost after the change was
// made.
package stripetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// APIVersion is the Stripe-Version the fake requires (stripe.APIVersion).
const APIVersion = "2024-06-20"

// SecretKey is a valid secret key with every permission.
const SecretKey = "sk_test_advocate"

// Account is the fake's account id, as Stripe's messages name it.
const Account = "acct_fake"

// Routes, as Inject and Call.Route name them.
const (
	RouteBalanceTransactions = "POST /v1/customers/{customer}/balance_transactions"
	RouteCoupons             = "POST /v1/coupons"
	RoutePromotionCodes      = "POST /v1/promotion_codes"
	RoutePromotionCode       = "POST /v1/promotion_codes/{id}"
	RouteEvents              = "GET /v1/events"
)

// Permissions of a restricted key (rk_…), as Stripe names them.
const (
	PermCustomerWrite      = "rak_customer_write"
	PermCouponWrite        = "rak_coupon_write"
	PermPromotionCodeWrite = "rak_promotion_code_write"
	PermEventRead          = "rak_event_read"
)

// IdempotencyWindow is how long Stripe keeps an Idempotency-Key.
const IdempotencyWindow = 24 * time.Hour

// Fault is a failure injected into a route's next requests; the zero
// Fault lets a request through.
type Fault struct {
	status     int           // answer this before doing anything
	delay      time.Duration // wait this long before applying
	afterApply bool          // apply, then fail: hang up, or answer status
	hangUp     bool
}

var (
	// RateLimit answers 429 before doing anything.
	RateLimit = Fault{status: http.StatusTooManyRequests}
	// ServerError answers 500 before doing anything.
	ServerError = Fault{status: http.StatusInternalServerError}
	// HangUpAfterApply makes the change, keeps its result for the
	// Idempotency-Key, then closes the connection without answering.
	HangUpAfterApply = Fault{afterApply: true, hangUp: true}
	// ErrorAfterApply makes the change, keeps its result for the
	// Idempotency-Key, then answers 500: a gateway between Stripe and the
	// caller losing the response.
	ErrorAfterApply = Fault{afterApply: true, status: http.StatusInternalServerError}
)

// Slow waits d before applying the request (with its Idempotency-Key in
// use meanwhile), then applies it whether or not the caller still waits.
func Slow(d time.Duration) Fault { return Fault{delay: d} }

// Call is a request the fake received.
type Call struct {
	Route, Method, Path string
	Header              http.Header
	// Form is the body's parameters for a POST, the query's for a GET;
	// Body is the raw body.
	Form     url.Values
	Body     string
	Status   int // 0 when the fake hung up
	Replayed bool
}

// Customer is a Stripe customer the test created with AddCustomer.
type Customer struct {
	ID, Currency string
	// Balance is the sum of its balance transactions: negative is credit.
	Balance int64
}

// BalanceTransaction is a customer balance transaction.
type BalanceTransaction struct {
	ID, Customer  string
	Amount        int64
	Currency      string
	Description   string
	Metadata      map[string]string
	EndingBalance int64
}

// Coupon is a coupon as created.
type Coupon struct {
	ID             string
	PercentOff     string // the decimal sent, "" for an amount off
	AmountOff      int64
	Currency       string
	Duration       string
	Name           string
	MaxRedemptions int64
	RedeemBy       int64 // Unix seconds, 0 when not set
	Metadata       map[string]string
}

// PromotionCode is a promotion code as created and updated.
type PromotionCode struct {
	ID, Code, Coupon, Customer string
	Active                     bool
	MaxRedemptions             int64
	ExpiresAt                  int64 // Unix seconds, 0 when not set
	Metadata                   map[string]string
}

// Server is the fake. Its state is read with its methods; the zero value
// is not usable: call NewServer.
type Server struct {
	URL string

	srv    *httptest.Server
	t      testing.TB
	closed chan struct{}

	mu        sync.Mutex
	now       func() time.Time
	keys      map[string][]string // key -> permissions; nil: every permission
	customers map[string]*Customer
	balance   []BalanceTransaction
	coupons   map[string]*Coupon
	promos    []*PromotionCode
	events    []event
	idem      map[string]*idemEntry
	faults    map[string][]Fault
	calls     []Call
	seq       int
}

type event struct {
	id      string
	typ     string
	created int64
	raw     json.RawMessage
}

type idemEntry struct {
	fingerprint string
	at          time.Time
	done        bool
	status      int
	body        []byte
}

// NewServer starts a fake that accepts SecretKey, closed when the test ends.
func NewServer(t testing.TB) *Server {
	s := &Server{t: t, closed: make(chan struct{}), now: time.Now,
		keys: map[string][]string{SecretKey: nil}, customers: map[string]*Customer{}, coupons: map[string]*Coupon{},
		idem: map[string]*idemEntry{}, faults: map[string][]Fault{}}
	mux := http.NewServeMux()
	s.route(mux, RouteBalanceTransactions, PermCustomerWrite, balanceParams, s.createBalanceTransaction)
	s.route(mux, RouteCoupons, PermCouponWrite, couponParams, s.createCoupon)
	s.route(mux, RoutePromotionCodes, PermPromotionCodeWrite, promoParams, s.createPromotionCode)
	s.route(mux, RoutePromotionCode, PermPromotionCodeWrite, promoUpdateParams, s.updatePromotionCode)
	s.route(mux, RouteEvents, PermEventRead, eventsParams, s.listEvents)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(Call{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Status: http.StatusNotFound})
		writeError(w, apiErr{http.StatusNotFound, "invalid_request_error", "", "",
			fmt.Sprintf("Unrecognized request URL (%s: %s).", r.Method, r.URL.Path)})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the fake; slow requests stop waiting.
func (s *Server) Close() {
	select {
	case <-s.closed:
		return
	default:
	}
	close(s.closed)
	s.srv.Close()
}

// SetNow sets the fake's clock (time.Now by default): Idempotency-Keys
// expire after IdempotencyWindow, redeem_by and expires_at must be ahead.
func (s *Server) SetNow(now func() time.Time) { s.mu.Lock(); s.now = now; s.mu.Unlock() }

// AddKey makes key valid: a secret key (sk_…) may do anything, a
// restricted key (rk_…) only what perms allow.
func (s *Server) AddKey(key string, perms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(key, "sk_") {
		perms = nil
	} else if perms == nil {
		perms = []string{}
	}
	s.keys[key] = perms
}

// RevokeKey makes key invalid (401 from then on).
func (s *Server) RevokeKey(key string) { s.mu.Lock(); delete(s.keys, key); s.mu.Unlock() }

// AddCustomer creates a Stripe customer; currency ("" for none yet) is
// set by its first balance transaction otherwise.
func (s *Server) AddCustomer(id, currency string) {
	s.mu.Lock()
	s.customers[id] = &Customer{ID: id, Currency: currency}
	s.mu.Unlock()
}

// Customer returns a customer, with its balance.
func (s *Server) Customer(id string) (Customer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customers[id]
	if !ok {
		return Customer{}, false
	}
	return *c, true
}

// Balance is a customer's balance: the sum of its balance transactions.
func (s *Server) Balance(customer string) int64 {
	c, _ := s.Customer(customer)
	return c.Balance
}

// BalanceTransactions returns a customer's balance transactions, oldest first.
func (s *Server) BalanceTransactions(customer string) []BalanceTransaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []BalanceTransaction
	for _, bt := range s.balance {
		if bt.Customer == customer {
			out = append(out, bt)
		}
	}
	return out
}

// Coupons returns the coupons created, by id.
func (s *Server) Coupons() map[string]Coupon {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]Coupon{}
	for id, c := range s.coupons {
		out[id] = *c
	}
	return out
}

// PromotionCodes returns the promotion codes, oldest first.
func (s *Server) PromotionCodes() []PromotionCode {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PromotionCode, len(s.promos))
	for i, p := range s.promos {
		out[i] = *p
	}
	return out
}

// Calls returns the requests received on route ("" for all), in order.
func (s *Server) Calls(route string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if route == "" || c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// Inject makes the next n requests to route fail with f, after those
// already injected.
func (s *Server) Inject(route string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[route] = append(s.faults[route], f)
	}
}

// NewEvent is a Stripe event envelope with object as its data.object.
func NewEvent(id, typ string, created time.Time, object any) []byte {
	b, err := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": APIVersion,
		"created": created.Unix(), "livemode": false, "pending_webhooks": 0, "type": typ,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": object}})
	if err != nil {
		panic(err)
	}
	return b
}

// AddEvent adds an event (a whole envelope, such as NewEvent's) to those
// the events API lists.
func (s *Server) AddEvent(raw []byte) {
	var env struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || env.ID == "" || env.Type == "" {
		s.t.Fatalf("stripetest: AddEvent: not an event: %v %s", err, raw)
	}
	s.mu.Lock()
	s.events = append(s.events, event{env.ID, env.Type, env.Created, json.RawMessage(slices.Clone(raw))})
	s.mu.Unlock()
}

func (s *Server) record(c Call) { s.mu.Lock(); s.calls = append(s.calls, c); s.mu.Unlock() }

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%06d", prefix, s.seq)
}

// apiErr is an error response, as Stripe shapes them.
type apiErr struct {
	status                    int
	typ, code, param, message string
}

func writeError(w http.ResponseWriter, e apiErr) {
	body := map[string]string{"type": e.typ, "message": e.message}
	if e.code != "" {
		body["code"] = e.code
	}
	if e.param != "" {
		body["param"] = e.param
	}
	b, _ := json.Marshal(map[string]any{"error": body})
	writeJSON(w, e.status, b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Stripe-Version", APIVersion)
	w.WriteHeader(status)
	w.Write(body)
}

func errorBody(e apiErr) []byte {
	rec := httptest.NewRecorder()
	writeError(rec, e)
	return rec.Body.Bytes()
}

// handler applies a valid request, with the fake's lock held, and returns
// its answer.
type handler func(r *http.Request, form url.Values) (int, any)

func (s *Server) route(mux *http.ServeMux, route, perm string, spec params, h handler) {
	mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		c := Call{Route: route, Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}
		c.Status, c.Replayed = s.serve(w, r, &c, perm, spec, h)
		s.record(c)
	})
}

// serve runs a request through the checks Stripe makes, in Stripe's order:
// the key, its permission, the parameters, the Idempotency-Key; then
// applies it and keeps its result for its key.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, c *Call, perm string, spec params, h handler) (status int, replayed bool) {
	fail := func(e apiErr) (int, bool) { writeError(w, e); return e.status, false }
	form, e := readForm(r, c)
	if e != nil {
		return fail(*e)
	}
	if e := s.authorize(r, perm); e != nil {
		return fail(*e)
	}
	if v := r.Header.Get("Stripe-Version"); v != APIVersion {
		return fail(apiErr{http.StatusBadRequest, "invalid_request_error", "", "",
			fmt.Sprintf("stripetest: Stripe-Version must be pinned to %s, got %q.", APIVersion, v)})
	}
	f := s.nextFault(c.Route)
	switch {
	case f.status == http.StatusTooManyRequests && !f.afterApply:
		return fail(apiErr{f.status, "invalid_request_error", "rate_limit", "",
			"Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."})
	case f.status != 0 && !f.afterApply:
		return fail(apiErr{f.status, "api_error", "", "", "An unknown error occurred"})
	}
	if e := spec.check(form); e != nil {
		return fail(*e)
	}
	key := r.Header.Get("Idempotency-Key")
	post := r.Method == http.MethodPost
	if post {
		if key == "" {
			return fail(apiErr{http.StatusBadRequest, "invalid_request_error", "", "",
				"stripetest: every POST must carry an Idempotency-Key."})
		}
		if len(key) > 255 {
			return fail(apiErr{http.StatusBadRequest, "invalid_request_error", "", "",
				"Idempotency-Key must be at most 255 characters long."})
		}
	}
	fingerprint := r.Method + " " + r.URL.Path + " " + form.Encode()
	var ent *idemEntry
	if post {
		s.mu.Lock()
		now := s.now()
		if old, ok := s.idem[key]; ok && now.Sub(old.at) < IdempotencyWindow {
			s.mu.Unlock()
			switch {
			case old.fingerprint != fingerprint:
				return fail(apiErr{http.StatusBadRequest, "idempotency_error", "", "", fmt.Sprintf(
					"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key)})
			case !old.done:
				return fail(apiErr{http.StatusConflict, "idempotency_error", "idempotency_key_in_use", "", fmt.Sprintf(
					"There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): %s. Please try again later.", key)})
			}
			w.Header().Set("Idempotent-Replayed", "true")
			return s.answer(w, f, old.status, old.body), true
		}
		ent = &idemEntry{fingerprint: fingerprint, at: now}
		s.idem[key] = ent
		s.mu.Unlock()
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-s.closed:
		}
	}
	s.mu.Lock()
	st, out := h(r, form)
	var body []byte
	if ae, ok := out.(apiErr); ok {
		body = errorBody(ae)
	} else {
		body, _ = json.Marshal(out)
	}
	if ent != nil {
		ent.done, ent.status, ent.body = true, st, body
	}
	s.mu.Unlock()
	return s.answer(w, f, st, body), false
}

// answer writes a response, or loses it as f says.
func (s *Server) answer(w http.ResponseWriter, f Fault, status int, body []byte) int {
	if f.afterApply {
		if f.hangUp {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
				return 0
			}
		}
		writeError(w, apiErr{f.status, "api_error", "", "", "An unknown error occurred"})
		return f.status
	}
	writeJSON(w, status, body)
	return status
}

func (s *Server) nextFault(route string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[route]
	if len(q) == 0 {
		return Fault{}
	}
	s.faults[route] = q[1:]
	return q[0]
}

func (s *Server) authorize(r *http.Request, perm string) *apiErr {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return &apiErr{http.StatusUnauthorized, "invalid_request_error", "", "",
			"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."}
	}
	s.mu.Lock()
	perms, valid := s.keys[key]
	s.mu.Unlock()
	if !valid {
		return &apiErr{http.StatusUnauthorized, "invalid_request_error", "", "", "Invalid API Key provided: " + mask(key)}
	}
	if perms != nil && !slices.Contains(perms, perm) {
		return &apiErr{http.StatusForbidden, "invalid_request_error", "", "", fmt.Sprintf(
			"The provided key '%s' does not have the required permissions for this endpoint on account '%s'. Having the '%s' permission would allow this request to continue.",
			mask(key), Account, perm)}
	}
	return nil
}

// mask shows a key as Stripe's messages do: its prefix and last four.
func mask(key string) string {
	i := strings.LastIndexByte(key, '_') + 1
	if len(key)-i <= 4 {
		return key[:i] + "****"
	}
	return key[:i] + strings.Repeat("*", len(key)-i-4) + key[len(key)-4:]
}

// readForm reads a POST's form-encoded body, or a GET's query.
func readForm(r *http.Request, c *Call) (url.Values, *apiErr) {
	bad := func(msg string) (url.Values, *apiErr) {
		return nil, &apiErr{http.StatusBadRequest, "invalid_request_error", "", "", msg}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return bad("stripetest: cannot read the body: " + err.Error())
	}
	c.Body = string(body)
	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			return bad(fmt.Sprintf("stripetest: a POST body must be application/x-www-form-urlencoded, not %q.", ct))
		}
		if raw != "" {
			return bad("stripetest: a POST carries its parameters in the body, not the query.")
		}
		raw = string(body)
	} else if len(body) > 0 {
		return bad("stripetest: a GET has no body.")
	}
	form, err := url.ParseQuery(raw)
	if err != nil {
		return bad("Invalid request: the parameters are not form-encoded: " + err.Error())
	}
	c.Form = form
	return form, nil
}

// params is what a route accepts: scalars, arrays (name[] or name[N]) and
// metadata[…].
type params struct {
	required, optional, arrays []string
	metadata                   bool
	ints, bools                []string
}

var (
	balanceParams = params{required: []string{"amount", "currency"}, optional: []string{"description"},
		metadata: true, ints: []string{"amount"}}
	couponParams = params{optional: []string{"id", "name", "percent_off", "amount_off", "currency", "duration",
		"duration_in_months", "max_redemptions", "redeem_by"}, metadata: true,
		ints: []string{"amount_off", "duration_in_months", "max_redemptions", "redeem_by"}}
	promoParams = params{required: []string{"coupon"}, optional: []string{"code", "customer", "max_redemptions",
		"expires_at", "active"}, metadata: true, ints: []string{"max_redemptions", "expires_at"}, bools: []string{"active"}}
	promoUpdateParams = params{optional: []string{"active"}, metadata: true, bools: []string{"active"}}
	eventsParams      = params{optional: []string{"created", "created[gt]", "created[gte]", "created[lt]", "created[lte]",
		"limit", "starting_after", "type"}, arrays: []string{"types"},
		ints: []string{"created", "created[gt]", "created[gte]", "created[lt]", "created[lte]", "limit"}}
)

var arrayIndex = regexp.MustCompile(`^([a-z_]+)\[[0-9]*\]$`)

func (p params) check(form url.Values) *apiErr {
	bad := func(param, msg string) *apiErr {
		return &apiErr{http.StatusBadRequest, "invalid_request_error", "parameter_unknown", param, msg}
	}
	metaKeys := 0
	for _, k := range slices.Sorted(maps.Keys(form)) {
		vs := form[k]
		if m := arrayIndex.FindStringSubmatch(k); m != nil && slices.Contains(p.arrays, m[1]) {
			continue
		}
		if mk, ok := strings.CutPrefix(k, "metadata["); ok && p.metadata && strings.HasSuffix(mk, "]") {
			mk = strings.TrimSuffix(mk, "]")
			metaKeys++
			switch {
			case mk == "" || len(mk) > 40 || strings.ContainsAny(mk, "[]"):
				e := bad(k, "Invalid metadata key: keys must be 1 to 40 characters without square brackets.")
				e.code = "parameter_invalid_string"
				return e
			case len(vs[0]) > 500:
				e := bad(k, "Invalid metadata value: values must be at most 500 characters.")
				e.code = "parameter_invalid_string"
				return e
			}
		} else if !slices.Contains(p.required, k) && !slices.Contains(p.optional, k) {
			return bad(k, "Received unknown parameter: "+k)
		}
		if len(vs) > 1 {
			e := bad(k, fmt.Sprintf("Invalid %s: received %d values for a single parameter.", k, len(vs)))
			e.code = "parameter_invalid_string"
			return e
		}
		if slices.Contains(p.ints, k) {
			if _, err := strconv.ParseInt(vs[0], 10, 64); err != nil {
				e := bad(k, "Invalid integer: "+vs[0])
				e.code = "parameter_invalid_integer"
				return e
			}
		}
		if slices.Contains(p.bools, k) && vs[0] != "true" && vs[0] != "false" {
			e := bad(k, "Invalid boolean: "+vs[0])
			e.code = "parameter_invalid_boolean"
			return e
		}
	}
	if metaKeys > 50 {
		return bad("metadata", "Invalid metadata: at most 50 keys.")
	}
	for _, k := range p.required {
		if form.Get(k) == "" {
			e := bad(k, "Missing required param: "+k+".")
			e.code = "parameter_missing"
			return e
		}
	}
	return nil
}

func metadata(form url.Values) map[string]string {
	m := map[string]string{}
	for k, vs := range form {
		if mk, ok := strings.CutPrefix(k, "metadata["); ok {
			m[strings.TrimSuffix(mk, "]")] = vs[0]
		}
	}
	return m
}

func invalid(param, msg string) (int, any) {
	return http.StatusBadRequest, apiErr{http.StatusBadRequest, "invalid_request_error", "", param, msg}
}

func missing(what, id, param string) (int, any) {
	return http.StatusNotFound, apiErr{http.StatusNotFound, "invalid_request_error", "resource_missing", param,
		fmt.Sprintf("No such %s: '%s'", what, id)}
}

var lowerCurrency = regexp.MustCompile(`^[a-z]{3}$`)

func (s *Server) createBalanceTransaction(r *http.Request, form url.Values) (int, any) {
	id := r.PathValue("customer")
	cus, ok := s.customers[id]
	if !ok {
		return missing("customer", id, "id")
	}
	amount, _ := strconv.ParseInt(form.Get("amount"), 10, 64)
	cur := form.Get("currency")
	switch {
	case amount == 0:
		return invalid("amount", "Invalid amount: a balance transaction's amount cannot be zero.")
	case !lowerCurrency.MatchString(cur):
		return invalid("currency", "stripetest: currency must be a lower-case ISO code, not "+strconv.Quote(cur)+".")
	case cus.Currency != "" && cus.Currency != cur:
		return invalid("currency", fmt.Sprintf("You cannot add a balance transaction in %s to a customer whose currency is %s.", cur, cus.Currency))
	}
	cus.Currency = cur
	cus.Balance += amount
	bt := BalanceTransaction{ID: s.nextID("cbtx_"), Customer: id, Amount: amount, Currency: cur,
		Description: form.Get("description"), Metadata: metadata(form), EndingBalance: cus.Balance}
	s.balance = append(s.balance, bt)
	return http.StatusOK, map[string]any{"id": bt.ID, "object": "customer_balance_transaction", "amount": bt.Amount,
		"currency": bt.Currency, "customer": id, "description": nullable(bt.Description), "ending_balance": bt.EndingBalance,
		"type": "adjustment", "metadata": bt.Metadata, "created": s.now().Unix(), "livemode": false}
}

var percentOff = regexp.MustCompile(`^(100|[0-9]{1,2})(\.[0-9]{1,2})?$`)

func (s *Server) createCoupon(r *http.Request, form url.Values) (int, any) {
	c := &Coupon{ID: form.Get("id"), PercentOff: form.Get("percent_off"), Currency: form.Get("currency"),
		Duration: form.Get("duration"), Name: form.Get("name"), Metadata: metadata(form)}
	c.AmountOff, _ = strconv.ParseInt(form.Get("amount_off"), 10, 64)
	c.MaxRedemptions, _ = strconv.ParseInt(form.Get("max_redemptions"), 10, 64)
	c.RedeemBy, _ = strconv.ParseInt(form.Get("redeem_by"), 10, 64)
	if c.Duration == "" {
		c.Duration = "once"
	}
	switch {
	case (c.PercentOff == "") == (form.Get("amount_off") == ""):
		return invalid("percent_off", "You must pass exactly one of percent_off or amount_off.")
	case c.PercentOff != "" && (!percentOff.MatchString(c.PercentOff) || strings.Trim(c.PercentOff, "0.") == "" ||
		strings.HasPrefix(c.PercentOff, "100.") && strings.Trim(c.PercentOff[4:], "0") != ""):
		return invalid("percent_off", "Invalid percent_off: must be a decimal above 0 and at most 100 with at most two decimal places.")
	case c.PercentOff != "" && c.Currency != "":
		return invalid("currency", "currency is only used with amount_off.")
	case form.Get("amount_off") != "" && c.AmountOff <= 0:
		return invalid("amount_off", "Invalid amount_off: must be positive.")
	case form.Get("amount_off") != "" && !lowerCurrency.MatchString(c.Currency):
		return invalid("currency", "stripetest: amount_off needs a lower-case currency.")
	case c.Duration != "once" && c.Duration != "forever" && c.Duration != "repeating":
		return invalid("duration", "Invalid duration: must be one of once, repeating, or forever.")
	case form.Get("max_redemptions") != "" && c.MaxRedemptions <= 0:
		return invalid("max_redemptions", "Invalid max_redemptions: must be positive.")
	case form.Get("redeem_by") != "" && c.RedeemBy <= s.now().Unix():
		return invalid("redeem_by", "Invalid redeem_by: must be in the future.")
	}
	if c.ID == "" {
		c.ID = s.nextID("FAKE")
	} else if _, dup := s.coupons[c.ID]; dup {
		return http.StatusBadRequest, apiErr{http.StatusBadRequest, "invalid_request_error", "resource_already_exists", "id", "Coupon already exists."}
	}
	s.coupons[c.ID] = c
	return http.StatusOK, couponJSON(c)
}

func couponJSON(c *Coupon) map[string]any {
	out := map[string]any{"id": c.ID, "object": "coupon", "duration": c.Duration, "name": nullable(c.Name),
		"metadata": c.Metadata, "valid": true, "times_redeemed": 0, "livemode": false,
		"percent_off": nil, "amount_off": nil, "currency": nil, "max_redemptions": nil, "redeem_by": nil}
	if c.PercentOff != "" {
		out["percent_off"] = json.Number(c.PercentOff)
	} else {
		out["amount_off"], out["currency"] = c.AmountOff, c.Currency
	}
	if c.MaxRedemptions > 0 {
		out["max_redemptions"] = c.MaxRedemptions
	}
	if c.RedeemBy > 0 {
		out["redeem_by"] = c.RedeemBy
	}
	return out
}

// promoCode is what Stripe accepts as a promotion code.
var promoCode = regexp.MustCompile(`^[A-Za-z0-9-]{1,500}$`)

func (s *Server) createPromotionCode(r *http.Request, form url.Values) (int, any) {
	p := &PromotionCode{Coupon: form.Get("coupon"), Code: form.Get("code"), Customer: form.Get("customer"),
		Active: form.Get("active") != "false", Metadata: metadata(form)}
	p.MaxRedemptions, _ = strconv.ParseInt(form.Get("max_redemptions"), 10, 64)
	p.ExpiresAt, _ = strconv.ParseInt(form.Get("expires_at"), 10, 64)
	coupon, ok := s.coupons[p.Coupon]
	if !ok {
		return missing("coupon", p.Coupon, "coupon")
	}
	if _, ok := s.customers[p.Customer]; p.Customer != "" && !ok {
		return missing("customer", p.Customer, "customer")
	}
	switch {
	case p.Code != "" && !promoCode.MatchString(p.Code):
		return invalid("code", "Invalid code: only letters, digits and dashes are allowed.")
	case form.Get("max_redemptions") != "" && p.MaxRedemptions <= 0:
		return invalid("max_redemptions", "Invalid max_redemptions: must be positive.")
	case form.Get("expires_at") != "" && p.ExpiresAt <= s.now().Unix():
		return invalid("expires_at", "Invalid expires_at: must be in the future.")
	case p.ExpiresAt > 0 && coupon.RedeemBy > 0 && p.ExpiresAt > coupon.RedeemBy:
		return invalid("expires_at", "The promotion code's expires_at cannot be after its coupon's redeem_by.")
	}
	if p.Code == "" {
		p.Code = s.nextID("PROMO")
	}
	for _, o := range s.promos {
		if o.Active && p.Active && o.Customer == p.Customer && strings.EqualFold(o.Code, p.Code) {
			return invalid("code", fmt.Sprintf("An active promotion code with `code: %s` already exists.", p.Code))
		}
	}
	p.ID = s.nextID("promo_")
	s.promos = append(s.promos, p)
	return http.StatusOK, promoJSON(p, coupon)
}

func (s *Server) updatePromotionCode(r *http.Request, form url.Values) (int, any) {
	id := r.PathValue("id")
	i := slices.IndexFunc(s.promos, func(p *PromotionCode) bool { return p.ID == id })
	if i < 0 {
		return missing("promotion code", id, "id")
	}
	p := s.promos[i]
	if a := form.Get("active"); a != "" {
		p.Active = a == "true"
	}
	maps.Copy(p.Metadata, metadata(form))
	return http.StatusOK, promoJSON(p, s.coupons[p.Coupon])
}

func promoJSON(p *PromotionCode, c *Coupon) map[string]any {
	out := map[string]any{"id": p.ID, "object": "promotion_code", "active": p.Active, "code": p.Code,
		"coupon": couponJSON(c), "customer": nullable(p.Customer), "metadata": p.Metadata, "livemode": false,
		"times_redeemed": 0, "expires_at": nil, "max_redemptions": nil,
		"restrictions": map[string]any{"first_time_transaction": false, "minimum_amount": nil, "minimum_amount_currency": nil}}
	if p.ExpiresAt > 0 {
		out["expires_at"] = p.ExpiresAt
	}
	if p.MaxRedemptions > 0 {
		out["max_redemptions"] = p.MaxRedemptions
	}
	return out
}

func (s *Server) listEvents(r *http.Request, form url.Values) (int, any) {
	limit := int64(10)
	if l := form.Get("limit"); l != "" {
		limit, _ = strconv.ParseInt(l, 10, 64)
		if limit < 1 || limit > 100 {
			return invalid("limit", "Invalid limit: must be between 1 and 100.")
		}
	}
	var types []string
	for k, vs := range form {
		if strings.HasPrefix(k, "types[") {
			types = append(types, vs...)
		}
	}
	if t := form.Get("type"); t != "" {
		types = append(types, t)
	}
	bound := func(k string) (int64, bool) {
		v, err := strconv.ParseInt(form.Get(k), 10, 64)
		return v, err == nil
	}
	keep := func(e event) bool {
		if v, ok := bound("created"); ok && e.created != v {
			return false
		}
		if v, ok := bound("created[gt]"); ok && e.created <= v {
			return false
		}
		if v, ok := bound("created[gte]"); ok && e.created < v {
			return false
		}
		if v, ok := bound("created[lt]"); ok && e.created >= v {
			return false
		}
		if v, ok := bound("created[lte]"); ok && e.created > v {
			return false
		}
		return len(types) == 0 || slices.Contains(types, e.typ)
	}
	// Newest first; of the same second, the last added first.
	all := slices.Clone(s.events)
	slices.Reverse(all)
	slices.SortStableFunc(all, func(a, b event) int { return cmp.Compare(b.created, a.created) })
	start := 0
	if after := form.Get("starting_after"); after != "" {
		i := slices.IndexFunc(all, func(e event) bool { return e.id == after })
		if i < 0 {
			return missing("event", after, "starting_after")
		}
		start = i + 1
	}
	data := []json.RawMessage{}
	more := false
	for _, e := range all[start:] {
		if !keep(e) {
			continue
		}
		if int64(len(data)) == limit {
			more = true
			break
		}
		data = append(data, e.raw)
	}
	return http.StatusOK, map[string]any{"object": "list", "url": "/v1/events", "has_more": more, "data": data}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
