package store_test

// Concurrency of the money paths, outside the rewards simulation: the
// same payments delivered from many goroutines at once, and one balance
// spent from many checkouts at once. Run it with -race.

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestConcurrentTransactionsExactlyOnce delivers the same payments from
// many goroutines at once, as a retrying billing webhook and a client both
// would, and spends one balance from many checkouts at once: each payment
// is recorded and rewarded exactly once, and a balance never goes below
// zero. Run it with -race.
func TestConcurrentTransactionsExactlyOnce(t *testing.T) {
	const goroutines = 16
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		newRule := func(in rewards.RuleInput) {
			t.Helper()
			base := rewards.NewRule()
			base.ProgramID = p.ID
			r, err := rewards.Apply(base, in, p.Currency)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &r) }); err != nil {
				t.Fatal(err)
			}
		}
		str := func(s string) *string { return &s }
		num := func(n string) *money.Number { v := money.Number(n); return &v }
		referrer := newCustomer(t, db, p, referral.NewCustomer{Key: "ref", Email: "ref@example.com", Name: "Referrer"})
		friend := func(i int) *referral.Customer {
			return newCustomer(t, db, p, referral.NewCustomer{Key: fmt.Sprint("friend-", i), Email: fmt.Sprintf("friend%d@example.com", i),
				Name: "Friend", ReferredBy: referrer.ReferralCode})
		}
		// deliver records every payment from every goroutine, each in its
		// own order, and returns each payment's results.
		deliver := func(t *testing.T, payments []store.NewTransaction) [][]*rewards.Transaction {
			results := make([][]*rewards.Transaction, len(payments))
			created := make([]int, len(payments))
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for g := range goroutines {
				wg.Go(func() {
					<-start
					for j := range payments {
						i := (j + g) % len(payments)
						txn, ok, err := db.RecordTransaction(ctx, p, payments[i])
						if err != nil {
							t.Errorf("goroutine %d, payment %s: %v", g, payments[i].Key, err)
							continue
						}
						mu.Lock()
						results[i] = append(results[i], txn)
						if ok {
							created[i]++
						}
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			for i, n := range created {
				if n != 1 {
					t.Errorf("payment %s was created %d times by %d deliveries, want exactly once", payments[i].Key, n, goroutines)
				}
				for _, r := range results[i] {
					if r.ID != results[i][0].ID || !slices.Equal(rewardIDs(r.Rewards), rewardIDs(results[i][0].Rewards)) {
						t.Errorf("payment %s: deliveries returned %s %v and %s %v", payments[i].Key,
							r.ID, rewardIDs(r.Rewards), results[i][0].ID, rewardIDs(results[i][0].Rewards))
					}
				}
			}
			return results
		}
		rows := func(t *testing.T, table string) int {
			t.Helper()
			var n int
			if err := db.ReadStats().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		verify := func(t *testing.T) {
			t.Helper()
			ms, err := db.Verify(ctx)
			if err != nil || len(ms) > 0 {
				t.Errorf("verify: %v %v", ms, err)
			}
		}
		balance := func(t *testing.T, c *referral.Customer) rewards.Balance {
			t.Helper()
			b, err := db.Balance(ctx, p.ID, c.ID, "USD")
			if err != nil {
				t.Fatal(err)
			}
			return *b
		}

		t.Run("same payments, two rules", func(t *testing.T) {
			newRule(rewards.RuleInput{Recipient: str(rewards.Referrer), RewardType: str(rewards.Credit), Amount: num("10"),
				Currency: str("USD"), Recurrence: str(rewards.Every)})
			newRule(rewards.RuleInput{Recipient: str(rewards.Friend), RewardType: str(rewards.Cash), Amount: num("5"),
				Unit: str(rewards.Percentage), Recurrence: str(rewards.Every)})
			var friends []*referral.Customer
			for i := range 10 {
				friends = append(friends, friend(i))
			}
			var payments []store.NewTransaction
			for i := range 20 {
				payments = append(payments, store.NewTransaction{CustomerKey: friends[i%10].Key, Key: fmt.Sprint("pay-", i),
					Type: rewards.Purchase, Amount: 10000, Currency: "USD", Metadata: map[string]any{}})
			}
			for i, rs := range deliver(t, payments) {
				if len(rs) > 0 && len(rs[0].Rewards) != 2 {
					t.Errorf("payment %s gave %d rewards, want 2", payments[i].Key, len(rs[0].Rewards))
				}
			}
			if got := rows(t, "transactions"); got != 20 {
				t.Errorf("%d transactions stored, want 20", got)
			}
			if got := rows(t, "rewards"); got != 40 {
				t.Errorf("%d rewards stored, want 40", got)
			}
			if got, want := balance(t, referrer), (rewards.Balance{Currency: "USD", CreditAvailable: 20 * 1000}); got != want {
				t.Errorf("referrer's balance %+v, want %+v", got, want)
			}
			for _, f := range friends {
				if got, want := balance(t, f), (rewards.Balance{Currency: "USD", CashAvailable: 2 * 500}); got != want {
					t.Errorf("friend %s's balance %+v, want %+v", f.Key, got, want)
				}
			}
			verify(t)
		})

		t.Run("one friend's first payment, many payments", func(t *testing.T) {
			newRule(rewards.RuleInput{Trigger: str(rewards.Subscription), Recipient: str(rewards.Referrer), RewardType: str(rewards.Cash),
				Amount: num("25"), Currency: str("USD")})
			f := friend(100)
			var payments []store.NewTransaction
			for i := range 20 {
				payments = append(payments, store.NewTransaction{CustomerKey: f.Key, Key: fmt.Sprint("sub-", i),
					Type: rewards.Subscription, Amount: 2000, Currency: "USD", Metadata: map[string]any{}})
			}
			firsts := 0
			for _, rs := range deliver(t, payments) {
				if len(rs) > 0 {
					firsts += len(rs[0].Rewards)
				}
			}
			if firsts != 1 {
				t.Errorf("%d rewards for the friend's first subscription, want exactly 1", firsts)
			}
			if got := balance(t, referrer).CashAvailable; got != 2500 {
				t.Errorf("referrer's cash %d, want 2500", got)
			}
			verify(t)
		})

		t.Run("debits against one balance", func(t *testing.T) {
			c := newCustomer(t, db, p, referral.NewCustomer{Key: "shopper", Email: "shopper@example.com", Name: "Shopper"})
			move := func(debit bool, amount int64) error {
				return db.InTx(ctx, func(tx *store.Tx) error {
					cc, err := tx.Customer(ctx, p.ID, c.Key)
					if err != nil {
						return err
					}
					if debit {
						return tx.Debit(ctx, p.ID, cc, amount, "USD", "checkout")
					}
					return tx.Credit(ctx, p.ID, cc, amount, "USD", "gift")
				})
			}
			if err := move(false, 10000); err != nil {
				t.Fatal(err)
			}
			const debits = 30
			errs := make([]error, debits)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range debits {
				wg.Go(func() {
					<-start
					errs[i] = move(true, 500)
				})
			}
			close(start)
			wg.Wait()
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, store.ErrInsufficientBalance):
					t.Errorf("debit %d: %v, want success or ErrInsufficientBalance", i, err)
				}
			}
			if ok != 20 {
				t.Errorf("%d of %d debits of 5.00 from 100.00 succeeded, want exactly 20", ok, debits)
			}
			if got := balance(t, c); got != (rewards.Balance{Currency: "USD"}) {
				t.Errorf("balance after the debits %+v, want exactly zero", got)
			}
			entries, _, err := db.CustomerLedger(ctx, p.ID, c.ID, store.Page{Limit: store.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1+20 {
				t.Errorf("the customer's ledger has %d entries, want the credit and 20 debits", len(entries))
			}
			verify(t)
		})
	})
}
