package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/integrations/stripe"
	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/secrets"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// updateScreenshotsEnv, set to 1, makes the screenshot test write
// docs/screenshots/dashboard-*.png as well as its artifacts.
const updateScreenshotsEnv = "ADVOCATE_UPDATE_SCREENSHOTS"

// adminPassword is every test admin's password.
const adminPassword = "correct horse battery staple"

// dashClock is the clock of the store, the API and the dashboard: real
// time plus an offset that tests move, safe to change while the server
// runs.
type dashClock struct{ offset atomic.Int64 }

func (c *dashClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *dashClock) set(offset time.Duration) { c.offset.Store(int64(offset)) }

// site is Advocate as `advocate serve` runs it (the dashboard in front of
// the API) on 127.0.0.1, and an attacker's site on localhost: another
// origin and another site to the browser.
type site struct {
	t     *testing.T
	db    *store.DB
	clock *dashClock
	url   string // Advocate's origin
	evil  string // the attacker's origin

	attack atomic.Value // the HTML the attacker's page serves
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{t: t, db: storetest.Open(t, store.SQLite), clock: &dashClock{}}
	s.db.Now = s.clock.Now
	box, err := secrets.New(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s.db.Secrets = box
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.url = "http://" + l.Addr().String()
	api := httpapi.New(s.db, log, httpapi.Config{BaseURL: s.url, Now: s.clock.Now})
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { api.Run(ctx); close(ran) }()
	t.Cleanup(func() { stop(); <-ran })
	d := dashboard.New(s.db, log, dashboard.Config{BaseURL: s.url, Now: s.clock.Now, StripeSync: api.Stripe})
	d.OnLinksChanged = api.ForgetLinks
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: web.Handler(api, d)}}
	srv.Start()
	t.Cleanup(srv.Close)

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		html, _ := s.attack.Load().(string)
		io.WriteString(w, html)
	}))
	t.Cleanup(evil.Close)
	s.evil = strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	return s
}

func (s *site) admin(email, role string) {
	s.t.Helper()
	ctx := context.Background()
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.CreateAdmin(ctx, email, adminPassword, role)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// api calls Advocate's API with key and decodes the answer into out,
// failing the test unless the status is want.
func (s *site) api(key, method, path string, body any, want int, out any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// fill sets form fields by CSS selector, as typing would.
func (b *tab) fill(fields ...string) {
	b.t.Helper()
	for i := 0; i+1 < len(fields); i += 2 {
		b.do(chromedp.SetValue(chromedp.CSS(fields[i]), fields[i+1]))
	}
}

// submit clicks sel and waits for the next page to have loaded and to
// satisfy expr (a JavaScript expression).
func (b *tab) submit(sel, expr string) {
	b.t.Helper()
	eval[bool](b, `window.__before = true`)
	b.do(chromedp.Click(chromedp.CSS(sel)))
	b.await(`!window.__before && document.readyState === 'complete' && (` + expr + `)`)
}

// await waits until expr is true across navigations, which interrupt
// chromedp's own polling.
func (b *tab) await(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := evalErr[bool](b, `!!(`+expr+`)`)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %v (at %s)", expr, err, b.location())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// text is the visible text of the page's main area.
func (b *tab) text() string {
	b.t.Helper()
	return eval[string](b, `(document.querySelector('main') || document.body).innerText`)
}

// pageShot saves a screenshot of the whole page as name.png in the test's
// artifact directory and, when updating, in docs/screenshots.
func (b *tab) pageShot(name string) {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	m, err := chromedp.Call(ctx, page.GetLayoutMetrics, struct{}{})
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	height := m.CSSContentSize.Height
	shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{
		CaptureBeyondViewport: ptr(true), FromSurface: ptr(true),
		Clip: &page.Viewport{Width: float64(m.CSSLayoutViewport.ClientWidth), Height: height, Scale: 1},
	})
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dirs := []string{b.t.ArtifactDir()}
	if os.Getenv(updateScreenshotsEnv) == "1" {
		dirs = append(dirs, filepath.Join("..", "..", "docs", "screenshots"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
		path := filepath.Join(dir, name+".png")
		if err := os.WriteFile(path, shot.Data, 0o644); err != nil {
			b.t.Fatal(err)
		}
		b.t.Logf("screenshot: %s", path)
	}
}

func ptr[T any](v T) *T { return &v }

// editableForms lists the forms on the page that could change something:
// POST forms other than sign-out with a control that is enabled and shown.
const editableForms = `[...document.forms]
	.filter(f => f.method === 'post' && f.getAttribute('action') !== '/dashboard/logout')
	.filter(f => [...f.elements].some(e => e.type !== 'hidden' && e.type !== 'button' && e.tagName !== 'FIELDSET' &&
		!e.matches(':disabled') && e.getClientRects().length > 0))
	.map(f => f.getAttribute('action'))`

// postStatus makes the page POST a form to path with fetch() and returns
// the status, as a viewer forcing a change past the UI would.
func postStatus(b *tab, path string, form map[string]string) int {
	b.t.Helper()
	body, _ := json.Marshal(form)
	return eval[int](b, fmt.Sprintf(`fetch(%q, {method: 'POST', body: new URLSearchParams(%s)}).then(r => r.status)`, path, body))
}

// apiReward is the part of the API's reward the test looks at.
type apiReward struct {
	ID            string      `json:"id"`
	CustomerKey   string      `json:"customer_key"`
	Recipient     string      `json:"recipient"`
	Status        string      `json:"status"`
	NeedsApproval bool        `json:"needs_approval"`
	Amount        json.Number `json:"amount"`
}

// TestDashboardEndToEnd is issue 6's walk through the dashboard in real
// Chromium: an owner signs in, creates a program with a double-sided
// reward, connects the API, approves a reward and credits a balance; the
// API agrees; a viewer can change nothing; another site cannot post.
func TestDashboardEndToEnd(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.admin("owner@acme.example", store.RoleOwner)
	b := newTab(t)

	t.Log("sign in through the form")
	b.open(s.url + "/dashboard/")
	if loc := b.location(); !strings.Contains(loc, "/dashboard/login") {
		t.Fatalf("signed out, the dashboard opened %s", loc)
	}
	b.fill("#email", "owner@acme.example", "#password", "wrong password!")
	b.submit(`form[action="/dashboard/login"] button[type=submit]`, `true`)
	if text := b.text(); !strings.Contains(text, "Wrong email or password.") {
		t.Fatalf("a wrong password: %s", text)
	}
	b.fill("#password", adminPassword)
	// With no program yet, the dashboard starts the guided flow.
	b.submit(`form[action="/dashboard/login"] button[type=submit]`, `location.pathname === '/dashboard/programs/new'`)

	t.Log("create a program with a double-sided reward: USD 10 credit for the referrer, 20% off for the friend")
	b.fill("#name", "Acme Referrals", "#website_url", "https://shop.acme.example", "#currency", "USD",
		"#referrer_type", "credit", "#referrer_unit", "fixed", "#referrer_amount", "10",
		"#friend_type", "discount", "#friend_unit", "percentage", "#friend_amount", "20", "#holding_days", "0")
	b.do(chromedp.Click(chromedp.CSS(`input[name=trigger][value=purchase]`)), chromedp.Click(chromedp.CSS(`input[name=recurrence][value=first]`)))
	if !eval[bool](b, `document.querySelector('input[name=require_approval]').checked`) {
		b.do(chromedp.Click(chromedp.CSS(`input[name=require_approval]`)))
	}
	if !eval[bool](b, `['referrer_enabled', 'friend_enabled', 'require_approval'].every(n => document.querySelector('input[name=' + n + ']').checked)`) {
		t.Fatal("both rewards and manual approval should be ticked")
	}
	b.submit(`form.wizard button[type=submit]`, `location.pathname.endsWith('/developers')`)
	pid := regexp.MustCompile(`/dashboard/p/([^/]+)/developers`).FindStringSubmatch(b.location())[1]
	if text := b.text(); !strings.Contains(text, "Program created.") {
		t.Errorf("after creating: %s", text)
	}
	base := s.url + "/dashboard/p/" + pid

	t.Log("create a secret key in the UI and read it from the page")
	b.submit(`button[name=kind][value=secret]`, `!!document.getElementById('new-key')`)
	sk := eval[string](b, `document.getElementById('new-key').value`)
	if !strings.HasPrefix(sk, "sk_") {
		t.Fatalf("new key %q", sk)
	}

	t.Log("add a webhook endpoint: ticking All events greys out the single types")
	allTicked := `document.getElementById('events-all').checked`
	singlesDisabled := `[...document.querySelectorAll('#webhook-form input[name=events]:not(#events-all)')].map(c => c.disabled)`
	if got := eval[[]bool](b, singlesDisabled); len(got) == 0 || slices.Contains(got, true) || eval[bool](b, allTicked) {
		t.Fatalf("before ticking All events: single types disabled %v", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`#events-all`)))
	if got := eval[[]bool](b, singlesDisabled); slices.Contains(got, false) {
		t.Errorf("with All events ticked, single types disabled: %v", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`#events-all`)))
	if got := eval[[]bool](b, singlesDisabled); slices.Contains(got, true) {
		t.Errorf("with All events unticked again, single types disabled: %v", got)
	}
	b.fill("#url", "https://hooks.acme.example/advocate", "#description", "CRM sync")
	b.do(chromedp.Click(chromedp.CSS(`#webhook-form input[value="reward.created"]`)), chromedp.Click(chromedp.CSS(`#events-all`)))
	b.submit(`#webhook-form button[type=submit]`, `!!document.getElementById('new-webhook-secret')`)
	if whsec := eval[string](b, `document.getElementById('new-webhook-secret').value`); !strings.HasPrefix(whsec, "whsec_") {
		t.Errorf("new webhook secret %q", whsec)
	}
	var hooks struct {
		Data []struct {
			URL    string   `json:"url"`
			Events []string `json:"events"`
			Active bool     `json:"active"`
		} `json:"data"`
	}
	s.api(sk, "GET", "/v1/webhook_endpoints", nil, 200, &hooks)
	if len(hooks.Data) != 1 || hooks.Data[0].URL != "https://hooks.acme.example/advocate" || !slices.Equal(hooks.Data[0].Events, []string{"*"}) || !hooks.Data[0].Active {
		t.Errorf("the API's endpoints after adding one with All events: %+v", hooks.Data)
	}

	t.Log("through the API: a customer, a friend they refer, and the friend's purchase")
	var jane, fred struct{ Customer customer }
	s.api(sk, "POST", "/v1/customers", map[string]any{"key": "jane", "email": "jane@example.com", "name": "Jane Cooper"}, 201, &jane)
	s.api(sk, "POST", "/v1/customers", map[string]any{"key": "fred", "email": "fred@example.com", "name": "Fred Diaz",
		"referred_by": jane.Customer.ReferralCode}, 201, &fred)
	s.api(sk, "POST", "/v1/transactions", map[string]any{"customer_key": "fred", "key": "order-1001", "type": "purchase",
		"amount": 80, "currency": "USD"}, 201, nil)
	var list struct{ Data []apiReward }
	s.api(sk, "GET", "/v1/rewards?customer_key=jane", nil, 200, &list)
	if len(list.Data) != 1 || list.Data[0].Status != "pending" || !list.Data[0].NeedsApproval || list.Data[0].Amount != "10.00" {
		t.Fatalf("Jane's rewards before approval: %+v", list.Data)
	}
	reward := list.Data[0]

	t.Log("see them in the Customers page")
	b.open(base + "/customers")
	fredRow := eval[string](b, `[...document.querySelectorAll('tbody tr')].map(r => r.innerText).find(t => t.includes('Fred Diaz')) || ''`)
	if !strings.Contains(fredRow, "Jane Cooper") || !strings.Contains(b.text(), "Jane Cooper") {
		t.Fatalf("the customers page should list Fred, referred by Jane: %q\n%s", fredRow, b.text())
	}

	t.Log("approve Jane's reward in the Rewards page")
	b.open(base + "/rewards")
	if text := b.text(); !strings.Contains(text, "Jane Cooper") || !strings.Contains(text, "Needs approval") {
		t.Fatalf("the rewards queue: %s", text)
	}
	b.submit(`button[name=id][value="`+reward.ID+`"]`, `!!document.querySelector('.flash')`)
	var got apiReward
	s.api(sk, "GET", "/v1/rewards/"+reward.ID, nil, 200, &struct{ Reward *apiReward }{&got})
	if got.Status != "available" {
		t.Fatalf("after approving in the UI, the API says the reward is %q", got.Status)
	}

	t.Log("credit Jane's balance with a note through the customer page")
	b.open(base + "/customers/jane")
	b.fill("#balance-amount", "5", "#balance-note", "Thanks for the detailed bug report")
	b.submit(`form[action$="/customers/jane/credit"] button.btn-primary`, `!!document.querySelector('.flash')`)
	if text := b.text(); !strings.Contains(text, "Thanks for the detailed bug report") {
		t.Errorf("the ledger does not show the note: %s", text)
	}
	var balance struct {
		Balance  json.Number `json:"balance"`
		Pending  json.Number `json:"pending"`
		Currency string      `json:"currency"`
	}
	s.api(sk, "GET", "/v1/customers/jane/balance", nil, 200, &balance)
	if minor, err := money.Parse(balance.Balance, "USD"); err != nil || minor != 1500 || balance.Currency != "USD" {
		t.Errorf("Jane's balance through the API: %+v, want USD 15 (10 reward + 5 credit)", balance)
	}

	t.Log("add a tiered rule through the rules form; the milestone count shows for milestones only")
	b.open(base + "/rules")
	hidden := `document.querySelector('[data-show-when="trigger=milestone"]').hidden`
	trigger := func(v string) {
		eval[bool](b, `(s => { s.value = '`+v+`'; s.dispatchEvent(new Event('change')); return true })(document.getElementById('trigger'))`)
	}
	if !eval[bool](b, hidden) {
		t.Error("the milestone count shows for a purchase rule")
	}
	trigger("milestone")
	if eval[bool](b, hidden) {
		t.Error("the milestone count stays hidden for a milestone rule")
	}
	trigger("purchase")
	eval[bool](b, `(document.getElementById('amount').value = '') === ''`)
	b.fill("#name", "Tiered", `[id="tiers.0.min_referrals"]`, "1", `[id="tiers.0.amount"]`, "10",
		`[id="tiers.2.min_referrals"]`, "11", `[id="tiers.2.amount"]`, "15")
	b.submit(`#rule-form button[type=submit]`, `!!document.querySelector('.flash')`)
	if text := b.text(); !strings.Contains(text, "Reward rule saved.") || !strings.Contains(text, "Tiers by successful referrals: 1+ USD 10.00, 11+ USD 15.00") {
		t.Errorf("the rules list after adding a tiered rule: %s", text)
	}

	t.Log("invite a viewer through the UI")
	b.open(s.url + "/dashboard/team")
	b.fill("#email", "viewer@acme.example", "#role", "viewer")
	b.submit(`form[action="/dashboard/team"] button[type=submit]`, `!!document.querySelector('.flash')`)
	m := regexp.MustCompile(`password (\S+) `).FindStringSubmatch(b.text())
	if m == nil {
		t.Fatalf("no one-time password: %s", b.text())
	}
	v := newTab(t)
	v.open(s.url + "/dashboard/login")
	v.fill("#email", "viewer@acme.example", "#password", m[1])
	v.submit(`form[action="/dashboard/login"] button[type=submit]`, `location.pathname === '/dashboard/p/`+pid+`/'`)

	t.Log("the viewer sees every page and can change nothing")
	b.open(base + "/rules")
	rule := eval[string](b, `document.querySelector('a[href*="/rules/"]').getAttribute('href')`)
	pages := []string{base + "/", base + "/customers", base + "/customers/jane", base + "/customers/fred", base + "/rewards",
		base + "/rewards?status=all", base + "/rules", s.url + rule, base + "/settings", base + "/developers",
		s.url + "/dashboard/team", s.url + "/dashboard/programs", s.url + "/dashboard/programs/new"}
	for _, p := range pages {
		v.open(p)
		if text := v.text(); strings.Contains(text, "Forbidden") || strings.Contains(text, "Not Found") {
			t.Errorf("viewer at %s: %s", p, text)
		}
		if forms := eval[[]string](v, editableForms); len(forms) > 0 {
			t.Errorf("viewer at %s can use forms posting to %q", p, forms)
		}
	}
	v.open(base + "/")
	forced := map[string]map[string]string{
		"/dashboard/p/" + pid + "/settings": {"name": "Viewer was here", "website_url": "https://evil.example", "referral_param": "ref",
			"cookie_days": "30", "attribution": "first_click"},
		"/dashboard/p/" + pid + "/customers/jane/credit": {"amount": "1000", "currency": "USD", "note": "for me"},
		"/dashboard/p/" + pid + "/rewards/reject":        {"id": reward.ID, "reason": "viewer"},
		"/dashboard/team":                                          {"email": "mallory@example.com", "role": "owner"},
		"/dashboard/p/" + pid + "/developers/keys":                 {"kind": "secret"},
		"/dashboard/p/" + pid + "/developers/widget_secret/rotate": {},
		"/dashboard/p/" + pid + "/developers/webhooks":             {"url": "https://evil.example/", "events": "*"},
	}
	// The same forced POST works for an owner (fetch follows the redirect
	// to the saved page), so the viewer's 403 is about the role.
	if got := postStatus(b, "/dashboard/p/"+pid+"/settings", map[string]string{"name": "Acme Referrals",
		"website_url": "https://shop.acme.example", "referral_param": "ref", "cookie_days": "30", "attribution": "first_click",
		"require_approval": "on", "require_hash": "on"}); got != http.StatusOK {
		t.Errorf("owner's fetch POST of the settings: %d, want 200", got)
	}
	for path, form := range forced {
		if got := postStatus(v, path, form); got != http.StatusForbidden {
			t.Errorf("viewer's forced POST %s: %d, want 403", path, got)
		}
	}

	t.Log("a form on another site posting to the dashboard is refused")
	s.attack.Store(attackPage(base+"/settings", map[string]string{"name": "Hacked", "website_url": "https://evil.example",
		"referral_param": "ref", "cookie_days": "30", "attribution": "first_click"}))
	b.open(s.evil + "/")
	b.await(`location.origin === '` + s.url + `' && document.readyState === 'complete'`)
	if text := b.text(); !strings.Contains(text, "came from another site") {
		t.Errorf("after the cross-site post the browser shows: %s", text)
	}

	t.Log("nothing the viewer or the other site tried changed anything")
	var prog struct {
		Program struct {
			Name       string `json:"name"`
			WebsiteURL string `json:"website_url"`
		} `json:"program"`
	}
	s.api(sk, "GET", "/v1/program", nil, 200, &prog)
	if prog.Program.Name != "Acme Referrals" || prog.Program.WebsiteURL != "https://shop.acme.example" {
		t.Errorf("program after the refused posts: %+v", prog.Program)
	}
	s.api(sk, "GET", "/v1/webhook_endpoints", nil, 200, &hooks)
	if len(hooks.Data) != 1 {
		t.Errorf("%d webhook endpoints after the refused posts, want 1", len(hooks.Data))
	}
	s.api(sk, "GET", "/v1/customers/jane/balance", nil, 200, &balance)
	if minor, _ := money.Parse(balance.Balance, "USD"); minor != 1500 {
		t.Errorf("Jane's balance after the refused posts: %s", balance.Balance)
	}
	s.api(sk, "GET", "/v1/rewards/"+reward.ID, nil, 200, &struct{ Reward *apiReward }{&got})
	if got.Status != "available" {
		t.Errorf("reward after the refused posts: %s", got.Status)
	}
	b.noExceptions()
	v.noExceptions()
}

var attackTemplate = template.Must(template.New("attack").Parse(`<!doctype html>
<title>You won a prize</title>
<form id="f" method="post" action="{{.Action}}">{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}</form>
<script>document.getElementById('f').submit()</script>`))

// attackPage is a page that posts a form to action as soon as it loads.
func attackPage(action string, fields map[string]string) string {
	var b strings.Builder
	if err := attackTemplate.Execute(&b, map[string]any{"Action": action, "Fields": fields}); err != nil {
		panic(err)
	}
	return b.String()
}

// Realistic people for the screenshots.
var (
	referrerNames = []string{"Maya Patel", "Lucas Bennett", "Sofia Rossi", "Daniel Kim", "Amara Okafor", "Jonas Weber",
		"Priya Sharma", "Ethan Walker", "Chloé Martin", "Mateo García", "Hannah Schmidt", "Noah Johnson"}
	friendNames = []string{"Olivia Brown", "Liam Nguyen", "Emma Wilson", "Aarav Singh", "Isabella Moreau", "James O'Connor",
		"Mia Fischer", "Benjamin Lee", "Zara Ahmed", "Henry Clarke", "Ava Thompson", "Samuel Adeyemi", "Lea Dubois",
		"Oscar Lindqvist", "Nina Kowalski", "Leo Costa", "Grace Murphy", "Kenji Tanaka", "Sara Haddad", "Felix Braun",
		"Ruby Evans", "Arjun Mehta", "Elena Petrova", "Theo Laurent", "Ines Silva", "Jack Robinson", "Yuki Sato",
		"Camila Reyes", "Omar Farouk", "Lily Chen"}
	directNames = []string{"Victor Hughes", "Alice Moreno", "Tom Becker", "Fatima Zahra", "Ryan Cooper", "Julia Novak",
		"Marcus Reed", "Sienna Ward"}
	mailDomains = []string{"gmail.com", "outlook.com", "proton.me", "fastmail.com", "icloud.com", "hey.com"}
)

// email makes an address from a name: "Chloé Martin" → chloe.martin@….
func email(name string, i int) string {
	local := strings.NewReplacer(" ", ".", "'", "", "é", "e", "í", "i", "ó", "o").Replace(strings.ToLower(name))
	return local + "@" + mailDomains[i%len(mailDomains)]
}

// seedShowcase fills a program with four weeks of believable activity:
// referrers whose links are clicked more as the program catches on,
// friends joining and buying, refunds, rewards waiting, approved and
// rejected, and manual credits. It returns the program's id.
func seedShowcase(t *testing.T, s *site) string {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(6, 2026))
	at := func(daysAgo int, hour int) {
		s.clock.set(-time.Duration(daysAgo)*24*time.Hour + time.Duration(hour-14)*time.Hour)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	at(40, 9)
	for _, a := range []struct{ email, role string }{{"maria.garcia@acmecloud.example", store.RoleOwner},
		{"olivia.brown@acmecloud.example", store.RoleOwner}, {"sam.lee@acmecloud.example", store.RoleViewer}} {
		s.admin(a.email, a.role)
	}
	p, err := referral.NewProgram("Acme Cloud Referrals", "USD", "https://acmecloud.example")
	must(err)
	rule := func(name, trigger, recipient, typ, unit string, amount int64, recurrence string, holding int, mod func(*rewards.Rule)) rewards.Rule {
		r := rewards.NewRule()
		r.ProgramID, r.Name, r.Trigger, r.Recipient, r.RewardType, r.Unit, r.Amount, r.Recurrence, r.HoldingDays =
			p.ID, name, trigger, recipient, typ, unit, amount, recurrence, holding
		if unit == rewards.Fixed {
			r.Currency = "USD"
		}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	must(s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateProgram(ctx, p); err != nil {
			return err
		}
		for _, kind := range []string{referral.SecretKey, referral.PublishableKey} {
			if _, _, err := tx.CreateAPIKey(ctx, p.ID, kind); err != nil {
				return err
			}
		}
		for _, r := range []rewards.Rule{
			rule("Give $20", rewards.Purchase, rewards.Referrer, rewards.Credit, rewards.Fixed, 2000, rewards.First, 14, nil),
			rule("Get 20% off", rewards.Purchase, rewards.Friend, rewards.Discount, rewards.Percentage, 2000, rewards.First, 0,
				func(r *rewards.Rule) { r.DiscountExpiresDays = 60 }),
			rule("10% of subscriptions for a year", rewards.Subscription, rewards.Referrer, rewards.Cash, rewards.Percentage, 1000,
				rewards.Every, 30, func(r *rewards.Rule) { r.MaxMonths = 12; r.MaxRewardsPerReferrer = 50 }),
			rule("Sign-up thank you", rewards.Signup, rewards.Referrer, rewards.Credit, rewards.Fixed, 200, rewards.First, 0,
				func(r *rewards.Rule) { r.Active = false }),
		} {
			r := r
			if err := tx.CreateRule(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	}))

	// Referrers joined before the period; their weight is how much they share.
	weights := []int{9, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1}
	var referrers []*referral.Customer
	var links []string
	for i, name := range referrerNames {
		at(40-i/3, 10+i%6)
		c, err := s.db.CreateCustomer(ctx, p, referral.NewCustomer{Key: fmt.Sprintf("usr_%04d", 1021+i*37), Name: name,
			Email: email(name, i), Metadata: map[string]any{"plan": []string{"Starter", "Team", "Business"}[i%3]}})
		must(err)
		ls, err := s.db.CustomerLinks(ctx, p.ID, c.Key)
		must(err)
		referrers, links = append(referrers, c), append(links, ls[0].ID)
	}
	pick := func() int {
		total := 0
		for _, w := range weights {
			total += w
		}
		n := rng.IntN(total)
		for i, w := range weights {
			if n < w {
				return i
			}
			n -= w
		}
		return 0
	}

	// What happens on each of the last 30 days (0 is today).
	type event func(tx *store.Tx) error
	days := make([][]event, 30)
	plans := []int64{2900, 4900, 9900, 4900, 19900, 9900}
	order := 5400
	buy := func(key, typ string, amount int64) event {
		order++
		txnKey := fmt.Sprintf("in_%d", order)
		return func(tx *store.Tx) error {
			_, _, err := tx.RecordTransaction(ctx, p, store.NewTransaction{CustomerKey: key, Key: txnKey, Type: typ, Amount: amount, Currency: "USD"})
			return err
		}
	}
	for i, name := range friendNames {
		// More friends join as the program catches on.
		day := int(29 * (1 - math.Sqrt(rng.Float64())))
		ref := referrers[pick()]
		key := fmt.Sprintf("usr_%04d", 2003+i*41)
		c := referral.NewCustomer{Key: key, Name: name, Email: email(name, i+3), ReferredBy: ref.ReferralCode}
		days[day] = append(days[day], func(tx *store.Tx) error { _, err := tx.CreateCustomer(ctx, p, c); return err })
		switch r := rng.Float64(); {
		case r < 0.55:
			if d := day - rng.IntN(4); d >= 0 {
				days[d] = append(days[d], buy(key, rewards.Purchase, plans[rng.IntN(len(plans))]))
			}
		case r < 0.75:
			amount := []int64{2900, 4900}[rng.IntN(2)]
			days[day] = append(days[day], buy(key, rewards.Subscription, amount))
		}
	}
	for i, name := range directNames {
		day := rng.IntN(30)
		key := fmt.Sprintf("usr_%04d", 3011+i*53)
		c := referral.NewCustomer{Key: key, Name: name, Email: email(name, i+1)}
		days[day] = append(days[day], func(tx *store.Tx) error { _, err := tx.CreateCustomer(ctx, p, c); return err })
		if i%3 != 2 {
			days[day] = append(days[day], buy(key, rewards.Purchase, plans[rng.IntN(len(plans))]))
		}
	}
	for d := 29; d >= 0; d-- {
		at(d, 9+rng.IntN(5))
		if len(days[d]) > 0 {
			must(s.db.InTx(ctx, func(tx *store.Tx) error {
				for _, ev := range days[d] {
					if err := ev(tx); err != nil {
						return err
					}
				}
				return nil
			}))
		}
		grow := 0.5 + 1.3*float64(29-d)/29
		if wd := s.clock.Now().Weekday(); wd == time.Saturday || wd == time.Sunday {
			grow *= 0.6
		}
		var clicks []referral.Click
		for i, w := range weights {
			for range int(float64(w) * grow * (0.4 + rng.Float64())) {
				clicks = append(clicks, referral.Click{ProgramID: p.ID, LinkID: links[i], Source: referral.ClickShortLink,
					Visitor: fmt.Sprintf("v%d", rng.IntN(1_000_000)), At: s.clock.Now().UTC()})
			}
		}
		must(s.db.InsertClicks(ctx, clicks))
	}

	// Today: rewards past their holding period are released; a few are
	// decided by hand; one order is refunded; Maya gets credit.
	s.clock.set(0)
	_, err = s.db.ReleaseDueRewards(ctx, s.clock.Now(), 1000)
	must(err)
	pending, _, err := s.db.Rewards(ctx, p.ID, store.RewardFilter{Status: rewards.Pending})
	must(err)
	if len(pending) < 4 {
		t.Fatalf("only %d pending rewards to show", len(pending))
	}
	must(s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ApproveReward(ctx, p.ID, pending[len(pending)-1].ID); err != nil {
			return err
		}
		if _, err := tx.RejectReward(ctx, p.ID, pending[len(pending)-2].ID, "Same payment card as the referrer"); err != nil {
			return err
		}
		if _, err := tx.Refund(ctx, p, fmt.Sprintf("in_%d", 5401), 0, "Cancelled within 14 days"); err != nil {
			return err
		}
		if err := tx.Credit(ctx, p.ID, referrers[0], 1500, "USD", "Goodwill credit for the outage on the 12th"); err != nil {
			return err
		}
		return tx.Debit(ctx, p.ID, referrers[0], 2000, "USD", "Applied to invoice INV-2041")
	}))
	return p.ID
}

// TestDashboardScreenshots takes a screenshot of every main page with
// realistic data, for docs/screenshots (ADVOCATE_UPDATE_SCREENSHOTS=1) and
// for a person to look at (go test -artifacts).
func TestDashboardScreenshots(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	pid := seedShowcase(t, s)
	base := s.url + "/dashboard/p/" + pid
	b := newTab(t)

	b.open(s.url + "/dashboard/login")
	b.fill("#email", "maria.garcia@acmecloud.example")
	b.pageShot("dashboard-signin")
	b.fill("#password", adminPassword)
	b.submit(`form[action="/dashboard/login"] button[type=submit]`, `location.pathname === '/dashboard/p/`+pid+`/'`)
	b.await(`Chart.getChart('chart-funnel') && Chart.getChart('chart-money')`)
	b.pageShot("dashboard-overview")

	shots := []struct{ name, path, ready string }{
		{"dashboard-customers", base + "/customers", `document.querySelectorAll('tbody tr').length >= 20`},
		{"dashboard-customer", base + "/customers/usr_1021", `document.querySelector('h1').innerText === 'Maya Patel'`},
		{"dashboard-rewards", base + "/rewards", `document.querySelectorAll('tbody tr').length >= 3`},
		{"dashboard-rules", base + "/rules", `document.querySelectorAll('.table-wrap:not(.table-flat) tbody tr').length === 4`},
		{"dashboard-settings", base + "/settings", `true`},
		{"dashboard-team", s.url + "/dashboard/team", `document.querySelectorAll('tbody tr').length === 3`},
		{"dashboard-program-new", s.url + "/dashboard/programs/new", `true`},
	}
	for _, sh := range shots {
		b.open(sh.path)
		b.await(sh.ready)
		b.pageShot(sh.name)
	}
	// Stripe connected, with events received.
	whsec, sk := "whsec_showcase0123456789", "rk_live_showcase"
	apply := true
	if _, err := s.db.ConnectStripe(context.Background(), pid, store.StripeSettings{WebhookSecret: &whsec, SecretKey: &sk, ApplyRewards: &apply}); err != nil {
		t.Fatal(err)
	}
	for i, typ := range []string{"customer.created", "invoice.paid"} {
		obj := map[string]any{"id": "cus_showcase", "object": "customer", "email": "lena.fischer@example.com", "name": "Lena Fischer", "metadata": map[string]any{}}
		if typ == "invoice.paid" {
			obj = map[string]any{"id": "in_showcase", "object": "invoice", "customer": "cus_showcase", "customer_email": "lena.fischer@example.com",
				"amount_paid": 4900, "currency": "usd", "billing_reason": "subscription_cycle", "status": "paid", "metadata": map[string]any{},
				"parent": map[string]any{"type": "subscription_details", "subscription_details": map[string]any{"subscription": "sub_showcase", "metadata": map[string]any{}}}}
		}
		body, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("evt_showcase_%d", i), "object": "event", "type": typ, "api_version": "2025-03-31.basil",
			"created": s.clock.Now().Unix(), "data": map[string]any{"object": obj}})
		req, _ := http.NewRequest("POST", s.url+stripe.WebhookPath(pid), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", stripe.Sign(body, whsec, s.clock.Now()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("stripe event %s: %d", typ, resp.StatusCode)
		}
	}
	b.open(base + "/integrations")
	b.await(`document.getElementById('stripe-light').dataset.light === 'green'`)
	b.pageShot("dashboard-integrations")
	// The keys page right after making a publishable key: the key is shown
	// once and the snippet is filled in with it.
	b.open(base + "/developers")
	b.submit(`button[name=kind][value=publishable]`, `!!document.getElementById('new-key')`)
	b.pageShot("dashboard-developers")
	b.noExceptions()
}
