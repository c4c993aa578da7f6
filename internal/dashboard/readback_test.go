package dashboard_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAcceptedIsReadable is a property test: whatever the API accepts can
// be read back. A seeded random walk sends customers, updates,
// transactions, refunds, credits, debits, rules and links whose strings,
// numbers and metadata are drawn from hostile pieces (NUL bytes, invalid
// UTF-8, numbers beyond float64, markup, CSV formulas, very long text).
// Each request may be refused; but after every one that is accepted, the
// record it touched and the lists it appears in answer 200 through the
// API and the dashboard, and at the end of each walk every list, page and
// CSV export does. A failure names the seed and the request that broke
// the reads; ADVOCATE_READBACK_SEED=N replays that seed alone.
func TestAcceptedIsReadable(t *testing.T) {
	seeds := []uint64{1, 2, uint64(time.Now().UnixNano())}
	if v, err := strconv.ParseUint(os.Getenv("ADVOCATE_READBACK_SEED"), 10, 64); err == nil {
		seeds = []uint64{v}
	}
	const steps = 60
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				w := &walk{t: t, e: e, owner: e.asOwner(t), rng: rand.New(rand.NewPCG(seed, seed>>1))}
				for step := range steps {
					req := w.next()
					status, body := w.api(req.method, req.path, req.body)
					if status >= 500 {
						t.Fatalf("seed %d step %d: %s %s %s answered %d: %s", seed, step, req.method, req.path, req.body, status, body)
					}
					if status >= 300 {
						continue
					}
					w.accepted(req, body)
					w.readRecord(fmt.Sprintf("seed %d step %d (%s %s %s)", seed, step, req.method, req.path, req.body))
				}
				w.readAll(fmt.Sprintf("seed %d, end of walk", seed))
			})
		})
	}
}

// walk is one seeded sequence of requests against one env.
type walk struct {
	t     *testing.T
	e     *env
	owner *client
	rng   *rand.Rand
	n     int

	customers    []string // keys the API accepted
	codes        []string // their referral codes
	transactions []string // keys of accepted transactions
	last         string   // the customer the last accepted request touched
}

type apiRequest struct {
	method, path, body string
	customer           string // the customer it is about, if any
	transaction        string // the transaction it creates, if any
}

// Values are drawn mostly from ordinary pieces, so that most requests are
// accepted and the walk gets somewhere, and one time in five from hostile
// ones: what a validation gap would let into the database.
var (
	pieces = []string{"Jane", "Zoë Ångström", "名前", "🎉", "<script>alert(1)</script>", `"quoted"`,
		"comma,separated", "=HYPERLINK(\"http://x\")", " padded ", "O'Brien", `back\slash`, "", "x"}
	hostilePieces = []string{"a\u0000b", "\xff\xfe", "\xe2\x82", "\u202eevil", "line\nbreak", "tab\there",
		strings.Repeat("x", 600), strings.Repeat("é", 300), "\ufeffbom", "\U0010ffff"}
	numbers        = []string{"1", "10", "45.00", "0.01", "250", "1E2", "99.99"}
	hostileNumbers = []string{"0", "-1", "1e400", "-1e309", "1e-400", "9007199254740993", "92233720368547758.07",
		"9223372036854775807", "1.005", "\"10\"", "null", "-0", "0.1e1"}
)

func (w *walk) pick(from []string) string { return from[w.rng.IntN(len(from))] }

// mostly picks from ok, and one time in five from hostile.
func (w *walk) mostly(ok, hostile []string) string {
	if w.rng.IntN(5) == 0 {
		return w.pick(hostile)
	}
	return w.pick(ok)
}

// raw is a string of one or two pieces.
func (w *walk) raw() string {
	s := w.mostly(pieces, hostilePieces)
	if w.rng.IntN(2) == 0 {
		s += w.pick(pieces)
	}
	return s
}

// str is raw as a JSON string.
func (w *walk) str() string { return jsonString(w.raw()) }

// number is a JSON number text, mostly an ordinary amount.
func (w *walk) number() string { return w.mostly(numbers, hostileNumbers) }

// jsonString quotes s as JSON would, except that invalid UTF-8 is written
// as raw bytes so that it reaches the server as a client could send it.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// value is a metadata value: a string, number, bool, null, or (up to
// depth) an array or object.
func (w *walk) value(depth int) string {
	switch n := w.rng.IntN(7); {
	case n == 0 && depth > 0:
		return w.metadata(depth - 1)
	case n == 1 && depth > 0:
		return "[" + w.value(depth-1) + "," + w.value(depth-1) + "]"
	case n == 2:
		return w.number()
	case n == 3:
		return "true"
	case n == 4:
		return "null"
	default:
		return w.str()
	}
}

func (w *walk) metadata(depth int) string {
	var fields []string
	for range w.rng.IntN(4) {
		fields = append(fields, w.str()+":"+w.value(depth))
	}
	return "{" + strings.Join(fields, ",") + "}"
}

// customer is an accepted customer's key, or a fresh one.
func (w *walk) customer() string {
	if len(w.customers) > 0 && w.rng.IntN(5) > 0 {
		return w.pick(w.customers)
	}
	w.n++
	return fmt.Sprintf("c%d", w.n)
}

func (w *walk) currency() string {
	return w.mostly([]string{"USD", "EUR", "JPY"}, []string{"usd", "XXX", "", "US", "€"})
}

// next draws one write request.
func (w *walk) next() apiRequest {
	switch w.rng.IntN(9) {
	case 0, 1:
		w.n++
		key := fmt.Sprintf("c%d", w.n)
		if w.rng.IntN(4) == 0 {
			key = w.raw()
		}
		ref := `""`
		if len(w.codes) > 0 && w.rng.IntN(2) == 0 {
			ref = jsonString(w.pick(w.codes))
		}
		body := fmt.Sprintf(`{"key":%s,"email":%s,"name":%s,"metadata":%s,"referred_by":%s}`,
			jsonString(key), jsonString(w.mostly([]string{key + "@example.com"}, []string{w.raw(), "a@b", "a@example.com\x00"})),
			w.str(), w.metadata(2), ref)
		return apiRequest{method: http.MethodPost, path: "/v1/customers", body: body, customer: key}
	case 2:
		key := w.customer()
		body := fmt.Sprintf(`{"name":%s,"metadata":%s}`, w.str(), w.metadata(2))
		return apiRequest{method: http.MethodPut, path: "/v1/customers/" + url.PathEscape(key), body: body, customer: key}
	case 3, 4:
		key := w.customer()
		w.n++
		tkey := fmt.Sprintf("t%d", w.n)
		body := fmt.Sprintf(`{"customer_key":%s,"key":%s,"type":%s,"amount":%s,"currency":"%s","metadata":%s}`,
			jsonString(key), jsonString(tkey), w.mostly([]string{`"purchase"`, `"subscription"`}, []string{`"refund"`, w.str()}),
			w.number(), w.currency(), w.metadata(2))
		return apiRequest{method: http.MethodPost, path: "/v1/transactions", body: body, customer: key, transaction: tkey}
	case 5:
		if len(w.transactions) == 0 {
			return w.next()
		}
		body := fmt.Sprintf(`{"amount":%s,"reason":%s}`, w.number(), w.str())
		return apiRequest{method: http.MethodPost, path: "/v1/transactions/" + url.PathEscape(w.pick(w.transactions)) + "/refund", body: body}
	case 6:
		key := w.customer()
		op := w.pick([]string{"credit", "debit"})
		body := fmt.Sprintf(`{"amount":%s,"currency":"%s","note":%s}`, w.number(), w.currency(), w.str())
		return apiRequest{method: http.MethodPost, path: "/v1/customers/" + url.PathEscape(key) + "/balance/" + op, body: body, customer: key}
	case 7:
		body := fmt.Sprintf(`{"name":%s,"trigger":"purchase","reward_type":%s,"amount":%s,"currency":"%s"}`,
			w.str(), w.pick([]string{`"credit"`, `"cash"`, `"discount"`}), w.number(), w.currency())
		return apiRequest{method: http.MethodPost, path: "/v1/reward_rules", body: body}
	default:
		key := w.customer()
		body := fmt.Sprintf(`{"customer_key":%s,"destination_url":%s}`, jsonString(key),
			w.pick([]string{`"https://acme.example/pricing"`, jsonString("https://acme.example/" + w.raw()), w.str()}))
		return apiRequest{method: http.MethodPost, path: "/v1/customer_referral_links", body: body, customer: key}
	}
}

// accepted records what an accepted request created.
func (w *walk) accepted(req apiRequest, body []byte) {
	if req.customer != "" {
		w.last = req.customer
	}
	if req.transaction != "" {
		w.transactions = append(w.transactions, req.transaction)
	}
	if req.method == http.MethodPost && req.path == "/v1/customers" {
		var out struct {
			Customer struct {
				Key          string `json:"key"`
				ReferralCode string `json:"referral_code"`
			} `json:"customer"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			w.t.Fatalf("an accepted customer's answer does not decode: %v: %s", err, body)
		}
		w.customers = append(w.customers, out.Customer.Key)
		w.codes = append(w.codes, out.Customer.ReferralCode)
		w.last = out.Customer.Key
	}
}

// readRecord reads what the last accepted request touched, and the lists
// every record appears in.
func (w *walk) readRecord(after string) {
	paths := []string{"/v1/customers", "/v1/transactions", "/v1/rewards"}
	if w.last != "" {
		k := "/v1/customers/" + url.PathEscape(w.last)
		paths = append(paths, k, k+"/transactions", k+"/balance", k+"/stats", k+"/ledger")
	}
	for _, p := range paths {
		w.wantAPI(p, after)
	}
	w.wantPage(w.e.path("customers"), after)
	if w.last != "" {
		w.wantPage(w.e.path("customers/"+url.PathEscape(w.last)), after)
	}
}

// readAll reads every list, page and export.
func (w *walk) readAll(after string) {
	for _, p := range []string{"/v1/customers?limit=100", "/v1/transactions?limit=100", "/v1/rewards?limit=100",
		"/v1/reward_rules?limit=100", "/v1/program"} {
		w.wantAPI(p, after)
	}
	for _, key := range w.customers {
		k := "/v1/customers/" + url.PathEscape(key)
		for _, p := range []string{k, k + "/transactions", k + "/balance", k + "/stats", k + "/ledger",
			k + "/referral_links", k + "/discount_codes"} {
			w.wantAPI(p, after)
		}
		w.wantPage(w.e.path("customers/"+url.PathEscape(key)), after)
	}
	for _, key := range w.transactions {
		w.wantAPI("/v1/transactions/"+url.PathEscape(key), after)
	}
	for _, p := range []string{"", "customers", "customers?q=a", "rewards", "rules", "developers", "settings",
		"export/customers.csv", "export/referrals.csv", "export/rewards.csv"} {
		w.wantPage(w.e.path(p), after)
	}
}

// wantAPI reads path with the secret key. A customer or transaction the
// walk saw accepted and then deleted or refunded still answers 200 or,
// for a deleted customer, 404; never a 5xx.
func (w *walk) wantAPI(path, after string) {
	w.t.Helper()
	status, body := w.api(http.MethodGet, path, "")
	if status != http.StatusOK {
		w.t.Fatalf("after %s: GET %s answered %d: %s", after, path, status, body)
	}
}

func (w *walk) wantPage(path, after string) {
	w.t.Helper()
	if p := w.owner.get(path); p.Status != http.StatusOK {
		w.t.Fatalf("after %s: dashboard GET %s answered %d: %.300s", after, path, p.Status, p.Body)
	}
}

func (w *walk) api(method, path, body string) (int, []byte) {
	w.t.Helper()
	req, err := http.NewRequest(method, w.e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.e.sk)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
