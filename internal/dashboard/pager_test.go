package dashboard_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/rewards"
)

var pagerLinkRE = regexp.MustCompile(`<a class="btn btn-sm" rel="(prev|next)" href="([^"]+)"|<a href="([^"]+)">First page</a>`)

// pagerLinks reads a list page's pager: its newer, older and first-page
// links ("" when the page shows none).
func pagerLinks(t *testing.T, p *page) (newer, older, first string) {
	t.Helper()
	i := strings.Index(p.Body, `<nav class="pager"`)
	if i < 0 {
		t.Fatalf("page has no pager: %s", p.text())
	}
	nav := p.Body[i : i+strings.Index(p.Body[i:], "</nav>")]
	for _, m := range pagerLinkRE.FindAllStringSubmatch(nav, -1) {
		switch {
		case m[1] == "prev":
			newer = html.UnescapeString(m[2])
		case m[1] == "next":
			older = html.UnescapeString(m[2])
		default:
			first = html.UnescapeString(m[3])
		}
	}
	return newer, older, first
}

// query reads one parameter of a link.
func query(t *testing.T, link, name string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

// The customer and reward lists page newest first: older, newer and first
// page links keep the list's filters, and walking older then newer comes
// back to the same page.
func TestListPager(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.addCreditRule(t, rewards.Signup, rewards.Referrer, 500, 30)
		referrer := e.customer("zed", "Zed Referrer", "")
		for i := range 55 {
			e.customer(fmt.Sprintf("pager-%02d", i), fmt.Sprintf("Pager %02d", i), referrer.ReferralCode)
		}
		owner := e.asOwner(t)

		t.Run("customers", func(t *testing.T) {
			base := e.path("customers") + "?q=pager&filter=referred"
			p1 := owner.get(base).want(t, http.StatusOK)
			p1.has(t, "Pager 54", "Pager 30")
			newer, older, first := pagerLinks(t, p1)
			if newer != "" || first != "" || older == "" {
				t.Fatalf("first page: newer %q, first %q, older %q; want only an older link", newer, first, older)
			}
			if query(t, older, "q") != "pager" || query(t, older, "filter") != "referred" || query(t, older, "after") == "" {
				t.Fatalf("older link %q lost the filters or the cursor", older)
			}
			p2 := owner.get(older).want(t, http.StatusOK)
			p2.has(t, "Pager 29", "Pager 05")
			if strings.Contains(p2.Body, "Pager 30") {
				t.Error("the second page repeats the first page's last customer")
			}
			newer, older, first = pagerLinks(t, p2)
			if newer == "" || older == "" || first != e.path("customers")+"?filter=referred&q=pager" {
				t.Fatalf("second page: newer %q, older %q, first %q", newer, older, first)
			}
			p3 := owner.get(older).want(t, http.StatusOK)
			p3.has(t, "Pager 04", "Pager 00")
			if _, older, _ = pagerLinks(t, p3); older != "" {
				t.Errorf("last page links to an older one: %q", older)
			}
			back := owner.get(newer).want(t, http.StatusOK)
			if back.text() != p1.text() {
				t.Errorf("newer from the second page is not the first page: %s", back.text())
			}
		})

		t.Run("rewards", func(t *testing.T) {
			p1 := owner.get(e.path("rewards")+"?status=pending").want(t, http.StatusOK)
			newer, older, first := pagerLinks(t, p1)
			if newer != "" || first != "" || query(t, older, "status") != "pending" || query(t, older, "after") == "" {
				t.Fatalf("first page: newer %q, first %q, older %q", newer, first, older)
			}
			p2 := owner.get(older).want(t, http.StatusOK)
			newer, older, first = pagerLinks(t, p2)
			if older != "" || query(t, newer, "before") == "" || first != e.path("rewards")+"?status=pending" {
				t.Fatalf("second page of 55 rewards: newer %q, older %q, first %q", newer, older, first)
			}
		})
	})
}
