package store_test

// The simulation's ops that move money (see simulation_test.go for the op
// table): transactions, replayed and concurrent deliveries, refunds,
// approvals and rejections, the holding job, discount codes, and manual
// credits and debits.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// ---------------------------------------------------------------------------
// Transactions.

// payer is mostly a referred customer, so that rules fire.
func (s *sim) payer() *mCustomer {
	if s.chance(0.8) {
		for range 5 {
			if c := s.customer(); c.referrer != nil {
				return c
			}
		}
	}
	return s.customer()
}

func (s *sim) newTxnInput(c *mCustomer) store.NewTransaction {
	in := store.NewTransaction{CustomerKey: c.key, Key: s.fresh("txn"), Type: rewards.Purchase, Currency: s.currency(),
		Amount: s.amount(), Metadata: map[string]any{}}
	if s.chance(0.4) {
		in.Type = rewards.Subscription
	}
	if s.chance(0.4) { // delivered late: it happened earlier
		at := s.clock().Add(-time.Duration(s.rng.IntN(200*24)) * time.Hour)
		in.OccurredAt = &at
	}
	if s.chance(0.3) {
		in.Metadata["plan"] = pick(s, []string{"basic", "pro"})
	}
	return in
}

// recorded adds a newly created transaction to the model and checks it and
// the rewards it gave.
func (s *sim) recorded(c *mCustomer, in store.NewTransaction, t *rewards.Transaction) {
	s.t.Helper()
	mt := &mTxn{in: in, id: t.ID, cust: c, occurred: s.clock()}
	if in.OccurredAt != nil {
		mt.occurred = *in.OccurredAt
	}
	if t.CustomerID != c.id || t.Key != in.Key || t.Type != in.Type || t.Amount != in.Amount || t.Currency != in.Currency ||
		t.Refunded != 0 || !t.OccurredAt.Equal(mt.occurred) {
		s.fatalf("transaction recorded as %+v, want %+v at %v", t, in, mt.occurred)
	}
	c.txns = append(c.txns, mt)
	s.m.txns = append(s.m.txns, mt)
	s.m.txnByKey[in.Key] = mt
	s.touch(c, in.Currency)
	want := s.expectFire(in.Type, c, mt)
	// A milestone the payment reached is the referrer's, not the
	// payment's: it is read from the table, and the transaction lists
	// only the rewards its own rules gave (checkTxn).
	s.matchNew(want, append(slices.Clone(t.Rewards), s.sourceRewards(c, rewards.Milestone+":"+mt.id)...))
	s.checkTxn(mt, t)
}

func (s *sim) opTransaction() {
	c := s.payer()
	in := s.newTxnInput(c)
	t, created, err := s.db.RecordTransaction(s.ctx, s.p, in)
	s.must(err, "record transaction")
	if !created {
		s.fatalf("a new key was not created")
	}
	s.recorded(c, in, t)
}

// opReplay delivers an earlier transaction again, exactly as before: the
// original comes back and nothing is written.
func (s *sim) opReplay() {
	if len(s.m.txns) == 0 {
		s.opTransaction()
		return
	}
	mt := pick(s, s.m.txns)
	before := s.fingerprint()
	t, created, err := s.db.RecordTransaction(s.ctx, s.p, mt.in)
	s.must(err, "replay transaction")
	if created {
		s.fatalf("replay of %s created a transaction", mt.in.Key)
	}
	s.checkTxn(mt, t)
	s.unchanged(before)
}

// opKeyReuse sends another payment under an earlier transaction's key.
func (s *sim) opKeyReuse() {
	if len(s.m.txns) == 0 {
		s.opTransaction()
		return
	}
	mt := pick(s, s.m.txns)
	in := mt.in
	switch s.rng.IntN(6) {
	case 0:
		in.Amount++
	case 1:
		in.Currency = map[string]string{"USD": "EUR", "EUR": "JPY", "JPY": "USD"}[in.Currency]
	case 2:
		in.Type = map[string]string{rewards.Purchase: rewards.Subscription, rewards.Subscription: rewards.Purchase}[in.Type]
	case 3:
		other := s.customer()
		if other == mt.cust {
			in.CustomerKey = "someone-else"
		} else {
			in.CustomerKey = other.key
		}
	case 4:
		at := mt.occurred.Add(-time.Hour)
		in.OccurredAt = &at
	default:
		in.Metadata = map[string]any{"plan": "enterprise"}
	}
	s.wantFail("transaction_key_conflict", func() error { _, _, err := s.db.RecordTransaction(s.ctx, s.p, in); return err })
}

func (s *sim) opUnknownCustomer() {
	in := s.newTxnInput(s.customer())
	in.CustomerKey = "nobody-" + in.Key
	s.wantFail("customer_not_found", func() error { _, _, err := s.db.RecordTransaction(s.ctx, s.p, in); return err })
}

// opConcurrentDeliveries delivers one new transaction from several
// goroutines at once: exactly one creates it, all see the same result.
func (s *sim) opConcurrentDeliveries() {
	c := s.payer()
	in := s.newTxnInput(c)
	k := 2 + s.rng.IntN(5)
	type result struct {
		t       *rewards.Transaction
		created bool
		err     error
	}
	results := make([]result, k)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range k {
		wg.Go(func() {
			<-start
			var r result
			r.t, r.created, r.err = s.db.RecordTransaction(s.ctx, s.p, in)
			results[i] = r
		})
	}
	close(start)
	wg.Wait()
	var winner *rewards.Transaction
	for i, r := range results {
		s.must(r.err, fmt.Sprintf("concurrent delivery %d of %d", i+1, k))
		if r.created {
			if winner != nil {
				s.fatalf("%d concurrent deliveries created the transaction twice", k)
			}
			winner = r.t
		}
	}
	if winner == nil {
		s.fatalf("none of %d concurrent deliveries created the transaction", k)
	}
	for _, r := range results {
		if r.t.ID != winner.ID || !slices.Equal(rewardIDs(r.t.Rewards), rewardIDs(winner.Rewards)) {
			s.fatalf("concurrent deliveries disagree: %s %v and %s %v", r.t.ID, rewardIDs(r.t.Rewards), winner.ID, rewardIDs(winner.Rewards))
		}
	}
	s.recorded(c, in, winner)
}

// opConcurrentFriend delivers several different new transactions of one
// referred friend at once: however they interleave, a "first" rule
// rewards one of them, and limits hold. The engine serialises a friend's
// transactions (the friend's row is locked before the transaction's id is
// made), so the ids give the order to replay them in the model.
func (s *sim) opConcurrentFriend() {
	c := s.payer()
	k := 2 + s.rng.IntN(3)
	ins := make([]store.NewTransaction, k)
	for i := range ins {
		ins[i] = s.newTxnInput(c)
	}
	ts := make([]*rewards.Transaction, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range k {
		wg.Go(func() {
			<-start
			var created bool
			ts[i], created, errs[i] = s.db.RecordTransaction(s.ctx, s.p, ins[i])
			if errs[i] == nil && !created {
				errs[i] = fmt.Errorf("new key %s was not created", ins[i].Key)
			}
		})
	}
	close(start)
	wg.Wait()
	order := make([]int, k)
	for i := range order {
		s.must(errs[i], "concurrent transaction of one friend")
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(ts[a].ID, ts[b].ID) })
	for _, i := range order {
		s.recorded(c, ins[i], ts[i])
	}
}

func rewardIDs(rws []*rewards.Reward) []string {
	var ids []string
	for _, rw := range rws {
		ids = append(ids, rw.ID)
	}
	slices.Sort(ids)
	return ids
}

// ---------------------------------------------------------------------------
// Refunds.

func (s *sim) refundable() *mTxn {
	var open []*mTxn
	for _, mt := range s.m.txns {
		if mt.refunded < mt.in.Amount {
			open = append(open, mt)
		}
	}
	if len(open) == 0 {
		return nil
	}
	// Prefer transactions that gave rewards: that is where clawback lives.
	for range 4 {
		if mt := pick(s, open); len(mt.rewards) > 0 {
			return mt
		}
	}
	return pick(s, open)
}

func (s *sim) refund(key string, amount int64) (*rewards.Transaction, error) {
	var t *rewards.Transaction
	err := s.db.InTx(s.ctx, func(tx *store.Tx) error {
		var err error
		t, err = tx.Refund(s.ctx, s.p, key, amount, "simulated refund")
		return err
	})
	return t, err
}

func (s *sim) opRefund(full bool) {
	mt := s.refundable()
	if mt == nil {
		s.opTransaction()
		return
	}
	remaining := mt.in.Amount - mt.refunded
	var amount int64 // 0: the rest
	switch {
	case !full:
		amount = 1 + s.rng.Int64N(remaining)
	case s.chance(0.5):
		amount = remaining
	}
	t, err := s.refund(mt.in.Key, amount)
	s.must(err, fmt.Sprintf("refund %d of %s", amount, mt.in.Key))
	if amount == 0 {
		amount = remaining
	}
	mt.refunded += amount
	s.refunded(mt)
	s.checkTxn(mt, t)
}

func (s *sim) opRefundInvalid() {
	switch s.rng.IntN(3) {
	case 0:
		s.wantFail("transaction_not_found", func() error { _, err := s.refund("no-such-transaction", 0); return err })
		return
	case 1:
		for _, mt := range s.m.txns {
			if mt.refunded == mt.in.Amount {
				s.wantFail("already_refunded", func() error { _, err := s.refund(mt.in.Key, pick(s, []int64{0, 1})); return err })
				return
			}
		}
	}
	mt := s.refundable()
	if mt == nil {
		s.opTransaction()
		return
	}
	over := mt.in.Amount - mt.refunded + 1 + s.rng.Int64N(1000)
	s.wantFail("refund_exceeds_amount", func() error { _, err := s.refund(mt.in.Key, over); return err })
}

// opConcurrentRefunds refunds one transaction from several goroutines at
// once, each for the same amount: exactly as many succeed as fit.
func (s *sim) opConcurrentRefunds() {
	mt := s.refundable()
	if mt == nil {
		s.opTransaction()
		return
	}
	remaining := mt.in.Amount - mt.refunded
	k := 2 + s.rng.IntN(4)
	var each int64 // 0: everything left
	if s.chance(0.6) {
		each = 1 + s.rng.Int64N(max(1, remaining/2))
	}
	errs := make([]error, k)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range k {
		wg.Go(func() {
			<-start
			_, errs[i] = s.refund(mt.in.Key, each)
		})
	}
	close(start)
	wg.Wait()
	fits, left := 1, int64(0)
	if each > 0 {
		fits = int(min(int64(k), remaining/each))
		left = remaining - int64(fits)*each
	}
	wantErrCode := "already_refunded"
	if left > 0 {
		wantErrCode = "refund_exceeds_amount"
	}
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		if e, isErr := referral.AsError(err); !isErr || e.Code != wantErrCode {
			s.fatalf("concurrent refund of %d each by %d (remaining %d of %d): %v, want success or %s", each, k, remaining, mt.in.Amount, err, wantErrCode)
		}
	}
	if ok != fits {
		s.fatalf("%d of %d concurrent refunds of %d (remaining %d) succeeded, want %d", ok, k, each, remaining, fits)
	}
	mt.refunded = mt.in.Amount - left
	s.refunded(mt)
	t, err := s.db.Transaction(s.ctx, s.p.ID, mt.in.Key)
	s.must(err, "get transaction")
	s.checkTxn(mt, t)
}

// opRefundWhileDeciding refunds a transaction while a person approves or
// rejects one of its pending rewards. Either may go first; the outcome of
// the decision says which did, and the model replays that order.
func (s *sim) opRefundWhileDeciding() {
	var rw *mReward
	for range 10 {
		if c := s.pendingReward(); c != nil && c.txn != nil && c.txn.refunded < c.txn.in.Amount {
			rw = c
			break
		}
	}
	if rw == nil {
		s.opTransaction()
		return
	}
	mt := rw.txn
	remaining := mt.in.Amount - mt.refunded
	var amount int64 // 0: all of it
	if s.chance(0.5) {
		amount = 1 + s.rng.Int64N(remaining)
	}
	approve := s.chance(0.5)
	var refundErr, decideErr error
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Go(func() {
		<-start
		_, refundErr = s.refund(mt.in.Key, amount)
	})
	wg.Go(func() {
		<-start
		_, decideErr = s.decide(rw.id, approve)
	})
	close(start)
	wg.Wait()
	s.must(refundErr, "refund while deciding")
	if amount == 0 {
		amount = remaining
	}
	decide := func() {
		if approve {
			s.makeAvailable(rw, rw.rule.def)
			s.touch(rw.recipient, rw.currency)
		} else {
			s.reverse(rw, rw.amount-rw.reversed, rewards.Rejected)
			s.rejected(rw)
		}
	}
	mt.refunded += amount
	// A decision that succeeded found the reward pending: it went first,
	// or the refund left the reward pending, and then both orders end
	// alike. One that failed came after a refund that left nothing pending.
	switch e, _ := referral.AsError(decideErr); {
	case decideErr == nil:
		decide()
		s.refunded(mt)
	case e != nil && e.Code == "reward_not_pending":
		s.refunded(mt)
		if rw.status == rewards.Pending {
			s.fatalf("the decision on %s failed although the refund left it pending", rw.id)
		}
	default:
		s.fatalf("decision on %s while refunding %d of %s: %v", rw.id, amount, mt.in.Key, decideErr)
	}
	if rw.code != nil && rw.code.code == "" {
		g, err := s.db.Reward(s.ctx, s.p.ID, rw.id)
		s.must(err, "get reward")
		s.learnCode(rw, g)
	}
	t, err := s.db.Transaction(s.ctx, s.p.ID, mt.in.Key)
	s.must(err, "get transaction")
	s.checkTxn(mt, t)
}

// ---------------------------------------------------------------------------
// Approvals, the holding job, discount codes.

func (s *sim) pendingReward() *mReward {
	var pending []*mReward
	for _, rw := range s.m.rewards[max(0, len(s.m.rewards)-400):] {
		if rw.status == rewards.Pending {
			pending = append(pending, rw)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return pick(s, pending)
}

// decide approves or rejects a reward, as a person does.
func (s *sim) decide(id string, approve bool) (*rewards.Reward, error) {
	var g *rewards.Reward
	err := s.db.InTx(s.ctx, func(tx *store.Tx) error {
		var err error
		if approve {
			g, err = tx.ApproveReward(s.ctx, s.p.ID, id)
		} else {
			g, err = tx.RejectReward(s.ctx, s.p.ID, id, "simulated rejection")
		}
		return err
	})
	return g, err
}

func (s *sim) opDecide(approve bool) {
	rw := s.pendingReward()
	if rw == nil {
		s.opTransaction()
		return
	}
	g, err := s.decide(rw.id, approve)
	s.must(err, "decide reward")
	if approve {
		s.makeAvailable(rw, rw.rule.def)
		s.learnCode(rw, g)
	} else {
		s.reverse(rw, rw.amount-rw.reversed, rewards.Rejected)
		s.rejected(rw)
	}
	s.touch(rw.recipient, rw.currency)
	s.compareReward(rw, g)
}

func (s *sim) opDecideInvalid() {
	id := "rwd_nosuchreward"
	code := "reward_not_found"
	for _, rw := range s.m.rewards[max(0, len(s.m.rewards)-50):] {
		if rw.status != rewards.Pending {
			id, code = rw.id, "reward_not_pending"
			break
		}
	}
	approve := s.chance(0.5)
	s.wantFail(code, func() error { _, err := s.decide(id, approve); return err })
}

// opRelease moves the clock on and runs the holding job, sometimes in
// small batches.
func (s *sim) opRelease() { s.release(time.Duration(1+s.rng.IntN(6*24)) * time.Hour) }

// opWeeks moves the clock on by weeks, into the next calendar month (and
// now and then year), where the caps per period start again, and runs the
// holding job.
func (s *sim) opWeeks() { s.release(time.Duration(1+s.rng.IntN(6)) * 7 * 24 * time.Hour) }

func (s *sim) release(d time.Duration) {
	s.advance(d)
	now := s.clock()
	var due []*mReward
	for _, rw := range s.m.rewards {
		if rw.status == rewards.Pending && !rw.needsApproval && !rw.availableAt.After(now) {
			due = append(due, rw)
		}
	}
	limit, nodes := 1000, 1
	if s.chance(0.4) { // small batches, from several nodes at once
		limit, nodes = 1+s.rng.IntN(3), 1+s.rng.IntN(3)
	}
	counts := make([]int, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			for {
				n, err := s.db.ReleaseDueRewards(s.ctx, now, limit)
				if err == nil && n > limit {
					err = fmt.Errorf("released %d with limit %d", n, limit)
				}
				counts[i] += n
				if errs[i] = err; err != nil || n < limit {
					return
				}
			}
		})
	}
	wg.Wait()
	released := 0
	for i := range nodes {
		s.must(errs[i], "release due rewards")
		released += counts[i]
	}
	if released != len(due) {
		s.fatalf("%d nodes released %d rewards, want %d", nodes, released, len(due))
	}
	for _, rw := range due {
		s.makeAvailable(rw, rw.rule.def)
		s.touch(rw.recipient, rw.currency)
		if rw.code != nil || s.chance(0.1) {
			g, err := s.db.Reward(s.ctx, s.p.ID, rw.id)
			s.must(err, "get reward")
			s.learnCode(rw, g)
			s.compareReward(rw, g)
		}
	}
}

func (s *sim) opRedeem() {
	if len(s.m.codes) == 0 || s.chance(0.05) {
		s.wantFail("discount_code_not_found", func() error { _, err := s.redeem("GIFT-NOSUCH"); return err })
		return
	}
	var c *mCode
	for range 5 { // prefer usable codes
		c = pick(s, s.m.codes)
		if !c.redeemed && !c.voided {
			break
		}
	}
	code := c.code
	if s.chance(0.3) {
		code = strings.ToLower(code)
	}
	redeem := func() error { _, err := s.redeem(code); return err }
	now := s.clock()
	switch {
	case c.redeemed:
		s.wantFail("discount_code_redeemed", redeem)
	case c.voided:
		s.wantFail("discount_code_void", redeem)
	case !c.expires.IsZero() && !now.Before(c.expires):
		s.wantFail("discount_code_expired", redeem)
	default:
		dc, err := s.redeem(code)
		s.must(err, "redeem "+c.code)
		c.redeemed = true
		if dc.RedeemedAt == nil || !dc.RedeemedAt.Equal(now) {
			s.fatalf("redeemed code says redeemed at %v, want %v", dc.RedeemedAt, now)
		}
		s.compareCode(c, dc)
	}
}

func (s *sim) redeem(code string) (*rewards.DiscountCode, error) {
	var dc *rewards.DiscountCode
	err := s.db.InTx(s.ctx, func(tx *store.Tx) error {
		var err error
		dc, err = tx.RedeemDiscountCode(s.ctx, s.p.ID, code)
		return err
	})
	return dc, err
}

// ---------------------------------------------------------------------------
// Manual credits and debits, the way the API's handler makes them.

func (s *sim) move(c *mCustomer, credit bool, amount int64, cur string) error {
	return s.db.InTx(s.ctx, func(tx *store.Tx) error {
		cc, err := tx.Customer(s.ctx, s.p.ID, c.key)
		if err != nil {
			return err
		}
		if credit {
			return tx.Credit(s.ctx, s.p.ID, cc, amount, cur, "goodwill")
		}
		return tx.Debit(s.ctx, s.p.ID, cc, amount, cur, "checkout")
	})
}

func (s *sim) opCredit() {
	c, cur, amount := s.customer(), s.currency(), s.amount()
	s.must(s.move(c, true, amount, cur), "credit")
	s.m.manual[c.id+cur] += amount
	s.m.credited[cur] += amount
	s.touch(c, cur)
}

func (s *sim) opDebit() {
	// Debit those who have something, mostly.
	c, cur := s.customer(), s.currency()
	for range 10 {
		if s.wantBalance(c, cur).CreditAvailable > 0 {
			break
		}
		c, cur = s.customer(), s.currency()
	}
	avail := s.wantBalance(c, cur).CreditAvailable
	s.touch(c, cur)
	switch {
	case avail > 0 && s.chance(0.15):
		s.must(s.move(c, false, avail, cur), "debit everything")
		s.m.manual[c.id+cur] -= avail
		s.m.debited[cur] += avail
	case avail > 0 && s.chance(0.7):
		amount := 1 + s.rng.Int64N(avail)
		s.must(s.move(c, false, amount, cur), "debit")
		s.m.manual[c.id+cur] -= amount
		s.m.debited[cur] += amount
	default: // more than there is: refused, nothing changes
		s.wantFail("insufficient_balance", func() error { return s.move(c, false, max(avail, 0)+1+s.rng.Int64N(1000), cur) })
	}
}
