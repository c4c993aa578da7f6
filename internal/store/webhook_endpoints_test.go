package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

func ptr[T any](v T) *T { return &v }

// newEndpoint creates an endpoint subscribed to events, or fails the test.
func newEndpoint(t *testing.T, db *store.DB, programID, url string, events ...string) *webhooks.Endpoint {
	t.Helper()
	e, err := db.CreateWebhookEndpoint(t.Context(), programID, webhooks.EndpointInput{URL: &url, Events: &events})
	if err != nil {
		t.Fatalf("create webhook endpoint: %v", err)
	}
	return e
}

// TestWebhookEndpoints: an endpoint reads back as created, changes field
// by field, is hidden once deleted, and is another program's business
// only in its own program.
func TestWebhookEndpoints(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return at }
		p, other := newProgram(t, db), newProgram(t, db)
		e, err := db.CreateWebhookEndpoint(ctx, p.ID, webhooks.EndpointInput{URL: ptr("https://example.com/hooks"),
			Events: &[]string{"reward.created", "customer.created"}, Description: ptr(" Production ")})
		if err != nil {
			t.Fatal(err)
		}
		want := webhooks.Endpoint{ID: e.ID, ProgramID: p.ID, URL: "https://example.com/hooks", Description: "Production",
			Events: []string{"reward.created", "customer.created"}, Active: true, Secret: e.Secret, CreatedAt: at, UpdatedAt: at}
		if diff := cmp.Diff(&want, e); diff != "" || !strings.HasPrefix(e.ID, "we_") || !strings.HasPrefix(e.Secret, "whsec_") {
			t.Errorf("created (-want +got):\n%s", diff)
		}
		got, err := db.WebhookEndpoint(ctx, p.ID, e.ID)
		if diff := cmp.Diff(&want, got); err != nil || diff != "" {
			t.Errorf("read back: %v (-want +got):\n%s", err, diff)
		}
		if _, err := db.WebhookEndpoint(ctx, other.ID, e.ID); !errors.Is(err, webhooks.ErrEndpointNotFound) {
			t.Errorf("from another program: %v, want ErrEndpointNotFound", err)
		}

		at = at.Add(time.Hour)
		steps := []struct {
			name   string
			in     webhooks.EndpointInput
			change func(e *webhooks.Endpoint)
		}{
			{"url", webhooks.EndpointInput{URL: ptr("http://example.org:8080/in")}, func(e *webhooks.Endpoint) { e.URL = "http://example.org:8080/in" }},
			{"events", webhooks.EndpointInput{Events: &[]string{"*"}}, func(e *webhooks.Endpoint) { e.Events = []string{"*"} }},
			{"description", webhooks.EndpointInput{Description: ptr("")}, func(e *webhooks.Endpoint) { e.Description = "" }},
			{"pause", webhooks.EndpointInput{Active: ptr(false)}, func(e *webhooks.Endpoint) { e.Active = false }},
			{"resume", webhooks.EndpointInput{Active: ptr(true)}, func(e *webhooks.Endpoint) { e.Active = true }},
		}
		for _, s := range steps {
			s.change(&want)
			want.UpdatedAt = at
			got, err := db.UpdateWebhookEndpoint(ctx, p.ID, e.ID, s.in)
			if diff := cmp.Diff(&want, got); err != nil || diff != "" {
				t.Errorf("update %s: %v (-want +got):\n%s", s.name, err, diff)
			}
			if got, _ := db.WebhookEndpoint(ctx, p.ID, e.ID); !cmp.Equal(&want, got) {
				t.Errorf("update %s: read back %+v, want %+v", s.name, got, want)
			}
		}

		// Refused changes change nothing.
		for _, in := range []webhooks.EndpointInput{
			{URL: ptr("https://user:pw@example.com/")},
			{Events: &[]string{"reward.paid"}},
			{Description: ptr(strings.Repeat("x", 501)), Active: ptr(false)},
		} {
			if _, err := db.UpdateWebhookEndpoint(ctx, p.ID, e.ID, in); err == nil {
				t.Errorf("update %+v: no error", in)
			}
		}
		if got, _ := db.WebhookEndpoint(ctx, p.ID, e.ID); !cmp.Equal(&want, got) {
			t.Errorf("after refused updates: %+v, want %+v", got, want)
		}
		if _, err := db.UpdateWebhookEndpoint(ctx, other.ID, e.ID, webhooks.EndpointInput{}); !errors.Is(err, webhooks.ErrEndpointNotFound) {
			t.Errorf("update from another program: %v, want ErrEndpointNotFound", err)
		}

		if err := db.DeleteWebhookEndpoint(ctx, other.ID, e.ID); !errors.Is(err, webhooks.ErrEndpointNotFound) {
			t.Errorf("delete from another program: %v, want ErrEndpointNotFound", err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, p.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		for name, err := range map[string]error{
			"get": func() error { _, err := db.WebhookEndpoint(ctx, p.ID, e.ID); return err }(),
			"update": func() error {
				_, err := db.UpdateWebhookEndpoint(ctx, p.ID, e.ID, webhooks.EndpointInput{})
				return err
			}(),
			"rotate": func() error { _, err := db.RotateWebhookSecret(ctx, p.ID, e.ID); return err }(),
			"delete": db.DeleteWebhookEndpoint(ctx, p.ID, e.ID),
		} {
			if !errors.Is(err, webhooks.ErrEndpointNotFound) {
				t.Errorf("%s a deleted endpoint: %v, want ErrEndpointNotFound", name, err)
			}
		}
		if list, _, err := db.WebhookEndpoints(ctx, p.ID, store.Page{}); err != nil || len(list) != 0 {
			t.Errorf("list after delete: %d endpoints, %v; want none", len(list), err)
		}
	})
}

// TestWebhookEndpointDisabledBySystem: a person's resume clears the reason
// the system disabled an endpoint for; other changes keep it.
func TestWebhookEndpointDisabledBySystem(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		e := newEndpoint(t, db, p.ID, "https://example.com/gone", "*")
		// Until deliveries disable endpoints themselves, as the system would.
		if err := db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecRaw(ctx, `UPDATE webhook_endpoints SET active = FALSE, disabled_reason = '410 Gone' WHERE id = $1`, e.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		got, err := db.UpdateWebhookEndpoint(ctx, p.ID, e.ID, webhooks.EndpointInput{Description: ptr("old")})
		if err != nil || got.Active || got.DisabledReason != "410 Gone" {
			t.Fatalf("edit of a disabled endpoint: %+v, %v; want it still disabled with its reason", got, err)
		}
		got, err = db.UpdateWebhookEndpoint(ctx, p.ID, e.ID, webhooks.EndpointInput{Active: ptr(true)})
		if err != nil || !got.Active || got.DisabledReason != "" {
			t.Errorf("resumed: %+v, %v; want active without a reason", got, err)
		}
		if got, _ := db.WebhookEndpoint(ctx, p.ID, e.ID); !got.Active || got.DisabledReason != "" {
			t.Errorf("resumed, read back: %+v", got)
		}
	})
}

// TestRotateWebhookSecret: the old secret keeps signing for a day after a
// rotation, a second rotation drops the oldest, and other fields stay.
func TestRotateWebhookSecret(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return at }
		p, other := newProgram(t, db), newProgram(t, db)
		e := newEndpoint(t, db, p.ID, "https://example.com/hooks", "reward.created")
		if got := e.LiveSecrets(at); !slices.Equal(got, []string{e.Secret}) {
			t.Errorf("before any rotation, live secrets %v, want just %s", got, e.Secret)
		}
		if _, err := db.RotateWebhookSecret(ctx, other.ID, e.ID); !errors.Is(err, webhooks.ErrEndpointNotFound) {
			t.Errorf("rotate from another program: %v, want ErrEndpointNotFound", err)
		}

		at = at.Add(time.Hour)
		first, err := db.RotateWebhookSecret(ctx, p.ID, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if first.Secret == e.Secret || !strings.HasPrefix(first.Secret, "whsec_") || first.PreviousSecret != e.Secret ||
			!first.SecretRotatedAt.Equal(at) || !first.UpdatedAt.Equal(at) || first.URL != e.URL || !slices.Equal(first.Events, e.Events) {
			t.Errorf("rotated: %+v; was %+v", first, e)
		}
		stored, err := db.WebhookEndpoint(ctx, p.ID, e.ID)
		if diff := cmp.Diff(first, stored); err != nil || diff != "" {
			t.Errorf("read back: %v (-rotated +stored):\n%s", err, diff)
		}
		for _, c := range []struct {
			after time.Duration
			want  []string
		}{
			{0, []string{first.Secret, e.Secret}},
			{webhooks.SecretGrace - time.Second, []string{first.Secret, e.Secret}},
			{webhooks.SecretGrace, []string{first.Secret}},
			{48 * time.Hour, []string{first.Secret}},
		} {
			if got := stored.LiveSecrets(at.Add(c.after)); !slices.Equal(got, c.want) {
				t.Errorf("%v after the rotation: live secrets %v, want %v", c.after, got, c.want)
			}
		}

		at = at.Add(time.Minute)
		second, err := db.RotateWebhookSecret(ctx, p.ID, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := second.LiveSecrets(at); !slices.Equal(got, []string{second.Secret, first.Secret}) {
			t.Errorf("second rotation: live secrets %v, want the new and the first rotation's, not the original", got)
		}
		// An update read before the rotation cannot bring the old secret back.
		if got, err := db.UpdateWebhookEndpoint(ctx, p.ID, e.ID, webhooks.EndpointInput{Description: ptr("x")}); err != nil || got.Secret != second.Secret {
			t.Errorf("update after rotation: secret %q, %v; want %q", got.Secret, err, second.Secret)
		}
	})
}

// TestWebhookEndpointsPages: a program's endpoints list newest first in
// pages, without another program's or deleted ones, and a program has at
// most webhooks.MaxEndpoints live at once.
func TestWebhookEndpointsPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		at := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { at = at.Add(time.Millisecond); return at }
		p, other := newProgram(t, db), newProgram(t, db)
		newEndpoint(t, db, other.ID, "https://other.example.com/", "*")
		var ids []string
		for range webhooks.MaxEndpoints {
			ids = append(ids, newEndpoint(t, db, p.ID, "https://example.com/", "*").ID)
		}
		_, err := db.CreateWebhookEndpoint(ctx, p.ID, webhooks.EndpointInput{URL: ptr("https://example.com/"), Events: &[]string{"*"}})
		if e, ok := referral.AsError(err); !ok || e.Code != "too_many_webhook_endpoints" {
			t.Errorf("endpoint %d: %v, want too_many_webhook_endpoints", webhooks.MaxEndpoints+1, err)
		}
		if err := db.DeleteWebhookEndpoint(ctx, p.ID, ids[3]); err != nil {
			t.Fatal(err)
		}
		ids = slices.Delete(ids, 3, 4)
		ids = append(ids, newEndpoint(t, db, p.ID, "https://example.com/", "*").ID) // a deleted one does not count
		slices.Reverse(ids)

		var got []string
		pg := store.Page{Limit: 7}
		for range 10 {
			list, more, err := db.WebhookEndpoints(ctx, p.ID, pg)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list {
				got = append(got, e.ID)
			}
			if !more {
				break
			}
			pg.After = list[len(list)-1].ID
		}
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("endpoints, newest first (-want +got):\n%s", diff)
		}
	})
}
