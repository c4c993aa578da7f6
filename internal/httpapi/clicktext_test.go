package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/web"
)

// browser is what a visitor's browser sends with a click on the program's site.
var browser = map[string]string{"Origin": "https://yoursite.com",
	"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}

// storedClicks returns the texts of every stored click.
func (e *env) storedClicks() [][3]string {
	e.t.Helper()
	e.api.FlushClicks(context.Background())
	rows, err := e.db.ReadStats().Query(`SELECT landing_url, referrer, user_agent FROM clicks ORDER BY id`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out [][3]string
	for rows.Next() {
		var c [3]string
		if err := rows.Scan(&c[0], &c[1], &c[2]); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// beacon is a click beacon's JSON body with url (raw JSON string content).
func (e *env) beacon(url string) []byte {
	return []byte(`{"publishable_key": "` + e.pk + `", "code": "JANE20", "url": "` + url + `", "visitor_id": "v_3kq9x7m2p8t4w6y1"}`)
}

// TestClickTexts: a click whose texts PostgreSQL would refuse is refused
// (beacon) or cleaned (short link, which must always redirect), never
// queued as it is, so it cannot fail the batch of everyone else's clicks.
func TestClickTexts(t *testing.T) {
	long := "https://yoursite.com/?ref=JANE20&x=" + strings.Repeat("a", 1000-len("https://yoursite.com/?ref=JANE20&x=")-1) + "é"
	for _, tc := range []struct {
		name   string
		send   func(e *env) int
		stored string // the landing url, referrer or user agent stored, "" for nothing
	}{
		{"beacon with a NUL in its url", func(e *env) int {
			return e.do(req{method: "POST", path: "/v1/track/click", body: e.beacon(`https://yoursite.com/\u0000`), header: browser}).Status
		}, ""},
		{"beacon with invalid UTF-8 in its url", func(e *env) int {
			return e.do(req{method: "POST", path: "/v1/track/click", body: e.beacon("https://yoursite.com/\xff"), header: browser}).Status
		}, ""},
		{"beacon whose 1,000-byte clip would split a character", func(e *env) int {
			return e.do(req{method: "POST", path: "/v1/track/click", body: e.beacon(long), header: browser}).Status
		}, long[:999]},
		{"short link with invalid UTF-8 in its referrer", func(e *env) int {
			return e.do(req{method: "GET", path: "/r/JANE20", header: map[string]string{"User-Agent": browser["User-Agent"],
				"Referer": "https://news.example/\xff"}}).Status
		}, "https://news.example/\uFFFD"},
		{"short link with a NUL in its user agent", func(e *env) int {
			// No HTTP server lets a NUL header through; a handler behind another one may still get it.
			r := httptest.NewRequest("GET", "/r/JANE20", nil)
			r.Header.Set("User-Agent", "Mozilla/5.0\x00")
			w := httptest.NewRecorder()
			web.APIHandler(e.api).ServeHTTP(w, r)
			return w.Code
		}, "Mozilla/5.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, e *env) {
				e.createCustomer(map[string]any{"key": "jane", "email": "jane@example.com", "name": "Jane", "referral_code": "JANE20"})
				status := tc.send(e)
				want := []int{http.StatusAccepted, http.StatusFound}
				if tc.stored == "" {
					want = []int{http.StatusUnprocessableEntity}
				}
				if !slices.Contains(want, status) {
					t.Fatalf("status %d, want one of %v", status, want)
				}
				// A good click in the same batch is stored all the same.
				if r := e.do(req{method: "POST", path: "/v1/track/click", body: e.beacon("https://yoursite.com/?ref=JANE20"),
					header: map[string]string{"Origin": "https://yoursite.com", "User-Agent": "Mozilla/5.0 (Macintosh) Safari/605"}}); r.Status != http.StatusAccepted {
					t.Fatalf("good beacon: %d %s", r.Status, r.Body)
				}
				clicks := e.storedClicks()
				wantN := 2
				if tc.stored == "" {
					wantN = 1
				}
				if len(clicks) != wantN {
					t.Fatalf("stored %d clicks %q, want %d", len(clicks), clicks, wantN)
				}
				for _, c := range clicks {
					for _, s := range c {
						if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
							t.Errorf("stored %q", s)
						}
					}
				}
				if tc.stored != "" && !slices.ContainsFunc(clicks, func(c [3]string) bool { return slices.Contains(c[:], tc.stored) }) {
					t.Errorf("stored %q, want a click with the text %q", clicks, tc.stored)
				}
			})
		})
	}
}
