package webhooks

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/referral"
)

func ptr[T any](v T) *T { return &v }

func TestApply(t *testing.T) {
	base := Endpoint{ID: "we_1", URL: "https://example.com/hooks", Events: []string{"reward.created"}, Active: true}
	disabled := base
	disabled.Active, disabled.DisabledReason = false, "410 Gone"
	tooMany := make([]string, MaxEvents+1)
	for i := range tooMany {
		tooMany[i] = "reward.created"
	}
	tests := []struct {
		name  string
		base  Endpoint
		in    EndpointInput
		want  func(e *Endpoint) // the change, when accepted
		code  string            // the error's code, when refused
		field string            // and the field it names
	}{
		{"nothing", base, EndpointInput{}, func(*Endpoint) {}, "", ""},
		{"url trimmed", base, EndpointInput{URL: ptr(" https://example.org/x ")}, func(e *Endpoint) { e.URL = "https://example.org/x" }, "", ""},
		{"events deduplicated", base, EndpointInput{Events: ptr([]string{"reward.created", "customer.created", "reward.created"})},
			func(e *Endpoint) { e.Events = []string{"reward.created", "customer.created"} }, "", ""},
		{"all events", base, EndpointInput{Events: ptr([]string{"*", "*"})}, func(e *Endpoint) { e.Events = []string{"*"} }, "", ""},
		{"description", base, EndpointInput{Description: ptr("  Production  ")}, func(e *Endpoint) { e.Description = "Production" }, "", ""},
		{"description of 500 characters", base, EndpointInput{Description: ptr(strings.Repeat("é", 500))},
			func(e *Endpoint) { e.Description = strings.Repeat("é", 500) }, "", ""},
		{"pause", base, EndpointInput{Active: ptr(false)}, func(e *Endpoint) { e.Active = false }, "", ""},
		{"resume a disabled endpoint", disabled, EndpointInput{Active: ptr(true)}, func(e *Endpoint) { e.Active, e.DisabledReason = true, "" }, "", ""},
		{"disabled stays disabled", disabled, EndpointInput{Description: ptr("x")}, func(e *Endpoint) { e.Description = "x" }, "", ""},

		{"new without url", Endpoint{Active: true}, EndpointInput{Events: ptr([]string{"*"})}, nil, "url_required", "url"},
		{"new without events", Endpoint{Active: true}, EndpointInput{URL: ptr("https://example.com")}, nil, "events_required", "events"},
		{"new without anything", Endpoint{Active: true}, EndpointInput{}, nil, "validation_failed", "url"},
		{"bad url", base, EndpointInput{URL: ptr("ftp://example.com")}, nil, "url_scheme_not_allowed", "url"},
		{"blank url", base, EndpointInput{URL: ptr("  ")}, nil, "url_required", "url"},
		{"no events", base, EndpointInput{Events: ptr([]string{})}, nil, "events_required", "events"},
		{"too many events", base, EndpointInput{Events: &tooMany}, nil, "too_many_events", "events"},
		{"unknown event", base, EndpointInput{Events: ptr([]string{"reward.created", "customer.created", "reward.paid"})}, nil, "unknown_event_type", "events.2"},
		{"wildcard prefix", base, EndpointInput{Events: ptr([]string{"reward.*"})}, nil, "unknown_event_type", "events.0"},
		{"all and more", base, EndpointInput{Events: ptr([]string{"*", "reward.created"})}, nil, "invalid_events", "events"},
		{"description too long", base, EndpointInput{Description: ptr(strings.Repeat("é", 501))}, nil, "description_too_long", "description"},
		{"description not text", base, EndpointInput{Description: ptr("a\x00b")}, nil, "invalid_text", "description"},
		{"two problems", base, EndpointInput{URL: ptr("x"), Events: ptr([]string{})}, nil, "validation_failed", "events"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(tc.base.Events)
			got, err := Apply(tc.base, tc.in)
			if !slices.Equal(tc.base.Events, before) {
				t.Errorf("Apply changed its base's events to %v", tc.base.Events)
			}
			if tc.code != "" {
				e, ok := referral.AsError(err)
				if !ok || e.Code != tc.code || e.Kind != referral.KindInvalid || e.Fields[tc.field] == "" {
					t.Errorf("Apply = %v, want a 422 %s naming %s", err, tc.code, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := tc.base
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("endpoint (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLiveSecrets(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	never := Endpoint{Secret: "whsec_new"}
	rotated := Endpoint{Secret: "whsec_new", PreviousSecret: "whsec_old", SecretRotatedAt: at}
	tests := []struct {
		name string
		e    Endpoint
		now  time.Time
		want []string
	}{
		{"never rotated", never, at, []string{"whsec_new"}},
		{"at the rotation", rotated, at, []string{"whsec_new", "whsec_old"}},
		{"a moment before the grace ends", rotated, at.Add(SecretGrace - time.Microsecond), []string{"whsec_new", "whsec_old"}},
		{"when the grace ends", rotated, at.Add(SecretGrace), []string{"whsec_new"}},
		{"days later", rotated, at.Add(72 * time.Hour), []string{"whsec_new"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.LiveSecrets(tc.now); !slices.Equal(got, tc.want) {
				t.Errorf("LiveSecrets = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSubscribed(t *testing.T) {
	some := Endpoint{Events: []string{"reward.created", "customer.created"}}
	all := Endpoint{Events: []string{AllEvents}}
	for _, tc := range []struct {
		e    Endpoint
		typ  string
		want bool
	}{
		{some, "reward.created", true},
		{some, "customer.created", true},
		{some, "reward.available", false},
		{all, "reward.available", true},
		{all, "payout.paid", true}, // a type added later
	} {
		if got := tc.e.Subscribed(tc.typ); got != tc.want {
			t.Errorf("%v subscribed to %s: %v, want %v", tc.e.Events, tc.typ, got, tc.want)
		}
	}
}
