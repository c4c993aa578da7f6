package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/email/emailtest"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestServeSendsEmail: with --smtp-url, a friend signing up through a
// link emails the referrer, with a one-click unsubscribe link that works
// without login and opts them out.
func TestServeSendsEmail(t *testing.T) {
	t.Parallel()
	srv := emailtest.Start(t)
	s := startServe(t, "--db", storetest.DSN(t, store.SQLite), "--smtp-url", srv.URL(), "--email-from", "Acme <rewards@acme.example>")
	sk := secretRe.FindStringSubmatch(s.stdout.String())
	if sk == nil {
		t.Fatalf("first start printed no secret key:\n%s", s.stdout.String())
	}
	status, resp := call(t, "POST", s.url+"/v1/customers", sk[1], `{"key": "jane", "email": "jane@example.com", "name": "Jane"}`)
	if status != 201 {
		t.Fatalf("create customer = %d %s", status, resp)
	}
	var jane struct {
		Customer struct {
			ReferralCode string `json:"referral_code"`
		} `json:"customer"`
	}
	json.Unmarshal([]byte(resp), &jane)
	if status, resp := call(t, "POST", s.url+"/v1/customers", sk[1], `{"key": "bob", "email": "bob@example.com", "referred_by": "`+jane.Customer.ReferralCode+`"}`); status != 201 {
		t.Fatalf("create friend = %d %s", status, resp)
	}
	got := srv.WaitFor(t, 1, 15*time.Second)
	m := got[0]
	if m.To[0] != "jane@example.com" || !strings.Contains(m.Header.Get("From"), "rewards@acme.example") || m.Text == "" || m.HTML == "" {
		t.Fatalf("received to %v from %q, text %d bytes, HTML %d bytes", m.To, m.Header.Get("From"), len(m.Text), len(m.HTML))
	}
	lu := strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	if !strings.HasPrefix(lu, s.url+"/unsubscribe/") || m.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe %q, List-Unsubscribe-Post %q", lu, m.Header.Get("List-Unsubscribe-Post"))
	}
	// What a mail provider does: a cross-site POST, no cookie.
	r, err := http.PostForm(lu, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe = %d %s", r.StatusCode, b)
	}
	status, resp = call(t, "GET", s.url+"/v1/customers/jane", sk[1], "")
	if status != 200 || !strings.Contains(resp, `"email_opt_out":true`) {
		t.Errorf("jane after unsubscribing = %d %s", status, resp)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("serve returned %v", err)
	}
}
