package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type leader struct {
	Rank                int    `json:"rank"`
	DisplayName         string `json:"display_name"`
	CustomerKey         string `json:"customer_key"`
	SuccessfulReferrals int    `json:"successful_referrals"`
}

type widgetLeader struct {
	Rank                int    `json:"rank"`
	DisplayName         string `json:"display_name"`
	SuccessfulReferrals int    `json:"successful_referrals"`
	You                 bool   `json:"you"`
}

// TestLeaderboard: GET /v1/leaderboard ranks referrers by successful
// referrals, of all time or of the month, without pending, refunded or
// rejected referrals, by display name and key; the widget shows the same
// board without keys only once the program turns show_leaderboard on.
func TestLeaderboard(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		clock := e.useClock(time.Date(2025, 1, 20, 9, 0, 0, 0, time.UTC))
		e.createRule(`{"trigger": "purchase", "reward_type": "credit", "amount": 10, "holding_days": 30}`)
		for key, name := range map[string]string{"ann": "Ann Lee", "bob": "Bob Stone", "cat": "cat", "dan": "dan@example.com", "fay": "Fay Wu", "gus": "Gus Oak"} {
			e.createCustomer(map[string]any{"key": key, "email": key + "@example.com", "name": name, "referral_code": e.code(key)})
		}
		n := 0
		refer := func(by string, pays bool) string {
			n++
			key := fmt.Sprintf("%s-friend-%d", by, n)
			e.friend(key, by)
			if pays {
				e.purchase(key, "t-"+key, "50")
			}
			clock.Add(time.Second)
			return key
		}
		// January: Ann 2, Bob 1.
		refer("ann", true)
		refer("ann", true)
		refer("bob", true)
		// February: Bob 2 more, Cat then Dan 1 each; Fay's friends have
		// not paid, Ann's third friend's payment is refunded and Gus's
		// rewards are rejected.
		clock.Add(21 * 24 * time.Hour)
		refer("bob", true)
		refer("bob", true)
		refer("cat", true)
		refer("dan", true)
		refer("fay", false)
		refer("fay", false)
		e.refund("t-"+refer("ann", true), "")
		refer("gus", true)
		refer("gus", true)
		for _, rw := range e.rewards("customer_key=gus") {
			e.want(e.do(req{method: "POST", path: "/v1/rewards/" + rw.ID + "/reject", key: e.sk, body: map[string]any{"reason": "Fraud"}}), 200, "reject")
		}

		board := func(t *testing.T, query string) (string, []leader) {
			t.Helper()
			resp := e.in(t).do(req{method: "GET", path: "/v1/leaderboard" + query, key: e.sk})
			e.in(t).want(resp, http.StatusOK, "leaderboard"+query)
			var out struct {
				Data   []leader `json:"data"`
				Period string   `json:"period"`
			}
			resp.json(t, &out)
			if bytes.Contains(resp.Body, []byte("@")) {
				t.Errorf("the leaderboard shows an email: %s", resp.Body)
			}
			return out.Period, out.Data
		}
		bob, ann, cat, dan := leader{0, "Bob S.", "bob", 0}, leader{0, "Ann L.", "ann", 0}, leader{0, "cat", "cat", 0}, leader{0, "Anonymous", "dan", 0}
		at := func(rank int, l leader, n int) leader { l.Rank, l.SuccessfulReferrals = rank, n; return l }
		for _, tc := range []struct {
			name, query, period string
			want                []leader
		}{
			{"all by default", "", "all", []leader{at(1, bob, 3), at(2, ann, 2), at(3, cat, 1), at(4, dan, 1)}},
			{"all", "?period=all", "all", []leader{at(1, bob, 3), at(2, ann, 2), at(3, cat, 1), at(4, dan, 1)}},
			{"month", "?period=month", "month", []leader{at(1, bob, 2), at(2, cat, 1), at(3, dan, 1)}},
			{"limit", "?limit=2", "all", []leader{at(1, bob, 3), at(2, ann, 2)}},
			{"month with a limit", "?period=month&limit=1", "month", []leader{at(1, bob, 2)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				period, got := board(t, tc.query)
				if period != tc.period {
					t.Errorf("period %q, want %q", period, tc.period)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("leaderboard (-want +got):\n%s", diff)
				}
			})
		}

		t.Run("refused", func(t *testing.T) {
			before := e.counts()
			for _, tc := range []struct {
				name, query, key string
				status           int
				code, field      string
			}{
				{"unknown period", "?period=week", e.sk, 422, "invalid_period", "period"},
				{"period in capitals", "?period=MONTH", e.sk, 422, "invalid_period", "period"},
				{"limit 0", "?limit=0", e.sk, 422, "invalid_limit", "limit"},
				{"limit 101", "?limit=101", e.sk, 422, "invalid_limit", "limit"},
				{"limit not a number", "?limit=ten", e.sk, 422, "invalid_limit", "limit"},
				{"publishable key", "", e.pk, 403, "secret_key_required", ""},
				{"no key", "", "", 401, "invalid_api_key", ""},
			} {
				t.Run(tc.name, func(t *testing.T) {
					e.in(t).wantProblem(e.in(t).do(req{method: "GET", path: "/v1/leaderboard" + tc.query, key: tc.key}), tc.status, tc.code, tc.field)
				})
			}
			e.unchanged(before)
		})

		widget := func(t *testing.T, key string) []byte {
			t.Helper()
			resp := e.in(t).do(req{method: "GET", path: "/v1/widget?customer_key=" + key + "&customer_hash=" + e.program.CustomerHash(key), key: e.pk})
			e.in(t).want(resp, http.StatusOK, "widget")
			return resp.Body
		}
		t.Run("widget without the leaderboard", func(t *testing.T) {
			if body := widget(t, "cat"); bytes.Contains(body, []byte("leaderboard")) {
				t.Errorf("the program does not show a leaderboard, but the widget has one: %s", body)
			}
		})
		t.Run("widget with the leaderboard", func(t *testing.T) {
			if p, _ := e.in(t).getProgram(e.sk); p.ShowLeaderboard {
				t.Fatal("show_leaderboard is on by default")
			}
			e.in(t).want(e.in(t).do(req{method: "PUT", path: "/v1/program", key: e.sk, body: map[string]any{"show_leaderboard": true}}), 200, "turn it on")
			if p, _ := e.in(t).getProgram(e.sk); !p.ShowLeaderboard {
				t.Fatal("show_leaderboard did not turn on")
			}
			body := widget(t, "cat")
			var got struct {
				Leaderboard []widgetLeader `json:"leaderboard"`
			}
			(&response{Body: body}).json(t, &got)
			want := []widgetLeader{{1, "Bob S.", 3, false}, {2, "Ann L.", 2, false}, {3, "cat", 1, true}, {4, "Anonymous", 1, false}}
			if diff := cmp.Diff(want, got.Leaderboard); diff != "" {
				t.Errorf("widget leaderboard (-want +got):\n%s", diff)
			}
			for _, leak := range []string{"@", `"ann"`, `"bob"`, `"dan"`, "customer_key"} {
				if bytes.Contains(body, []byte(leak)) {
					t.Errorf("the widget shows %s: %s", leak, body)
				}
			}
			// Fay is on no board: the widget still lists the others, none as her.
			var fay struct {
				Leaderboard []widgetLeader `json:"leaderboard"`
			}
			(&response{Body: widget(t, "fay")}).json(t, &fay)
			for _, l := range fay.Leaderboard {
				if l.You {
					t.Errorf("fay has no successful referral but row %+v is hers", l)
				}
			}
			if len(fay.Leaderboard) != 4 {
				t.Errorf("fay's widget lists %d referrers, want 4", len(fay.Leaderboard))
			}
		})
	})
}
