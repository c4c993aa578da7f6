package store_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestLeaderboard ranks referrers by successful referrals over all time
// and over the current month, leaving out pending, refunded and rejected
// referrals and deleted referrers, and breaking ties by who got there
// first.
func TestLeaderboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var mu sync.Mutex
		now := time.Date(2025, 1, 20, 9, 0, 0, 0, time.UTC)
		db.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Millisecond)
			return now
		}
		jump := func(to time.Time) { mu.Lock(); now = to; mu.Unlock() }

		p := newProgram(t, db)
		rule, err := db.CreateRule(ctx, rewards.Rule{ProgramID: p.ID, Trigger: rewards.Purchase, Recipient: rewards.Referrer,
			RewardType: rewards.Credit, Unit: rewards.Fixed, Amount: 1000, Currency: "USD", Recurrence: rewards.First,
			HoldingDays: 30, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		other := newProgram(t, db) // its referrals are no one's in p
		referrer := func(p *referral.Program, key, name string) *referral.Customer {
			return newCustomer(t, db, p, referral.NewCustomer{Key: key, Email: key + "@people.example", Name: name})
		}
		n := 0
		friend := func(p *referral.Program, by *referral.Customer, pays bool) string {
			t.Helper()
			n++
			key := by.Key + "-friend-" + strconv.Itoa(n)
			newCustomer(t, db, p, referral.NewCustomer{Key: key, Email: key + "@people.example", ReferredBy: by.ReferralCode})
			if pays {
				if _, _, err := db.RecordTransaction(ctx, p, store.NewTransaction{CustomerKey: key, Key: "t-" + key,
					Type: rewards.Purchase, Amount: 5000, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
			}
			return key
		}

		dan := referrer(p, "dan", "") // older than cat, but reaches 1 later
		cat := referrer(p, "cat", "cat")
		ann := referrer(p, "ann", "Ann Lee")
		bob := referrer(p, "bob", "Bob Stone")
		eve := referrer(p, "eve", "eve@example.com")
		fay := referrer(p, "fay", "Fay Wu")
		gus := referrer(p, "gus", "Gus Oak")
		stranger := referrer(other, "zed", "Zed")

		// January: Ann 2, Bob 1.
		friend(p, ann, true)
		friend(p, ann, true)
		friend(p, bob, true)
		// February: Bob 2 more, Cat then Dan 1 each; Eve 4 but deleted;
		// Fay only pending; Gus's are rejected; Ann's third is refunded.
		jump(time.Date(2025, 2, 10, 9, 0, 0, 0, time.UTC))
		friend(p, bob, true)
		friend(p, bob, true)
		friend(p, cat, true)
		friend(p, dan, true)
		for range 4 {
			friend(p, eve, true)
			friend(p, fay, false)
			friend(other, stranger, true)
		}
		if _, err := db.DeleteCustomer(ctx, p.ID, "eve"); err != nil {
			t.Fatal(err)
		}
		refunded := friend(p, ann, true)
		if _, err := db.Refund(ctx, p, store.RefundRequest{Key: "t-" + refunded}); err != nil {
			t.Fatal(err)
		}
		friend(p, gus, true)
		friend(p, gus, true)
		rws, _, err := db.Rewards(ctx, p.ID, store.RewardFilter{CustomerID: gus.ID})
		if err != nil || len(rws) != 2 {
			t.Fatalf("gus's rewards: %v %v, want 2 (rule %s)", rws, err, rule.ID)
		}
		for _, r := range rws {
			if _, err := db.RejectReward(ctx, p.ID, r.ID, "fraud"); err != nil {
				t.Fatal(err)
			}
		}

		row := func(rank int, c *referral.Customer, n int) referral.Leader {
			return referral.Leader{Rank: rank, CustomerID: c.ID, CustomerKey: c.Key, Name: c.Name, SuccessfulReferrals: n}
		}
		for _, tc := range []struct {
			name   string
			period string
			limit  int
			want   []referral.Leader
		}{
			{"all", referral.PeriodAll, 0, []referral.Leader{row(1, bob, 3), row(2, ann, 2), row(3, cat, 1), row(4, dan, 1)}},
			{"month", referral.PeriodMonth, 0, []referral.Leader{row(1, bob, 2), row(2, cat, 1), row(3, dan, 1)}},
			{"limit", referral.PeriodAll, 2, []referral.Leader{row(1, bob, 3), row(2, ann, 2)}},
			{"limit above the most", referral.PeriodMonth, 1000, []referral.Leader{row(1, bob, 2), row(2, cat, 1), row(3, dan, 1)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.Leaderboard(ctx, p.ID, tc.period, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("leaderboard (-want +got):\n%s", diff)
				}
			})
		}

		t.Run("next month starts empty", func(t *testing.T) {
			jump(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
			got, err := db.Leaderboard(ctx, p.ID, referral.PeriodMonth, 0)
			if err != nil || len(got) != 0 {
				t.Errorf("March: %v %v, want no one", got, err)
			}
		})
		t.Run("bad period", func(t *testing.T) {
			_, err := db.Leaderboard(ctx, p.ID, "week", 0)
			if e, ok := referral.AsError(err); !ok || e.Fields["period"] == "" {
				t.Errorf("got %v, want an error naming period", err)
			}
		})
	})
}
