package browsertest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// updateScreenshots copies the widget's screenshots into docs/ when set.
const updateScreenshots = "ADVOCATE_UPDATE_SCREENSHOTS"

// render calls po('renderReferralWidget') in the page and returns what it
// resolved with: true once the widget shows the customer's data.
func render(b *tab, opts string) bool {
	b.t.Helper()
	return eval[bool](b, `po('renderReferralWidget', `+opts+`)`)
}

// shadow is what the widget's shadow root shows.
type shadow struct {
	Theme    string
	Text     string
	Link     string
	Name     string
	Stats    map[string]string
	Shares   map[string]string
	Native   bool
	Region   string // the region's accessible name
	Title    struct{ FontSize, Color, FontFamily string }
	Input    struct{ FontSize, Height string }
	HostShow string // the host element's display, against the page's !important
	Images   int
}

const readShadow = `(() => {
	const host = document.querySelector('#widget > advocate-referral-widget');
	if (!host || !host.shadowRoot) return null;
	const root = host.shadowRoot, q = s => root.querySelector(s), css = s => getComputedStyle(q(s));
	const stats = {}, shares = {};
	root.querySelectorAll('[data-stat]').forEach(e => stats[e.dataset.stat] = e.textContent);
	root.querySelectorAll('a[data-share]').forEach(e => shares[e.dataset.share] = e.href);
	const region = q('[role=region]');
	const label = root.getElementById(region.getAttribute('aria-labelledby'));
	return {
		theme: region.dataset.theme, text: region.textContent,
		link: q('input') ? q('input').value : '', name: q('[data-field=name]') ? q('[data-field=name]').textContent : '',
		stats, shares, native: !!q('[data-share=native]'), region: label ? label.textContent : '',
		title: q('h2') ? {fontSize: css('h2').fontSize, color: css('h2').color, fontFamily: css('h2').fontFamily} : {},
		input: q('input') ? {fontSize: css('input').fontSize, height: css('input').height} : {},
		hostShow: getComputedStyle(host).display,
		images: root.querySelectorAll('img').length + document.querySelectorAll('img').length,
	};
})()`

// usd formats an amount as Intl.NumberFormat('en-US', USD) does below
// 1,000, which is all these fixtures need.
func usd(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	if v < 0 {
		return "-$" + s[1:]
	}
	return "$" + s
}

// TestWidget renders the referral widget in both themes and compares what
// it shows with the API, through the page's hostile CSS. It does not run in
// parallel: keyboard focus and the clipboard belong to the whole browser.
func TestWidget(t *testing.T) {
	w := newWorld(t)
	w.call("POST", "/v1/reward_rules", map[string]any{"trigger": "signup", "reward_type": "credit", "amount": 5, "currency": "USD"}, 201, nil)
	// A website other than the shop's origin, allowed by domain: the
	// referral links point at the business's site, as in the seed.
	w.call("PUT", "/v1/program", map[string]any{"website_url": "https://yoursite.com/", "allowed_domains": []string{"localhost"}}, 200, nil)
	var created struct{ Customer customer }
	w.call("POST", "/v1/customers", map[string]any{"key": "cust_jane", "name": "Jane Doe", "email": "jane@example.com", "referral_code": "JANE20"}, 201, &created)
	jane := created.Customer
	if jane.ReferralURL != "https://yoursite.com/?ref=JANE20" {
		t.Fatalf("fixture: referral_url %q", jane.ReferralURL)
	}
	w.newCustomer("cust_f1", "Friend One", jane.ReferralCode)
	w.newCustomer("cust_f2", "Friend Two", jane.ReferralCode)
	w.call("POST", "/v1/customers/cust_jane/balance/credit", map[string]any{"amount": 2.5, "currency": "USD", "note": "Welcome"}, 200, nil)

	var stats struct {
		TotalReferrals      int     `json:"total_referrals"`
		SuccessfulReferrals int     `json:"successful_referrals"`
		PendingReferrals    int     `json:"pending_referrals"`
		TotalRewards        float64 `json:"total_rewards"`
	}
	w.call("GET", "/v1/customers/cust_jane/stats", nil, 200, &stats)
	var bal struct{ Balance, Pending float64 }
	w.call("GET", "/v1/customers/cust_jane/balance", nil, 200, &bal)
	want := map[string]string{
		"total_referrals":      fmt.Sprint(stats.TotalReferrals),
		"successful_referrals": fmt.Sprint(stats.SuccessfulReferrals),
		"pending_referrals":    fmt.Sprint(stats.PendingReferrals),
		"total_rewards":        usd(stats.TotalRewards),
		"balance":              usd(bal.Balance),
		"pending":              usd(bal.Pending) + " pending",
	}
	if stats.TotalReferrals != 2 || bal.Balance == 0 {
		t.Fatalf("fixture: stats %+v balance %+v; want 2 referrals and a balance", stats, bal)
	}

	for _, theme := range []string{"light", "dark"} {
		t.Run(theme, func(t *testing.T) {
			b := newTab(t)
			b.open(w.shop + "/account")
			if theme == "dark" {
				eval[string](b, `document.body.style.background = '#0b1020', ''`)
			}
			ok := render(b, fmt.Sprintf(`{container: '#widget', customer_key: 'cust_jane', customer_hash: %q, theme: %q, show_stats: true}`, w.hash("cust_jane"), theme))
			if !ok {
				t.Fatalf("renderReferralWidget resolved false; warnings %q", b.allWarnings())
			}
			s := eval[shadow](b, readShadow)
			if s.Theme != theme {
				t.Errorf("theme %q, want %q", s.Theme, theme)
			}
			if s.Link != jane.ReferralURL {
				t.Errorf("link %q, want the API's referral_url %q", s.Link, jane.ReferralURL)
			}
			for k, v := range want {
				if s.Stats[k] != v {
					t.Errorf("%s shows %q, want %q", k, s.Stats[k], v)
				}
			}
			if !strings.Contains(s.Name, "Jane Doe") {
				t.Errorf("greeting %q does not name the customer", s.Name)
			}
			if s.Region != "Invite friends, earn rewards" {
				t.Errorf("region labelled %q", s.Region)
			}
			enc := strings.NewReplacer(":", "%3A", "/", "%2F", "?", "%3F", "=", "%3D").Replace(jane.ReferralURL)
			for name, prefix := range map[string]string{
				"email":    "mailto:?subject=",
				"x":        "https://twitter.com/intent/tweet?",
				"linkedin": "https://www.linkedin.com/sharing/share-offsite/?url=" + enc,
				"whatsapp": "https://wa.me/?text=",
			} {
				if !strings.HasPrefix(s.Shares[name], prefix) || !strings.Contains(s.Shares[name], enc) {
					t.Errorf("%s share link %q, want %s… with the referral link", name, s.Shares[name], prefix)
				}
			}
			if hasShare := eval[bool](b, `typeof navigator.share === 'function'`); s.Native != hasShare {
				t.Errorf("native share button shown: %v, navigator.share exists: %v", s.Native, hasShare)
			}
			// The page styles div at 50px, headings, inputs and the host
			// itself with !important; none of it may reach the widget.
			if s.Title.FontSize != "20px" || s.Input.FontSize != "14px" || s.Input.Height != "42px" {
				t.Errorf("host CSS leaked in: title %+v, input %+v", s.Title, s.Input)
			}
			if s.Title.Color == "rgb(255, 0, 0)" || strings.Contains(s.Title.FontFamily, "Georgia") {
				t.Errorf("host CSS leaked in: title %+v", s.Title)
			}
			if s.HostShow != "block" {
				t.Errorf("the page hid the widget: host display %q", s.HostShow)
			}
			if sib := eval[string](b, `getComputedStyle(document.querySelector('.sibling')).display`); sib != "none" {
				t.Errorf("fixture: the hostile sibling rule did not apply (%s)", sib)
			}

			path := b.screenshot("#frame", "widget-"+theme+".png")
			if os.Getenv(updateScreenshots) == "1" {
				copyFile(t, path, filepath.Join("..", "..", "docs", "screenshots", "widget-"+theme+".png"))
			}

			// Keyboard: Tab from the link field reaches the Copy button,
			// which shows a focus ring.
			eval[bool](b, `document.querySelector('#widget > advocate-referral-widget').shadowRoot.querySelector('input').focus(), true`)
			b.do(chromedp.KeyEvent(kb.Tab))
			focus := eval[map[string]string](b, `(() => { const a = document.querySelector('#widget > advocate-referral-widget').shadowRoot.activeElement;
				return {cls: a ? a.className : '', outline: a ? getComputedStyle(a).outlineStyle : ''} })()`)
			if focus["cls"] != "copy" || focus["outline"] != "solid" {
				t.Errorf("after Tab from the link: focus %v, want the Copy button with a solid outline", focus)
			}

			// A real click on Copy: the link lands on the clipboard and
			// the live region says so.
			b.grantClipboard(w.shop)
			rect := eval[struct{ X, Y float64 }](b, `(() => { const r = document.querySelector('#widget > advocate-referral-widget').shadowRoot.querySelector('button.copy').getBoundingClientRect();
				return {x: r.x + r.width / 2, y: r.y + r.height / 2} })()`)
			b.do(chromedp.MouseClickXY(rect.X, rect.Y))
			b.poll(`document.querySelector('#widget > advocate-referral-widget').shadowRoot.querySelector('[aria-live]').textContent === 'Copied!'`)
			if got := eval[string](b, `navigator.clipboard.readText()`); got != jane.ReferralURL {
				t.Errorf("clipboard %q, want %q", got, jane.ReferralURL)
			}

			// A phone: nothing overflows at 320px.
			b.do(chromedp.EmulateViewport(320, 720))
			overflow := eval[int](b, `Math.max(document.documentElement.scrollWidth, document.querySelector('#widget > advocate-referral-widget').shadowRoot.querySelector('section').scrollWidth) - window.innerWidth`)
			if overflow > 0 {
				t.Errorf("at 320px the page overflows by %dpx", overflow)
			}
			b.screenshot("#frame", "widget-"+theme+"-320.png")
			b.noExceptions()
		})
	}
}

// TestWidgetUnderStrictCSP: a site whose policy forbids inline styles
// still gets a styled widget (its sheet is a constructed one), and the
// snippet works with a nonce.
func TestWidgetUnderStrictCSP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	b := newTab(t)
	b.open(w.shop + "/csp?ref=" + jane.ReferralCode)
	if got := codeWhenAttributed(b); got != jane.ReferralCode {
		t.Errorf("getReferralCode = %q under CSP, want %q", got, jane.ReferralCode)
	}
	if !render(b, fmt.Sprintf(`{container: '#widget', customer_key: 'cust_jane', customer_hash: %q}`, w.hash("cust_jane"))) {
		t.Fatalf("the widget did not render under CSP; warnings %q", b.allWarnings())
	}
	s := eval[shadow](b, readShadow)
	if s.Link != jane.ReferralURL || s.Title.FontSize != "20px" || s.Input.Height != "42px" {
		t.Errorf("under CSP: link %q, title %+v, input %+v; want the styled widget", s.Link, s.Title, s.Input)
	}
	b.noExceptions()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", to)
}

// TestWidgetRefusesBadInput: a wrong hash shows no customer data, names are
// text and never markup, and hostile containers cannot break the page.
func TestWidgetRefusesBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	const evil = `<img src=x onerror="window.__xss=1">`
	w.newCustomer("cust_evil", evil, "")

	t.Run("wrong hash", func(t *testing.T) {
		for _, tc := range []struct{ name, hash string }{
			{"forged", w.hash("cust_other")},
			{"missing", ""},
			{"garbage", "not-a-hash"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := newTab(t)
				b.open(w.shop + "/account")
				if render(b, fmt.Sprintf(`{container: '#widget', customer_key: 'cust_jane', customer_hash: %q, show_stats: true}`, tc.hash)) {
					t.Fatalf("the widget rendered with a %s hash", tc.name)
				}
				s := eval[shadow](b, readShadow)
				if s.Text != "Your referral details aren't available right now." {
					t.Errorf("widget says %q, want the neutral message", s.Text)
				}
				for _, secret := range []string{jane.ReferralCode, "Jane", jane.ReferralURL} {
					if strings.Contains(s.Text, secret) || s.Link != "" {
						t.Errorf("the widget shows %q with a %s hash", secret, tc.name)
					}
				}
				if !b.warned("[advocate]", "customer_hash") {
					t.Errorf("no console warning naming customer_hash; warnings %q", b.allWarnings())
				}
				b.noExceptions()
			})
		}
	})

	t.Run("script in a name", func(t *testing.T) {
		b := newTab(t)
		b.open(w.shop + "/account")
		if !render(b, fmt.Sprintf(`{container: document.getElementById('widget'), customer_key: 'cust_evil', customer_hash: %q}`, w.hash("cust_evil"))) {
			t.Fatalf("the widget did not render; warnings %q", b.allWarnings())
		}
		s := eval[shadow](b, readShadow)
		if !strings.Contains(s.Name, evil) {
			t.Errorf("greeting %q does not show the name as text", s.Name)
		}
		if s.Images != 0 {
			t.Errorf("%d img elements: the name was parsed as HTML", s.Images)
		}
		if eval[string](b, `new Promise(r => setTimeout(() => r(typeof window.__xss), 200))`) != "undefined" {
			t.Errorf("the name's script ran")
		}
		b.noExceptions()
	})

	t.Run("hostile containers", func(t *testing.T) {
		b := newTab(t)
		b.open(w.shop + "/account")
		for _, c := range []string{
			`'<img src=x onerror="window.__xss=1">'`,
			`'#widget[' `,
			`'#nowhere'`,
			`42`,
			`null`,
			`{nodeType: 1}`,
			`document.createTextNode('x')`,
		} {
			b.clearWarnings()
			if render(b, fmt.Sprintf(`{container: %s, customer_key: 'cust_jane', customer_hash: %q}`, c, w.hash("cust_jane"))) {
				t.Errorf("container %s: rendered", c)
			}
			if !b.warned("[advocate]", "container") {
				t.Errorf("container %s: no console warning", c)
			}
		}
		if eval[string](b, `new Promise(r => setTimeout(() => r(typeof window.__xss), 200))`) != "undefined" {
			t.Errorf("a container string ran as HTML")
		}
		if n := eval[int](b, `document.querySelectorAll('advocate-referral-widget').length`); n != 0 {
			t.Errorf("%d widgets attached to the page", n)
		}
		b.noExceptions()
	})
}

// boardRow is one row of the widget's leaderboard as the page shows it.
type boardRow struct {
	Rank, Name, Score string
	You               bool
}

const readBoard = `(() => {
	const root = document.querySelector('#widget > advocate-referral-widget').shadowRoot;
	const head = root.getElementById('po-board'), board = root.querySelector('.board');
	const you = root.querySelector('.board li.you');
	return {
		heading: head ? head.textContent : '',
		labelled: board ? board.getAttribute('aria-labelledby') : '',
		text: root.querySelector('section').textContent,
		rows: board ? [...board.querySelectorAll('li')].map(li => ({
			rank: li.querySelector('.rank').textContent,
			name: li.querySelector('.who').firstChild.textContent,
			score: li.querySelector('.score').firstChild.textContent,
			you: li.getAttribute('aria-current') === 'true' && !!li.querySelector('.badge'),
		})) : [],
		youBackground: you ? getComputedStyle(you).backgroundColor : '',
		radius: board ? getComputedStyle(board).borderTopLeftRadius : '',
		rowFont: board ? getComputedStyle(board.querySelector('li')).fontSize : '',
	};
})()`

// TestWidgetLeaderboard: once the program shows a leaderboard, the widget
// lists the top referrers by first name and initial, never an email, with
// the viewer's own row marked, styled like the rest of the widget through
// the page's hostile CSS; with the setting off it shows none.
func TestWidgetLeaderboard(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// No reward rules: every referral is successful at signup.
	jane := w.newCustomer("cust_jane", "Jane Doe", "")
	bob := w.newCustomer("cust_bob", "bob", "")
	eve := w.newCustomer("cust_eve", "eve@example.com", "")
	w.newCustomer("cust_sam", "Sam Lee", "") // refers no one
	for i, by := range []string{jane.ReferralCode, jane.ReferralCode, bob.ReferralCode, jane.ReferralCode, eve.ReferralCode, eve.ReferralCode} {
		w.newCustomer(fmt.Sprintf("cust_f%d", i), fmt.Sprintf("Friend %d", i), by)
	}
	type board struct {
		Heading, Labelled, Text, YouBackground, Radius, RowFont string
		Rows                                                    []boardRow
	}
	show := func(t *testing.T, key string) board {
		t.Helper()
		b := newTab(t)
		b.open(w.shop + "/account")
		if !render(b, fmt.Sprintf(`{container: '#widget', customer_key: %q, customer_hash: %q}`, key, w.hash(key))) {
			t.Fatalf("renderReferralWidget resolved false; warnings %q", b.allWarnings())
		}
		got := eval[board](b, readBoard)
		if got.Heading != "" {
			b.screenshot("#frame", "widget-leaderboard-"+key+".png")
		}
		b.noExceptions()
		return got
	}

	t.Run("off by default", func(t *testing.T) {
		if got := show(t, "cust_bob"); got.Heading != "" || len(got.Rows) != 0 || strings.Contains(got.Text, "Leaderboard") {
			t.Errorf("the program shows no leaderboard, but the widget has %+v", got)
		}
	})

	w.call("PUT", "/v1/program", map[string]any{"show_leaderboard": true}, 200, nil)
	t.Run("on", func(t *testing.T) {
		got := show(t, "cust_bob")
		want := []boardRow{{"1", "Jane D.", "3", false}, {"2", "Anonymous", "2", false}, {"3", "bob", "1", true}}
		if !slices.Equal(got.Rows, want) {
			t.Errorf("rows %+v, want %+v", got.Rows, want)
		}
		if got.Heading != "Leaderboard" || got.Labelled != "po-board" {
			t.Errorf("heading %q, list labelled by %q; want a Leaderboard heading labelling the list", got.Heading, got.Labelled)
		}
		if strings.Contains(got.Text, "@") || strings.Contains(got.Text, "Doe") {
			t.Errorf("the widget shows an email or a last name: %q", got.Text)
		}
		// The page styles ol, li and span with !important; the board keeps
		// its own look, and the viewer's row its highlight.
		if got.RowFont != "14px" || got.Radius != "12px" || got.YouBackground == "" || got.YouBackground == "rgba(0, 0, 0, 0)" {
			t.Errorf("board styles: row font %q, radius %q, own row background %q", got.RowFont, got.Radius, got.YouBackground)
		}
	})
	t.Run("viewer not on the board", func(t *testing.T) {
		got := show(t, "cust_sam")
		if len(got.Rows) != 3 || slices.ContainsFunc(got.Rows, func(r boardRow) bool { return r.You }) {
			t.Errorf("Sam sees %+v; want the three referrers, none marked as him", got.Rows)
		}
	})
	w.call("PUT", "/v1/program", map[string]any{"show_leaderboard": false}, 200, nil)
	t.Run("turned off again", func(t *testing.T) {
		if got := show(t, "cust_bob"); got.Heading != "" || len(got.Rows) != 0 {
			t.Errorf("turned off, the widget still shows %+v", got)
		}
	})
}
