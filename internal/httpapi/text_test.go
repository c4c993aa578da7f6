package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/advocate-oss/advocate/internal/referral"
)

// badTexts are the values PostgreSQL refuses and SQLite would store: as a
// URL escape (path, query) and as raw JSON string content (body).
var badTexts = []struct{ name, escaped, json string }{
	{"NUL", "a%00b", `a\u0000b`},
	{"invalid UTF-8", "a%FFb", "a\xffb"},
}

// textCase is one request with one bad value, and the field its answer
// must name ("" for a path, which must be a 404).
type textCase struct {
	name, method, path, key string
	body                    []byte
	header                  map[string]string
	status                  int
	field                   string
}

// badTextCases derives, from api/openapi.yaml (which TestOpenAPICoversEveryRoute
// keeps equal to web.API), one request per path parameter, query
// parameter and string field of a JSON body of every operation, with that
// one value bad. pathArgs fills the other path parameters.
func badTextCases(t *testing.T, e *env, pathArgs map[string]string) []textCase {
	doc := specDoc(t)
	var cases []textCase
	paths := doc.Paths.Map()
	for _, path := range slices.Sorted(func(yield func(string) bool) {
		for p := range paths {
			if !yield(p) {
				return
			}
		}
	}) {
		item := paths[path]
		for _, method := range []string{"GET", "POST", "PUT", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			params := append(slices.Clone(item.Parameters), op.Parameters...)
			fill := func(bad, value string) string {
				out := path
				for _, p := range params {
					if p.Value.In != "path" {
						continue
					}
					v := pathArgs[p.Value.Name]
					if p.Value.Name == bad {
						v = value
					}
					out = strings.ReplaceAll(out, "{"+p.Value.Name+"}", v)
				}
				return out
			}
			key := e.sk
			if op.Security != nil && len(*op.Security) == 0 {
				key = ""
			}
			for _, bt := range badTexts {
				for _, p := range params {
					name := p.Value.Name
					switch p.Value.In {
					case "path":
						status := http.StatusNotFound
						if strings.HasPrefix(path, "/r/") { // a short link never ends on an error page
							status = http.StatusFound
						}
						cases = append(cases, textCase{name: bt.name + " in path " + name, method: method, key: key,
							path: fill(name, bt.escaped), status: status})
					case "query":
						cases = append(cases, textCase{name: bt.name + " in query " + name, method: method, key: key,
							path: fill("", "") + "?" + name + "=" + bt.escaped, status: http.StatusUnprocessableEntity, field: name})
					}
				}
				// A Stripe event is read only once its signature checks; bad
				// text in a signed one is TestStripeWebhookOutcomes's.
				if op.RequestBody == nil || strings.HasPrefix(path, "/integrations/stripe/webhook/") {
					continue
				}
				mt := op.RequestBody.Value.Content.Get("application/json")
				if mt == nil {
					continue
				}
				for _, leaf := range stringLeaves(mt.Schema, nil) {
					c := textCase{name: bt.name + " in body " + strings.Join(leaf.path, "."), method: method, key: key,
						path: fill("", ""), body: badBody(leaf.path, bt.json), status: http.StatusUnprocessableEntity, field: fieldName(leaf.path)}
					if leaf.format == "date-time" { // not a time at all: malformed, as any other bad time
						c.status, c.field = http.StatusBadRequest, ""
					}
					cases = append(cases, c)
				}
			}
		}
	}
	return cases
}

// leaf is a string value of a schema: its path, where "*" stands for any
// key of a free-form object and "0" for an array's first item.
type leaf struct {
	path   []string
	format string
}

// stringLeaves lists the string values of a schema.
func stringLeaves(ref *openapi3.SchemaRef, path []string) []leaf {
	if ref == nil || ref.Value == nil {
		return nil
	}
	s := ref.Value
	var out []leaf
	for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf) {
		out = append(out, stringLeaves(sub, path)...)
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for k := range s.Properties {
				if !yield(k) {
					return
				}
			}
		}) {
			out = append(out, stringLeaves(s.Properties[name], append(slices.Clone(path), name))...)
		}
		switch {
		case s.AdditionalProperties.Schema != nil: // a map of values of that schema
			out = append(out, stringLeaves(s.AdditionalProperties.Schema, append(slices.Clone(path), "*"))...)
		case (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) && len(s.Properties) == 0: // free-form
			out = append(out, leaf{path: append(slices.Clone(path), "*")})
		}
	case s.Type.Is("array"):
		out = append(out, stringLeaves(s.Items, append(slices.Clone(path), "0"))...)
	case s.Type.Includes("string"):
		out = append(out, leaf{path: path, format: s.Format})
	}
	return slices.CompactFunc(out, func(a, b leaf) bool { return slices.Equal(a.path, b.path) })
}

// badBody is a JSON body with value (raw JSON string content) at leaf.
func badBody(leaf []string, value string) []byte {
	const mark = "\x01BAD\x01"
	var v any = mark
	for i := len(leaf) - 1; i >= 0; i-- {
		switch leaf[i] {
		case "0":
			v = []any{v}
		case "*":
			v = map[string]any{"k": v}
		default:
			v = map[string]any{leaf[i]: v}
		}
	}
	b, _ := json.Marshal(v)
	return bytes.Replace(b, []byte(`\u0001BAD\u0001`), []byte(value), 1)
}

// fieldName is how the API names the field at leaf.
func fieldName(leaf []string) string {
	var b strings.Builder
	for _, p := range leaf {
		switch p {
		case "0":
			b.WriteString("[0]")
			continue
		case "*":
			p = "k"
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// TestBadTextRefused sends a NUL and invalid UTF-8 in every path
// parameter, query parameter and body string field of every operation:
// PostgreSQL would refuse them (a 500) where SQLite stores them, so both
// must be answered alike, with a 4xx that names the field, and nothing
// stored.
func TestBadTextRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "jane", "email": "jane@example.com", "name": "Jane"})
		args := map[string]string{"key": "jane", "code": "JANE20", "id": "nosuch"}
		cases := badTextCases(t, e, args)
		if len(cases) < 60 {
			t.Fatalf("only %d cases derived from api/openapi.yaml", len(cases))
		}
		for _, bt := range badTexts {
			cases = append(cases,
				textCase{name: bt.name + " in referred_by with the publishable key", method: "POST", path: "/v1/customers", key: e.pk,
					header: map[string]string{"Origin": "https://yoursite.com"}, status: 422, field: "referred_by",
					body: []byte(`{"key": "k2", "email": "k2@example.com", "referred_by": "` + bt.json + `"}`)},
				textCase{name: bt.name + " in customer metadata", method: "POST", path: "/v1/customers", key: e.sk, status: 422,
					field: "metadata.k", body: []byte(`{"key": "k3", "email": "k3@example.com", "metadata": {"k": "` + bt.json + `"}}`)},
				textCase{name: bt.name + " in a metadata key", method: "POST", path: "/v1/customers", key: e.sk, status: 422,
					field: "metadata", body: []byte(`{"key": "k4", "email": "k4@example.com", "metadata": {"` + bt.json + `": "v"}}`)},
				textCase{name: bt.name + " in transaction metadata", method: "POST", path: "/v1/transactions", key: e.sk, status: 422,
					field: "metadata.k", body: []byte(`{"customer_key": "jane", "key": "t1", "amount": 10, "currency": "USD", "metadata": {"k": "` + bt.json + `"}}`)},
				textCase{name: bt.name + " in a query parameter's name", method: "GET", path: "/v1/customers?" + bt.escaped + "=1", key: e.sk,
					status: 422, field: referral.CleanText(map[string]string{"NUL": "a\x00b", "invalid UTF-8": "a\xffb"}[bt.name], 64)},
				textCase{name: bt.name + " in a beacon sent as text", method: "POST", path: "/v1/track/click", status: 422, field: "url",
					header: map[string]string{"Content-Type": "text/plain;charset=UTF-8"},
					body:   []byte(`{"publishable_key": "` + e.pk + `", "code": "JANE20", "url": "https://yoursite.com/` + bt.json + `"}`)},
			)
		}
		before := e.counts()
		for _, tc := range cases {
			t.Run(tc.method+" "+tc.path+" "+tc.name, func(t *testing.T) {
				e := e.in(t)
				resp := e.do(req{method: tc.method, path: tc.path, key: tc.key, body: tc.body, header: tc.header})
				if resp.Status != tc.status {
					t.Fatalf("%d %s, want %d", resp.Status, resp.Body, tc.status)
				}
				if tc.field == "" {
					return
				}
				if p := resp.problem(t); p.Errors[tc.field] == "" {
					t.Errorf("errors %v, want one for %q", p.Errors, tc.field)
				}
			})
		}
		e.unchanged(before)
	})
}
