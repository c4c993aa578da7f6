package dashboard_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// rule adds a reward rule to the env's program.
func (e *env) rule(t *testing.T, recipient, rewardType, unit string, amount int64, holdingDays int) {
	t.Helper()
	r := rewards.NewRule()
	r.ProgramID, r.Recipient, r.RewardType, r.Unit, r.Amount, r.HoldingDays = e.program.ID, recipient, rewardType, unit, amount, holdingDays
	if unit == rewards.Fixed {
		r.Currency = e.program.Currency
	}
	if err := e.db.InTx(context.Background(), func(tx *store.Tx) error { return tx.CreateRule(context.Background(), &r) }); err != nil {
		t.Fatal(err)
	}
}

// purchase records a payment of minor units by a customer.
func (e *env) purchase(t *testing.T, customerKey, key string, minor int64) {
	t.Helper()
	_, _, err := e.db.RecordTransaction(context.Background(), e.program, store.NewTransaction{
		CustomerKey: customerKey, Key: key, Type: rewards.Purchase, Amount: minor, Currency: e.program.Currency})
	if err != nil {
		t.Fatalf("purchase %s: %v", key, err)
	}
}

// clicks records n clicks on a customer's default link at the clock's now.
func (e *env) clicks(t *testing.T, customerKey string, n int) {
	t.Helper()
	links, err := e.db.CustomerLinks(context.Background(), e.program.ID, customerKey)
	if err != nil || len(links) == 0 {
		t.Fatalf("links of %s: %v", customerKey, err)
	}
	var cs []referral.Click
	for i := range n {
		cs = append(cs, referral.Click{ProgramID: e.program.ID, LinkID: links[0].ID, Source: referral.ClickShortLink,
			Visitor: customerKey + strconv.Itoa(i), At: e.db.Now().UTC()})
	}
	if err := e.db.InsertClicks(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
}

// chartData is the JSON the overview embeds for its charts.
type chartData struct {
	Labels     []string      `json:"labels"`
	Clicks     []int64       `json:"clicks"`
	Referrals  []int64       `json:"referrals"`
	Successful []int64       `json:"successful"`
	Rewards    []json.Number `json:"rewards"`
	Revenue    []json.Number `json:"revenue"`
	Currency   string        `json:"currency"`
}

var chartRE = regexp.MustCompile(`(?s)<script type="application/json" id="overview-data">(.*?)</script>`)

func (p *page) chart(t *testing.T) chartData {
	t.Helper()
	m := chartRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatal("no chart data in the page")
	}
	var d chartData
	dec := json.NewDecoder(strings.NewReader(m[1]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("chart data is not valid JSON: %v\n%s", err, m[1])
	}
	return d
}

// stat is the figure shown on the overview card with label.
func (p *page) stat(label string) string {
	re := regexp.MustCompile(`<div class="label">` + regexp.QuoteMeta(label) + `</div><div class="value">(.*?)</div>`)
	m := re.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(m[1], "")), " "))
}

func sum(s []int64) (n int64) {
	for _, v := range s {
		n += v
	}
	return n
}

// sumMoney adds up major-unit amounts exactly.
func sumMoney(t *testing.T, s []json.Number, currency string) (n int64) {
	t.Helper()
	for _, v := range s {
		m, err := money.Parse(v, currency)
		if err != nil {
			t.Fatalf("chart amount %q: %v", v, err)
		}
		n += m
	}
	return n
}

// The overview shows exactly what happened in the period: each figure
// and each chart series equals what was created.
func TestOverview(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		empty := c.get(e.path("")).want(t, http.StatusOK)
		empty.has(t, "No activity yet", "Nobody has referred anyone in this period yet.")
		if got := empty.stat("Clicks"); got != "0" {
			t.Errorf("clicks on an empty program: %q", got)
		}

		// USD 10 credit for the referrer, 20% off for the friend, on the
		// friend's first purchase, available at once.
		e.rule(t, rewards.Referrer, rewards.Credit, rewards.Fixed, 1000, 0)
		e.rule(t, rewards.Friend, rewards.Discount, rewards.Percentage, 2000, 0)

		// Forty days ago: one referral by Bob that bought for USD 200.
		e.clock.advance(-40 * 24 * time.Hour)
		jane := e.customer("jane", `<b>Jane</b> "JJ" Doe`, "")
		bob := e.customer("bob", "Bob Stone", "")
		e.customer("old-friend", "Olga Old", bob.ReferralCode)
		e.purchase(t, "old-friend", "order-old", 20000)
		e.clicks(t, "bob", 4)
		e.clock.advance(40 * 24 * time.Hour)

		// Two days ago: Jane's link is clicked, and three friends join.
		e.clock.advance(-2 * 24 * time.Hour)
		e.clicks(t, "jane", 7)
		e.customer("f1", "Fay One", jane.ReferralCode)
		e.customer("f2", "Finn Two", jane.ReferralCode)
		e.customer("f3", "Flo Three", jane.ReferralCode)
		e.clock.advance(2 * 24 * time.Hour)

		// Today: two friends buy (one twice, rewarded once), one refunds
		// part, someone who was not referred buys, and Bob's link gets
		// clicks and a new friend.
		e.purchase(t, "f1", "order-1", 10000)
		e.purchase(t, "f1", "order-2", 3000)
		e.purchase(t, "f2", "order-3", 5000)
		if err := e.db.InTx(t.Context(), func(tx *store.Tx) error {
			_, err := tx.Refund(t.Context(), e.program, "order-3", 2000, "damaged")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		e.customer("carl", "Carl Direct", "")
		e.purchase(t, "carl", "order-4", 99900)
		e.clicks(t, "bob", 2)
		e.customer("f4", "Gus Four", bob.ReferralCode)

		tests := []struct {
			query                                        string
			days                                         int
			clicks, referrals, successful                int64
			rewards, revenue                             int64
			conversion                                   string
			clicksOnDay, referralsOnDay, successfulOnDay map[int]int64 // days ago → figure
		}{
			{"", 30, 9, 4, 2, 2000, 16000, "50.0%", map[int]int64{2: 7, 0: 2}, map[int]int64{2: 3, 0: 1}, map[int]int64{0: 2}},
			{"?days=7", 7, 9, 4, 2, 2000, 16000, "50.0%", map[int]int64{2: 7, 0: 2}, map[int]int64{2: 3, 0: 1}, map[int]int64{0: 2}},
			{"?days=90", 90, 13, 5, 3, 3000, 36000, "60.0%", map[int]int64{40: 4, 2: 7, 0: 2}, map[int]int64{40: 1, 2: 3, 0: 1}, map[int]int64{40: 1, 0: 2}},
			{"?days=13", 30, 9, 4, 2, 2000, 16000, "50.0%", nil, nil, nil}, // not offered: the default
		}
		for _, tt := range tests {
			t.Run("period"+tt.query, func(t *testing.T) {
				p := c.get(e.path(tt.query)).want(t, http.StatusOK)
				figures := map[string]string{
					"Clicks": strconv.FormatInt(tt.clicks, 10), "Referrals": strconv.FormatInt(tt.referrals, 10),
					"Successful":     strconv.FormatInt(tt.successful, 10),
					"Rewards issued": "USD " + string(money.Format(tt.rewards, "USD")), "Referred revenue": "USD " + string(money.Format(tt.revenue, "USD")),
				}
				for label, want := range figures {
					if got := p.stat(label); got != want {
						t.Errorf("%s shows %q, want %q", label, got, want)
					}
				}
				if !strings.Contains(p.text(), tt.conversion+" conversion") {
					t.Errorf("conversion %s not shown: %s", tt.conversion, p.text())
				}
				d := p.chart(t)
				if len(d.Labels) != tt.days || d.Currency != "USD" {
					t.Fatalf("chart has %d days in %q, want %d in USD", len(d.Labels), d.Currency, tt.days)
				}
				if today := time.Now().UTC().Format("Jan 2"); d.Labels[len(d.Labels)-1] != today {
					t.Errorf("the chart ends on %q, want today %q", d.Labels[len(d.Labels)-1], today)
				}
				for _, s := range []struct {
					name  string
					got   []int64
					total int64
					days  map[int]int64
				}{{"clicks", d.Clicks, tt.clicks, tt.clicksOnDay}, {"referrals", d.Referrals, tt.referrals, tt.referralsOnDay},
					{"successful", d.Successful, tt.successful, tt.successfulOnDay}} {
					if len(s.got) != tt.days || sum(s.got) != s.total {
						t.Errorf("%s series %v: %d days summing to %d, want %d summing to %d", s.name, s.got, len(s.got), sum(s.got), tt.days, s.total)
						continue
					}
					for ago, want := range s.days {
						if got := s.got[tt.days-1-ago]; got != want {
							t.Errorf("%s %d days ago = %d, want %d", s.name, ago, got, want)
						}
					}
				}
				if got := sumMoney(t, d.Rewards, "USD"); got != tt.rewards {
					t.Errorf("rewards series sums to %d, want %d", got, tt.rewards)
				}
				if got := sumMoney(t, d.Revenue, "USD"); got != tt.revenue {
					t.Errorf("revenue series sums to %d, want %d", got, tt.revenue)
				}
			})
		}

		t.Run("top referrers", func(t *testing.T) {
			p := c.get(e.path("")).want(t, http.StatusOK)
			text := p.text()
			jane, bob := strings.Index(text, `<b>Jane</b> "JJ" Doe`), strings.Index(text, "Bob Stone")
			if jane < 0 || bob < 0 || jane > bob {
				t.Errorf("top referrers should list Jane (3 referrals) before Bob (1): %s", text)
			}
			if strings.Contains(p.Body, "<b>Jane</b>") {
				t.Error("HTML in a customer's name reached the page unescaped")
			}
			p.has(t, `&lt;b&gt;Jane&lt;/b&gt; &#34;JJ&#34; Doe`)
			if !regexp.MustCompile(`(?s)Jane.*?<td class="num">3</td><td class="num">2</td>`).MatchString(p.Body) {
				t.Error("Jane's row does not show 3 referrals, 2 successful")
			}
		})
	})
}

// The charts' library is served from the binary, never from a CDN.
func TestOverviewAssets(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		c := e.asOwner(t)
		p := c.get(e.path("")).want(t, http.StatusOK)
		for _, src := range regexp.MustCompile(`<script src="([^"]+)"`).FindAllStringSubmatch(p.Body, -1) {
			if !strings.HasPrefix(src[1], "/dashboard/assets/") {
				t.Errorf("script from %q", src[1])
				continue
			}
			a := c.get(src[1]).want(t, http.StatusOK)
			if ct := a.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") || len(a.Body) == 0 {
				t.Errorf("%s: %q, %d bytes", src[1], ct, len(a.Body))
			}
		}
		if !strings.Contains(p.Body, "chart-4.6.1.umd.min.js") {
			t.Error("the pinned Chart.js is not on the page")
		}
	})
}
