package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestMetadataLimits: metadata that a client could not read back (numbers
// beyond float64, too long, too deep) is refused on every endpoint that
// takes metadata, with a 422 naming the key, and nothing is stored. It used
// to be stored, and then every read of the row was a 500.
func TestMetadataLimits(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.referrer("jane")
		e.friend("bob", "jane")
		customer := func(meta string) string {
			return `{"email":"x@example.com","key":"evil","metadata":` + meta + `,"referred_by":"` + e.code("jane") + `"}`
		}
		txn := func(meta string) string {
			return `{"customer_key":"bob","key":"o1","amount":10,"metadata":` + meta + `}`
		}
		update := func(meta string) string { return `{"metadata":` + meta + `}` }
		type endpoint struct {
			method, path, key string
			body              func(string) string
			code              string
		}
		endpoints := map[string]endpoint{
			"create customer (publishable key)": {"POST", "/v1/customers", e.pk, customer, "invalid_customer"},
			"create customer (secret key)":      {"POST", "/v1/customers", e.sk, customer, "invalid_customer"},
			"update customer":                   {"PUT", "/v1/customers/bob", e.sk, update, "invalid_customer"},
			"create transaction":                {"POST", "/v1/transactions", e.sk, txn, "invalid_transaction"},
		}
		tests := []struct {
			name, meta, field string
		}{
			{"number beyond float64", `{"a":1e400}`, "metadata.a"},
			{"negative number beyond float64", `{"n":-1e309}`, "metadata.n"},
			{"number underflowing to zero", `{"a":1e-400}`, "metadata.a"},
			{"integer a float64 cannot hold", `{"id":12345678901234567890}`, "metadata.id"},
			{"bad number nested", `{"a":{"b":[1,2,1e400]}}`, "metadata.a"},
			{"string of 501 characters", `{"a":"` + strings.Repeat("é", 501) + `"}`, "metadata.a"},
			{"nested 4 deep", `{"a":[[[[1]]]]}`, "metadata.a"},
			{"nested 1000 deep", `{"a":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`, "metadata.a"},
			{"nested key of 41 characters", `{"a":{"` + strings.Repeat("k", 41) + `":1}}`, "metadata.a"},
		}
		for name, ep := range endpoints {
			for _, tc := range tests {
				t.Run(name+"/"+tc.name, func(t *testing.T) {
					e := e.in(t)
					before := e.snapshot()
					resp := e.do(req{method: ep.method, path: ep.path, key: ep.key, body: ep.body(tc.meta)})
					e.wantProblem(resp, http.StatusUnprocessableEntity, ep.code, tc.field)
					e.same(before)
				})
			}
		}
		// Nothing was stored, and every read still answers.
		e.want(e.do(req{method: "GET", path: "/v1/customers/evil", key: e.sk}), http.StatusNotFound, "get the refused customer")
		e.want(e.do(req{method: "GET", path: "/v1/customers", key: e.sk}), http.StatusOK, "list customers")
		e.want(e.do(req{method: "GET", path: "/v1/transactions", key: e.sk}), http.StatusOK, "list transactions")

		t.Run("limits themselves are accepted", func(t *testing.T) {
			e := e.in(t)
			meta := `{"a":1.7976931348623157e308,"b":-0,"c":9007199254740992,"d":"` + strings.Repeat("é", 500) +
				`","e":[[[1]]],"f":{"g":{"h":{"i":true}}},"g":1e-300}`
			resp := e.do(req{method: "POST", path: "/v1/customers", key: e.sk, body: customer(meta)})
			e.want(resp, http.StatusCreated, "create at the limits")
			e.want(e.do(req{method: "GET", path: "/v1/customers/evil", key: e.sk}), http.StatusOK, "read it back")
			e.want(e.do(req{method: "POST", path: "/v1/transactions", key: e.sk, body: txn(meta)}), http.StatusCreated, "transaction at the limits")
		})
	})
}

// TestStoredMetadataReadable: rows that older versions stored with numbers
// beyond float64 still read (200) on every path that shows them, and the
// customer and transaction can still be changed.
func TestStoredMetadataReadable(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		e.createRule(`{"reward_type": "credit", "amount": 10, "currency": "USD"}`)
		e.referrer("jane")
		e.friend("evil", "jane")
		e.purchase("evil", "o1", "20")
		// What the old code wrote, written below the API.
		for _, q := range []string{
			`UPDATE customers SET metadata = '{"a":1e400,"b":[-1e309]}' WHERE key = 'evil'`,
			`UPDATE transactions SET metadata = '{"n":-1e309}' WHERE key = 'o1'`,
		} {
			if _, err := e.db.WriteStats().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name, method, path string
			body               any
			status             int
		}{
			{"get customer", "GET", "/v1/customers/evil", nil, 200},
			{"list customers", "GET", "/v1/customers", nil, 200},
			{"list the referrer's referrals", "GET", "/v1/customers?referred=true", nil, 200},
			{"list transactions", "GET", "/v1/transactions", nil, 200},
			{"get transaction", "GET", "/v1/transactions/o1", nil, 200},
			{"customer's transactions", "GET", "/v1/customers/evil/transactions", nil, 200},
			{"update customer", "PUT", "/v1/customers/evil", map[string]any{"name": "Evil", "metadata": map[string]any{"c": 1}}, 200},
			{"refund", "POST", "/v1/transactions/o1/refund", map[string]any{"amount": 5}, 200},
			{"full refund", "DELETE", "/v1/transactions/o1", nil, 200},
			{"delete customer", "DELETE", "/v1/customers/evil", nil, 204},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				resp := e.do(req{method: tc.method, path: tc.path, key: e.sk, body: tc.body})
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
				}
				if tc.name == "get customer" && !strings.Contains(string(resp.Body), `"a":1e400`) {
					t.Errorf("stored metadata not served as stored: %s", resp.Body)
				}
			})
		}
	})
}
