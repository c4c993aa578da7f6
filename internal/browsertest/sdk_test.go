package browsertest

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// codeWhenAttributed waits until the SDK has handled the landing URL and
// returns the code it keeps (or "").
func codeWhenAttributed(b *tab) string {
	b.t.Helper()
	return eval[string](b, `new Promise(r => po('getReferralCode', c => r(c || '')))`)
}

// createCustomer runs po('createCustomer') in the page and returns the
// customer it resolves with, or the error message it rejects with.
func createCustomer(b *tab, key, name string) (customer, string) {
	b.t.Helper()
	type result struct {
		Customer *customer
		Error    string
	}
	r := eval[result](b, fmt.Sprintf(`po('createCustomer', {email: %q, name: %q, key: %q})
		.then(c => ({customer: c}), e => ({error: String(e && e.message)}))`, key+"@example.com", name, key))
	if r.Customer == nil {
		return customer{}, r.Error
	}
	return *r.Customer, ""
}

// TestReferralToSignup follows a friend from a referral link to sign-up:
// the code lands in a first-party cookie, the click is recorded, and
// po('createCustomer') records the referral and its signup reward.
func TestReferralToSignup(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	w.call("POST", "/v1/reward_rules", map[string]any{"trigger": "signup", "reward_type": "credit", "amount": 5, "currency": "USD"}, 201, nil)

	b := newTab(t)
	// Codes are case-insensitive: a hand-typed lower-case link still counts.
	b.open(w.shop + "/pricing?utm_source=x&ref=" + strings.ToLower(jane.ReferralCode))
	if got := codeWhenAttributed(b); got != jane.ReferralCode {
		t.Fatalf("getReferralCode = %q, want %q", got, jane.ReferralCode)
	}
	cookies := b.cookies()
	if got := cookies["po_ref"]; got != jane.ReferralCode {
		t.Errorf("po_ref cookie = %q, want %q (cookies %v)", got, jane.ReferralCode, cookies)
	}
	if len(cookies["po_vid"]) != 32 {
		t.Errorf("po_vid cookie = %q, want a 32-character visitor id", cookies["po_vid"])
	}
	if l := w.clicksAtLeast(jane.Key, jane.ReferralCode, 1); l.Clicks != 1 || l.UniqueClicks != 1 {
		t.Errorf("after one visit: clicks %d, unique %d; want 1 and 1", l.Clicks, l.UniqueClicks)
	}

	// Signing up on another page of the site, later in the visit.
	b.open(w.shop + "/signup")
	friend, errMsg := createCustomer(b, "cust_friend", "Friend Smith")
	if errMsg != "" {
		t.Fatalf("createCustomer: %s", errMsg)
	}
	if friend.ReferredBy == nil || *friend.ReferredBy != jane.ReferralCode {
		t.Errorf("createCustomer resolved referred_by %v, want %s", friend.ReferredBy, jane.ReferralCode)
	}
	if got := w.customer("cust_friend"); got.ReferredBy == nil || *got.ReferredBy != jane.ReferralCode {
		t.Errorf("API: friend referred_by %v, want %s", got.ReferredBy, jane.ReferralCode)
	}
	var bal struct{ Balance, Pending float64 }
	w.call("GET", "/v1/customers/cust_jane/balance", nil, 200, &bal)
	if bal.Balance != 5 {
		t.Errorf("referrer balance %v (pending %v), want 5.00 from the signup reward", bal.Balance, bal.Pending)
	}

	// A double-submitted form must not create a second customer or reward.
	again, errMsg := createCustomer(b, "cust_friend", "Friend Smith")
	if errMsg != "" || again.Key != "cust_friend" {
		t.Errorf("second createCustomer: %+v %s, want the same customer", again, errMsg)
	}
	var list struct{ Data []customer }
	w.call("GET", "/v1/customers?limit=100", nil, 200, &list)
	if len(list.Data) != 2 {
		t.Errorf("%d customers after two createCustomer calls, want 2", len(list.Data))
	}
	w.call("GET", "/v1/customers/cust_jane/balance", nil, 200, &bal)
	if bal.Balance != 5 {
		t.Errorf("referrer balance %v after the repeated call, want still 5.00", bal.Balance)
	}
	b.noExceptions()
}

// TestAttributionPolicy visits two referral links in turn: the program's
// policy decides which code the visitor keeps.
func TestAttributionPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.newCustomer("cust_a", "Alice Aim", "")
	bob := w.newCustomer("cust_b", "Bob Bolt", "")
	for _, tc := range []struct {
		policy string
		want   string
	}{
		{"first_click", a.ReferralCode},
		{"last_click", bob.ReferralCode},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			w.call("PUT", "/v1/program", map[string]any{"attribution": tc.policy}, 200, nil)
			b := newTab(t)
			b.open(w.shop + "/?ref=" + a.ReferralCode)
			if got := codeWhenAttributed(b); got != a.ReferralCode {
				t.Fatalf("after the first link: %q, want %q", got, a.ReferralCode)
			}
			b.open(w.shop + "/?ref=" + bob.ReferralCode)
			if got := codeWhenAttributed(b); got != tc.want {
				t.Errorf("after the second link: %q, want %q", got, tc.want)
			}
			if got := b.cookies()["po_ref"]; got != tc.want {
				t.Errorf("po_ref cookie %q, want %q", got, tc.want)
			}
			b.noExceptions()
		})
	}
}

// TestLandingURLs: the code is found wherever the program and the site put
// it: the program's own parameter name, and a hash router's query.
func TestLandingURLs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	for _, tc := range []struct {
		name, param, path, want string
	}{
		{"query", "ref", "/?ref=" + jane.ReferralCode, jane.ReferralCode},
		{"hash router", "ref", "/#/signup?plan=pro&ref=" + jane.ReferralCode, jane.ReferralCode},
		{"custom parameter", "via", "/?via=" + jane.ReferralCode, jane.ReferralCode},
		{"other parameter", "via", "/?ref=" + jane.ReferralCode, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.call("PUT", "/v1/program", map[string]any{"referral_param": tc.param}, 200, nil)
			b := newTab(t)
			b.open(w.shop + tc.path)
			if got := codeWhenAttributed(b); got != tc.want {
				t.Errorf("%s with ?%s=: kept %q, want %q", tc.path, tc.param, got, tc.want)
			}
			b.noExceptions()
		})
	}
}

// TestMalformedCodesIgnored: codes of the wrong shape never reach storage
// or the API; an unknown but well-formed one is dropped at sign-up and the
// customer is still created.
func TestMalformedCodesIgnored(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tc := range []struct {
		name, query string
	}{
		{"too short", "ref=AB"},
		{"too long", "ref=" + strings.Repeat("A", 33)},
		{"script", "ref=" + url.QueryEscape(`"><script>window.__xss=1</script>`)},
		{"spaces", "ref=" + url.QueryEscape("JANE 20")},
		{"empty", "ref="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newTab(t)
			b.open(w.shop + "/?" + tc.query)
			if got := codeWhenAttributed(b); got != "" {
				t.Errorf("kept %q from ?%s", got, tc.query)
			}
			if _, ok := b.cookies()["po_ref"]; ok {
				t.Errorf("po_ref cookie set from ?%s", tc.query)
			}
			b.noExceptions()
		})
	}

	t.Run("unknown code", func(t *testing.T) {
		b := newTab(t)
		b.open(w.shop + "/?ref=NOSUCHCODE")
		if got := codeWhenAttributed(b); got != "NOSUCHCODE" {
			t.Fatalf("kept %q, want NOSUCHCODE until the API says otherwise", got)
		}
		c, errMsg := createCustomer(b, "cust_unknown", "Una Known")
		if errMsg != "" {
			t.Fatalf("createCustomer: %s", errMsg)
		}
		if c.ReferredBy != nil {
			t.Errorf("referred_by %v, want none", *c.ReferredBy)
		}
		if got := codeWhenAttributed(b); got != "" {
			t.Errorf("the SDK still keeps %q after the API rejected it", got)
		}
		if !b.warned("NOSUCHCODE", "unknown") {
			t.Errorf("no console warning about the unknown code; warnings: %q", b.allWarnings())
		}
		b.noExceptions()
	})
}

// TestBlockedStorage: with cookies (and then localStorage too) blocked,
// the code still reaches createCustomer during the page view.
func TestBlockedStorage(t *testing.T) {
	t.Parallel()
	const noCookies = `Object.defineProperty(Document.prototype, 'cookie', {configurable: true, get() { return '' }, set(v) {}});`
	const noLocalStorage = `Object.defineProperty(window, 'localStorage', {configurable: true, get() { throw new DOMException('blocked', 'SecurityError') }});`
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	for i, tc := range []struct {
		name    string
		scripts []string
		stored  string // where the code should be
	}{
		{"cookies blocked", []string{noCookies}, "localStorage"},
		{"cookies and localStorage blocked", []string{noCookies, noLocalStorage}, "memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newTab(t, tc.scripts...)
			b.open(w.shop + "/?ref=" + jane.ReferralCode)
			if got := codeWhenAttributed(b); got != jane.ReferralCode {
				t.Fatalf("getReferralCode = %q, want %q", got, jane.ReferralCode)
			}
			inLocal := eval[bool](b, `(() => { try { return (localStorage.getItem('po_ref') || '').includes(`+fmt.Sprintf("%q", jane.ReferralCode)+`) } catch (e) { return false } })()`)
			if inLocal != (tc.stored == "localStorage") {
				t.Errorf("code in localStorage: %v, want it kept in %s", inLocal, tc.stored)
			}
			key := fmt.Sprintf("cust_blocked%d", i)
			friend, errMsg := createCustomer(b, key, "Blocked Friend")
			if errMsg != "" {
				t.Fatalf("createCustomer: %s", errMsg)
			}
			if friend.ReferredBy == nil || *friend.ReferredBy != jane.ReferralCode {
				t.Errorf("referred_by %v, want %s", friend.ReferredBy, jane.ReferralCode)
			}
			b.noExceptions()
		})
	}
}

// TestAPIDown: an unreachable, hanging or refusing API never breaks the
// shop page; attribution falls back to the defaults and calls fail quietly.
func TestAPIDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.pointAPI("/down", closedURL(t))
	w.pointAPI("/hanging", hangingURL(t))
	for _, path := range []string{"/down", "/hanging", "/refused"} {
		t.Run(path[1:], func(t *testing.T) {
			if path == "/refused" {
				// The site is not the program's: CORS refuses every call.
				w.call("PUT", "/v1/program", map[string]any{"website_url": "https://elsewhere.example/"}, 200, nil)
			}
			b := newTab(t)
			b.open(w.shop + path + "?ref=jane20")
			if !eval[bool](b, `window.__ok === true`) {
				t.Errorf("the page's own script after the snippet did not run")
			}
			// Defaults: ?ref=, 30 days, first click.
			if got := codeWhenAttributed(b); got != "JANE20" {
				t.Errorf("getReferralCode = %q, want JANE20 under the default settings", got)
			}
			if got := b.cookies()["po_ref"]; got != "JANE20" {
				t.Errorf("po_ref cookie %q, want JANE20", got)
			}
			if path != "/hanging" {
				_, errMsg := createCustomer(b, "cust_x", "X")
				if errMsg == "" {
					t.Errorf("createCustomer succeeded")
				}
				ok := eval[bool](b, `po('renderReferralWidget', {container: '#widget', customer_key: 'cust_x', customer_hash: 'x'})`)
				if ok {
					t.Errorf("renderReferralWidget reported success")
				}
				if !b.warned("[advocate]", "/v1/sdk/config", "allowed_domains") {
					t.Errorf("no console warning about the unreachable API; warnings %q", b.allWarnings())
				}
			}
			b.noExceptions()
		})
	}
}

// TestOnlyOneGlobal: po.js adds window.po and nothing else.
func TestOnlyOneGlobal(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	b := newTab(t)
	b.open(w.shop + "/")
	codeWhenAttributed(b)
	added := eval[[]string](b, `Object.getOwnPropertyNames(window).filter(n => !window.__globals.includes(n) && !n.startsWith('__'))`)
	if !slices.Equal(added, []string{"po"}) {
		t.Errorf("globals added by the snippet and po.js: %q, want [po]", added)
	}
	if got := eval[string](b, `typeof po('noSuchCommand')`); got != "undefined" {
		t.Errorf("an unknown command returned %s", got)
	}
	if !b.warned("noSuchCommand") {
		t.Errorf("no warning for an unknown command")
	}
	b.noExceptions()
}

// TestShortLink: /r/CODE on Advocate lands on the shop with ?ref=CODE,
// the SDK keeps the code, and three visits are three clicks from one
// unique visitor (the landing page's beacon is not counted again).
func TestShortLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	b := newTab(t)
	for i := range 3 {
		b.open(w.adv + "/r/" + jane.ReferralCode)
		loc, err := url.Parse(b.location())
		if err != nil {
			t.Fatal(err)
		}
		if got := loc.Scheme + "://" + loc.Host; got != w.shop || loc.Query().Get("ref") != jane.ReferralCode {
			t.Fatalf("visit %d landed on %s, want %s/?ref=%s", i+1, loc, w.shop, jane.ReferralCode)
		}
		if got := codeWhenAttributed(b); got != jane.ReferralCode {
			t.Fatalf("visit %d: the SDK keeps %q, want %q", i+1, got, jane.ReferralCode)
		}
	}
	l := w.clicksAtLeast(jane.Key, jane.ReferralCode, 3)
	if l.Clicks != 3 || l.UniqueClicks != 1 {
		t.Errorf("after 3 visits: clicks %d, unique %d; want 3 and 1", l.Clicks, l.UniqueClicks)
	}

	// An unknown code goes to the program's website, not an error page.
	b.open(w.adv + "/r/NOSUCHCODE")
	if got := b.location(); !strings.HasPrefix(got, w.shop) {
		t.Errorf("unknown code landed on %s, want the shop %s", got, w.shop)
	}
	b.noExceptions()
}
