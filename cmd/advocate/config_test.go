package main

import (
	"flag"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// --trust-forwarded-for is short for one trusted hop; the two together
// are refused rather than one silently winning.
func TestTrustedProxiesSetting(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // the parsed setting; "error" when start-up must fail
	}{
		{name: "default trusts no proxy", want: ""},
		{name: "trust-forwarded-for is one hop", args: []string{"--trust-forwarded-for"}, want: "1"},
		{name: "trust-forwarded-for from the environment", env: map[string]string{"ADVOCATE_TRUST_FORWARDED_FOR": "true"}, want: "1"},
		{name: "ranges", args: []string{"--trusted-proxies", "10.0.0.0/8,127.0.0.1/32"}, want: "10.0.0.0/8,127.0.0.1/32"},
		{name: "hops from the environment", env: map[string]string{"ADVOCATE_TRUSTED_PROXIES": "2"}, want: "2"},
		{name: "flag over environment", env: map[string]string{"ADVOCATE_TRUSTED_PROXIES": "2"},
			args: []string{"--trusted-proxies", "192.168.0.0/16"}, want: "192.168.0.0/16"},
		{name: "both settings", args: []string{"--trust-forwarded-for", "--trusted-proxies", "10.0.0.0/8"}, want: "error"},
		{name: "not a range", args: []string{"--trusted-proxies", "proxy.internal"}, want: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"ADVOCATE_TRUSTED_PROXIES", "ADVOCATE_TRUST_FORWARDED_FOR"} {
				t.Setenv(k, tt.env[k])
				if _, ok := tt.env[k]; !ok {
					t.Setenv(k, "")
				}
			}
			var c config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.serveFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.validate()
			switch {
			case tt.want == "error" && err == nil:
				t.Errorf("validate() = nil, trusted proxies %q; want an error", c.proxies)
			case tt.want != "error" && err != nil:
				t.Errorf("validate() = %v", err)
			case tt.want != "error" && c.proxies.String() != tt.want:
				t.Errorf("trusted proxies %q, want %q", c.proxies, tt.want)
			}
		})
	}
}

// Webhooks stay off private addresses unless the operator says otherwise,
// by flag or environment.
func TestWebhookAllowPrivateSetting(t *testing.T) {
	tests := []struct {
		name string
		env  string // ADVOCATE_WEBHOOK_ALLOW_PRIVATE; "" for unset
		args []string
		want string // "true", "false", or "error" when start-up must fail
	}{
		{name: "default refuses", want: "false"},
		{name: "flag", args: []string{"--webhook-allow-private"}, want: "true"},
		{name: "environment", env: "true", want: "true"},
		{name: "environment off", env: "false", want: "false"},
		{name: "flag over environment", env: "true", args: []string{"--webhook-allow-private=false"}, want: "false"},
		{name: "not a boolean", env: "yes please", want: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ADVOCATE_WEBHOOK_ALLOW_PRIVATE", tt.env)
			if tt.env == "" {
				os.Unsetenv("ADVOCATE_WEBHOOK_ALLOW_PRIVATE")
			}
			var c config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.serveFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.validate()
			switch {
			case tt.want == "error" && err == nil:
				t.Errorf("validate() = nil, allow private %t; want an error", c.WebhookAllowPrivate)
			case tt.want != "error" && err != nil:
				t.Errorf("validate() = %v", err)
			case tt.want != "error" && strconv.FormatBool(c.WebhookAllowPrivate) != tt.want:
				t.Errorf("allow private %t, want %s", c.WebhookAllowPrivate, tt.want)
			case tt.want != "error" && !strings.Contains(c.String(), "webhook_allow_private="+tt.want):
				t.Errorf("start-up log %q does not show webhook_allow_private=%s", c.String(), tt.want)
			}
		})
	}
}

func TestEmailSettings(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error, or "" for none
	}{
		{name: "off by default"},
		{name: "smtp", args: []string{"--smtp-url", "smtp://u:secret@mail.example:587", "--email-from", "Acme <a@acme.example>"}},
		{name: "smtps", args: []string{"--smtp-url", "smtps://mail.example", "--email-from", "a@acme.example"}},
		{name: "no sender", args: []string{"--smtp-url", "smtp://mail.example"}, want: "--email-from"},
		{name: "sender without server", args: []string{"--email-from", "a@acme.example"}, want: "--smtp-url"},
		{name: "bad scheme", args: []string{"--smtp-url", "http://mail.example", "--email-from", "a@acme.example"}, want: "scheme"},
		{name: "no host", args: []string{"--smtp-url", "smtp://", "--email-from", "a@acme.example"}, want: "host"},
		{name: "bad sender", args: []string{"--smtp-url", "smtp://mail.example", "--email-from", "not an address"}, want: "from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range []string{"ADVOCATE_SMTP_URL", "ADVOCATE_EMAIL_FROM"} {
				t.Setenv(e, "")
				os.Unsetenv(e)
			}
			var c config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c.serveFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := c.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("validate() = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("validate() = %v, want an error about %s", err, tt.want)
			}
			if strings.Contains(c.String(), "secret") {
				t.Errorf("start-up log shows the SMTP password: %s", c.String())
			}
		})
	}
}
