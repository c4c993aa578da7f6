package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// pendingRewards gives jane one pending signup reward (USD 10.00, held
// 30 days) for each friend named, and returns jane and the rewards,
// newest first.
func (e *env) pendingRewards(t *testing.T, friends ...string) (*referral.Customer, []*rewards.Reward) {
	t.Helper()
	e.addCreditRule(t, rewards.Signup, rewards.Referrer, 1000, 30)
	jane := e.customer("cus_jane", "Jane Doe", "")
	for _, f := range friends {
		e.customer(f, strings.ToUpper(f[:1])+f[1:]+" Friend", jane.ReferralCode)
	}
	return jane, e.rewardsOf(t, jane)
}

func (e *env) rewardsOf(t *testing.T, c *referral.Customer) []*rewards.Reward {
	t.Helper()
	rws, _, err := e.db.Rewards(t.Context(), e.program.ID, store.RewardFilter{CustomerID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	return rws
}

func statuses(rws []*rewards.Reward) string {
	var out []string
	for _, rw := range rws {
		out = append(out, rw.Status)
	}
	return strings.Join(out, " ")
}

func TestRewardQueue(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane, _ := e.pendingRewards(t, "ann", "ben")
		e.customer("cat", "<i>cat</i> Friend", jane.ReferralCode)
		rws := e.rewardsOf(t, jane)
		owner := e.asOwner(t)

		p := owner.get(e.path("rewards")).want(t, http.StatusOK)
		p.has(t, "Ann Friend", "Ben Friend", "&lt;i&gt;cat&lt;/i&gt; Friend", "Jane Doe", "USD 10.00", "Signup",
			`data-select-all="id"`, `name="id" value="`+rws[0].ID+`" form="bulk"`, "/export/rewards.csv")
		if strings.Contains(p.Body, "<i>cat</i>") {
			t.Error("a friend's name reached the queue unescaped")
		}
		if got := strings.Count(p.Body, `form="bulk"`); got != 3 {
			t.Errorf("%d reward checkboxes, want 3", got)
		}
		for _, tc := range []struct {
			status string
			rows   int
		}{{"pending", 3}, {"available", 0}, {"all", 3}, {"bogus", 3}} {
			t.Run("status "+tc.status, func(t *testing.T) {
				p := owner.get(e.path("rewards?status="+tc.status)).want(t, http.StatusOK)
				if got := strings.Count(p.Body, `class="badge status-pending"`); got != tc.rows {
					t.Errorf("%d pending rows, want %d", got, tc.rows)
				}
			})
		}
		t.Run("needs approval", func(t *testing.T) {
			p := *e.program
			p.RequireApproval = true
			if err := e.db.InTx(t.Context(), func(tx *store.Tx) error { return tx.UpdateProgram(t.Context(), &p) }); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.CreateCustomer(t.Context(), &p, referral.NewCustomer{Key: "dan", Email: "dan@example.com",
				Name: "Dan Friend", ReferredBy: jane.ReferralCode}); err != nil {
				t.Fatal(err)
			}
			page := owner.get(e.path("rewards")).want(t, http.StatusOK)
			if got := strings.Count(page.Body, "Needs approval"); got != 1 {
				t.Errorf("%d rewards flagged as needing approval, want Dan's only", got)
			}
			page.has(t, "On approval", "Every reward in this program waits for your approval.")
		})
		t.Run("viewer sees no forms", func(t *testing.T) {
			p := e.asViewer(t).get(e.path("rewards")).want(t, http.StatusOK)
			p.has(t, "Ann Friend")
			if strings.Contains(p.Body, "/rewards/approve") || strings.Contains(p.Body, `form="bulk"`) {
				t.Error("a viewer's queue has decision forms")
			}
		})
	})
}

func TestBulkApprove(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane, rws := e.pendingRewards(t, "ann", "ben", "cal")
		owner := e.asOwner(t)
		form := url.Values{"status": {"pending"}}
		for _, rw := range rws {
			form.Add("id", rw.ID)
		}
		p := owner.post(e.path("rewards/approve"), form).want(t, http.StatusSeeOther)
		if p.Location != e.path("rewards?status=pending") {
			t.Errorf("redirected to %q", p.Location)
		}
		next := owner.follow(p)
		if got := next.flash(); got != "3 approved." {
			t.Errorf("flash %q, want 3 approved.", got)
		}
		next.has(t, "Nothing waiting for you")
		if got := statuses(e.rewardsOf(t, jane)); got != "available available available" {
			t.Errorf("statuses %q, want all available", got)
		}
		if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 3000 || b.CreditPending != 0 {
			t.Errorf("balance %+v, want 30.00 available", b)
		}
	})
}

func TestBulkDecisionPartlyDone(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane, rws := e.pendingRewards(t, "ann", "ben", "cal")
		owner := e.asOwner(t)
		// A colleague approved one a moment ago, and one id is another
		// program's reward.
		other, _, _ := e.newProgram("Other", "USD", "https://other.example")
		r := rewards.Rule{ProgramID: other.ID, Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit,
			Unit: rewards.Fixed, Amount: 500, Currency: "USD", Recurrence: rewards.First, HoldingDays: 30, Active: true}
		ctx := t.Context()
		if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &r) }); err != nil {
			t.Fatal(err)
		}
		olga, err := e.db.CreateCustomer(ctx, other, referral.NewCustomer{Key: "olga", Email: "olga@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.CreateCustomer(ctx, other, referral.NewCustomer{Key: "oleg", Email: "oleg@example.com", ReferredBy: olga.ReferralCode}); err != nil {
			t.Fatal(err)
		}
		foreign, _, err := e.db.Rewards(ctx, other.ID, store.RewardFilter{})
		if err != nil || len(foreign) != 1 {
			t.Fatalf("other program's rewards: %v %v", foreign, err)
		}
		owner.post(e.path("rewards/approve"), url.Values{"id": {rws[1].ID}}).want(t, http.StatusSeeOther)

		form := url.Values{"id": {rws[0].ID, rws[1].ID, rws[2].ID, foreign[0].ID}}
		p := owner.post(e.path("rewards/approve"), form).want(t, http.StatusSeeOther)
		if got := owner.follow(p).flash(); got != "2 approved, 1 skipped: already decided, 1 skipped: not found." {
			t.Errorf("flash %q", got)
		}
		if got := statuses(e.rewardsOf(t, jane)); got != "available available available" {
			t.Errorf("statuses %q, want all available", got)
		}
		if again, _, _ := e.db.Rewards(ctx, other.ID, store.RewardFilter{}); again[0].Status != rewards.Pending {
			t.Errorf("another program's reward became %s", again[0].Status)
		}

		p = owner.post(e.path("rewards/reject"), url.Values{"id": {rws[0].ID}, "reason": {"late"}}).want(t, http.StatusSeeOther)
		if got := owner.follow(p).flash(); got != "0 rejected, 1 skipped: already decided." {
			t.Errorf("flash %q", got)
		}
	})
}

func TestReject(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane, rws := e.pendingRewards(t, "ann", "ben")
		owner := e.asOwner(t)

		t.Run("without a reason", func(t *testing.T) {
			p := owner.post(e.path("rewards/reject"), url.Values{"id": {rws[0].ID}, "reason": {"  "}}).want(t, http.StatusUnprocessableEntity)
			if got := p.fieldError("bulk-reason"); !strings.Contains(got, "Say why") {
				t.Errorf("reason error %q", got)
			}
			p.has(t, `value="`+rws[0].ID+`" form="bulk" aria-label="Select the reward for Jane Doe" checked`)
			if got := statuses(e.rewardsOf(t, jane)); got != "pending pending" {
				t.Errorf("statuses %q, want nothing decided", got)
			}
		})
		t.Run("nothing selected", func(t *testing.T) {
			p := owner.post(e.path("rewards/approve"), url.Values{}).want(t, http.StatusUnprocessableEntity)
			p.has(t, "Select at least one reward first.")
		})
		t.Run("one, with a reason", func(t *testing.T) {
			p := owner.post(e.path("rewards/reject"), url.Values{"id": {rws[0].ID}, "reason": {"Same card as the referrer"}, "status": {"all"}}).
				want(t, http.StatusSeeOther)
			if p.Location != e.path("rewards?status=all") {
				t.Errorf("redirected to %q", p.Location)
			}
			if got := owner.follow(p).flash(); got != "1 rejected." {
				t.Errorf("flash %q", got)
			}
			rw, err := e.db.Reward(t.Context(), e.program.ID, rws[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if rw.Status != rewards.Rejected || rw.RejectReason != "Same card as the referrer" {
				t.Errorf("reward %s with reason %q", rw.Status, rw.RejectReason)
			}
			if b := e.storeBalance(t, jane, "USD"); b.CreditPending != 1000 {
				t.Errorf("balance %+v, want the other 10.00 still pending", b)
			}
			owner.get(e.path("rewards?status=rejected")).has(t, "Same card as the referrer", "status-rejected")
		})
		t.Run("viewer", func(t *testing.T) {
			v := e.asViewer(t)
			v.post(e.path("rewards/approve"), url.Values{"id": {rws[1].ID}}).want(t, http.StatusForbidden)
			v.post(e.path("rewards/reject"), url.Values{"id": {rws[1].ID}, "reason": {"x"}}).want(t, http.StatusForbidden)
			if rw, _ := e.db.Reward(t.Context(), e.program.ID, rws[1].ID); rw.Status != rewards.Pending {
				t.Errorf("a viewer decided a reward: %s", rw.Status)
			}
		})
		t.Run("another program id", func(t *testing.T) {
			owner.get("/dashboard/p/prg_nope/rewards").want(t, http.StatusNotFound)
			owner.post("/dashboard/p/prg_nope/rewards/approve", url.Values{"id": {rws[1].ID}}).want(t, http.StatusNotFound)
		})
	})
}
