package httpapi_test

import (
	"github.com/getkin/kin-openapi/openapi3filter"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The unsubscribe pages are HTML; the spec check reads them as text.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder) }

// optOut reads a customer's email_opt_out through the API.
func (e *env) optOut(key string) bool {
	e.t.Helper()
	resp := e.do(req{method: "GET", path: "/v1/customers/" + key, key: e.sk})
	var out struct {
		Customer struct {
			EmailOptOut *bool `json:"email_opt_out"`
		}
	}
	resp.json(e.t, &out)
	if out.Customer.EmailOptOut == nil {
		e.t.Fatalf("customer %s has no email_opt_out: %s", key, resp.Body)
	}
	return *out.Customer.EmailOptOut
}

// TestCustomerEmailOptOut: email_opt_out is shown, set on creation and
// changed by an update (a customer.updated event); a non-boolean is a 422
// naming the field, and changes nothing.
func TestCustomerEmailOptOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.createCustomer(map[string]any{"key": "jane", "email": "jane@example.com"})
		e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com", "email_opt_out": true})
		if e.optOut("jane") || !e.optOut("bob") {
			t.Fatalf("opt-out jane %t, bob %t; want false, true", e.optOut("jane"), e.optOut("bob"))
		}
		resp := e.do(req{method: "PUT", path: "/v1/customers/jane", key: e.sk, body: `{"email_opt_out": true}`})
		if resp.Status != 200 || !e.optOut("jane") {
			t.Fatalf("opt jane out = %d %s", resp.Status, resp.Body)
		}
		resp = e.do(req{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: `{"email_opt_out": false}`})
		if resp.Status != 200 || e.optOut("bob") {
			t.Fatalf("opt bob in = %d %s", resp.Status, resp.Body)
		}
		for _, bad := range []req{
			{method: "PUT", path: "/v1/customers/bob", key: e.sk, body: `{"email_opt_out": "yes"}`},
			{method: "POST", path: "/v1/customers", key: e.sk, body: `{"key": "cy", "email": "cy@example.com", "email_opt_out": 1}`},
		} {
			before := e.counts()
			resp := e.do(bad)
			p := resp.problem(t)
			if resp.Status != http.StatusUnprocessableEntity || p.Errors["email_opt_out"] == "" {
				t.Errorf("%s %s: %d %s; want 422 naming email_opt_out", bad.method, bad.body, resp.Status, resp.Body)
			}
			e.unchanged(before)
		}
		if e.optOut("bob") {
			t.Error("a rejected update changed bob")
		}
	})
}

// TestUnsubscribeLinks: the link of an email shows a confirmation page
// (GET changes nothing); the one-click POST opts the customer out and
// answers 200, again too; a forged link is a 404 page and changes
// nothing; a POST without the one-click body is a 400.
func TestUnsubscribeLinks(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.db.Emails = true
		jane := e.createCustomer(map[string]any{"key": "jane", "email": "jane@example.com", "name": "<b>Jane</b>"})
		e.createCustomer(map[string]any{"key": "bob", "email": "bob@example.com", "referred_by": jane.ReferralCode})
		if _, err := e.db.DispatchEvents(ctx, e.clock.Now(), 100); err != nil {
			t.Fatal(err)
		}
		qs, err := e.db.ClaimEmails(ctx, e.clock.Now().Add(time.Second), 10, time.Minute)
		if err != nil || len(qs) != 1 {
			t.Fatalf("claim: %v %v", qs, err)
		}
		pr, err := e.db.PrepareEmail(ctx, qs[0])
		if err != nil {
			t.Fatal(err)
		}
		link := "/unsubscribe/" + pr.UnsubscribeToken
		form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		oneClick := "List-Unsubscribe=One-Click"
		forged := "/unsubscribe/" + pr.UnsubscribeToken[:len(pr.UnsubscribeToken)-4] + "AAAA"

		page := func(r req, status int, contains string) {
			t.Helper()
			resp := e.do(r)
			if resp.Status != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
				!strings.Contains(string(resp.Body), contains) {
				t.Errorf("%s %s: %d %s %s; want %d with %q", r.method, r.path, resp.Status, resp.Header.Get("Content-Type"), resp.Body, status, contains)
			}
		}
		before := e.counts()
		page(req{method: "GET", path: forged}, 404, "not valid")
		page(req{method: "POST", path: forged, body: oneClick, header: form}, 404, "not valid")
		page(req{method: "POST", path: "/unsubscribe/nonsense", body: oneClick, header: form}, 404, "not valid")
		page(req{method: "POST", path: link, body: "", header: form}, 422, "Nothing changed")
		page(req{method: "GET", path: link}, 200, `<form method="post">`)
		e.unchanged(before)
		if e.optOut("jane") {
			t.Fatal("jane opted out by a GET or a bad request")
		}
		page(req{method: "POST", path: link, body: oneClick, header: form}, 200, "You are unsubscribed")
		if !e.optOut("jane") {
			t.Fatal("jane not opted out")
		}
		replay := e.counts()
		page(req{method: "POST", path: link, body: oneClick, header: form}, 200, "You are unsubscribed")
		page(req{method: "GET", path: link}, 200, "You are unsubscribed")
		e.unchanged(replay)
		if evs, err := e.db.Events(ctx, e.program.ID, "", 100); err != nil || evs[len(evs)-1].Type != "customer.updated" {
			t.Errorf("last event %v, %v; want customer.updated", evs[len(evs)-1].Type, err)
		}
		// Its queued email is skipped at send time.
		if p, err := e.db.PrepareEmail(ctx, qs[0]); err != nil || p.Skip == "" {
			t.Errorf("email to an unsubscribed customer: %+v, %v", p, err)
		}
	})
}
