package httpapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// generatedCode is a code made from a name stem: upper case, and a suffix
// without characters that read alike (0/O, 1/I/L).
var generatedCode = regexp.MustCompile(`^[A-Z]{2,8}[2-9A-HJKMNP-TW-Z]{2,6}$`)

func ptr[T any](v T) *T { return &v }

// TestCreateCustomerAsSeed sends the seed's request as it is and checks the
// whole response.
func TestCreateCustomerAsSeed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		start := time.Now().Add(-time.Second)
		resp := e.do(req{method: "POST", path: "/v1/customers", key: e.sk,
			body: `{"email": "jane@example.com", "name": "Jane Doe", "key": "cust_123"}`})
		if resp.Status != http.StatusCreated {
			t.Fatalf("status %d, want 201; body %s", resp.Status, resp.Body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q, want application/json", ct)
		}

		// The envelope holds the customer alone, with every documented
		// field, null ones included.
		var raw map[string]map[string]any
		resp.json(t, &raw)
		if len(raw) != 1 {
			t.Errorf("envelope %s, want only {\"customer\": …}", resp.Body)
		}
		for _, f := range []string{"key", "email", "name", "metadata", "referral_code", "referral_url",
			"referred_by", "referrer_key", "created_at", "updated_at"} {
			if _, ok := raw["customer"][f]; !ok {
				t.Errorf("customer lacks %q: %s", f, resp.Body)
			}
		}

		var got struct{ Customer customer }
		resp.json(t, &got)
		c := got.Customer
		if !regexp.MustCompile(`^JANE[2-9]{2}$`).MatchString(c.ReferralCode) {
			t.Errorf("referral_code %q, want JANE and two digits from 2-9 (like the seed's JANE20)", c.ReferralCode)
		}
		want := customer{
			Key: "cust_123", Email: "jane@example.com", Name: "Jane Doe", Metadata: map[string]any{},
			ReferralCode: c.ReferralCode, ReferralURL: "https://yoursite.com/?ref=" + c.ReferralCode,
			CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt,
		}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("customer (-want +got):\n%s", diff)
		}
		if c.CreatedAt.Before(start) || c.CreatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("created_at %v, want about now", c.CreatedAt)
		}
		if diff := cmp.Diff(c, e.getCustomer("cust_123")); diff != "" {
			t.Errorf("GET differs from the created customer (-created +got):\n%s", diff)
		}
	})
}

func TestReferralCodes(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		tests := []struct {
			name string
			body map[string]any
			want *regexp.Regexp
		}{
			{"from the first name", map[string]any{"name": "Jane Doe", "email": "jd@example.com"}, regexp.MustCompile(`^JANE[2-9]{2}$`)},
			{"accents dropped", map[string]any{"name": "jörg Müller", "email": "jm@example.com"}, regexp.MustCompile(`^JORG[2-9]{2}$`)},
			{"long name cut", map[string]any{"name": "Bartholomew", "email": "b@example.com"}, regexp.MustCompile(`^BARTHOLO[2-9]{2}$`)},
			{"no name: email", map[string]any{"email": "li.wei@example.com"}, regexp.MustCompile(`^LIWEI[2-9]{2}$`)},
			{"nothing usable", map[string]any{"name": "张伟", "email": "7@example.com"}, regexp.MustCompile(`^REF[2-9]{2}$`)},
			{"custom", map[string]any{"name": "Jane", "email": "vip@example.com", "referral_code": "JANE-VIP"}, regexp.MustCompile(`^JANE-VIP$`)},
			{"custom upper-cased", map[string]any{"name": "Jane", "email": "vip2@example.com", "referral_code": "friends_of_jane"}, regexp.MustCompile(`^FRIENDS_OF_JANE$`)},
			{"custom shortest", map[string]any{"name": "Jane", "email": "vip3@example.com", "referral_code": "j2x"}, regexp.MustCompile(`^J2X$`)},
			{"custom longest", map[string]any{"name": "Jane", "email": "vip4@example.com", "referral_code": strings.Repeat("a", 32)}, regexp.MustCompile(`^A{32}$`)},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				tc.body["key"] = fmt.Sprintf("code-%d", i)
				c := e.createCustomer(tc.body)
				if !tc.want.MatchString(c.ReferralCode) {
					t.Errorf("referral_code %q, want %v", c.ReferralCode, tc.want)
				}
				if want := "https://yoursite.com/?ref=" + c.ReferralCode; c.ReferralURL != want {
					t.Errorf("referral_url %q, want %q", c.ReferralURL, want)
				}
			})
		}

		t.Run("unique per program", func(t *testing.T) {
			e := e.in(t)
			seen := map[string]bool{}
			for i := range 12 {
				c := e.createCustomer(map[string]any{"key": fmt.Sprintf("jane-%d", i), "email": fmt.Sprintf("jane%d@example.com", i), "name": "Jane"})
				if seen[c.ReferralCode] {
					t.Errorf("code %s given twice", c.ReferralCode)
				}
				seen[c.ReferralCode] = true
				if !generatedCode.MatchString(c.ReferralCode) || !strings.HasPrefix(c.ReferralCode, "JANE") {
					t.Errorf("code %q is not JANE and an unambiguous suffix", c.ReferralCode)
				}
			}
		})
	})
}

// TestReferrals covers referred_by on create: who referred whom is recorded,
// codes are looked up case-insensitively, and unknown codes and
// self-referrals are refused without writing anything.
func TestReferrals(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "jane", "email": "jane.doe@x.com", "name": "Jane Doe", "referral_code": "JANE20"})
		tests := []struct {
			name       string
			email      string
			referredBy string
			status     int
			code       string // problem code when the request fails
		}{
			{"code as issued", "friend1@y.com", "JANE20", 201, ""},
			{"lower case", "friend2@y.com", "jane20", 201, ""},
			{"mixed case and spaces", "friend3@y.com", " Jane20 ", 201, ""},
			{"same local part, other domain", "jane.doe@y.com", "JANE20", 201, ""},
			{"unknown code", "friend4@y.com", "NOPE99", 422, "unknown_referral_code"},
			{"code prefix only", "friend5@y.com", "JANE", 422, "unknown_referral_code"},
			{"self: same email", "jane.doe@x.com", "JANE20", 422, "self_referral"},
			{"self: other case", "JANE.DOE@X.COM", "jane20", 422, "self_referral"},
			{"self: no dots, plus tag, other case", "JaneDoe+1@X.com", "JANE20", 422, "self_referral"},
			{"self: plus tag", "jane.doe+friends@x.com", "JANE20", 422, "self_referral"},
			{"self: dots moved", "j.a.n.e.d.o.e@x.com", "JANE20", 422, "self_referral"},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				key := fmt.Sprintf("friend-%d", i)
				before := e.counts()
				resp := e.do(req{method: "POST", path: "/v1/customers", key: e.sk,
					body: map[string]any{"key": key, "email": tc.email, "name": "Friend", "referred_by": tc.referredBy}})
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
				}
				if tc.status != 201 {
					p := resp.problem(t)
					if p.Code != tc.code || p.Errors["referred_by"] == "" {
						t.Errorf("problem %+v, want code %s naming referred_by", p, tc.code)
					}
					e.unchanged(before)
					if r := e.do(req{method: "GET", path: "/v1/customers/" + key, key: e.sk}); r.Status != 404 {
						t.Errorf("refused customer: GET %d, want 404", r.Status)
					}
					return
				}
				var got struct{ Customer customer }
				resp.json(t, &got)
				if diff := cmp.Diff(ptr("JANE20"), got.Customer.ReferredBy); diff != "" {
					t.Errorf("referred_by (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(ptr("jane"), got.Customer.ReferrerKey); diff != "" {
					t.Errorf("referrer_key (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(got.Customer, e.getCustomer(key)); diff != "" {
					t.Errorf("GET differs from the created customer (-created +got):\n%s", diff)
				}
			})
		}
		// The referrer is not referred by anyone.
		if c := e.getCustomer("jane"); c.ReferredBy != nil || c.ReferrerKey != nil {
			t.Errorf("referrer: referred_by %v, referrer_key %v, want null", c.ReferredBy, c.ReferrerKey)
		}
		got := e.allCustomers(e.sk, "referred=true")
		byKey := cmpopts.SortSlices(func(a, b string) bool { return a < b })
		if diff := cmp.Diff([]string{"friend-0", "friend-1", "friend-2", "friend-3"}, got, byKey); diff != "" {
			t.Errorf("referred customers (-want +got):\n%s", diff)
		}
	})
}

// eachEngineTicking is eachEngine with a clock that moves on a millisecond
// on every reading, so that customers made one after another are strictly
// ordered by creation.
func eachEngineTicking(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnv(t, db, httpapi.Config{Now: tickingClock(time.Now())}))
	})
}

func TestListCustomers(t *testing.T) {
	eachEngineTicking(t, func(t *testing.T, e *env) {
		// c1 … c7, oldest first; c3 was referred by c1 and c6 by c2.
		var codes []string
		for i := 1; i <= 7; i++ {
			body := map[string]any{"key": fmt.Sprintf("c%d", i), "email": fmt.Sprintf("C%d@Example.com", i), "name": fmt.Sprintf("Customer %d", i)}
			switch i {
			case 3:
				body["referred_by"] = codes[0]
			case 6:
				body["referred_by"] = codes[1]
			}
			codes = append(codes, e.createCustomer(body).ReferralCode)
		}
		// Another program's customers never show up.
		other := e.newProgramEnv("Other", "https://other.example.com")
		other.createCustomer(map[string]any{"key": "c1", "email": "c1@example.com", "name": "Other"})

		tests := []struct {
			name  string
			query string
			want  []string
		}{
			{"default limit", "", []string{"c7", "c6", "c5", "c4", "c3", "c2", "c1"}},
			{"pages of 3", "limit=3", []string{"c7", "c6", "c5", "c4", "c3", "c2", "c1"}},
			{"pages of 1", "limit=1", []string{"c7", "c6", "c5", "c4", "c3", "c2", "c1"}},
			{"one exact page", "limit=7", []string{"c7", "c6", "c5", "c4", "c3", "c2", "c1"}},
			{"largest limit", "limit=100", []string{"c7", "c6", "c5", "c4", "c3", "c2", "c1"}},
			{"referred", "referred=true&limit=1", []string{"c6", "c3"}},
			{"not referred", "referred=false&limit=2", []string{"c7", "c5", "c4", "c2", "c1"}},
			{"email", "email=c4%40example.com", []string{"c4"}},
			{"email in other case", "email=C4%40EXAMPLE.COM&limit=1", []string{"c4"}},
			{"email and referred", "email=c6%40example.com&referred=true", []string{"c6"}},
			{"email, not referred", "email=c6%40example.com&referred=false", nil},
			{"unknown email", "email=nobody%40example.com", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got := e.in(t).allCustomers(e.sk, tc.query)
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("GET /v1/customers?%s (-want +got):\n%s", tc.query, diff)
				}
			})
		}

		t.Run("page envelopes", func(t *testing.T) {
			e := e.in(t)
			type shape struct {
				N       int
				HasMore bool
				Cursor  bool
			}
			var got []shape
			path := "/v1/customers?limit=3"
			for range 4 {
				resp := e.do(req{method: "GET", path: path, key: e.sk})
				if resp.Status != 200 {
					t.Fatalf("GET %s: %d %s", path, resp.Status, resp.Body)
				}
				var p customerPage
				resp.json(t, &p)
				got = append(got, shape{len(p.Data), p.HasMore, p.NextCursor != nil})
				if p.NextCursor == nil {
					break
				}
				path = "/v1/customers?limit=3&cursor=" + *p.NextCursor
			}
			want := []shape{{3, true, true}, {3, true, true}, {1, false, false}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})

		t.Run("empty list", func(t *testing.T) {
			e := e.in(t)
			empty := e.newProgramEnv("Empty", "https://empty.example.com")
			resp := empty.do(req{method: "GET", path: "/v1/customers", key: empty.sk})
			if resp.Status != 200 || strings.TrimSpace(string(resp.Body)) != `{"data":[],"has_more":false,"next_cursor":null}` {
				t.Errorf("got %d %s, want an empty list with data [] and next_cursor null", resp.Status, resp.Body)
			}
		})
	})
}

// TestListCustomersBadQuery: a listing with a query it cannot honour is an
// error naming the parameter, never a silently different listing.
func TestListCustomersBadQuery(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "c1", "email": "c1@example.com"})
		tests := []struct {
			name, query string
			status      int
			code, field string
		}{
			{"limit 0", "limit=0", 422, "invalid_limit", "limit"},
			{"limit 101", "limit=101", 422, "invalid_limit", "limit"},
			{"limit negative", "limit=-1", 422, "invalid_limit", "limit"},
			{"limit not a number", "limit=abc", 422, "invalid_limit", "limit"},
			{"limit fraction", "limit=1.5", 422, "invalid_limit", "limit"},
			{"cursor not base64", "cursor=%21%21%21", 400, "invalid_cursor", "cursor"},
			{"cursor of another kind of object", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("prg_01jhmr6k20kqn2vafk23z7kmf6")), 400, "invalid_cursor", "cursor"},
			{"cursor too long", "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("cus_"+strings.Repeat("z", 100))), 400, "invalid_cursor", "cursor"},
			{"referred maybe", "referred=maybe", 422, "invalid_parameter", "referred"},
			{"referred 1", "referred=1", 422, "invalid_parameter", "referred"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				resp := e.in(t).do(req{method: "GET", path: "/v1/customers?" + tc.query, key: e.sk})
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
				}
				if p := resp.problem(t); p.Code != tc.code || p.Errors[tc.field] == "" {
					t.Errorf("problem %+v, want %s naming %s", p, tc.code, tc.field)
				}
			})
		}
	})
}

// newProgramEnv returns e acting with the keys of a new program.
func (e *env) newProgramEnv(name, website string) *env {
	e.t.Helper()
	c := *e
	c.program, c.sk, c.pk = e.newProgram(name, "USD", website)
	return &c
}

func TestGetCustomer(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane"})
		tests := []struct {
			name, path string
			status     int
			code       string
		}{
			{"found", "/v1/customers/cust_123", 200, ""},
			{"key is case-sensitive", "/v1/customers/CUST_123", 404, "customer_not_found"},
			{"unknown", "/v1/customers/nobody", 404, "customer_not_found"},
			{"escaped characters", "/v1/customers/cust%5F123", 200, ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				resp := e.in(t).do(req{method: "GET", path: tc.path, key: e.sk})
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
				}
				if tc.code != "" {
					if p := resp.problem(t); p.Code != tc.code {
						t.Errorf("code %q, want %q", p.Code, tc.code)
					}
				}
			})
		}
	})
}

// TestUpdateCustomer applies a sequence of PUTs to one customer; each step
// says how the customer should look afterwards. A failed step must leave
// the customer exactly as it was.
func TestUpdateCustomer(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		bob := e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com", "name": "Bob", "referral_code": "BOB10"})
		e.createCustomer(map[string]any{"key": "ann", "email": "ann@example.com", "name": "Ann", "referral_code": "ANN10"})
		e.createCustomer(map[string]any{"key": "alt", "email": "janesmith+alt@example.com", "name": "Jane's other account", "referral_code": "ALT10"})
		want := e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane Doe",
			"metadata": map[string]any{"plan": "free", "team": "core"}})

		manyKeys := map[string]any{}
		for i := range 49 {
			manyKeys[fmt.Sprintf("k%d", i)] = i
		}
		steps := []struct {
			name   string
			body   any
			status int
			code   string // problem code of a failure
			field  string // the field a failure names
			change func(c *customer)
		}{
			{name: "seed request", body: map[string]any{"name": "Jane Smith", "metadata": map[string]any{"plan": "premium"}}, status: 200,
				change: func(c *customer) { c.Name = "Jane Smith"; c.Metadata["plan"] = "premium" }},
			{name: "metadata adds a key", body: map[string]any{"metadata": map[string]any{"seats": 3, "tags": []string{"a"}}}, status: 200,
				change: func(c *customer) { c.Metadata["seats"] = float64(3); c.Metadata["tags"] = []any{"a"} }},
			{name: "null deletes a key", body: `{"metadata": {"team": null, "seats": 4}}`, status: 200,
				change: func(c *customer) { delete(c.Metadata, "team"); c.Metadata["seats"] = float64(4) }},
			{name: "null for a missing key", body: `{"metadata": {"nothing": null}}`, status: 200},
			{name: "metadata null changes nothing", body: `{"metadata": null}`, status: 200},
			{name: "empty object", body: `{}`, status: 200},
			{name: "email", body: map[string]any{"email": "Jane.Smith@Example.com"}, status: 200,
				change: func(c *customer) { c.Email = "Jane.Smith@Example.com" }},
			{name: "name trimmed", body: map[string]any{"name": "  Jane Smith  "}, status: 200},
			{name: "referred later, code in lower case", body: map[string]any{"referred_by": "bob10"}, status: 200,
				// A program that rewards referrers for nothing counts the
				// signup: the referral is successful at once.
				change: func(c *customer) {
					c.ReferredBy, c.ReferrerKey, c.ReferralStatus = ptr("BOB10"), ptr("bob"), ptr("successful")
				}},
			{name: "same referrer again", body: map[string]any{"referred_by": "BOB10"}, status: 200},

			{name: "another referrer", body: map[string]any{"referred_by": "ANN10"}, status: 422, code: "already_referred", field: "referred_by"},
			{name: "email of another customer", body: map[string]any{"email": "BOB@example.com"}, status: 409, code: "customer_email_taken", field: "email"},
			{name: "malformed email", body: map[string]any{"email": "jane"}, status: 422, code: "invalid_customer", field: "email"},
			{name: "empty email", body: map[string]any{"email": ""}, status: 422, code: "invalid_customer", field: "email"},
			{name: "name too long", body: map[string]any{"name": strings.Repeat("n", 201)}, status: 422, code: "invalid_customer", field: "name"},
			{name: "several bad fields", body: map[string]any{"name": strings.Repeat("n", 201), "email": "x"}, status: 422, code: "validation_failed", field: "email"},
			{name: "too many metadata keys after merging", body: map[string]any{"metadata": manyKeys}, status: 422, code: "invalid_customer", field: "metadata"},
			{name: "metadata not an object", body: `{"metadata": [1]}`, status: 422, field: "metadata"},
			{name: "key cannot change", body: map[string]any{"key": "other"}, status: 422, code: "unknown_field", field: "key"},
			{name: "code cannot change", body: map[string]any{"referral_code": "JANE99"}, status: 422, code: "unknown_field", field: "referral_code"},
			{name: "wrong type", body: `{"name": 5}`, status: 422, code: "invalid_field_type", field: "name"},
			{name: "malformed JSON", body: `{"name": "x"`, status: 400, code: "malformed_json"},
			{name: "empty body", body: nil, status: 400, code: "empty_body"},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				e := e.in(t)
				before := e.counts()
				prev := e.getCustomer("cust_123")
				resp := e.do(req{method: "PUT", path: "/v1/customers/cust_123", key: e.sk, body: s.body})
				if resp.Status != s.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, s.status, resp.Body)
				}
				if s.status != 200 {
					p := resp.problem(t)
					if (s.code != "" && p.Code != s.code) || (s.field != "" && p.Errors[s.field] == "") {
						t.Errorf("problem %+v, want code %q naming %q", p, s.code, s.field)
					}
					e.unchanged(before)
					if diff := cmp.Diff(prev, e.getCustomer("cust_123")); diff != "" {
						t.Errorf("a failed update changed the customer (-before +after):\n%s", diff)
					}
					return
				}
				if s.change != nil {
					s.change(&want)
				}
				var got struct{ Customer customer }
				resp.json(t, &got)
				if diff := cmp.Diff(want, got.Customer, cmpopts.IgnoreFields(customer{}, "UpdatedAt")); diff != "" {
					t.Errorf("customer (-want +got):\n%s", diff)
				}
				if got.Customer.UpdatedAt.Before(prev.UpdatedAt) {
					t.Errorf("updated_at went back from %v to %v", prev.UpdatedAt, got.Customer.UpdatedAt)
				}
				if diff := cmp.Diff(got.Customer, e.getCustomer("cust_123")); diff != "" {
					t.Errorf("GET differs from the PUT response (-put +get):\n%s", diff)
				}
			})
		}

		t.Run("self-referral", func(t *testing.T) {
			e := e.in(t)
			// fresh is the same person as alt (janesmith+alt@example.com) by
			// email identity, and may not use alt's code either.
			fresh := e.createCustomer(map[string]any{"key": "fresh", "email": "Jane.S.Mith@example.com", "name": "Jane"})
			before := e.counts()
			for _, code := range []string{fresh.ReferralCode, strings.ToLower(fresh.ReferralCode), "ALT10"} {
				resp := e.do(req{method: "PUT", path: "/v1/customers/fresh", key: e.sk, body: map[string]any{"referred_by": code}})
				if resp.Status != 422 {
					t.Fatalf("referred_by %s: status %d, want 422; body %s", code, resp.Status, resp.Body)
				}
				if p := resp.problem(t); p.Code != "self_referral" || p.Errors["referred_by"] == "" {
					t.Errorf("referred_by %s: problem %+v, want self_referral naming referred_by", code, p)
				}
			}
			e.unchanged(before)
			if c := e.getCustomer("fresh"); c.ReferredBy != nil {
				t.Errorf("referred_by %q after refused self-referrals", *c.ReferredBy)
			}
		})

		t.Run("unknown code", func(t *testing.T) {
			e := e.in(t)
			resp := e.do(req{method: "PUT", path: "/v1/customers/ann", key: e.sk, body: map[string]any{"referred_by": "NOPE22"}})
			if p := resp.problem(t); resp.Status != 422 || p.Code != "unknown_referral_code" || p.Errors["referred_by"] == "" {
				t.Errorf("got %d %+v, want 422 unknown_referral_code naming referred_by", resp.Status, p)
			}
		})

		t.Run("unknown customer", func(t *testing.T) {
			e := e.in(t)
			before := e.counts()
			resp := e.do(req{method: "PUT", path: "/v1/customers/nobody", key: e.sk, body: map[string]any{"name": "X"}})
			if p := resp.problem(t); resp.Status != 404 || p.Code != "customer_not_found" {
				t.Errorf("got %d %+v, want 404 customer_not_found", resp.Status, p)
			}
			e.unchanged(before)
		})

		if got := e.getCustomer("bob"); !got.UpdatedAt.Equal(bob.UpdatedAt) {
			t.Errorf("referring jane changed bob")
		}
	})
}

// TestDeleteCustomer erases a customer: they are gone from the API, their
// personal data is gone from the database, their key and email may be used
// again, and whom they referred stays recorded.
func TestDeleteCustomer(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		const (
			email = "Jane.Unique@example.com"
			name  = "Janeuniquename Doe"
			meta  = "secret-metadata-value"
		)
		e.createCustomer(map[string]any{"key": "cust_123", "email": email, "name": name,
			"metadata": map[string]any{"note": meta}, "referral_code": "JANE20"})
		friend := e.createCustomer(map[string]any{"key": "friend", "email": "friend@example.com", "name": "Friend", "referred_by": "JANE20"})
		link := e.createLink("cust_123", "https://yoursite.com/pricing", "")

		resp := e.do(req{method: "DELETE", path: "/v1/customers/cust_123", key: e.sk})
		if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
			t.Fatalf("DELETE: %d %q, want 204 with no body", resp.Status, resp.Body)
		}

		t.Run("gone from the API", func(t *testing.T) {
			e := e.in(t)
			for _, r := range []req{
				{method: "GET", path: "/v1/customers/cust_123"},
				{method: "PUT", path: "/v1/customers/cust_123", body: map[string]any{"name": "X"}},
				{method: "DELETE", path: "/v1/customers/cust_123"},
				{method: "GET", path: "/v1/customers/cust_123/referral_links"},
				{method: "DELETE", path: "/v1/customer_referral_links/" + link.ID},
			} {
				r.key = e.sk
				resp := e.do(r)
				if resp.Status != 404 {
					t.Errorf("%s %s: %d, want 404; body %s", r.method, r.path, resp.Status, resp.Body)
				}
			}
			if diff := cmp.Diff([]string{"friend"}, e.allCustomers(e.sk, "")); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}
			resp := e.do(req{method: "POST", path: "/v1/customer_referral_links", key: e.sk,
				body: map[string]any{"customer_key": "cust_123", "destination_url": "https://yoursite.com/x"}})
			if resp.Status < 400 || resp.Status >= 500 {
				t.Errorf("link for a deleted customer: %d, want 4xx", resp.Status)
			}
		})

		t.Run("personal data erased", func(t *testing.T) {
			var n int
			err := e.db.ReadStats().QueryRow(`SELECT count(*) FROM customers
				WHERE key = $1 OR lower(email) = lower($2) OR name LIKE $3 OR metadata LIKE $4`,
				"cust_123", email, "%Janeuniquename%", "%"+meta+"%").Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d customer rows still hold the deleted customer's key, email, name or metadata", n)
			}
		})

		t.Run("friend keeps their referrer", func(t *testing.T) {
			got := e.in(t).getCustomer("friend")
			want := friend
			want.ReferrerKey = nil // the referrer's key is personal data, erased with them
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("friend (-want +got):\n%s", diff)
			}
		})

		t.Run("deleted referrer's code refers nobody", func(t *testing.T) {
			e := e.in(t)
			resp := e.do(req{method: "POST", path: "/v1/customers", key: e.sk,
				body: map[string]any{"key": "late", "email": "late@example.com", "referred_by": "JANE20"}})
			if p := resp.problem(t); resp.Status != 422 || p.Code != "unknown_referral_code" {
				t.Errorf("got %d %+v, want 422 unknown_referral_code", resp.Status, p)
			}
		})

		t.Run("key and email reusable", func(t *testing.T) {
			e := e.in(t)
			c := e.createCustomer(map[string]any{"key": "cust_123", "email": email, "name": "Jane Again"})
			if c.ReferralCode == "JANE20" || c.ReferredBy != nil || len(c.Metadata) != 0 {
				t.Errorf("the new customer inherited from the deleted one: %+v", c)
			}
			// A code that was shared stays with the referral it made.
			resp := e.do(req{method: "POST", path: "/v1/customers", key: e.sk,
				body: map[string]any{"key": "other", "email": "other@example.com", "referral_code": "jane20"}})
			if p := resp.problem(t); resp.Status != 409 || p.Code != "referral_code_taken" {
				t.Errorf("reusing the deleted customer's code: %d %+v, want 409 referral_code_taken", resp.Status, p)
			}
			// The new holder of the key did not refer the friend.
			if got := e.getCustomer("friend"); got.ReferrerKey != nil {
				t.Errorf("friend's referrer_key became %q", *got.ReferrerKey)
			}
			if diff := cmp.Diff([]string{"friend"}, e.allCustomers(e.sk, "referred=true")); diff != "" {
				t.Errorf("referred customers (-want +got):\n%s", diff)
			}
		})
	})
}

// TestCreateCustomerBadInput sends requests that must fail with a clear
// error and write nothing.
func TestCreateCustomerBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "taken", "email": "taken@example.com", "name": "Taken", "referral_code": "TAKEN1"})
		valid := func(change map[string]any) map[string]any {
			b := map[string]any{"key": "new", "email": "new@example.com", "name": "New"}
			for k, v := range change {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		many := map[string]any{}
		for i := range 51 {
			many[fmt.Sprintf("k%d", i)] = i
		}
		tests := []struct {
			name        string
			body        any
			contentType string
			status      int
			code        string
			field       string // a field the problem must name
		}{
			{name: "missing email", body: valid(map[string]any{"email": nil}), status: 422, code: "invalid_customer", field: "email"},
			{name: "blank email", body: valid(map[string]any{"email": "  "}), status: 422, code: "invalid_customer", field: "email"},
			{name: "email without @", body: valid(map[string]any{"email": "new.example.com"}), status: 422, code: "invalid_customer", field: "email"},
			{name: "email with display name", body: valid(map[string]any{"email": "New <new@example.com>"}), status: 422, code: "invalid_customer", field: "email"},
			{name: "email without domain dot", body: valid(map[string]any{"email": "new@localhost"}), status: 422, code: "invalid_customer", field: "email"},
			{name: "email too long", body: valid(map[string]any{"email": strings.Repeat("a", 243) + "@example.com"}), status: 422, code: "invalid_customer", field: "email"},
			{name: "missing key", body: valid(map[string]any{"key": nil}), status: 422, code: "invalid_customer", field: "key"},
			{name: "key with slash", body: valid(map[string]any{"key": "a/b"}), status: 422, code: "invalid_customer", field: "key"},
			{name: "key with space", body: valid(map[string]any{"key": "a b"}), status: 422, code: "invalid_customer", field: "key"},
			{name: "key too long", body: valid(map[string]any{"key": strings.Repeat("k", 256)}), status: 422, code: "invalid_customer", field: "key"},
			{name: "name too long", body: valid(map[string]any{"name": strings.Repeat("é", 201)}), status: 422, code: "invalid_customer", field: "name"},
			{name: "name with control character", body: valid(map[string]any{"name": "a\x01b"}), status: 422, code: "invalid_customer", field: "name"},
			{name: "name with NUL", body: valid(map[string]any{"name": "a\x00b"}), status: 422, code: "invalid_text", field: "name"},
			{name: "metadata with 51 keys", body: valid(map[string]any{"metadata": many}), status: 422, code: "invalid_customer", field: "metadata"},
			{name: "metadata over 8 KiB", body: valid(map[string]any{"metadata": map[string]any{"blob": strings.Repeat("x", 8200)}}), status: 422, code: "invalid_customer", field: "metadata"},
			{name: "metadata key of 41 characters", body: valid(map[string]any{"metadata": map[string]any{strings.Repeat("m", 41): 1}}), status: 422, code: "invalid_customer", field: "metadata"},
			{name: "metadata null value", body: valid(map[string]any{"metadata": map[string]any{"a": nil}}), status: 422, code: "invalid_customer", field: "metadata"},
			{name: "metadata not an object", body: valid(map[string]any{"metadata": "plan=pro"}), status: 422, field: "metadata"},
			{name: "several bad fields", body: valid(map[string]any{"email": "x", "key": nil}), status: 422, code: "validation_failed", field: "key"},
			{name: "duplicate key", body: valid(map[string]any{"key": "taken"}), status: 409, code: "customer_key_taken", field: "key"},
			{name: "duplicate email in other case", body: valid(map[string]any{"email": "TAKEN@Example.com"}), status: 409, code: "customer_email_taken", field: "email"},
			{name: "code too short", body: valid(map[string]any{"referral_code": "ab"}), status: 422, code: "invalid_customer", field: "referral_code"},
			{name: "code too long", body: valid(map[string]any{"referral_code": strings.Repeat("a", 33)}), status: 422, code: "invalid_customer", field: "referral_code"},
			{name: "code with space", body: valid(map[string]any{"referral_code": "JANE 20"}), status: 422, code: "invalid_customer", field: "referral_code"},
			{name: "code with dot", body: valid(map[string]any{"referral_code": "jane.20"}), status: 422, code: "invalid_customer", field: "referral_code"},
			{name: "code with umlaut", body: valid(map[string]any{"referral_code": "jäne20"}), status: 422, code: "invalid_customer", field: "referral_code"},
			{name: "code collision in other case", body: valid(map[string]any{"referral_code": "taken1"}), status: 409, code: "referral_code_taken", field: "referral_code"},
			{name: "unknown referrer", body: valid(map[string]any{"referred_by": "NOPE42"}), status: 422, code: "unknown_referral_code", field: "referred_by"},
			{name: "malformed JSON", body: `{"key": "new", "email": `, status: 400, code: "malformed_json"},
			{name: "trailing data", body: `{"key": "new", "email": "new@example.com"} {}`, status: 400, code: "malformed_json"},
			{name: "JSON array", body: `[{"key": "new", "email": "new@example.com"}]`, status: 400, code: "malformed_json"},
			{name: "JSON string", body: `"new@example.com"`, status: 400, code: "malformed_json"},
			{name: "empty body", body: nil, status: 400, code: "empty_body"},
			{name: "blank body", body: " \n", status: 400, code: "empty_body"},
			{name: "text content type", body: valid(nil), contentType: "text/plain", status: 400, code: "unsupported_media_type"},
			{name: "form content type", body: "key=new&email=new%40example.com", contentType: "application/x-www-form-urlencoded", status: 400, code: "unsupported_media_type"},
			{name: "body over 1 MiB", body: valid(map[string]any{"name": strings.Repeat("x", 1<<20)}), status: 400, code: "body_too_large"},
			{name: "unknown field", body: valid(map[string]any{"plan": "pro"}), status: 422, code: "unknown_field", field: "plan"},
			{name: "currency is not a customer field", body: valid(map[string]any{"currency": "USD"}), status: 422, code: "unknown_field", field: "currency"},
			{name: "email not a string", body: valid(map[string]any{"email": 5}), status: 422, code: "invalid_field_type", field: "email"},
			{name: "key not a string", body: valid(map[string]any{"key": 123}), status: 422, code: "invalid_field_type", field: "key"},
			{name: "name not a string", body: valid(map[string]any{"name": true}), status: 422, code: "invalid_field_type", field: "name"},
			{name: "referred_by not a string", body: valid(map[string]any{"referred_by": []string{"A"}}), status: 422, code: "invalid_field_type", field: "referred_by"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.counts()
				r := req{method: "POST", path: "/v1/customers", key: e.sk, body: tc.body}
				if tc.contentType != "" {
					r.header = map[string]string{"Content-Type": tc.contentType}
				}
				resp := e.do(r)
				if resp.Status != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, tc.status, resp.Body)
				}
				p := resp.problem(t)
				if p.Status != tc.status || (tc.code != "" && p.Code != tc.code) || p.Detail == "" {
					t.Errorf("problem %+v, want status %d, code %q and a detail", p, tc.status, tc.code)
				}
				if tc.field != "" && p.Errors[tc.field] == "" {
					t.Errorf("errors %v do not name %q", p.Errors, tc.field)
				}
				e.unchanged(before)
			})
		}
		if diff := cmp.Diff([]string{"taken"}, e.allCustomers(e.sk, "")); diff != "" {
			t.Errorf("customers after the bad requests (-want +got):\n%s", diff)
		}
	})
}

// TestSameEmailInTwoPrograms: keys and emails are unique per program only.
// Codes are unique across programs, because a short link (/r/{code})
// names no program.
func TestSameEmailInTwoPrograms(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "cust_123", "email": "jane@example.com", "name": "Jane", "referral_code": "JANE20"})
		other := e.newProgramEnv("Other", "https://other.example.com")
		c := other.createCustomer(map[string]any{"key": "cust_123", "email": "JANE@example.com", "name": "Jane"})
		if c.ReferralURL != "https://other.example.com/?ref="+c.ReferralCode || c.ReferralCode == "JANE20" {
			t.Errorf("referral_url %q: want the other program's website and a code of its own", c.ReferralURL)
		}
		before := other.counts()
		resp := other.do(req{method: "POST", path: "/v1/customers", key: other.sk,
			body: map[string]any{"key": "vip", "email": "vip@example.com", "referral_code": "jane20"}})
		if p := resp.problem(t); resp.Status != 409 || p.Code != "referral_code_taken" {
			t.Errorf("another program's code: %d %+v, want 409 referral_code_taken", resp.Status, p)
		}
		other.unchanged(before)
	})
}
