package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

// webhookEndpoint is an endpoint as the API returns it.
type webhookEndpoint struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	Description    string    `json:"description"`
	Events         []string  `json:"events"`
	Active         bool      `json:"active"`
	DisabledReason *string   `json:"disabled_reason"`
	Secret         *string   `json:"secret"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// names is the DNS of the webhook tests: private.example and localhost
// resolve to private addresses, any other name to a public one.
type names struct{}

func (names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	switch host {
	case "private.example":
		return []netip.Addr{netip.MustParseAddr("10.1.2.3")}, nil
	case "localhost":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
	}
	return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
}

// refusePrivate is the server's own check (webhooks.Guard) over names.
var refusePrivate = webhooks.Guard{Resolver: names{}}.CheckHost

// eachWebhookEngine runs fn against an API that checks webhook hosts.
func eachWebhookEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnv(t, db, httpapi.Config{CheckWebhookHost: refusePrivate}))
	})
}

// endpointOf decodes a {"webhook_endpoint": …} response.
func endpointOf(t *testing.T, resp *response) webhookEndpoint {
	t.Helper()
	var out struct {
		Endpoint webhookEndpoint `json:"webhook_endpoint"`
	}
	resp.json(t, &out)
	return out.Endpoint
}

// createEndpoint creates an endpoint or fails the test.
func (e *env) createEndpoint(body any) webhookEndpoint {
	e.t.Helper()
	resp := e.do(req{method: "POST", path: "/v1/webhook_endpoints", key: e.sk, body: body})
	e.want(resp, http.StatusCreated, "create webhook endpoint")
	return endpointOf(e.t, resp)
}

// TestWebhookEndpointsAPI walks an endpoint through its life: the secret
// shows on creation and rotation only, and every other answer leaves it
// out.
func TestWebhookEndpointsAPI(t *testing.T) {
	eachWebhookEngine(t, func(t *testing.T, e *env) {
		created := e.createEndpoint(map[string]any{"url": "https://example.com:8443/hooks?src=adv",
			"events": []string{"reward.created", "reward.available"}, "description": "Fulfilment"})
		if created.Secret == nil || !strings.HasPrefix(*created.Secret, "whsec_") || !strings.HasPrefix(created.ID, "we_") {
			t.Fatalf("created %+v: want an id and a whsec_ secret", created)
		}
		want := created
		want.Secret = nil
		ignore := cmpopts.IgnoreFields(webhookEndpoint{}, "UpdatedAt")
		if diff := cmp.Diff(webhookEndpoint{ID: created.ID, URL: "https://example.com:8443/hooks?src=adv", Description: "Fulfilment",
			Events: []string{"reward.created", "reward.available"}, Active: true, CreatedAt: created.CreatedAt}, want, ignore); diff != "" {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		get := func(t *testing.T) webhookEndpoint {
			t.Helper()
			resp := e.in(t).do(req{method: "GET", path: "/v1/webhook_endpoints/" + created.ID, key: e.sk})
			e.in(t).want(resp, http.StatusOK, "get webhook endpoint")
			if strings.Contains(string(resp.Body), `"secret"`) {
				t.Errorf("GET shows the secret: %s", resp.Body)
			}
			return endpointOf(t, resp)
		}
		if diff := cmp.Diff(want, get(t)); diff != "" {
			t.Errorf("GET (-created +got):\n%s", diff)
		}

		t.Run("list", func(t *testing.T) {
			e := e.in(t)
			second := e.createEndpoint(map[string]any{"url": "http://hooks.example.org/", "events": []string{"*"}})
			resp := e.do(req{method: "GET", path: "/v1/webhook_endpoints?limit=1", key: e.sk})
			e.want(resp, http.StatusOK, "list")
			var p page[webhookEndpoint]
			resp.json(t, &p)
			if len(p.Data) != 1 || p.Data[0].ID != second.ID || !p.HasMore || p.NextCursor == nil || strings.Contains(string(resp.Body), `"secret"`) {
				t.Fatalf("first page %s: want the newest endpoint, without its secret, and a cursor", resp.Body)
			}
			resp = e.do(req{method: "GET", path: "/v1/webhook_endpoints?limit=1&cursor=" + *p.NextCursor, key: e.sk})
			p = page[webhookEndpoint]{}
			resp.json(t, &p)
			if diff := cmp.Diff([]webhookEndpoint{want}, p.Data); diff != "" || p.HasMore || p.NextCursor != nil {
				t.Errorf("second page (-want +got):\n%s; has_more %v", diff, p.HasMore)
			}
			e.want(e.do(req{method: "DELETE", path: "/v1/webhook_endpoints/" + second.ID, key: e.sk}), http.StatusNoContent, "delete second")
		})

		t.Run("update", func(t *testing.T) {
			for _, s := range []struct {
				body   string
				change func(w *webhookEndpoint)
			}{
				{`{}`, func(*webhookEndpoint) {}},
				{`{"description": null, "url": null, "events": null, "active": null}`, func(*webhookEndpoint) {}},
				{`{"url": "https://hooks.example.com/advocate"}`, func(w *webhookEndpoint) { w.URL = "https://hooks.example.com/advocate" }},
				{`{"events": ["*"], "description": ""}`, func(w *webhookEndpoint) { w.Events, w.Description = []string{"*"}, "" }},
				{`{"active": false}`, func(w *webhookEndpoint) { w.Active = false }},
				{`{"active": true}`, func(w *webhookEndpoint) { w.Active = true }},
			} {
				resp := e.in(t).do(req{method: "PUT", path: "/v1/webhook_endpoints/" + created.ID, key: e.sk, body: s.body})
				e.in(t).want(resp, http.StatusOK, "PUT "+s.body)
				s.change(&want)
				got := endpointOf(t, resp)
				if diff := cmp.Diff(want, got, ignore); diff != "" || strings.Contains(string(resp.Body), `"secret"`) {
					t.Errorf("PUT %s (-want +got):\n%s\n%s", s.body, diff, resp.Body)
				}
				want.UpdatedAt = got.UpdatedAt
				if diff := cmp.Diff(want, get(t)); diff != "" {
					t.Errorf("GET after PUT %s (-want +got):\n%s", s.body, diff)
				}
			}
		})

		t.Run("rotate", func(t *testing.T) {
			e := e.in(t)
			for _, body := range []any{nil, map[string]any{}} {
				resp := e.do(req{method: "POST", path: "/v1/webhook_endpoints/" + created.ID + "/rotate_secret", key: e.sk, body: body})
				e.want(resp, http.StatusOK, "rotate")
				got := endpointOf(t, resp)
				if got.Secret == nil || *got.Secret == *created.Secret || !strings.HasPrefix(*got.Secret, "whsec_") {
					t.Errorf("rotated secret %v, want a new whsec_ one", got.Secret)
				}
				got.Secret, got.UpdatedAt, want.UpdatedAt = nil, time.Time{}, time.Time{}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("rotate changed more than the secret (-want +got):\n%s", diff)
				}
			}
			stored, err := e.db.WebhookEndpoint(t.Context(), e.program.ID, created.ID)
			if err != nil || stored.PreviousSecret == *created.Secret || stored.PreviousSecret == "" {
				t.Errorf("after two rotations the previous secret is %q (%v), want the first rotation's", stored.PreviousSecret, err)
			}
			e.wantProblem(e.do(req{method: "POST", path: "/v1/webhook_endpoints/" + created.ID + "/rotate_secret", key: e.sk,
				body: map[string]any{"secret": "whsec_mine"}}), 422, "unknown_field", "secret")
		})

		t.Run("other program", func(t *testing.T) {
			e := e.inProgram(t, "USD")
			resp := e.do(req{method: "GET", path: "/v1/webhook_endpoints", key: e.sk})
			var p page[webhookEndpoint]
			resp.json(t, &p)
			if len(p.Data) != 0 {
				t.Errorf("another program lists %d endpoints, want none", len(p.Data))
			}
			path := "/v1/webhook_endpoints/" + created.ID
			for _, r := range []req{
				{method: "GET", path: path},
				{method: "PUT", path: path, body: map[string]any{"active": false}},
				{method: "POST", path: path + "/rotate_secret"},
				{method: "DELETE", path: path},
			} {
				r.key = e.sk
				e.wantProblem(e.do(r), 404, "webhook_endpoint_not_found", "")
			}
		})

		t.Run("publishable key", func(t *testing.T) {
			e := e.in(t)
			before := e.counts()
			for _, r := range []req{
				{method: "POST", path: "/v1/webhook_endpoints", body: map[string]any{"url": "https://example.com/", "events": []string{"*"}}},
				{method: "GET", path: "/v1/webhook_endpoints"},
				{method: "GET", path: "/v1/webhook_endpoints/" + created.ID},
				{method: "POST", path: "/v1/webhook_endpoints/" + created.ID + "/rotate_secret"},
			} {
				r.key = e.pk
				e.wantProblem(e.do(r), 403, "secret_key_required", "")
			}
			e.unchanged(before)
		})

		t.Run("delete", func(t *testing.T) {
			e := e.in(t)
			path := "/v1/webhook_endpoints/" + created.ID
			e.want(e.do(req{method: "DELETE", path: path, key: e.sk}), http.StatusNoContent, "delete")
			for _, r := range []req{
				{method: "GET", path: path},
				{method: "PUT", path: path, body: map[string]any{}},
				{method: "POST", path: path + "/rotate_secret"},
				{method: "DELETE", path: path},
				{method: "GET", path: "/v1/webhook_endpoints/we_nosuch"},
			} {
				r.key = e.sk
				e.wantProblem(e.do(r), 404, "webhook_endpoint_not_found", "")
			}
			var p page[webhookEndpoint]
			e.do(req{method: "GET", path: "/v1/webhook_endpoints", key: e.sk}).json(t, &p)
			if len(p.Data) != 0 {
				t.Errorf("a deleted endpoint is listed: %+v", p.Data)
			}
		})
	})
}

// TestWebhookEndpointRefused: every invalid endpoint is a 422 that names
// its field and changes nothing, on creation and on update alike.
func TestWebhookEndpointRefused(t *testing.T) {
	eachWebhookEngine(t, func(t *testing.T, e *env) {
		existing := e.createEndpoint(map[string]any{"url": "https://example.com/", "events": []string{"customer.created"}})
		events := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = webhooks.EventTypes[i%len(webhooks.EventTypes)].Type
			}
			return out
		}
		valid := map[string]any{"url": "https://example.com/hooks", "events": []string{"*"}}
		with := func(k string, v any) body {
			m := body{"url": valid["url"], "events": valid["events"]}
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
			return m
		}
		tests := []struct {
			name        string
			body        any
			code, field string
			onUpdate    bool // the same body refused by PUT too
		}{
			{"no url", with("url", nil), "url_required", "url", false},
			{"empty url", with("url", ""), "url_required", "url", true},
			{"url too long", with("url", "https://example.com/"+strings.Repeat("a", 2030)), "url_too_long", "url", true},
			{"relative url", with("url", "/hooks"), "url_scheme_not_allowed", "url", true},
			{"ftp url", with("url", "ftp://example.com/"), "url_scheme_not_allowed", "url", true},
			{"url without host", with("url", "https:///hooks"), "invalid_url", "url", true},
			{"url with credentials", with("url", "https://user:secret@example.com/"), "url_credentials_not_allowed", "url", true},
			{"url with fragment", with("url", "https://example.com/#hooks"), "url_fragment_not_allowed", "url", true},
			{"private host", with("url", "https://private.example/hooks"), "webhook_url_not_public", "url", true},
			{"loopback", with("url", "http://127.0.0.1:8080/"), "webhook_url_not_public", "url", true},
			{"localhost", with("url", "http://localhost/"), "webhook_url_not_public", "url", true},
			{"loopback v6", with("url", "http://[::1]:9000/"), "webhook_url_not_public", "url", true},
			{"no events", with("events", nil), "events_required", "events", false},
			{"empty events", with("events", []string{}), "events_required", "events", true},
			{"too many events", with("events", events(51)), "too_many_events", "events", true},
			{"unknown event", with("events", []string{"reward.created", "customer.created", "reward.paid"}), "unknown_event_type", "events.2", true},
			{"test event", with("events", []string{"reward.created", "webhook_endpoint.test"}), "event_type_on_request", "events.1", true},
			{"all and more", with("events", []string{"*", "reward.created"}), "invalid_events", "events", true},
			{"events not a list", with("events", "*"), "invalid_field_type", "events", true},
			{"description too long", with("description", strings.Repeat("é", 501)), "description_too_long", "description", true},
			{"description not text", `{"url": "https://example.com/", "events": ["*"], "description": "a\u0000b"}`, "invalid_text", "description", true},
			{"unknown field", with("secret", "whsec_mine"), "unknown_field", "secret", true},
			{"two problems", with("url", "ftp://x").merge("events", []string{}), "validation_failed", "events", true},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.counts()
				e.wantProblem(e.do(req{method: "POST", path: "/v1/webhook_endpoints", key: e.sk, body: tc.body}), 422, tc.code, tc.field)
				e.unchanged(before)
				if !tc.onUpdate {
					return
				}
				e.wantProblem(e.do(req{method: "PUT", path: "/v1/webhook_endpoints/" + existing.ID, key: e.sk, body: tc.body}), 422, tc.code, tc.field)
				var got struct {
					Endpoint webhookEndpoint `json:"webhook_endpoint"`
				}
				e.do(req{method: "GET", path: "/v1/webhook_endpoints/" + existing.ID, key: e.sk}).json(t, &got)
				existing.Secret = nil
				if diff := cmp.Diff(existing, got.Endpoint); diff != "" {
					t.Errorf("a refused update changed the endpoint (-before +after):\n%s", diff)
				}
			})
		}
	})
}

// body is a request body that a test builds up.
type body map[string]any

// merge returns m with k set to v.
func (m body) merge(k string, v any) body { m[k] = v; return m }

// TestWebhookEndpointLimit: a program has at most 20 endpoints; a deleted
// one makes room, and another program has its own 20.
func TestWebhookEndpointLimit(t *testing.T) {
	eachWebhookEngine(t, func(t *testing.T, e *env) {
		ep := map[string]any{"url": "https://example.com/", "events": []string{"*"}}
		var ids []string
		for range webhooks.MaxEndpoints {
			ids = append(ids, e.createEndpoint(ep).ID)
		}
		before := e.counts()
		e.wantProblem(e.do(req{method: "POST", path: "/v1/webhook_endpoints", key: e.sk, body: ep}), 422, "too_many_webhook_endpoints", "")
		e.unchanged(before)
		other := e.inProgram(t, "EUR")
		other.createEndpoint(ep)
		e.want(e.do(req{method: "DELETE", path: "/v1/webhook_endpoints/" + ids[0], key: e.sk}), http.StatusNoContent, "delete")
		e.createEndpoint(ep)
		var all []string
		cursor := ""
		for range 5 {
			q := "?limit=100"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			var p page[webhookEndpoint]
			e.do(req{method: "GET", path: "/v1/webhook_endpoints" + q, key: e.sk}).json(t, &p)
			for _, w := range p.Data {
				all = append(all, w.ID)
			}
			if !p.HasMore {
				break
			}
			cursor = *p.NextCursor
		}
		if len(all) != webhooks.MaxEndpoints || slices.Contains(all, ids[0]) {
			t.Errorf("listed %d endpoints (deleted one listed: %v), want %d", len(all), slices.Contains(all, ids[0]), webhooks.MaxEndpoints)
		}
	})
}

// TestWebhookEventTypesDocumented keeps the OpenAPI enum of event types
// and webhooks.EventTypes the same list.
func TestWebhookEventTypesDocumented(t *testing.T) {
	doc := specDoc(t)
	s := doc.Components.Schemas["WebhookEventType"]
	if s == nil {
		t.Fatal("api/openapi.yaml has no WebhookEventType schema")
	}
	var documented []string
	for _, v := range s.Value.Enum {
		documented = append(documented, fmt.Sprint(v))
	}
	want := []string{webhooks.AllEvents}
	for _, et := range webhooks.Subscribable() {
		want = append(want, et.Type)
		if !strings.Contains(s.Value.Description, "| `"+et.Type+"` | "+et.Description+" |") {
			t.Errorf("WebhookEventType's description does not describe %s as %q", et.Type, et.Description)
		}
	}
	if diff := cmp.Diff(want, documented); diff != "" {
		t.Errorf("WebhookEventType enum (-webhooks.EventTypes +api/openapi.yaml):\n%s", diff)
	}
}
