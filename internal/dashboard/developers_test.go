package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

var newKeyRE = regexp.MustCompile(`id="new-key" value="((?:sk|pk)_[A-Za-z0-9]+)"`)

// apiStatus calls GET /v1/program with key and returns the status.
func (e *env) apiStatus(t *testing.T, key string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/program", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		page := c.get(e.path("developers")).want(t, http.StatusOK)
		if newKeyRE.MatchString(page.Body) {
			t.Fatal("the page shows a key before any was created")
		}
		for _, kind := range []string{referral.SecretKey, referral.PublishableKey} {
			t.Run(kind, func(t *testing.T) {
				p := c.post(e.path("developers/keys"), url.Values{"kind": {kind}}).want(t, http.StatusOK)
				m := newKeyRE.FindStringSubmatch(p.Body)
				if m == nil {
					t.Fatalf("the new key is not shown: %s", p.text())
				}
				plain := m[1]
				if want := map[string]string{referral.SecretKey: "sk_", referral.PublishableKey: "pk_"}[kind]; !strings.HasPrefix(plain, want) {
					t.Errorf("new %s key %q", kind, plain)
				}
				keys, err := e.db.APIKeys(t.Context(), e.program.ID)
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(keys, func(k *referral.APIKey) bool { return k.Hash == referral.HashAPIKey(plain) })
				if i < 0 {
					t.Fatalf("no stored key has the hash of the key shown")
				}
				stored := keys[i]
				if stored.Kind != kind || !strings.HasPrefix(plain, stored.Prefix) || stored.Hash == plain {
					t.Errorf("stored key %+v for %q", stored, plain)
				}
				if kind == referral.PublishableKey && !strings.Contains(p.Body, "publishable_key: &#39;"+plain+"&#39;") {
					t.Error("the snippet is not filled in with the new publishable key")
				}
				// Shown once: reloading the page does not show it again.
				if strings.Contains(c.get(e.path("developers")).Body, plain) {
					t.Error("the key is shown again on the next visit")
				}
				want := http.StatusOK
				if kind == referral.PublishableKey {
					want = http.StatusForbidden // a publishable key may not read the program
				}
				if got := e.apiStatus(t, plain); got != want {
					t.Errorf("API with the new key: %d, want %d", got, want)
				}

				p = c.post(e.path("developers/keys/"+stored.ID+"/revoke"), nil).want(t, http.StatusSeeOther)
				if f := c.follow(p).flash(); !strings.HasPrefix(f, "Key revoked.") {
					t.Errorf("flash %q", f)
				}
				if got := e.apiStatus(t, plain); got != http.StatusUnauthorized {
					t.Errorf("API with the revoked key: %d, want 401", got)
				}
				if !strings.Contains(c.get(e.path("developers")).text(), "Revoked") {
					t.Error("the list does not show the key as revoked")
				}
			})
		}
		t.Run("the program's other keys keep working", func(t *testing.T) {
			if got := e.apiStatus(t, e.sk); got != http.StatusOK {
				t.Errorf("API with the original secret key: %d", got)
			}
		})
		t.Run("unknown kind", func(t *testing.T) {
			before := e.snapshot()
			c.post(e.path("developers/keys"), url.Values{"kind": {"admin"}}).want(t, http.StatusUnprocessableEntity)
			if after := e.snapshot(); after != before {
				t.Errorf("an unknown kind made a key")
			}
		})
		t.Run("another program's key", func(t *testing.T) {
			other, otherSK, _ := e.newProgram("Other", "EUR", "https://other.example")
			keys, err := e.db.APIKeys(t.Context(), other.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{keys[0].ID, "key_unknown"} {
				c.post(e.path("developers/keys/"+id+"/revoke"), nil).want(t, http.StatusNotFound)
			}
			if got := e.apiStatus(t, otherSK); got != http.StatusOK {
				t.Errorf("the other program's key was revoked: %d", got)
			}
		})
	})
}

func TestWidgetSetup(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.asOwner(t).get(e.path("developers")).want(t, http.StatusOK)
		p.has(t, `value="`+e.program.WidgetSecret+`"`, e.program.CustomerHash("cust_123"), e.srv.URL+"/js/po.js", "?ref=")
		// Viewers may read the setup but not make keys, nor see the
		// widget secret or a hash made with it.
		v := e.asViewer(t).get(e.path("developers")).want(t, http.StatusOK)
		if strings.Contains(v.Body, "developers/keys") || strings.Contains(v.Body, "widget_secret/rotate") {
			t.Error("a viewer sees the key or rotation buttons")
		}
		if strings.Contains(v.Body, e.program.WidgetSecret) || strings.Contains(v.Body, e.program.CustomerHash("cust_123")) {
			t.Error("a viewer sees the widget secret or a hash made with it")
		}
	})
}

// widgetStatus calls GET /v1/widget for customer key with hash, as the
// program's backend would have the page do.
func (e *env) widgetStatus(t *testing.T, key, hash string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/widget?customer_key="+key+"&customer_hash="+hash, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.pk)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestWidgetSecretRotate(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		e.customer("cust_123", "Jane", "")
		old := e.program.CustomerHash("cust_123")
		secret := func() string {
			p, err := e.db.Program(t.Context(), e.program.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p.WidgetSecret
		}
		rotate := e.path("developers/widget_secret/rotate")
		t.Run("refused", func(t *testing.T) {
			tests := []struct {
				name   string
				c      *client
				header []string
			}{
				{"viewer", e.asViewer(t), nil},
				{"cross-site owner", e.asOwner(t), []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}},
				{"signed out", e.client(), nil},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					p := tc.c.post(rotate, nil, tc.header...)
					if p.Status != http.StatusForbidden && p.Status != http.StatusUnauthorized {
						t.Errorf("status %d, want 403 or 401", p.Status)
					}
					if got := secret(); got != e.program.WidgetSecret {
						t.Errorf("the widget secret changed to %q", got)
					}
				})
			}
		})
		c := e.asOwner(t)
		page := c.follow(c.post(rotate, nil).want(t, http.StatusSeeOther)).want(t, http.StatusOK)
		now := secret()
		if now == e.program.WidgetSecret {
			t.Fatal("the widget secret did not change")
		}
		page.has(t, `value="`+now+`"`, `id="previous-secret"`)
		if strings.Contains(page.Body, `value="`+e.program.WidgetSecret+`"`) {
			t.Error("the page still shows the old secret as the current one")
		}
		fresh := (&referral.Program{WidgetSecret: now}).CustomerHash("cust_123")
		for _, tc := range []struct {
			name    string
			advance time.Duration
			hash    string
			want    int
		}{
			{"new secret", 0, fresh, http.StatusOK},
			{"old secret in the grace period", 0, old, http.StatusOK},
			{"old secret a second before its end", referral.WidgetSecretGrace - time.Second, old, http.StatusOK},
			{"old secret after its end", 2 * time.Second, old, http.StatusForbidden},
			{"new secret after", 0, fresh, http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e.clock.advance(tc.advance)
				if got := e.widgetStatus(t, "cust_123", tc.hash); got != tc.want {
					t.Errorf("widget: %d, want %d", got, tc.want)
				}
			})
		}
		if strings.Contains(c.get(e.path("developers")).Body, `id="previous-secret"`) {
			t.Error("the page still announces the previous secret after its grace period")
		}
	})
}

var passwordRE = regexp.MustCompile(`can sign in with the password ([A-Za-z0-9]+)`)

func TestTeam(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		c.get("/dashboard/team").want(t, http.StatusOK).has(t, ownerEmail, viewerEmail)

		invited := map[string]*client{}
		for _, tt := range []struct{ email, role string }{{"Ann@Example.com", store.RoleViewer}, {"bob@example.com", store.RoleOwner}} {
			t.Run("invite "+tt.role, func(t *testing.T) {
				p := c.post("/dashboard/team", url.Values{"email": {tt.email}, "role": {tt.role}}).want(t, http.StatusOK)
				m := passwordRE.FindStringSubmatch(p.Body)
				if m == nil {
					t.Fatalf("no one-time password shown: %s", p.text())
				}
				if strings.Contains(c.get("/dashboard/team").Body, m[1]) {
					t.Error("the password is shown again on the next visit")
				}
				in := e.signIn(t, tt.email, m[1])
				admin := e.admin(t, tt.email)
				if admin == nil || admin.Role != tt.role {
					t.Fatalf("invited admin %+v, want role %s", admin, tt.role)
				}
				invited[tt.role] = in
			})
		}
		if t.Failed() {
			return
		}
		t.Run("the invited viewer cannot change anything", func(t *testing.T) {
			invited[store.RoleViewer].post(e.path("settings"), settingsForm()).want(t, http.StatusForbidden)
		})
		t.Run("the invited owner can", func(t *testing.T) {
			invited[store.RoleOwner].post(e.path("rules"), ruleForm()).want(t, http.StatusSeeOther)
		})

		t.Run("invalid invitations", func(t *testing.T) {
			tests := []struct{ name, email, role, field, message string }{
				{"bad email", "not-an-email", store.RoleViewer, "email", ""},
				{"no email", "", store.RoleViewer, "email", ""},
				{"unknown role", "carl@example.com", "admin", "role", "Role must be owner or viewer."},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					before := e.snapshot()
					p := c.post("/dashboard/team", url.Values{"email": {tt.email}, "role": {tt.role}}).want(t, http.StatusUnprocessableEntity)
					got := p.fieldError(tt.field)
					if got == "" || (tt.message != "" && got != tt.message) {
						t.Errorf("error next to %s = %q, want %q", tt.field, got, tt.message)
					}
					if passwordRE.MatchString(p.Body) {
						t.Error("a failed invitation shows a password")
					}
					if after := e.snapshot(); after != before {
						t.Error("a failed invitation added an admin")
					}
				})
			}
			t.Run("already a member", func(t *testing.T) {
				p := c.post("/dashboard/team", url.Values{"email": {"ann@example.com"}, "role": {store.RoleOwner}}).
					want(t, http.StatusUnprocessableEntity)
				if !strings.Contains(p.text(), "already exists") {
					t.Errorf("page says %q", p.text())
				}
				if a := e.admin(t, "ann@example.com"); a.Role != store.RoleViewer {
					t.Errorf("a second invitation changed the role to %s", a.Role)
				}
			})
		})

		t.Run("remove", func(t *testing.T) {
			ann := e.admin(t, "ann@example.com")
			p := c.post("/dashboard/team/"+ann.ID+"/remove", nil).want(t, http.StatusSeeOther)
			if f := c.follow(p).flash(); !strings.HasPrefix(f, "Removed.") {
				t.Errorf("flash %q", f)
			}
			if e.admin(t, "ann@example.com") != nil {
				t.Error("still an admin after removal")
			}
			// Their sessions ended with them.
			invited[store.RoleViewer].get(e.path("")).want(t, http.StatusSeeOther)
			c.post("/dashboard/team/"+ann.ID+"/remove", nil).want(t, http.StatusNotFound)
		})
		t.Run("nobody removes themselves", func(t *testing.T) {
			p := c.post("/dashboard/team/"+e.owner.ID+"/remove", nil).want(t, http.StatusSeeOther)
			if f := c.follow(p).flash(); f != "You cannot remove yourself." {
				t.Errorf("flash %q", f)
			}
			if e.admin(t, ownerEmail) == nil {
				t.Fatal("the owner removed themselves")
			}
			if strings.Contains(c.get("/dashboard/team").Body, "/dashboard/team/"+e.owner.ID+"/remove") {
				t.Error("the team page offers to remove yourself")
			}
		})
	})
}

func (e *env) admin(t *testing.T, email string) *store.Admin {
	t.Helper()
	admins, err := e.db.Admins(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range admins {
		if strings.EqualFold(a.Email, email) {
			return a
		}
	}
	return nil
}

// The last owner cannot be removed, even when the last two owners remove
// each other at the same moment.
func TestLastOwner(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		err := e.db.InTx(context.Background(), func(tx *store.Tx) error { return tx.DeleteAdmin(context.Background(), e.owner.ID) })
		if ex, ok := referral.AsError(err); !ok || ex.Code != "last_owner" {
			t.Fatalf("removing the only owner: %v", err)
		}
		for round := range 10 {
			second := e.newAdmin("owner"+string(rune('a'+round))+"@example.com", store.RoleOwner)
			a, b := e.asOwner(t), e.signIn(t, second.Email, password)
			var wg sync.WaitGroup
			wg.Go(func() { a.post("/dashboard/team/"+second.ID+"/remove", nil) })
			wg.Go(func() { b.post("/dashboard/team/"+e.owner.ID+"/remove", nil) })
			wg.Wait()
			owners := 0
			admins, err := e.db.Admins(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, ad := range admins {
				if ad.Role == store.RoleOwner {
					owners++
				}
			}
			if owners != 1 {
				t.Fatalf("round %d: %d owners after two owners removed each other, want 1", round, owners)
			}
			if e.admin(t, ownerEmail) == nil {
				return // the second owner won; the first is gone
			}
		}
	})
}
