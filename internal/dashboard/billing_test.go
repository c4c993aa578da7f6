package dashboard

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// A reward's billing actions are shown on the rewards queue and the
// customer page: kind, amount, status, Stripe ids and error.
func TestRewardBillingShown(t *testing.T) {
	r := &rewards.Reward{ID: "rwd_1", CustomerKey: "jane", FriendKey: "joe", RewardType: "credit", Amount: 2000, Currency: "USD",
		Status: rewards.Available, Trigger: "purchase", Recipient: "referrer", CreatedAt: time.Now(), AvailableAt: time.Now(),
		Billing: []rewards.BillingAction{
			{Provider: "stripe", Kind: "credit", Status: "done", Amount: 2000, Currency: "USD", IDs: []string{"cbtxn_1Nq2"}},
			{Provider: "stripe", Kind: "debit", Status: "failed", Amount: 500, Currency: "USD",
				Error: "The Stripe key cannot create balance transactions: it lacks permission for customers."},
		}}
	row := &store.RewardRow{Reward: r, CustomerName: "Jane", FriendName: "Joe"}
	p := &referral.Program{ID: "prg_1", Name: "Acme"}
	pages := mustParsePages()
	var buf bytes.Buffer
	v := &view{Program: p, Data: rewardsData{Status: "all", Tabs: rewardTabs, Counts: map[string]int{}, Rows: []*store.RewardRow{row}}}
	if err := pages.sets["rewards"].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`<span class="badge status-done">Stripe balance credit USD 20.00: done</span> <code class="billing-id">cbtxn_1Nq2</code>`,
		`<span class="badge status-failed">Stripe balance clawback USD 5.00: failed</span><br><small class="error">The Stripe key cannot create balance transactions: it lacks permission for customers.</small>`,
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the rewards queue lacks %s", want)
		}
	}

	buf.Reset()
	discount := []rewards.BillingAction{{Provider: "stripe", Kind: "discount", Status: "pending"},
		{Provider: "stripe", Kind: "void", Status: "skipped", Error: "no_stripe_customer"}}
	if err := pages.sets["customer"].ExecuteTemplate(&buf, "billing", discount); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`status-pending">Stripe promotion code: pending</span>`, `status-skipped">Stripe promotion code deactivated: skipped</span><br><small class="error">The recipient has no Stripe customer yet`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the customer page's billing lacks %s: %s", want, buf.String())
		}
	}
	if !strings.Contains(mustRead(t, "templates/customer.html"), `{{template "billing" .Billing}}`) {
		t.Error("the customer page does not show billing")
	}
	buf.Reset()
	if err := pages.sets["rewards"].ExecuteTemplate(&buf, "billing", []rewards.BillingAction(nil)); err != nil || buf.Len() != 0 {
		t.Errorf("no billing renders %q, %v", buf.String(), err)
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := templateFS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
