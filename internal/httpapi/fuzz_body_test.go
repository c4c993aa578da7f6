package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/web"
)

// bodyEnv is a fuzzEnv with records for the body endpoints to act on: a
// referrer ann, her friend bob, a credit rule, a payment o1 by bob and the
// reward it gave, and credit on ann's balance.
type bodyEnv struct {
	*fuzzEnv
	ruleID, reward, webhook string
}

func bodyEnvs(f *testing.F) []*bodyEnv {
	var out []*bodyEnv
	for _, fe := range fuzzEnvs(f) {
		must := func(status int, method, path, body string) []byte {
			w := fe.serve(fe.request(method, path, fe.sk, []byte(body)))
			if w.Code != status {
				f.Fatalf("%s: %s %s: %d %s", fe.engine, method, path, w.Code, w.Body)
			}
			return w.Body.Bytes()
		}
		be := &bodyEnv{fuzzEnv: fe}
		var rule struct {
			Rule struct{ ID string } `json:"reward_rule"`
		}
		json.Unmarshal(must(201, "POST", "/v1/reward_rules", `{"reward_type":"credit","amount":10,"currency":"USD","holding_days":30}`), &rule)
		be.ruleID = rule.Rule.ID
		must(201, "POST", "/v1/customers", `{"key":"ann","email":"ann@example.com","referral_code":"ANN1"}`)
		must(201, "POST", "/v1/customers", `{"key":"bob","email":"bob@example.com","referred_by":"ANN1"}`)
		var txn struct {
			Transaction struct {
				Rewards []struct{ ID string } `json:"rewards"`
			} `json:"transaction"`
		}
		json.Unmarshal(must(201, "POST", "/v1/transactions", `{"customer_key":"bob","key":"o1","amount":100}`), &txn)
		if len(txn.Transaction.Rewards) != 1 {
			f.Fatalf("%s: the seed payment gave %d rewards, want 1", fe.engine, len(txn.Transaction.Rewards))
		}
		be.reward = txn.Transaction.Rewards[0].ID
		must(200, "POST", "/v1/customers/ann/balance/credit", `{"amount":50}`)
		var we struct {
			Endpoint struct{ ID string } `json:"webhook_endpoint"`
		}
		json.Unmarshal(must(201, "POST", "/v1/webhook_endpoints", `{"url":"https://example.com/hooks","events":["*"]}`), &we)
		be.webhook = we.Endpoint.ID
		must(200, "PUT", "/v1/integrations/stripe", `{"webhook_secret":"whsec_fuzz_0123456789"}`)
		out = append(out, be)
	}
	return out
}

// fuzzEndpoint is one endpoint that takes a JSON body.
type fuzzEndpoint struct {
	method, path string
	publishable  bool
}

// fuzzEndpoints are every POST and PUT of the API that reads a JSON body
// (TestFuzzEndpointsCoverEveryRoute keeps it so), except the click beacon,
// which FuzzClickBeacon fuzzes. {rule}, {reward} and {webhook} are the
// bodyEnv's.
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
	{"POST", "/v1/program/widget_secret/rotate", false},
	{"POST", "/v1/webhook_endpoints", false},
	{"PUT", "/v1/webhook_endpoints/{webhook}", false},
	{"POST", "/v1/webhook_endpoints/{webhook}/rotate_secret", false},
	{"POST", "/v1/webhook_endpoints/{webhook}/test", false},
	{"POST", "/v1/webhook_deliveries/whd_nosuch/retry", false},
	{"PUT", "/v1/integrations/stripe", false},
	{"POST", "/v1/integrations/stripe/sync", false},
	{"POST", "/integrations/stripe/webhook/{program}", false},
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
		14: {`{}`},
		15: {`{"url":"https://example.com/a","events":["reward.created","reward.available"],"description":"x"}`,
			`{"url":"https://u:p@example.com/","events":["*"]}`, `{"url":"https://example.com/","events":["*","reward.created"]}`,
			`{"url":"https://example.com/","events":[1]}`, `{"url":"https://example.com/","events":{}}`},
		16: {`{"active":false}`, `{"url":"ftp://example.com/"}`, `{"events":[]}`, `{"description":"` + huge + `"}`},
		17: {`{}`},
		18: {`{}`},
		19: {`{}`},
		20: {`{"webhook_secret":"whsec_fuzz","secret_key":"rk_test_x","apply_rewards":true}`, `{"secret_key":""}`,
			`{"api_base_url":"http://[::1"}`, `{"webhook_secret":"whsec_` + huge + `"}`, `{"apply_rewards":"yes"}`},
		21: {`{"since":"2026-12-01"}`, `{"since":"2026-12-01T09:00:00Z"}`, `{"since":1}`, `{}`},
		22: {`{"id":"evt_1","type":"invoice.paid","data":{"object":{"id":"in_1"}}}`},
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
	envs := bodyEnvs(f)
	for i, bodies := range fuzzSeeds() {
		for _, b := range bodies {
			f.Add(uint8(i), []byte(b))
		}
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		ep := fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)]
		for _, e := range envs {
			path := strings.NewReplacer("{rule}", e.ruleID, "{reward}", e.reward, "{webhook}", e.webhook, "{program}", e.programID).Replace(ep.path)
			key := e.sk
			if ep.publishable {
				key = e.pk
			}
			before := e.rows(t)
			w := e.serve(e.request(ep.method, path, key, body))
			if w.Code >= 500 {
				t.Fatalf("%s: %s %s %q: %d %s", e.engine, ep.method, path, body, w.Code, w.Body)
			}
			if w.Code >= 400 {
				if d := cmp.Diff(before, e.rows(t)); d != "" {
					t.Fatalf("%s: %s %s %q was refused (%d %s) but wrote: %s", e.engine, ep.method, path, body, w.Code, w.Body, d)
				}
			}
		}
	})
}

// TestFuzzEndpointsCoverEveryRoute fails when a POST or PUT route, each of
// which reads a body, is added to web.API without being added to
// fuzzEndpoints.
func TestFuzzEndpointsCoverEveryRoute(t *testing.T) {
	// FuzzClickBeacon; the unsubscribe POST reads a small form, not JSON
	// (TestUnsubscribeLinks and TestOpenAPIStatusesServed send it bad ones).
	fuzzed := map[string]bool{"POST /v1/track/click": true, "POST /unsubscribe/{token}": true}
	for _, ep := range fuzzEndpoints {
		fuzzed[ep.method+" "+ep.path] = true
	}
	for _, r := range web.API {
		method, path, _ := strings.Cut(r.Pattern, " ")
		if method != http.MethodPost && method != http.MethodPut {
			continue
		}
		concrete := strings.NewReplacer("{key}", "bob", "{id}", "{rule}", "{code}", "NOPE").Replace(path)
		if strings.HasPrefix(path, "/v1/transactions/") {
			concrete = strings.Replace(path, "{key}", "o1", 1)
		}
		if strings.HasPrefix(path, "/v1/rewards/") {
			concrete = strings.Replace(path, "{id}", "{reward}", 1)
		}
		if strings.HasPrefix(path, "/v1/webhook_endpoints/") {
			concrete = strings.Replace(path, "{id}", "{webhook}", 1)
		}
		if strings.HasPrefix(path, "/v1/webhook_deliveries/") {
			concrete = strings.Replace(path, "{id}", "whd_nosuch", 1)
		}
		if strings.HasPrefix(path, "/integrations/stripe/webhook/") {
			concrete = strings.Replace(path, "{program_id}", "{program}", 1)
		}
		if strings.HasPrefix(path, "/v1/customers/{key}/balance") {
			concrete = strings.Replace(path, "{key}", "ann", 1)
		}
		if !fuzzed[method+" "+concrete] {
			t.Errorf("%s takes a body but is not in fuzzEndpoints", r.Pattern)
		}
	}
}
