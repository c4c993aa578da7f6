package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// fuzzAPI is one API on a real database for FuzzBodies, with data for the
// endpoints to act on: a referrer ann, her friend bob, a credit rule, a
// payment o1 by bob and the reward it gave.
type fuzzAPI struct {
	engine  store.Engine
	db      *store.DB
	h       http.Handler
	sk, pk  string
	ruleID  string
	reward  string
	annCode string
}

func newFuzzAPI(f *testing.F, engine store.Engine) *fuzzAPI {
	f.Helper()
	db := storetest.Open(f, engine)
	a := httpapi.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Config{BaseURL: "https://adv.example.com"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	f.Cleanup(func() { cancel(); <-done })
	p, sk, pk := storetest.Program(f, db, "Acme", "USD", "https://yoursite.com")
	api := &fuzzAPI{engine: engine, db: db, h: a.Handler(), sk: sk, pk: pk, annCode: "ANN-" + p.ID[len(p.ID)-8:]}
	must := func(status int, method, path, body string) []byte {
		code, out := api.send(method, path, sk, []byte(body))
		if code != status {
			f.Fatalf("%s: %s %s: %d %s", engine, method, path, code, out)
		}
		return out
	}
	var rule struct {
		Rule struct{ ID string } `json:"reward_rule"`
	}
	json.Unmarshal(must(201, "POST", "/v1/reward_rules", `{"reward_type":"credit","amount":10,"currency":"USD","holding_days":30}`), &rule)
	api.ruleID = rule.Rule.ID
	must(201, "POST", "/v1/customers", `{"key":"ann","email":"ann@example.com","referral_code":"`+api.annCode+`"}`)
	must(201, "POST", "/v1/customers", `{"key":"bob","email":"bob@example.com","referred_by":"`+api.annCode+`"}`)
	var txn struct {
		Transaction struct {
			Rewards []struct{ ID string } `json:"rewards"`
		} `json:"transaction"`
	}
	json.Unmarshal(must(201, "POST", "/v1/transactions", `{"customer_key":"bob","key":"o1","amount":100}`), &txn)
	if len(txn.Transaction.Rewards) != 1 {
		f.Fatalf("%s: the seed payment gave %d rewards, want 1", engine, len(txn.Transaction.Rewards))
	}
	api.reward = txn.Transaction.Rewards[0].ID
	must(200, "POST", "/v1/customers/ann/balance/credit", `{"amount":50}`)
	return api
}

// send runs one request through the real handler.
func (a *fuzzAPI) send(method, path, key string, body []byte) (int, []byte) {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+key)
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// fingerprint is a cheap summary of everything the API writes: row counts
// and the latest change of the main tables and the sum of the cached
// balances. A refused request must leave it as it was.
func (a *fuzzAPI) fingerprint(t *testing.T) string {
	t.Helper()
	parts := []string{
		"SELECT COUNT(*) FROM programs", "SELECT COALESCE(MAX(updated_at), 0) FROM programs",
		"SELECT COUNT(*) FROM customers", "SELECT COALESCE(MAX(updated_at), 0) FROM customers",
		"SELECT COUNT(*) FROM referral_links", "SELECT COUNT(*) FROM reward_rules",
		"SELECT COALESCE(MAX(updated_at), 0) FROM reward_rules", "SELECT COUNT(*) FROM transactions",
		"SELECT COALESCE(MAX(updated_at), 0) FROM transactions", "SELECT COUNT(*) FROM refunds",
		"SELECT COUNT(*) FROM rewards", "SELECT COALESCE(MAX(updated_at), 0) FROM rewards",
		"SELECT COUNT(*) FROM discount_codes", "SELECT COUNT(*) FROM ledger_entries",
		"SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts", "SELECT COUNT(*) FROM events",
	}
	vals := make([]sql.NullString, len(parts))
	dest := make([]any, len(parts))
	for i := range parts {
		parts[i] = "(" + parts[i] + ")"
		dest[i] = &vals[i]
	}
	if err := a.db.ReadStats().QueryRow("SELECT " + strings.Join(parts, ", ")).Scan(dest...); err != nil {
		t.Fatalf("%s: fingerprint: %v", a.engine, err)
	}
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(v.String + " ")
	}
	return b.String()
}

// fuzzEndpoint is one endpoint that takes a JSON body.
type fuzzEndpoint struct {
	method, path string
	publishable  bool
}

// fuzzEndpoints are every POST and PUT of the API that reads a JSON body
// (click tracking aside: it is buffered, and owned elsewhere). {rule} and
// {reward} are the fuzzAPI's rule and reward.
var fuzzEndpoints = []fuzzEndpoint{
	{"POST", "/v1/customers", false},
	{"POST", "/v1/customers", true},
	{"PUT", "/v1/customers/bob", false},
	{"POST", "/v1/customer_referral_links", false},
	{"POST", "/v1/reward_rules", false},
	{"PUT", "/v1/reward_rules/{rule}", false},
	{"POST", "/v1/transactions", false},
	{"POST", "/v1/transactions/o1/refund", false},
	{"POST", "/v1/customers/ann/balance/credit", false},
	{"POST", "/v1/customers/ann/balance/debit", false},
	{"PUT", "/v1/program", false},
	{"POST", "/v1/rewards/{reward}/approve", false},
	{"POST", "/v1/rewards/{reward}/reject", false},
	{"POST", "/v1/discount_codes/NOPE/redeem", false},
}

// fuzzSeeds are bodies for each endpoint, by index: a valid one and the
// shapes that found bugs before.
func fuzzSeeds() map[int][]string {
	deep := `{"a":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}` // beyond encoding/json's limit
	huge := strings.Repeat("x", 20000)
	meta := []string{`{"a":1e400}`, `{"n":-1e309}`, `{"a":[[[[1]]]]}`, `{"a":"` + strings.Repeat("é", 501) + `"}`, deep, "{\"\xff\xfe\":\"\xc3\x28\"}"}
	amounts := []string{`"10"`, `92233720368547758.07`, `1e400`, `-1e309`, `10000000000.01`, `0.001`, `-5`, `true`, `null`, `{}`}
	seeds := map[int][]string{
		0:  {`{"email":"x@example.com","key":"evil","metadata":{"plan":"pro"},"referred_by":"JANE20"}`},
		1:  {`{"email":"y@example.com","key":"y","name":"Y"}`},
		2:  {`{"name":"Bob","metadata":{"plan":"pro","seats":null}}`},
		3:  {`{"customer_key":"ann","destination_url":"https://yoursite.com/pricing"}`},
		4:  {`{"reward_type":"credit","amount":5,"currency":"USD","min_amount":20}`},
		5:  {`{"amount":7,"min_amount":1}`},
		6:  {`{"customer_key":"bob","key":"o2","amount":45.00,"metadata":{"order":"o2"}}`},
		7:  {`{"amount":1,"reason":"partial"}`},
		8:  {`{"amount":1,"note":"goodwill"}`},
		9:  {`{"amount":1}`},
		10: {`{"name":"Acme 2","cookie_days":30}`},
		11: {`{}`},
		12: {`{"reason":"fraud"}`},
		13: {`{}`},
	}
	for _, m := range meta {
		seeds[0] = append(seeds[0], `{"email":"x@example.com","key":"evil","metadata":`+m+`}`)
		seeds[1] = append(seeds[1], `{"email":"x@example.com","key":"evil","metadata":`+m+`}`)
		seeds[2] = append(seeds[2], `{"metadata":`+m+`}`)
		seeds[6] = append(seeds[6], `{"customer_key":"bob","key":"o3","amount":10,"metadata":`+m+`}`)
	}
	for _, a := range amounts {
		seeds[4] = append(seeds[4], `{"reward_type":"credit","amount":`+a+`}`, `{"reward_type":"credit","amount":1,"min_amount":`+a+`}`)
		seeds[5] = append(seeds[5], `{"amount":`+a+`}`)
		seeds[6] = append(seeds[6], `{"customer_key":"bob","key":"o4","amount":`+a+`}`)
		seeds[7] = append(seeds[7], `{"amount":`+a+`}`)
		seeds[8] = append(seeds[8], `{"amount":`+a+`}`)
		seeds[9] = append(seeds[9], `{"amount":`+a+`}`)
	}
	for i := range fuzzEndpoints {
		seeds[i] = append(seeds[i], ``, `null`, `[]`, `"x"`, `{"name":"`+huge+`"}`, "{\"name\":\"\xff\"}", `{"a":`, deep)
	}
	return seeds
}

// FuzzBodies sends arbitrary bodies to every POST and PUT endpoint of the
// API, through the real handler on real databases (SQLite, and PostgreSQL
// when ADVOCATE_TEST_POSTGRES is set), and checks that none is answered
// 5xx (or panics), and that a refused request (4xx) writes nothing.
//
// Minimizing a large new input replays it many times; a short
// -fuzzminimizetime keeps the search moving:
//
//	go test -run XXX -fuzz FuzzBodies -fuzztime 60s -fuzzminimizetime 5s -parallel 2 ./internal/httpapi/
func FuzzBodies(f *testing.F) {
	var apis []*fuzzAPI
	for _, engine := range storetest.Engines(f) {
		apis = append(apis, newFuzzAPI(f, engine))
	}
	for i, bodies := range fuzzSeeds() {
		for _, b := range bodies {
			f.Add(uint8(i), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		ep := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		for _, a := range apis {
			path := strings.NewReplacer("{rule}", a.ruleID, "{reward}", a.reward).Replace(ep.path)
			key := a.sk
			if ep.publishable {
				key = a.pk
			}
			before := a.fingerprint(t)
			status, out := a.send(ep.method, path, key, body)
			if status >= 500 {
				t.Fatalf("%s: %s %s %q: %d %s", a.engine, ep.method, path, body, status, out)
			}
			if status >= 400 {
				if after := a.fingerprint(t); after != before {
					t.Fatalf("%s: %s %s %q was refused (%d %s) but wrote: before %s, after %s",
						a.engine, ep.method, path, body, status, out, before, after)
				}
			}
		}
	})
}
