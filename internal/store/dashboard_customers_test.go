package store_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// dashboardFixture is a program where jane referred bob and carl, a
// signup rule gave jane a pending credit for each, and dan came on his own.
type dashboardFixture struct {
	p                    *referral.Program
	jane, bob, carl, dan *referral.Customer
	ann                  *referral.Customer // named with LIKE wildcards
	extraCode            string             // an extra link of dan's
}

func newDashboardFixture(t *testing.T, db *store.DB) *dashboardFixture {
	t.Helper()
	ctx := t.Context()
	stepClock(db, time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	f := &dashboardFixture{p: newProgram(t, db)}
	rule := rewards.Rule{ProgramID: f.p.ID, Trigger: rewards.Signup, Recipient: rewards.Referrer, RewardType: rewards.Credit,
		Unit: rewards.Fixed, Amount: 1000, Currency: "USD", Recurrence: rewards.First, HoldingDays: 30, Active: true}
	if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &rule) }); err != nil {
		t.Fatal(err)
	}
	f.jane = newCustomer(t, db, f.p, referral.NewCustomer{Key: "cus_jane", Email: "Jane.Doe@Example.com", Name: "Jane Doe"})
	f.bob = newCustomer(t, db, f.p, referral.NewCustomer{Key: "cus_bob", Email: "bob@example.com", Name: "Bob Stone", ReferredBy: f.jane.ReferralCode})
	f.carl = newCustomer(t, db, f.p, referral.NewCustomer{Key: "cus_carl", Email: "carl@example.com", Name: "Carl Doe", ReferredBy: f.jane.ReferralCode})
	f.dan = newCustomer(t, db, f.p, referral.NewCustomer{Key: "CUS_DAN", Email: "dan@example.com", Name: "Dan"})
	f.ann = newCustomer(t, db, f.p, referral.NewCustomer{Key: "cus_ann", Email: "ann@example.com", Name: "Ann 50%_off"})
	err := db.InTx(ctx, func(tx *store.Tx) error {
		l, err := tx.CreateLink(ctx, f.p, "CUS_DAN", "https://yoursite.com/pricing", "SPRING-DAN")
		if err != nil {
			return err
		}
		f.extraCode = l.Code
		return tx.Credit(ctx, f.p.ID, f.dan, 250, "EUR", "goodwill")
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func keysOf(rows []*store.CustomerRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Key)
	}
	return out
}

func TestCustomerRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newDashboardFixture(t, db)
		list := func(t *testing.T, q store.CustomerQuery) ([]*store.CustomerRow, bool) {
			t.Helper()
			rows, more, err := db.CustomerRows(t.Context(), f.p.ID, "USD", q)
			if err != nil {
				t.Fatal(err)
			}
			return rows, more
		}
		for _, tc := range []struct {
			name string
			q    store.CustomerQuery
			want []string
		}{
			{"everyone, newest first", store.CustomerQuery{}, []string{"cus_ann", "CUS_DAN", "cus_carl", "cus_bob", "cus_jane"}},
			{"email prefix, any case", store.CustomerQuery{Search: "JANE.d"}, []string{"cus_jane"}},
			{"email suffix is not a prefix", store.CustomerQuery{Search: "example.com"}, nil},
			{"name substring", store.CustomerQuery{Search: "doe"}, []string{"cus_carl", "cus_jane"}},
			{"key prefix, any case", store.CustomerQuery{Search: "cus_d"}, []string{"CUS_DAN"}},
			{"default code, lower case", store.CustomerQuery{Search: " " + strings.ToLower(f.jane.ReferralCode) + " "}, []string{"cus_jane"}},
			{"extra link code", store.CustomerQuery{Search: "spring-dan"}, []string{"CUS_DAN"}},
			{"percent is literal", store.CustomerQuery{Search: "50%"}, []string{"cus_ann"}},
			{"underscore is literal", store.CustomerQuery{Search: "%_o"}, []string{"cus_ann"}},
			{"no match", store.CustomerQuery{Search: "zzz"}, nil},
			{"referred", store.CustomerQuery{Filter: store.FilterReferred}, []string{"cus_carl", "cus_bob"}},
			{"not referred", store.CustomerQuery{Filter: store.FilterNotReferred}, []string{"cus_ann", "CUS_DAN", "cus_jane"}},
			{"pending rewards", store.CustomerQuery{Filter: store.FilterPendingRewards}, []string{"cus_jane"}},
			{"search and filter", store.CustomerQuery{Search: "doe", Filter: store.FilterReferred}, []string{"cus_carl"}},
			{"referred by jane", store.CustomerQuery{ReferrerID: f.jane.ID}, []string{"cus_carl", "cus_bob"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rows, more := list(t, tc.q)
				if got := keysOf(rows); !slices.Equal(got, tc.want) || more {
					t.Errorf("got %v (more %v), want %v", got, more, tc.want)
				}
			})
		}

		t.Run("figures", func(t *testing.T) {
			rows, _ := list(t, store.CustomerQuery{})
			byKey := map[string]*store.CustomerRow{}
			for _, r := range rows {
				byKey[r.Key] = r
			}
			jane, bob, dan := byKey["cus_jane"], byKey["cus_bob"], byKey["CUS_DAN"]
			if jane.Referrals != 2 || jane.Successful != 2 || jane.Balance.CreditPending != 2000 || jane.Balance.Currency != "USD" {
				t.Errorf("jane: %d referrals, %d successful, balance %+v; want 2, 2, USD 20.00 pending", jane.Referrals, jane.Successful, jane.Balance)
			}
			if bob.ReferrerKey != "cus_jane" || bob.ReferrerName != "Jane Doe" || bob.ReferrerEmail != "Jane.Doe@Example.com" || bob.ConvertedAt == nil {
				t.Errorf("bob: referrer %q %q %q, converted %v; want jane, converted", bob.ReferrerKey, bob.ReferrerName, bob.ReferrerEmail, bob.ConvertedAt)
			}
			if dan.Referrals != 0 || dan.Balance != (rewards.Balance{Currency: "USD"}) {
				t.Errorf("dan: %d referrals, balance %+v; want none in USD (his credit is in EUR)", dan.Referrals, dan.Balance)
			}
		})

		t.Run("keyset pages both ways", func(t *testing.T) {
			p1, more := list(t, store.CustomerQuery{Limit: 2})
			if got := keysOf(p1); !slices.Equal(got, []string{"cus_ann", "CUS_DAN"}) || !more {
				t.Fatalf("page 1: %v more %v", got, more)
			}
			p2, more := list(t, store.CustomerQuery{Limit: 2, After: p1[1].ID})
			if got := keysOf(p2); !slices.Equal(got, []string{"cus_carl", "cus_bob"}) || !more {
				t.Fatalf("page 2: %v more %v", got, more)
			}
			p3, more := list(t, store.CustomerQuery{Limit: 2, After: p2[1].ID})
			if got := keysOf(p3); !slices.Equal(got, []string{"cus_jane"}) || more {
				t.Fatalf("page 3: %v more %v", got, more)
			}
			back, more := list(t, store.CustomerQuery{Limit: 2, Before: p3[0].ID})
			if got := keysOf(back); !slices.Equal(got, []string{"cus_carl", "cus_bob"}) || !more {
				t.Errorf("back from page 3: %v more %v, want page 2 with newer rows before it", got, more)
			}
			first, more := list(t, store.CustomerQuery{Limit: 2, Before: p2[0].ID})
			if got := keysOf(first); !slices.Equal(got, []string{"cus_ann", "CUS_DAN"}) || more {
				t.Errorf("back from page 2: %v more %v, want page 1 and nothing newer", got, more)
			}
		})

		t.Run("deleted customers are hidden", func(t *testing.T) {
			if err := db.InTx(t.Context(), func(tx *store.Tx) error {
				_, err := tx.DeleteCustomer(t.Context(), f.p.ID, "cus_ann")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			rows, _ := list(t, store.CustomerQuery{Search: "ann"})
			if len(rows) != 0 {
				t.Errorf("got %v, want no deleted customer", keysOf(rows))
			}
			for _, tc := range []struct {
				limit int
				want  store.CustomerCounts
			}{{100, store.CustomerCounts{Total: 4, Referred: 2}}, {4, store.CustomerCounts{Total: 4, Referred: 2}}, {2, store.CustomerCounts{Total: 2}}} {
				n, err := db.CountCustomers(t.Context(), f.p.ID, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				// Capped at 2, the count reads jane and bob (or any two):
				// only the total is defined.
				if tc.limit == 2 {
					n.Referred = 0
				}
				if n != tc.want {
					t.Errorf("counts up to %d: %+v, want %+v", tc.limit, n, tc.want)
				}
			}
		})

		t.Run("other program sees nothing", func(t *testing.T) {
			other, err := referral.NewProgram("Other", "USD", "https://other.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateProgram(t.Context(), other) }); err != nil {
				t.Fatal(err)
			}
			rows, _, err := db.CustomerRows(t.Context(), other.ID, "USD", store.CustomerQuery{Search: strings.ToLower(f.jane.ReferralCode)})
			if err != nil || len(rows) != 0 {
				t.Errorf("got %v, %v; want nothing", keysOf(rows), err)
			}
		})
	})
}

func TestCustomerBalancesAndTransactions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		f := newDashboardFixture(t, db)
		t.Run("every currency, the program's first", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				c    *referral.Customer
				want []rewards.Balance
			}{
				{"jane holds USD", f.jane, []rewards.Balance{{Currency: "USD", CreditPending: 2000}}},
				{"dan holds EUR only", f.dan, []rewards.Balance{{Currency: "USD"}, {Currency: "EUR", CreditAvailable: 250}}},
				{"bob holds nothing", f.bob, []rewards.Balance{{Currency: "USD"}}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := db.CustomerBalances(ctx, f.p.ID, tc.c.ID, "USD")
					if err != nil {
						t.Fatal(err)
					}
					var plain []rewards.Balance
					for _, b := range got {
						plain = append(plain, *b)
					}
					if !slices.Equal(plain, tc.want) {
						t.Errorf("got %+v, want %+v", plain, tc.want)
					}
				})
			}
		})
		t.Run("transactions page", func(t *testing.T) {
			for _, key := range []string{"inv_1", "inv_2", "inv_3"} {
				if _, _, err := db.RecordTransaction(ctx, f.p, store.NewTransaction{CustomerKey: "cus_bob", Key: key,
					Type: rewards.Purchase, Amount: 5000, Currency: "USD"}); err != nil {
					t.Fatal(err)
				}
			}
			got, more, err := db.CustomerTransactions(ctx, f.p.ID, f.bob.ID, store.Page{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Key != "inv_3" || got[1].Key != "inv_2" || !more {
				t.Fatalf("got %d (more %v), want inv_3, inv_2 and more", len(got), more)
			}
			rest, more, err := db.CustomerTransactions(ctx, f.p.ID, f.bob.ID, store.Page{Limit: 2, After: got[1].ID})
			if err != nil || len(rest) != 1 || rest[0].Key != "inv_1" || more {
				t.Errorf("page 2: %d rows, more %v, err %v; want inv_1 only", len(rest), more, err)
			}
			none, _, err := db.CustomerTransactions(ctx, f.p.ID, f.jane.ID, store.Page{})
			if err != nil || len(none) != 0 {
				t.Errorf("jane: %d transactions, %v; want none", len(none), err)
			}
		})
	})
}

func TestRewardRows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		f := newDashboardFixture(t, db)
		rows, more, err := db.RewardRows(ctx, f.p.ID, store.RewardQuery{Status: rewards.Pending})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || more {
			t.Fatalf("got %d pending rewards (more %v), want 2", len(rows), more)
		}
		newest := rows[0]
		if newest.FriendKey != "cus_carl" || newest.FriendName != "Carl Doe" || newest.FriendEmail != "carl@example.com" ||
			newest.CustomerKey != "cus_jane" || newest.CustomerName != "Jane Doe" || newest.RuleName != "" || newest.Amount != 1000 {
			t.Errorf("newest: %+v, want jane's reward for carl", newest)
		}
		approveReward(t, db, f.p.ID, rows[1].ID)
		for _, tc := range []struct {
			name string
			q    store.RewardQuery
			want []string
			more bool
		}{
			{"pending", store.RewardQuery{Status: rewards.Pending}, []string{"cus_carl"}, false},
			{"available", store.RewardQuery{Status: rewards.Available}, []string{"cus_bob"}, false},
			{"all", store.RewardQuery{}, []string{"cus_carl", "cus_bob"}, false},
			{"first page of one", store.RewardQuery{Limit: 1}, []string{"cus_carl"}, true},
			{"after the newest", store.RewardQuery{Limit: 1, After: newest.ID}, []string{"cus_bob"}, false},
			{"before the oldest", store.RewardQuery{Limit: 1, Before: rows[1].ID}, []string{"cus_carl"}, false},
			{"jane's", store.RewardQuery{CustomerID: f.jane.ID}, []string{"cus_carl", "cus_bob"}, false},
			{"bob's", store.RewardQuery{CustomerID: f.bob.ID}, nil, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, more, err := db.RewardRows(ctx, f.p.ID, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var friends []string
				for _, r := range got {
					friends = append(friends, r.FriendKey)
				}
				if !slices.Equal(friends, tc.want) || more != tc.more {
					t.Errorf("friends %v (more %v), want %v (more %v)", friends, more, tc.want, tc.more)
				}
			})
		}
		counts, err := db.CountRewards(ctx, f.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if counts[rewards.Pending] != 1 || counts[rewards.Available] != 1 || len(counts) != 2 {
			t.Errorf("counts %v, want 1 pending and 1 available", counts)
		}
	})
}

func approveReward(t *testing.T, db *store.DB, programID, rewardID string) {
	t.Helper()
	err := db.InTx(t.Context(), func(tx *store.Tx) error {
		_, err := tx.ApproveReward(t.Context(), programID, rewardID)
		return err
	})
	if err != nil {
		t.Fatalf("approve %s: %v", rewardID, err)
	}
}
