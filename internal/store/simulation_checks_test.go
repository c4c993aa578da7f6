package store_test

// The simulation's checks: what the engine returned against the model
// (compare*, check*), the model's balances and stats recomputed from
// scratch (want*), the invariants checked after every step (checkStep) and
// across the whole database (checkAll), and the fingerprint that proves a
// failed op changed nothing.

import (
	"fmt"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// ---------------------------------------------------------------------------
// What the engine returned, against the model.

// checkRule compares a rule as Apply built it and as it reads back with
// what the walk defined.
func (s *sim) checkRule(built *rewards.Rule, want ruleDef) {
	s.t.Helper()
	if got := defOf(built); !got.same(want) {
		s.fatalf("Apply built %+v, want %+v", got, want)
	}
	stored, err := s.db.Rule(s.ctx, s.p.ID, built.ID)
	s.must(err, "read rule back")
	if got := defOf(stored); !got.same(want) {
		s.fatalf("rule %s reads back as %+v, want %+v", built.ID, got, want)
	}
}

// compareReward checks every field of a reward the engine returned, with
// its discount code.
func (s *sim) compareReward(w *mReward, g *rewards.Reward) {
	s.t.Helper()
	s.compareRewardFields(w, g)
	if g.RewardType != rewards.Discount {
		return
	}
	if (g.DiscountCode != nil) != (w.code != nil) {
		s.fatalf("reward %s: discount code %v, model has one: %v", g.ID, g.DiscountCode != nil, w.code != nil)
	}
	if w.code != nil {
		s.compareCode(w.code, g.DiscountCode)
	}
}

func (s *sim) compareRewardFields(w *mReward, g *rewards.Reward) {
	s.t.Helper()
	txnID := ""
	if w.txn != nil {
		txnID = w.txn.id
	}
	type view struct {
		ID, Rule, Customer, Referrer, Friend, Txn, Source, Trigger, Recipient, Type, Unit string
		Amount                                                                            int64
		Currency                                                                          string
		Reversed                                                                          int64
		Status                                                                            string
		NeedsApproval                                                                     bool
		AvailableAt                                                                       int64
	}
	want := view{w.id, w.rule.id, w.recipient.id, w.referer.id, w.friend.id, txnID, w.source, w.trigger, w.role, w.typ, w.unit,
		w.amount, w.currency, w.reversed, w.status, w.needsApproval, w.availableAt.UnixMicro()}
	got := view{g.ID, g.RuleID, g.CustomerID, g.ReferrerID, g.FriendID, g.TransactionID, g.Source, g.Trigger, g.Recipient,
		g.RewardType, g.Unit, g.Amount, g.Currency, g.Reversed, g.Status, g.NeedsApproval, g.AvailableAt.UnixMicro()}
	if got != want {
		s.fatalf("reward differs from the model:\n got  %+v\n want %+v", got, want)
	}
}

func (s *sim) compareCode(w *mCode, g *rewards.DiscountCode) {
	s.t.Helper()
	var expires int64
	if g.ExpiresAt != nil {
		expires = g.ExpiresAt.UnixMicro()
	}
	var wantExpires int64
	if !w.expires.IsZero() {
		wantExpires = w.expires.UnixMicro()
	}
	got := fmt.Sprint(g.Code, g.RewardID, g.PercentOff, g.AmountOff, g.Currency, expires, g.RedeemedAt != nil, g.VoidedAt != nil)
	want := fmt.Sprint(w.code, w.reward.id, w.percentOff, w.amountOff, w.currency, wantExpires, w.redeemed, w.voided)
	if got != want {
		s.fatalf("discount code differs from the model:\n got  %s\n want %s", got, want)
	}
}

// checkTxn compares a transaction the engine returned, with its rewards in
// their current state, with the model.
func (s *sim) checkTxn(mt *mTxn, t *rewards.Transaction) {
	s.t.Helper()
	if t.ID != mt.id || t.Refunded != mt.refunded || t.Amount != mt.in.Amount {
		s.fatalf("transaction %s: got id %s refunded %d, want %s refunded %d", mt.in.Key, t.ID, t.Refunded, mt.id, mt.refunded)
	}
	if len(t.Rewards) != len(mt.rewards) {
		s.fatalf("transaction %s has %d rewards, want %d", mt.in.Key, len(t.Rewards), len(mt.rewards))
	}
	for _, g := range t.Rewards {
		w := s.m.byID[g.ID]
		if w == nil || w.txn != mt {
			s.fatalf("transaction %s lists reward %s, which the model does not give it", mt.in.Key, g.ID)
		}
		s.compareReward(w, g)
	}
}

// ---------------------------------------------------------------------------
// Recomputation from scratch and the checks.

// touchKey is a customer and a currency whose figures a step changed.
type touchKey struct {
	c   *mCustomer
	cur string
}

// touch marks c's figures in cur for checking after the step; "" means
// the program's currency (referral counts show in every currency).
func (s *sim) touch(c *mCustomer, cur string) {
	if cur == "" {
		cur = s.p.Currency
	}
	s.touched[touchKey{c, cur}] = true
}

// wantBalance recomputes a customer's balance from the model's rewards and
// manual moves: pending holds what pending rewards are still worth;
// available holds what released rewards are still worth (a reward clawed
// back after release took its value back out of available, so its net is
// what remains) plus credits minus debits.
func (s *sim) wantBalance(c *mCustomer, cur string) rewards.Balance {
	b := rewards.Balance{Currency: cur, CreditAvailable: s.m.manual[c.id+cur]}
	for _, rw := range c.received {
		if rw.currency != cur || rw.typ == rewards.Discount {
			continue
		}
		net := rw.amount - rw.reversed
		switch {
		case rw.status == rewards.Pending && rw.typ == rewards.Credit:
			b.CreditPending += net
		case rw.status == rewards.Pending:
			b.CashPending += net
		case rw.typ == rewards.Credit:
			b.CreditAvailable += net
		default:
			b.CashAvailable += net
		}
	}
	return b
}

// wantStats recomputes the seed's stats: referrals made that were not
// rejected, those of them that are successful (issue 16: the friend did
// what an active referrer rule rewards), and what the referrer earned in cur that was not
// reversed or rejected (percent-off discounts have no amount).
func (s *sim) wantStats(c *mCustomer, cur string) rewards.Stats {
	st := rewards.Stats{Currency: cur}
	for _, f := range c.referrals {
		switch f.status {
		case referralSuccessful:
			st.SuccessfulReferrals++
		case referralPending:
			st.PendingReferrals++
		}
	}
	st.TotalReferrals = st.SuccessfulReferrals + st.PendingReferrals
	for _, rw := range c.received {
		if rw.role == rewards.Referrer && rw.currency == cur && rw.live() {
			st.TotalRewards += rw.amount - rw.reversed
		}
	}
	return st
}

func (s *sim) checkCustomer(c *mCustomer, cur string) {
	s.t.Helper()
	b, err := s.db.Balance(s.ctx, s.p.ID, c.id, cur)
	s.must(err, "balance")
	if want := s.wantBalance(c, cur); *b != want {
		s.fatalf("balance of %s in %s:\n got  %+v\n want %+v", c.key, cur, *b, want)
	}
	st, err := s.db.Stats(s.ctx, s.p.ID, c.id, cur)
	s.must(err, "stats")
	if want := s.wantStats(c, cur); *st != want {
		s.fatalf("stats of %s in %s:\n got  %+v\n want %+v", c.key, cur, *st, want)
	}
}

// checkStep runs after every step. Running db.Verify and the other
// whole-database checks after every step would make the walk quadratic
// (at 10,000 steps, most of its time), so each step checks in full what it
// changed, and the whole database is checked every verifyEvery steps and
// at the end:
//   - every ledger transaction the step wrote has two or more non-zero
//     entries that sum to zero per currency (older ones cannot change: the
//     schema refuses updates and deletes of entries);
//   - every customer account the step wrote to caches the sum of its
//     entries, and the program's accounts hold what the model says;
//   - no reward exists twice for the friends the step rewarded;
//   - the stats and balances of every customer the step touched, and of a
//     random one, equal the model's.
func (s *sim) checkStep() {
	s.t.Helper()
	s.checkNewLedger()
	s.checkProgramAccounts()
	for k := range s.touched {
		s.checkCustomer(k.c, k.cur)
	}
	s.checkNoDoubleRewards(s.friends)
	s.checkCustomer(pick(s, s.m.customers), s.currency())
	if s.step%verifyEvery == 0 && s.step%checkAllEvery != 0 {
		s.checkVerify()
		s.checkNoDoubleRewards(nil)
	}
}

// How often (in steps) the whole database is checked: db.Verify, and
// checkAll's comparison of every row with the model.
const (
	verifyEvery   = 250
	checkAllEvery = 500
)

func (s *sim) checkVerify() {
	s.t.Helper()
	ms, err := s.db.Verify(s.ctx)
	s.must(err, "verify")
	if len(ms) > 0 {
		s.fatalf("verify found %d mismatches: %v", len(ms), ms)
	}
}

// checkNoDoubleRewards asks the database itself: no rule gave a friend two
// rewards for one source, and no "first" rule gave a friend two rewards
// that still stand. friends limits the check to those friends (nil: all).
func (s *sim) checkNoDoubleRewards(friends map[string]bool) {
	s.t.Helper()
	where, args := "", []any{}
	if friends != nil {
		if len(friends) == 0 {
			return
		}
		var ps []string
		for id := range friends {
			args = append(args, id)
			ps = append(ps, fmt.Sprintf("$%d", len(args)))
		}
		where = " AND r.friend_id IN (" + strings.Join(ps, ", ") + ")"
	}
	var n int
	err := s.raw().QueryRowContext(s.ctx, `SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM rewards r WHERE TRUE`+where+` GROUP BY r.rule_id, r.friend_id, r.source HAVING COUNT(*) > 1) d) +
		(SELECT COUNT(*) FROM (SELECT 1 FROM rewards r JOIN reward_rules u ON u.id = r.rule_id
			WHERE u.recurrence = 'first' AND r.status NOT IN ('reversed', 'rejected')`+where+`
			GROUP BY r.rule_id, r.friend_id HAVING COUNT(*) > 1) f)`, args...).Scan(&n)
	s.must(err, "double rewards")
	if n > 0 {
		s.fatalf("%d rewards exist twice", n)
	}
}

// checkNewLedger checks the ledger transactions written since the last
// check, and the cached balances of the customer accounts they touched.
func (s *sim) checkNewLedger() {
	s.t.Helper()
	type key struct{ ltx, cur string }
	sums := map[key]int64{}
	entries := map[string]int{}
	s.query(`SELECT ledger_transaction_id, currency, amount FROM ledger_entries WHERE ledger_transaction_id > $1`,
		[]any{s.lastLtx}, func(row simRow) error {
			var k key
			var amount int64
			if err := row.Scan(&k.ltx, &k.cur, &amount); err != nil {
				return err
			}
			if amount == 0 {
				s.fatalf("ledger transaction %s has a zero entry", k.ltx)
			}
			sums[k] += amount
			entries[k.ltx]++
			return nil
		})
	for k, sum := range sums {
		if sum != 0 {
			s.fatalf("ledger transaction %s sums to %d %s", k.ltx, sum, k.cur)
		}
	}
	newest := s.lastLtx
	s.query(`SELECT id FROM ledger_transactions WHERE id > $1`, []any{s.lastLtx}, func(row simRow) error {
		var id string
		if err := row.Scan(&id); err != nil {
			return err
		}
		if entries[id] < 2 {
			s.fatalf("ledger transaction %s has %d entries, needs at least 2", id, entries[id])
		}
		newest = max(newest, id)
		return nil
	})
	s.query(`SELECT a.id, a.balance, (SELECT SUM(e.amount) FROM ledger_entries e WHERE e.account_id = a.id)
		FROM ledger_accounts a WHERE a.owner <> '' AND a.id IN (SELECT account_id FROM ledger_entries WHERE ledger_transaction_id > $1)`,
		[]any{s.lastLtx}, func(row simRow) error {
			var id string
			var cached, sum int64
			if err := row.Scan(&id, &cached, &sum); err != nil {
				return err
			}
			if cached != sum {
				s.fatalf("account %s caches %d, its entries sum to %d", id, cached, sum)
			}
			return nil
		})
	s.lastLtx = newest
}

// checkProgramAccounts compares the program's side of the ledger with the
// model's totals: rewards expense is minus what credit and cash rewards
// are still worth, adjustments minus the manual credits, redemptions the
// debits.
func (s *sim) checkProgramAccounts() {
	s.t.Helper()
	got := map[string]int64{}
	// Program accounts keep no cached balance: sum their entries.
	s.query(`SELECT a.type, a.currency, COALESCE(SUM(e.amount), 0) FROM ledger_accounts a
		LEFT JOIN ledger_entries e ON e.account_id = a.id WHERE a.program_id = $1 AND a.owner = ''
		GROUP BY a.id, a.type, a.currency`, []any{s.p.ID},
		func(row simRow) error {
			var typ, cur string
			var b int64
			if err := row.Scan(&typ, &cur, &b); err != nil {
				return err
			}
			got[typ+" "+cur] = b
			return nil
		})
	want := map[string]int64{}
	for cur, w := range s.m.worth {
		want["rewards_expense "+cur] = -w
	}
	for _, cur := range simCurrencies {
		want["adjustments "+cur] = -s.m.credited[cur]
		want["redemptions "+cur] = s.m.debited[cur]
	}
	for k, w := range want {
		if got[k] != w {
			s.fatalf("program account %s holds %d, want %d", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && g != 0 {
			s.fatalf("program account %s holds %d, the model has none", k, g)
		}
	}
}

// tableNames lists every table of the schema, so that the fingerprint
// also covers tables added later.
func (s *sim) tableNames() []string {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if s.db.Engine == store.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	var out []string
	s.query(q, nil, func(row simRow) error {
		var name string
		if err := row.Scan(&name); err != nil {
			return err
		}
		out = append(out, name)
		return nil
	})
	if len(out) < 10 {
		s.fatalf("found only tables %v", out)
	}
	return out
}

// fingerprint is cheap and changes with any write the store makes: the
// rows of every table (every change the store makes writes an event or a
// ledger entry too), what customers' accounts hold, and when rules and
// programs, which change without events, last changed. The walk's model
// comparisons see the rest.
func (s *sim) fingerprint() string {
	var parts []string
	for _, tbl := range s.tables {
		parts = append(parts, `SELECT COUNT(*) FROM `+tbl)
	}
	parts = append(parts,
		`SELECT COALESCE(SUM(balance), 0) FROM ledger_accounts WHERE owner <> ''`,
		`SELECT COALESCE(MAX(updated_at), 0) FROM reward_rules`,
		`SELECT COALESCE(MAX(updated_at), 0) FROM programs`,
	)
	// One statement of simple queries: SQLite counts a table without
	// reading its rows only when COUNT(*) is a query of its own.
	var b strings.Builder
	i := 0
	s.query(strings.Join(parts, " UNION ALL "), nil, func(row simRow) error {
		var v int64
		if err := row.Scan(&v); err != nil {
			return err
		}
		if i < len(s.tables) {
			fmt.Fprintf(&b, "%s=%d ", s.tables[i], v)
		} else {
			fmt.Fprintf(&b, "%d ", v)
		}
		i++
		return nil
	})
	return b.String()
}

// checkAll compares everything: every customer's stats and balances, every
// reward, transaction and discount code row, and a recomputation of the
// ledger in Go from its raw entries.
func (s *sim) checkAll() {
	s.t.Helper()
	worth := map[string]int64{}
	for _, rw := range s.m.rewards {
		if rw.typ != rewards.Discount {
			worth[rw.currency] += rw.amount - rw.reversed
		}
	}
	for cur, w := range worth {
		if s.m.worth[cur] != w {
			s.fatalf("the model's running total of rewards in %s is %d, its rewards are worth %d", cur, s.m.worth[cur], w)
		}
	}
	// Through the API's reads: every customer in the program's currency
	// and in each other currency they have figures in; the account rows
	// below cover every currency both ways.
	for _, c := range s.m.customers {
		for _, cur := range simCurrencies {
			if cur == s.p.Currency || s.wantBalance(c, cur) != (rewards.Balance{Currency: cur}) ||
				s.wantStats(c, cur).TotalRewards != 0 {
				s.checkCustomer(c, cur)
			}
		}
	}
	s.checkAccountRows()
	s.checkVerify()
	s.checkNoDoubleRewards(nil)
	s.checkRewardRows()
	s.checkTransactionRows()
	s.checkCodeRows()
	s.checkLedger()
}

// simRow is a row of the walk's own queries, for query's scan.
type simRow interface{ Scan(...any) error }

// query runs one of the walk's own queries and scans each row it returns.
func (s *sim) query(q string, args []any, scan func(row simRow) error) {
	s.t.Helper()
	rows, err := s.raw().QueryContext(s.ctx, q, args...)
	s.must(err, "query")
	defer rows.Close()
	for rows.Next() {
		s.must(scan(rows), "scan")
	}
	s.must(rows.Err(), "query")
}

// checkAccountRows compares every customer account with the model's
// balances, so that no currency is left unchecked.
func (s *sim) checkAccountRows() {
	s.t.Helper()
	type key struct{ id, cur string }
	got := map[key]*rewards.Balance{}
	s.query(`SELECT owner, type, currency, balance FROM ledger_accounts WHERE program_id = $1 AND owner <> ''`, []any{s.p.ID},
		func(row simRow) error {
			var k key
			var typ string
			var b int64
			if err := row.Scan(&k.id, &typ, &k.cur, &b); err != nil {
				return err
			}
			if got[k] == nil {
				got[k] = &rewards.Balance{Currency: k.cur}
			}
			switch typ {
			case "credit_available":
				got[k].CreditAvailable = b
			case "credit_pending":
				got[k].CreditPending = b
			case "cash_available":
				got[k].CashAvailable = b
			case "cash_pending":
				got[k].CashPending = b
			default:
				s.fatalf("customer account of type %s holds %d", typ, b)
			}
			return nil
		})
	for _, c := range s.m.customers {
		for _, cur := range simCurrencies {
			want := s.wantBalance(c, cur)
			g := got[key{c.id, cur}]
			if g == nil {
				g = &rewards.Balance{Currency: cur}
			}
			if *g != want {
				s.fatalf("accounts of %s in %s hold %+v, want %+v", c.key, cur, *g, want)
			}
			delete(got, key{c.id, cur})
		}
	}
	for k, b := range got {
		s.fatalf("accounts of %s in %s hold %+v, the model has none", k.id, k.cur, *b)
	}
}

func (s *sim) checkRewardRows() {
	s.t.Helper()
	seen, codes := 0, 0
	s.query(`SELECT id, rule_id, customer_id, referrer_id, friend_id, COALESCE(transaction_id, ''), source, trigger_type,
		recipient, reward_type, unit, amount, COALESCE(currency, ''), reversed_amount, status, needs_approval, COALESCE(available_at, 0)
		FROM rewards WHERE program_id = $1`, []any{s.p.ID}, func(row simRow) error {
		var g rewards.Reward
		var avail int64
		if err := row.Scan(&g.ID, &g.RuleID, &g.CustomerID, &g.ReferrerID, &g.FriendID, &g.TransactionID, &g.Source, &g.Trigger,
			&g.Recipient, &g.RewardType, &g.Unit, &g.Amount, &g.Currency, &g.Reversed, &g.Status, &g.NeedsApproval, &avail); err != nil {
			return err
		}
		g.AvailableAt = time.UnixMicro(avail)
		w := s.m.byID[g.ID]
		if w == nil {
			s.fatalf("reward %s exists, the model never gave it: %+v", g.ID, g)
		}
		s.compareRewardFields(w, &g) // codes: see checkCodeRows
		if w.code != nil {
			codes++
		}
		seen++
		return nil
	})
	if seen != len(s.m.rewards) || codes != len(s.m.codes) {
		s.fatalf("%d rewards stored (%d with codes), want %d (%d)", seen, codes, len(s.m.rewards), len(s.m.codes))
	}
}

func (s *sim) checkTransactionRows() {
	s.t.Helper()
	seen := 0
	s.query(`SELECT key, id, customer_id, type, amount, currency, refunded_amount, occurred_at FROM transactions WHERE program_id = $1`,
		[]any{s.p.ID}, func(row simRow) error {
			var key, id, cust, typ, cur string
			var amount, refunded, occurred int64
			if err := row.Scan(&key, &id, &cust, &typ, &amount, &cur, &refunded, &occurred); err != nil {
				return err
			}
			mt := s.m.txnByKey[key]
			if mt == nil || mt.id != id || mt.cust.id != cust || mt.in.Type != typ || mt.in.Amount != amount ||
				mt.in.Currency != cur || mt.refunded != refunded || mt.occurred.UnixMicro() != occurred {
				s.fatalf("transaction row %s %s %s %s %d %s refunded %d differs from the model's %+v", key, id, cust, typ, amount, cur, refunded, mt)
			}
			seen++
			return nil
		})
	if seen != len(s.m.txns) {
		s.fatalf("%d transactions stored, want %d", seen, len(s.m.txns))
	}
}

func (s *sim) checkCodeRows() {
	s.t.Helper()
	byCode := map[string]*mCode{}
	for _, c := range s.m.codes {
		byCode[c.code] = c
	}
	seen := 0
	s.query(`SELECT d.code, d.reward_id, COALESCE(d.percent_off, 0), COALESCE(d.amount_off, 0), COALESCE(d.currency, ''),
		d.expires_at, d.redeemed_at, d.voided_at, d.customer_id FROM discount_codes d WHERE d.program_id = $1`,
		[]any{s.p.ID}, func(row simRow) error {
			var g rewards.DiscountCode
			var expires, redeemed, voided *int64
			if err := row.Scan(&g.Code, &g.RewardID, &g.PercentOff, &g.AmountOff, &g.Currency, &expires, &redeemed, &voided, &g.CustomerID); err != nil {
				return err
			}
			if expires != nil {
				t := time.UnixMicro(*expires)
				g.ExpiresAt = &t
			}
			if redeemed != nil {
				g.RedeemedAt = &time.Time{}
			}
			if voided != nil {
				g.VoidedAt = &time.Time{}
			}
			w := byCode[g.Code]
			if w == nil {
				s.fatalf("discount code %s exists, the model never issued it", g.Code)
			}
			if g.CustomerID != w.reward.recipient.id {
				s.fatalf("discount code %s belongs to %s, want %s", g.Code, g.CustomerID, w.reward.recipient.id)
			}
			s.compareCode(w, &g)
			seen++
			return nil
		})
	if seen != len(s.m.codes) {
		s.fatalf("%d discount codes stored, want %d", seen, len(s.m.codes))
	}
}

// checkLedger recomputes the whole ledger in Go from its raw rows, without
// the store's Verify: every ledger transaction has two or more non-zero
// entries summing to zero per currency, and every cached balance is the
// sum of its entries.
func (s *sim) checkLedger() {
	s.t.Helper()
	type account struct {
		owner, typ, cur string
		cached, sum     int64
	}
	accounts := map[string]*account{}
	s.query(`SELECT id, owner, type, currency, balance FROM ledger_accounts WHERE program_id = $1`, []any{s.p.ID},
		func(row simRow) error {
			a := &account{}
			var id string
			if err := row.Scan(&id, &a.owner, &a.typ, &a.cur, &a.cached); err != nil {
				return err
			}
			accounts[id] = a
			return nil
		})
	type key struct{ ltx, cur string }
	sums := map[key]int64{}
	entries := map[string]int{}
	s.query(`SELECT e.ledger_transaction_id, e.account_id, e.amount, e.currency FROM ledger_entries e
		JOIN ledger_transactions t ON t.id = e.ledger_transaction_id WHERE t.program_id = $1`, []any{s.p.ID},
		func(row simRow) error {
			var ltx, acc, cur string
			var amount int64
			if err := row.Scan(&ltx, &acc, &amount, &cur); err != nil {
				return err
			}
			a := accounts[acc]
			if a == nil || a.cur != cur || amount == 0 {
				s.fatalf("entry of %s: account %s (%+v), amount %d %s", ltx, acc, a, amount, cur)
			}
			a.sum += amount
			sums[key{ltx, cur}] += amount
			entries[ltx]++
			return nil
		})
	for k, sum := range sums {
		if sum != 0 {
			s.fatalf("ledger transaction %s sums to %d %s", k.ltx, sum, k.cur)
		}
	}
	for ltx, n := range entries {
		if n < 2 {
			s.fatalf("ledger transaction %s has %d entries", ltx, n)
		}
	}
	for id, a := range accounts {
		want := a.sum
		if a.owner == "" {
			want = 0 // program accounts cache no balance
		}
		if a.cached != want {
			s.fatalf("account %s (%s %s %s) caches %d, its entries sum to %d", id, a.owner, a.typ, a.cur, a.cached, a.sum)
		}
	}
}

// checkVerifyCatches proves that the checks above can fail: a cached
// balance nudged behind the ledger's back must be reported by Verify.
func (s *sim) checkVerifyCatches() {
	s.t.Helper()
	var n int64
	err := s.db.InTx(s.ctx, func(tx *store.Tx) (err error) {
		n, err = tx.ExecRaw(s.ctx, `UPDATE ledger_accounts SET balance = balance + 1
			WHERE id = (SELECT MIN(id) FROM ledger_accounts WHERE program_id = $1)`, s.p.ID)
		return err
	})
	s.must(err, "corrupt a balance")
	if n != 1 {
		return // no ledger yet: nothing to corrupt
	}
	ms, err := s.db.Verify(s.ctx)
	s.must(err, "verify")
	if len(ms) == 0 {
		s.fatalf("Verify did not notice a cached balance off by one")
	}
}
