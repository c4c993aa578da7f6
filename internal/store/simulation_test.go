package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// The simulation's knobs. A failure prints the seed and the step count, so
// that `go test ./internal/store/ -run TestSimulation -sim.seed=N` replays
// exactly the same walk.
var (
	simSeed  = flag.Uint64("sim.seed", 0, "seed of TestSimulation (0: $ADVOCATE_SIM_SEED, else the clock)")
	simSteps = flag.Int("sim.steps", 0, "steps of TestSimulation per engine (0: $ADVOCATE_SIM_STEPS, else the engine's default)")
)

// Default step counts, per engine. Issue 4 asks for at least 10,000 steps
// on SQLite in CI. The race detector makes the pure-Go SQLite many times
// slower, so a -race build walks fewer steps, but still past the first few
// thousand, where a planted bug once surfaced only at step 2,187; a run
// without -race walks the full length. PostgreSQL pays a round trip per
// query and walks fewer steps to keep CI fast. Measured on the 2-core
// machine with other jobs running: 10,000 SQLite steps in 47-57 s and
// 2,000 PostgreSQL steps in 14-17 s; under -race, 1,000 steps in 32-37 s
// on SQLite and 12-13 s on PostgreSQL.
var simDefaultSteps = map[bool]map[store.Engine]int{
	false: {store.SQLite: 10_000, store.Postgres: 2_000},
	true:  {store.SQLite: 3_000, store.Postgres: 1_000},
}

// TestSimulation is a seeded random walk over the store's money paths
// (signups, referrals, rules, purchases, subscriptions, duplicate and
// concurrent deliveries, partial and full refunds, approvals, the holding
// job, manual credits and debits, discount codes, deleted customers) on
// both engines. After every step it checks that the ledger transactions
// the step wrote sum to zero and the balances it touched equal their
// entries, that no reward exists twice, that a failed operation changed
// nothing, and that stats and balances equal what an independent model of
// issue 4's rules computes from the operations alone; every few hundred
// steps and at the end it checks the whole database (db.Verify, every row
// against the model, and the ledger recomputed from its entries).
func TestSimulation(t *testing.T) {
	for _, seed := range simulationSeeds() {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				steps := simulationSteps(t, db.Engine)
				replay := fmt.Sprintf("go test ./internal/store/ -run 'TestSimulation/seed=%d/%s' -sim.seed=%d -sim.steps=%d", seed, db.Engine, seed, steps)
				t.Logf("seed %d, %d steps; replay with: %s", seed, steps, replay)
				s := newSim(t, db, seed)
				t.Cleanup(func() {
					if t.Failed() {
						t.Logf("FAILED at step %d (%s) with seed %d; replay with: %s", s.step, s.op, seed, replay)
					}
				})
				start := time.Now()
				s.run(steps)
				t.Logf("%s: %d steps in %v; %s", db.Engine, steps, time.Since(start).Round(time.Millisecond), s.summary())
			})
		})
	}
}

// simFixedSeeds are walked by every full run, so that each run covers at
// least the same ground as the last; a random seed is added to find new
// ground. The race-detector pass, many times slower, walks only the random
// seed (with simDefaultSteps[true] steps).
var simFixedSeeds = []uint64{1, 20261207}

// simulationSeeds returns the seed asked for (-sim.seed, $ADVOCATE_SIM_SEED)
// alone, or else the fixed seeds and one from the clock.
func simulationSeeds() []uint64 {
	if *simSeed != 0 {
		return []uint64{*simSeed}
	}
	if v, err := strconv.ParseUint(os.Getenv("ADVOCATE_SIM_SEED"), 10, 64); err == nil && v != 0 {
		return []uint64{v}
	}
	random := uint64(time.Now().UnixNano())
	if raceEnabled() {
		return []uint64{random}
	}
	return append(slices.Clone(simFixedSeeds), random)
}

func simulationSteps(t *testing.T, e store.Engine) int {
	if *simSteps > 0 {
		return *simSteps
	}
	if v := os.Getenv("ADVOCATE_SIM_STEPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("ADVOCATE_SIM_STEPS=%q: want a positive number", v)
		}
		return n
	}
	return simDefaultSteps[raceEnabled()][e]
}

var simCurrencies = []string{"USD", "EUR", "JPY"}

// ---------------------------------------------------------------------------
// The model: what issue 4 says should exist, kept by plain code from the
// operations the walk performed. It never asks the engine how to compute
// anything; it only learns the ids and codes the engine chose.

type mCustomer struct {
	id, key, email, code string
	referrer             *mCustomer
	referrals            []*mCustomer
	converted            bool       // a reward was ever given for this friend
	received             []*mReward // rewards this customer receives
	asFriend             []*mReward // rewards given for this customer's actions
	asReferrer           []*mReward // rewards given through this customer's friends
	txns                 []*mTxn
	deleted              bool
}

// ruleDef is a reward rule as the walk defined it.
type ruleDef struct {
	Trigger, Recipient, RewardType, Unit string
	Amount                               int64
	Currency                             string
	Recurrence                           string
	MaxCount, MaxMonths                  int
	MinAmount                            int64
	MinCurrency                          string
	HoldingDays                          int
	MaxPerReferrer                       int
	ExpiresDays                          int
	PayoutMethod                         string
	Active                               bool
}

type mRule struct {
	id      string
	def     ruleDef
	deleted bool
}

type mTxn struct {
	in       store.NewTransaction // as first delivered, for replays
	id       string
	cust     *mCustomer
	occurred time.Time
	refunded int64
	rewards  []*mReward
}

type mReward struct {
	id                         string
	rule                       *mRule
	recipient, friend, referer *mCustomer
	txn                        *mTxn // nil for a signup
	trigger, role, typ, unit   string
	amount                     int64
	currency                   string
	reversed                   int64
	status                     string
	needsApproval              bool
	availableAt                time.Time
	code                       *mCode
}

// live rewards count towards a rule's limits and a referrer's total.
func (rw *mReward) live() bool { return rw.status != rewards.Reversed && rw.status != rewards.Rejected }

type mCode struct {
	code             string
	percentOff       int64
	amountOff        int64
	currency         string
	expires          time.Time // zero: never
	redeemed, voided bool
	reward           *mReward
}

type model struct {
	customers []*mCustomer // every customer ever created
	live      []*mCustomer // those not deleted
	byKey     map[string]*mCustomer
	rules     []*mRule // in creation (= id) order
	txns      []*mTxn
	txnByKey  map[string]*mTxn
	rewards   []*mReward
	byID      map[string]*mReward
	codes     []*mCode
	manual    map[string]int64 // customer id + currency → credits minus debits
	credited  map[string]int64 // currency → all manual credits
	debited   map[string]int64 // currency → all debits
	worth     map[string]int64 // currency → what credit and cash rewards are still worth
	approval  bool             // the program requires approval
}

// ---------------------------------------------------------------------------
// The walk.

type sim struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	rng    *rand.Rand
	p      *referral.Program
	tables []string

	mu  sync.Mutex
	now time.Time

	m       model
	step    int
	op      string
	lastLtx string // the newest ledger transaction checked so far
	touched map[touchKey]bool
	friends map[string]bool // friends the step rewarded
	ops     map[string]int
	nextID  int
}

func newSim(t *testing.T, db *store.DB, seed uint64) *sim {
	s := &sim{
		t: t, ctx: t.Context(), db: db, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), ops: map[string]int{},
		m: model{byKey: map[string]*mCustomer{}, txnByKey: map[string]*mTxn{}, byID: map[string]*mReward{},
			manual: map[string]int64{}, credited: map[string]int64{}, debited: map[string]int64{}, worth: map[string]int64{}},
	}
	db.Now = s.clock
	s.p = newProgram(t, db)
	s.tables = s.tableNames()
	return s
}

// raw is the connection pool the walk's own queries use. On SQLite it is
// the read pool: the single writer connection belongs to the store's
// group commit.
func (s *sim) raw() *sql.DB { return s.db.ReadStats() }

func (s *sim) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

func (s *sim) advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

func (s *sim) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("step %d (%s): %s", s.step, s.op, fmt.Sprintf(format, args...))
}

// must fails the walk on an unexpected error.
func (s *sim) must(err error, what string) {
	s.t.Helper()
	if err != nil {
		s.fatalf("%s: %v", what, err)
	}
}

// wantFail runs op, which must fail with the given error code and change
// nothing at all.
func (s *sim) wantFail(code string, op func() error) {
	s.t.Helper()
	before := s.fingerprint()
	err := op()
	if e, ok := referral.AsError(err); !ok || e.Code != code {
		s.fatalf("got error %v, want %s", err, code)
	}
	s.unchanged(before)
}

func (s *sim) unchanged(before string) {
	s.t.Helper()
	if after := s.fingerprint(); after != before {
		s.fatalf("an operation that must change nothing changed the database:\n before %s\n after  %s", before, after)
	}
}

type simOp struct {
	name   string
	weight int
	fn     func()
}

func (s *sim) run(steps int) {
	ops := []simOp{
		{"customer", 10, s.opCustomer},
		{"customer: invalid", 2, s.opCustomerInvalid},
		{"customer: delete", 1, s.opCustomerDelete},
		{"referral later", 1, s.opReferLater},
		{"rule: create", 2, s.opRuleCreate},
		{"rule: invalid", 1, s.opRuleInvalid},
		{"rule: update", 2, s.opRuleUpdate},
		{"rule: delete", 1, s.opRuleDelete},
		{"program: approval", 1, s.opApprovalToggle},
		{"transaction", 24, s.opTransaction},
		{"transaction: replay", 6, s.opReplay},
		{"transaction: key reuse", 3, s.opKeyReuse},
		{"transaction: unknown customer", 1, s.opUnknownCustomer},
		{"transaction: concurrent", 2, s.opConcurrentDeliveries},
		{"transaction: concurrent friend", 1, s.opConcurrentFriend},
		{"refund: partial", 5, func() { s.opRefund(false) }},
		{"refund: full", 3, func() { s.opRefund(true) }},
		{"refund: invalid", 3, s.opRefundInvalid},
		{"refund: concurrent", 1, s.opConcurrentRefunds},
		{"refund and decision: concurrent", 1, s.opRefundWhileDeciding},
		{"reward: approve", 3, func() { s.opDecide(true) }},
		{"reward: reject", 2, func() { s.opDecide(false) }},
		{"reward: decide invalid", 1, s.opDecideInvalid},
		{"balance: credit", 3, s.opCredit},
		{"balance: debit", 4, s.opDebit},
		{"clock and release", 4, s.opRelease},
		{"discount: redeem", 3, s.opRedeem},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	for s.step = 1; s.step <= steps; s.step++ {
		s.advance(time.Second) // ids and timestamps of each step sort after the last
		s.touched = map[touchKey]bool{}
		s.friends = map[string]bool{}
		n := s.rng.IntN(total)
		var op simOp
		for _, o := range ops {
			if n < o.weight {
				op = o
				break
			}
			n -= o.weight
		}
		switch { // a world worth walking in: customers, and rules to fire
		case len(s.m.live) < 2:
			op = simOp{"customer", 0, s.opCustomer}
		case s.liveRules() < 3 && s.rng.IntN(3) == 0:
			op = simOp{"rule: create", 0, s.opRuleCreate}
		}
		s.op = op.name
		op.fn()
		s.ops[s.op]++
		s.checkStep()
		if s.step%checkAllEvery == 0 {
			s.checkAll()
		}
	}
	s.op = "final check"
	s.checkAll()
	s.checkVerifyCatches()
}

func (s *sim) summary() string {
	names := make([]string, 0, len(s.ops))
	for n := range s.ops {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d, ", n, s.ops[n])
	}
	live := 0
	for _, rw := range s.m.rewards {
		if rw.live() {
			live++
		}
	}
	fmt.Fprintf(&b, "= %d customers, %d rules, %d transactions, %d rewards (%d live), %d discount codes",
		len(s.m.customers), len(s.m.rules), len(s.m.txns), len(s.m.rewards), live, len(s.m.codes))
	return b.String()
}

func (s *sim) liveRules() int {
	n := 0
	for _, r := range s.m.rules {
		if !r.deleted {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------------------
// Random choices.

func (s *sim) chance(p float64) bool { return s.rng.Float64() < p }

func pick[T any](s *sim, xs []T) T { return xs[s.rng.IntN(len(xs))] }

// customer picks a customer who has not been deleted.
func (s *sim) customer() *mCustomer { return pick(s, s.m.live) }

func (s *sim) currency() string {
	switch n := s.rng.IntN(10); {
	case n < 5:
		return "USD"
	case n < 8:
		return "EUR"
	}
	return "JPY"
}

// amount is a payment in minor units: mostly ordinary, sometimes tiny, so
// that percentages also round to zero or to one minor unit.
func (s *sim) amount() int64 {
	if s.chance(0.1) {
		return 1 + s.rng.Int64N(99)
	}
	return 100 + s.rng.Int64N(50_000)
}

func (s *sim) fresh(prefix string) string {
	s.nextID++
	return fmt.Sprintf("%s-%d", prefix, s.nextID)
}

var simNames = []string{"Jane", "John", "Ana", "Kenji", "Zoë", "Omar", "Lena", "Priya", "Tom", "Ines"}

// ---------------------------------------------------------------------------
// Customers and referrals.

func (s *sim) opCustomer() {
	n := len(s.m.customers) + 1
	in := referral.NewCustomer{Key: fmt.Sprintf("cus-%d", n), Email: fmt.Sprintf("user%d@example.com", n),
		Name: fmt.Sprintf("%s %d", pick(s, simNames), n)}
	var referrer *mCustomer
	if len(s.m.customers) > 0 && s.chance(0.75) {
		referrer = s.customer()
		in.ReferredBy = referrer.code
		if s.chance(0.3) {
			in.ReferredBy = strings.ToLower(in.ReferredBy) // codes are looked up case-insensitively
		}
	}
	c, err := s.db.CreateCustomer(s.ctx, s.p, in)
	s.must(err, "create customer")
	mc := &mCustomer{id: c.ID, key: c.Key, email: c.Email, code: c.ReferralCode}
	if got, want := c.ReferrerID, idOf(referrer); got != want {
		s.fatalf("customer %s referred by %q, want %q", c.Key, got, want)
	}
	s.m.customers = append(s.m.customers, mc)
	s.m.live = append(s.m.live, mc)
	s.m.byKey[mc.key] = mc
	s.touch(mc, "")
	if referrer != nil {
		s.referred(mc, referrer)
	}
}

func idOf(c *mCustomer) string {
	if c == nil {
		return ""
	}
	return c.id
}

// referred records that friend was referred by referrer now, and checks
// the signup rewards that fired.
func (s *sim) referred(friend, referrer *mCustomer) {
	friend.referrer = referrer
	referrer.referrals = append(referrer.referrals, friend)
	s.touch(referrer, "")
	want := s.expectFire(rewards.Signup, friend, nil)
	got := s.signupRewards(friend)
	s.matchNew(want, got)
}

// signupRewards reads the rewards a friend's signup gave, straight from the
// table, then each through the store (with its discount code).
func (s *sim) signupRewards(friend *mCustomer) []*rewards.Reward {
	rows, err := s.raw().QueryContext(s.ctx, `SELECT id FROM rewards WHERE friend_id = $1 AND source = 'signup'`, friend.id)
	s.must(err, "signup rewards")
	var ids []string
	for rows.Next() {
		var id string
		s.must(rows.Scan(&id), "signup rewards")
		ids = append(ids, id)
	}
	rows.Close()
	s.must(rows.Err(), "signup rewards")
	var out []*rewards.Reward
	for _, id := range ids {
		rw, err := s.db.Reward(s.ctx, s.p.ID, id)
		s.must(err, "get reward")
		out = append(out, rw)
	}
	return out
}

func (s *sim) opCustomerInvalid() {
	r := s.customer()
	n := len(s.m.customers) + 1
	in := referral.NewCustomer{Key: fmt.Sprintf("cus-%d", n), Email: fmt.Sprintf("user%d@example.com", n), Name: "Mallory"}
	var code string
	switch s.rng.IntN(4) {
	case 0: // the referrer's own address in another spelling
		local, domain, _ := strings.Cut(r.email, "@")
		in.Email = strings.ToUpper(local[:1]) + "." + local[1:] + "+again@" + domain
		in.ReferredBy, code = r.code, "self_referral"
	case 1:
		in.ReferredBy, code = "NOSUCHCODE9", "unknown_referral_code"
		for _, c := range s.m.customers {
			if c.deleted && s.chance(0.5) { // a deleted customer refers no one
				in.ReferredBy = c.code
				break
			}
		}
	case 2:
		in.Key, in.ReferredBy, code = r.key, r.code, "customer_key_taken"
	default:
		in.Email, code = strings.ToUpper(r.email), "customer_email_taken"
	}
	s.wantFail(code, func() error { _, err := s.db.CreateCustomer(s.ctx, s.p, in); return err })
}

// opCustomerDelete erases a customer's personal data. Their referrals,
// rewards, balances and transactions stay; their code refers no one, and
// their key is free.
func (s *sim) opCustomerDelete() {
	if len(s.m.live) < 10 {
		s.opCustomer()
		return
	}
	i := s.rng.IntN(len(s.m.live))
	c := s.m.live[i]
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error {
		_, err := tx.DeleteCustomer(s.ctx, s.p.ID, c.key)
		return err
	}), "delete customer")
	s.m.live = slices.Delete(s.m.live, i, i+1)
	c.deleted = true
	delete(s.m.byKey, c.key)
	if _, err := s.db.Customer(s.ctx, s.p.ID, c.key); !errors.Is(err, referral.ErrCustomerNotFound) {
		s.fatalf("deleted customer %s reads as %v", c.key, err)
	}
	for _, cur := range simCurrencies {
		s.touch(c, cur) // what they hold stays
	}
}

// opReferLater attaches a referrer to a customer who signed up without one
// (the code arrived later), or tries an invalid change.
func (s *sim) opReferLater() {
	var alone []*mCustomer
	for _, c := range s.m.live {
		if c.referrer == nil {
			alone = append(alone, c)
		}
	}
	c := s.customer()
	update := func(code string) error {
		return s.db.InTx(s.ctx, func(tx *store.Tx) error {
			_, err := tx.UpdateCustomer(s.ctx, s.p, c.key, referral.CustomerUpdate{ReferredBy: &code})
			return err
		})
	}
	switch {
	case len(alone) > 0 && s.chance(0.2):
		c = pick(s, alone)
		s.wantFail("self_referral", func() error { return update(c.code) })
	case c.referrer != nil && s.chance(0.5):
		other := s.customer()
		if other == c.referrer || other == c {
			s.wantFail("already_referred", func() error { return update("NOSUCHCODE9") })
			return
		}
		s.wantFail("already_referred", func() error { return update(other.code) })
	case len(alone) > 0:
		c = pick(s, alone)
		r := s.customer()
		if r == c {
			s.wantFail("unknown_referral_code", func() error { return update("NOSUCHCODE9") })
			return
		}
		s.must(update(r.code), "refer later")
		s.touch(c, "")
		s.referred(c, r)
	default:
		s.wantFail("already_referred", func() error { return update("NOSUCHCODE9") })
	}
}

// ---------------------------------------------------------------------------
// Rules.

func (s *sim) randomRule() (d ruleDef, defaultCurrency bool) {
	d.Trigger = pick(s, []string{rewards.Signup, rewards.Purchase, rewards.Purchase, rewards.Subscription, rewards.Subscription})
	d.Recurrence = rewards.First
	if d.Trigger != rewards.Signup && s.chance(0.5) {
		d.Recurrence = rewards.Every
	}
	return s.randomDef(d.Trigger, d.Recurrence)
}

// randomDef makes a valid rule for trigger and recurrence.
func (s *sim) randomDef(trigger, recurrence string) (d ruleDef, defaultCurrency bool) {
	d = ruleDef{Trigger: trigger, Recurrence: recurrence, Active: true}
	d.Recipient = rewards.Referrer
	if s.chance(0.35) {
		d.Recipient = rewards.Friend
	}
	d.RewardType = pick(s, []string{rewards.Credit, rewards.Credit, rewards.Cash, rewards.Discount})
	d.Unit = rewards.Fixed
	if trigger != rewards.Signup && s.chance(0.45) {
		d.Unit = rewards.Percentage
	}
	if d.Unit == rewards.Fixed {
		d.Currency = s.currency()
		d.Amount = 100 + s.rng.Int64N(4900)
		defaultCurrency = d.Currency == "USD" && s.chance(0.5)
	} else {
		d.Amount = pick(s, []int64{500, 1000, 1250, 2000, 3333, 10000, 1 + s.rng.Int64N(10000)})
	}
	if recurrence == rewards.Every {
		if s.chance(0.5) {
			d.MaxCount = 1 + s.rng.IntN(4)
		}
		if s.chance(0.4) {
			d.MaxMonths = 1 + s.rng.IntN(6)
		}
	}
	if trigger != rewards.Signup && s.chance(0.3) {
		d.MinCurrency = d.Currency
		if d.Unit == rewards.Percentage {
			d.MinCurrency = s.p.Currency
		}
		d.MinAmount = 500 + s.rng.Int64N(20_000)
	}
	if s.chance(0.5) {
		d.HoldingDays = 1 + s.rng.IntN(30)
	}
	if s.chance(0.25) {
		d.MaxPerReferrer = 1 + s.rng.IntN(5)
	}
	if d.RewardType == rewards.Discount && s.chance(0.5) {
		d.ExpiresDays = 1 + s.rng.IntN(60)
	}
	if d.RewardType == rewards.Cash && s.chance(0.3) {
		d.PayoutMethod = pick(s, []string{"paypal", "wise"})
	}
	return d, defaultCurrency
}

func percentNumber(bp int64) json.Number {
	return json.Number(fmt.Sprintf("%d.%02d", bp/100, bp%100))
}

func (d ruleDef) amountNumber() json.Number {
	if d.Unit == rewards.Percentage {
		return percentNumber(d.Amount)
	}
	return money.Format(d.Amount, d.Currency)
}

// input is the rule as a client would send it. full sends every field, as
// a replacing update must (absent fields keep their value).
func (d ruleDef) input(full, defaultCurrency bool) rewards.RuleInput {
	name := "rule " + d.Trigger + " " + d.RewardType
	amount := money.Number(d.amountNumber())
	in := rewards.RuleInput{Name: &name, Trigger: &d.Trigger, Recipient: &d.Recipient, RewardType: &d.RewardType,
		Amount: &amount, Unit: &d.Unit, Recurrence: &d.Recurrence, HoldingDays: &d.HoldingDays, Active: &d.Active}
	switch {
	case d.Unit == rewards.Fixed && (full || !defaultCurrency):
		in.Currency = &d.Currency
	case d.Unit == rewards.Percentage && full:
		none := ""
		in.Currency = &none
	}
	if d.MaxCount != 0 || full {
		in.MaxCount = &d.MaxCount
	}
	if d.MaxMonths != 0 || full {
		in.MaxMonths = &d.MaxMonths
	}
	if d.MinAmount > 0 {
		n := money.Number(money.Format(d.MinAmount, d.MinCurrency))
		in.MinAmount = &n
	} else if full && d.Trigger != rewards.Signup {
		zero := money.Number("0")
		in.MinAmount = &zero
	}
	if d.MaxPerReferrer != 0 || full {
		in.MaxRewardsPerReferrer = &d.MaxPerReferrer
	}
	if d.ExpiresDays != 0 || full {
		in.ExpiresInDays = &d.ExpiresDays
	}
	if d.PayoutMethod != "" || full {
		in.PayoutMethod = &d.PayoutMethod
	}
	return in
}

func defOf(r *rewards.Rule) ruleDef {
	d := ruleDef{Trigger: r.Trigger, Recipient: r.Recipient, RewardType: r.RewardType, Unit: r.Unit, Amount: r.Amount,
		Currency: r.Currency, Recurrence: r.Recurrence, MaxCount: r.MaxCount, MaxMonths: r.MaxMonths, MinAmount: r.MinAmount,
		HoldingDays: r.HoldingDays, MaxPerReferrer: r.MaxRewardsPerReferrer, ExpiresDays: r.DiscountExpiresDays,
		PayoutMethod: r.PayoutMethod, Active: r.Active}
	if r.MinAmount > 0 {
		d.MinCurrency = r.MinAmountCurrency
	}
	return d
}

// checkRule compares a rule as Apply built it and as it reads back with
// what the walk defined.
func (s *sim) checkRule(built *rewards.Rule, want ruleDef) {
	s.t.Helper()
	if got := defOf(built); got != want {
		s.fatalf("Apply built %+v, want %+v", got, want)
	}
	stored, err := s.db.Rule(s.ctx, s.p.ID, built.ID)
	s.must(err, "read rule back")
	if got := defOf(stored); got != want {
		s.fatalf("rule %s reads back as %+v, want %+v", built.ID, got, want)
	}
}

func (s *sim) opRuleCreate() {
	if s.liveRules() >= 10 {
		s.opRuleDelete()
		return
	}
	d, defCur := s.randomRule()
	base := rewards.NewRule()
	base.ProgramID = s.p.ID
	r, err := rewards.Apply(base, d.input(false, defCur), s.p.Currency)
	s.must(err, fmt.Sprintf("apply rule %+v", d))
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.CreateRule(s.ctx, &r) }), "create rule")
	s.checkRule(&r, d)
	s.m.rules = append(s.m.rules, &mRule{id: r.ID, def: d})
}

// opRuleInvalid sends a rule that issue 4's "bad input" forbids; Apply must
// name the field, and nothing is stored (no store call is made).
func (s *sim) opRuleInvalid() {
	d, _ := s.randomDef(rewards.Purchase, rewards.First)
	in := d.input(false, false)
	var field string
	switch s.rng.IntN(6) {
	case 0:
		trigger, unit := rewards.Signup, rewards.Percentage
		in.Trigger, in.Unit, in.Currency, in.MinAmount = &trigger, &unit, nil, nil
		n := money.Number("10")
		in.Amount, field = &n, "unit"
	case 1:
		unit, n := rewards.Percentage, money.Number("100.01")
		in.Unit, in.Currency, in.Amount, in.MinAmount, field = &unit, nil, &n, nil, "amount"
	case 2:
		typ, method := rewards.Discount, "paypal"
		in.RewardType, in.PayoutMethod, field = &typ, &method, "payout_method"
	case 3:
		unit, cur, n := rewards.Fixed, "JPY", money.Number("10.5")
		in.Unit, in.Currency, in.Amount, in.MinAmount, field = &unit, &cur, &n, nil, "amount"
	case 4:
		n := money.Number("-5")
		in.Amount, field = &n, "amount"
	default:
		count := 3
		in.MaxCount, field = &count, "recurrence"
	}
	base := rewards.NewRule()
	base.ProgramID = s.p.ID
	_, err := rewards.Apply(base, in, s.p.Currency)
	e, ok := referral.AsError(err)
	if !ok || e.Fields[field] == "" {
		s.fatalf("invalid rule: got %v, want a problem with %s", err, field)
	}
}

func (s *sim) liveRule() *mRule {
	var live []*mRule
	for _, r := range s.m.rules {
		if !r.deleted {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return pick(s, live)
}

func (s *sim) opRuleUpdate() {
	r := s.liveRule()
	if r == nil {
		s.opRuleCreate()
		return
	}
	d := r.def
	var in rewards.RuleInput
	switch s.rng.IntN(4) {
	case 0:
		d.Active = !d.Active
		in.Active = &d.Active
	case 1:
		if d.Unit == rewards.Percentage {
			d.Amount = 1 + s.rng.Int64N(10000)
		} else {
			d.Amount = 1 + s.rng.Int64N(5000)
		}
		n := money.Number(d.amountNumber())
		in.Amount = &n
	case 2:
		d.HoldingDays = s.rng.IntN(10)
		in.HoldingDays = &d.HoldingDays
	default: // replace everything but what the rule is about
		d, _ = s.randomDef(r.def.Trigger, r.def.Recurrence)
		d.Active = r.def.Active || s.chance(0.5)
		in = d.input(true, false)
	}
	old, err := s.db.Rule(s.ctx, s.p.ID, r.id)
	s.must(err, "get rule")
	built, err := rewards.Apply(*old, in, s.p.Currency)
	s.must(err, fmt.Sprintf("apply update %+v", d))
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.UpdateRule(s.ctx, &built) }), "update rule")
	s.checkRule(&built, d)
	r.def = d
}

func (s *sim) opRuleDelete() {
	var gone []*mRule
	for _, r := range s.m.rules {
		if r.deleted {
			gone = append(gone, r)
		}
	}
	if len(gone) > 0 && s.chance(0.2) {
		r := pick(s, gone)
		if s.chance(0.5) {
			s.wantFail("reward_rule_not_found", func() error {
				return s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.DeleteRule(s.ctx, s.p.ID, r.id) })
			})
			return
		}
		rule := rewards.Rule{ID: r.id, ProgramID: s.p.ID, Trigger: r.def.Trigger, Recipient: r.def.Recipient, RewardType: r.def.RewardType,
			Unit: r.def.Unit, Amount: r.def.Amount, Currency: r.def.Currency, Recurrence: r.def.Recurrence, Active: true}
		s.wantFail("reward_rule_not_found", func() error { return s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.UpdateRule(s.ctx, &rule) }) })
		return
	}
	r := s.liveRule()
	if r == nil {
		s.opRuleCreate()
		return
	}
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.DeleteRule(s.ctx, s.p.ID, r.id) }), "delete rule")
	if _, err := s.db.Rule(s.ctx, s.p.ID, r.id); !errors.Is(err, store.ErrRuleNotFound) {
		s.fatalf("deleted rule reads as %v", err)
	}
	r.deleted = true
}

func (s *sim) opApprovalToggle() {
	p := *s.p
	p.RequireApproval = !p.RequireApproval
	s.must(s.db.InTx(s.ctx, func(tx *store.Tx) error { return tx.UpdateProgram(s.ctx, &p) }), "update program")
	var err error
	s.p, err = s.db.Program(s.ctx, s.p.ID) // as the API's auth does on every request
	s.must(err, "get program")
	if s.p.RequireApproval != p.RequireApproval {
		s.fatalf("require_approval is %v after setting %v", s.p.RequireApproval, p.RequireApproval)
	}
	s.m.approval = s.p.RequireApproval
}

// ---------------------------------------------------------------------------
// Firing rules: the model's own reading of issue 4.

// expectFire returns the rewards the live rules should give for trigger by
// friend (txn is nil for a signup). They are not in the model yet.
func (s *sim) expectFire(trigger string, friend *mCustomer, txn *mTxn) []*mReward {
	if friend.referrer == nil {
		return nil // not referred: recorded, never rewarded
	}
	now := s.clock()
	var out []*mReward
	for _, r := range s.m.rules {
		d := r.def
		if r.deleted || !d.Active || d.Trigger != trigger {
			continue
		}
		forFriend, forReferrer := 0, 0
		for _, rw := range friend.asFriend {
			if rw.rule == r && rw.live() {
				forFriend++
			}
		}
		for _, rw := range friend.referrer.asReferrer {
			if rw.rule == r && rw.live() {
				forReferrer++
			}
		}
		if d.Recurrence == rewards.First && forFriend > 0 {
			continue // "first": once per friend, unless that reward was clawed back
		}
		if d.Recurrence == rewards.Every && d.MaxCount > 0 && forFriend >= d.MaxCount {
			continue
		}
		if d.MaxPerReferrer > 0 && forReferrer >= d.MaxPerReferrer {
			continue
		}
		if d.Recurrence == rewards.Every && d.MaxMonths > 0 && txn != nil {
			first := txn.occurred
			for _, o := range friend.txns {
				if o.in.Type == txn.in.Type && o.occurred.Before(first) {
					first = o.occurred
				}
			}
			if !txn.occurred.Before(first.AddDate(0, d.MaxMonths, 0)) {
				continue
			}
		}
		// A minimum in another currency is never met: nothing is converted.
		if d.MinAmount > 0 && (txn.in.Currency != d.MinCurrency || txn.in.Amount < d.MinAmount) {
			continue
		}
		rw := &mReward{rule: r, friend: friend, referer: friend.referrer, txn: txn, trigger: d.Trigger, role: d.Recipient,
			typ: d.RewardType, status: rewards.Pending, needsApproval: s.m.approval, availableAt: now.AddDate(0, 0, d.HoldingDays)}
		rw.recipient = friend
		if d.Recipient == rewards.Referrer {
			rw.recipient = friend.referrer
		}
		switch {
		case d.Unit == rewards.Fixed: // in the rule's currency, whatever the payment's
			rw.unit, rw.amount, rw.currency = rewards.Fixed, d.Amount, d.Currency
		case d.RewardType == rewards.Discount: // percent off, no currency
			rw.unit, rw.amount = rewards.Percentage, d.Amount
		default: // a share of the payment, in its currency, half away from zero
			rw.unit, rw.currency = rewards.Percentage, txn.in.Currency
			rw.amount = (2*txn.in.Amount*d.Amount + 10000) / 20000
			if rw.amount == 0 {
				continue
			}
		}
		if !rw.needsApproval && d.HoldingDays == 0 {
			s.makeAvailable(rw, d)
		}
		out = append(out, rw)
	}
	return out
}

// makeAvailable is a reward leaving its holding period (or approved):
// discounts get their code, which expires per the rule as it is now.
func (s *sim) makeAvailable(rw *mReward, d ruleDef) {
	rw.status = rewards.Available
	if rw.typ != rewards.Discount {
		return
	}
	c := &mCode{reward: rw}
	if rw.unit == rewards.Percentage {
		c.percentOff = rw.amount
	} else {
		c.amountOff, c.currency = rw.amount, rw.currency
	}
	if d.ExpiresDays > 0 {
		c.expires = s.clock().AddDate(0, 0, d.ExpiresDays)
	}
	rw.code = c
}

// matchNew checks the rewards the engine created against the model's and
// adds them to the model, learning their ids and codes.
func (s *sim) matchNew(want []*mReward, got []*rewards.Reward) {
	s.t.Helper()
	if len(got) != len(want) {
		s.fatalf("%d rewards created, want %d:\n got  %s\n want %s", len(got), len(want), describeGot(got), s.describeWant(want))
	}
	byRule := map[string]*rewards.Reward{}
	for _, g := range got {
		if byRule[g.RuleID] != nil {
			s.fatalf("rule %s gave two rewards for one event", g.RuleID)
		}
		byRule[g.RuleID] = g
	}
	for _, w := range want {
		g := byRule[w.rule.id]
		if g == nil {
			s.fatalf("no reward from rule %s (%+v):\n got  %s\n want %s", w.rule.id, w.rule.def, describeGot(got), s.describeWant(want))
		}
		w.id = g.ID
		if w.code != nil {
			if g.DiscountCode == nil {
				s.fatalf("reward %s: no discount code issued", g.ID)
			}
			w.code.code = g.DiscountCode.Code
			s.m.codes = append(s.m.codes, w.code)
		}
		s.compareReward(w, g)
		s.m.rewards = append(s.m.rewards, w)
		s.m.byID[w.id] = w
		if w.typ != rewards.Discount {
			s.m.worth[w.currency] += w.amount
		}
		w.recipient.received = append(w.recipient.received, w)
		w.friend.asFriend = append(w.friend.asFriend, w)
		w.referer.asReferrer = append(w.referer.asReferrer, w)
		if w.txn != nil {
			w.txn.rewards = append(w.txn.rewards, w)
		}
		s.touch(w.recipient, w.currency)
		if !w.friend.converted {
			s.touch(w.referer, "") // a successful referral now
		}
		w.friend.converted = true
		s.friends[w.friend.id] = true
	}
}

func describeGot(got []*rewards.Reward) string {
	var parts []string
	for _, g := range got {
		parts = append(parts, fmt.Sprintf("{rule %s %s %s %s %d %s %s}", g.RuleID, g.Recipient, g.RewardType, g.Unit, g.Amount, g.Currency, g.Status))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (s *sim) describeWant(want []*mReward) string {
	var parts []string
	for _, w := range want {
		parts = append(parts, fmt.Sprintf("{rule %s %s %s %s %d %s %s}", w.rule.id, w.role, w.typ, w.unit, w.amount, w.currency, w.status))
	}
	return "[" + strings.Join(parts, " ") + "]"
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
	txnID, source := "", rewards.Signup
	if w.txn != nil {
		txnID, source = w.txn.id, w.txn.id
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
	want := view{w.id, w.rule.id, w.recipient.id, w.referer.id, w.friend.id, txnID, source, w.trigger, w.role, w.typ, w.unit,
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
	s.matchNew(want, t.Rewards)
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

// clawback is issue 4's refund rule: once refunded of the payment is
// refunded, a percentage reward stands reversed in proportion (rounded half
// away from zero); a fixed reward or a discount stands until the whole
// payment is refunded, then is reversed whole.
func (s *sim) clawback(mt *mTxn) {
	for _, rw := range mt.rewards {
		if !rw.live() {
			continue
		}
		var target int64
		switch {
		case mt.refunded >= mt.in.Amount:
			target = rw.amount
		case rw.unit == rewards.Percentage && rw.typ != rewards.Discount:
			target = (2*rw.amount*mt.refunded + mt.in.Amount) / (2 * mt.in.Amount)
		}
		if delta := target - rw.reversed; delta > 0 {
			s.reverse(rw, delta, rewards.Reversed)
		}
	}
}

func (s *sim) reverse(rw *mReward, delta int64, status string) {
	rw.reversed += delta
	if rw.typ != rewards.Discount {
		s.m.worth[rw.currency] -= delta
	}
	if rw.code != nil && !rw.code.redeemed {
		rw.code.voided = true
	}
	if rw.reversed == rw.amount {
		rw.status = status
	}
	s.touch(rw.recipient, rw.currency)
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
	s.clawback(mt)
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
	s.clawback(mt)
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
		decideErr = s.db.InTx(s.ctx, func(tx *store.Tx) error {
			var err error
			if approve {
				_, err = tx.ApproveReward(s.ctx, s.p.ID, rw.id)
			} else {
				_, err = tx.RejectReward(s.ctx, s.p.ID, rw.id, "simulated rejection")
			}
			return err
		})
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
		}
	}
	mt.refunded += amount
	// A decision that succeeded found the reward pending: it went first,
	// or the refund left the reward pending, and then both orders end
	// alike. One that failed came after a refund that left nothing pending.
	switch e, _ := referral.AsError(decideErr); {
	case decideErr == nil:
		decide()
		s.clawback(mt)
	case e != nil && e.Code == "reward_not_pending":
		s.clawback(mt)
		if rw.status == rewards.Pending {
			s.fatalf("the decision on %s failed although the refund left it pending", rw.id)
		}
	default:
		s.fatalf("decision on %s while refunding %d of %s: %v", rw.id, amount, mt.in.Key, decideErr)
	}
	if rw.code != nil && rw.code.code == "" {
		g, err := s.db.Reward(s.ctx, s.p.ID, rw.id)
		s.must(err, "get reward")
		if g.DiscountCode == nil {
			s.fatalf("approved discount %s has no code", rw.id)
		}
		rw.code.code = g.DiscountCode.Code
		s.m.codes = append(s.m.codes, rw.code)
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

func (s *sim) opDecide(approve bool) {
	rw := s.pendingReward()
	if rw == nil {
		s.opTransaction()
		return
	}
	var g *rewards.Reward
	err := s.db.InTx(s.ctx, func(tx *store.Tx) error {
		var err error
		if approve {
			g, err = tx.ApproveReward(s.ctx, s.p.ID, rw.id)
		} else {
			g, err = tx.RejectReward(s.ctx, s.p.ID, rw.id, "simulated rejection")
		}
		return err
	})
	s.must(err, "decide reward")
	if approve {
		s.makeAvailable(rw, rw.rule.def)
		if rw.code != nil {
			if g.DiscountCode == nil {
				s.fatalf("approved discount %s has no code", rw.id)
			}
			rw.code.code = g.DiscountCode.Code
			s.m.codes = append(s.m.codes, rw.code)
		}
	} else {
		s.reverse(rw, rw.amount-rw.reversed, rewards.Rejected)
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
	s.wantFail(code, func() error {
		return s.db.InTx(s.ctx, func(tx *store.Tx) error {
			var err error
			if approve {
				_, err = tx.ApproveReward(s.ctx, s.p.ID, id)
			} else {
				_, err = tx.RejectReward(s.ctx, s.p.ID, id, "too late")
			}
			return err
		})
	})
}

// opRelease moves the clock on and runs the holding job, sometimes in
// small batches.
func (s *sim) opRelease() {
	s.advance(time.Duration(1+s.rng.IntN(6*24)) * time.Hour)
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
			if rw.code != nil {
				if g.DiscountCode == nil {
					s.fatalf("released discount %s has no code", rw.id)
				}
				rw.code.code = g.DiscountCode.Code
				s.m.codes = append(s.m.codes, rw.code)
			}
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

// wantStats recomputes the seed's stats: referrals made, those for which a
// rule gave a reward, and what the referrer earned in cur that was not
// reversed or rejected (percent-off discounts have no amount).
func (s *sim) wantStats(c *mCustomer, cur string) rewards.Stats {
	st := rewards.Stats{Currency: cur, TotalReferrals: len(c.referrals)}
	for _, f := range c.referrals {
		if f.converted {
			st.SuccessfulReferrals++
		}
	}
	st.PendingReferrals = st.TotalReferrals - st.SuccessfulReferrals
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
		[]any{s.lastLtx}, func(row interface{ Scan(...any) error }) error {
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
	s.query(`SELECT id FROM ledger_transactions WHERE id > $1`, []any{s.lastLtx}, func(row interface{ Scan(...any) error }) error {
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
		[]any{s.lastLtx}, func(row interface{ Scan(...any) error }) error {
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
		func(row interface{ Scan(...any) error }) error {
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
	rows, err := s.raw().QueryContext(s.ctx, q)
	s.must(err, "list tables")
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		s.must(rows.Scan(&name), "list tables")
		out = append(out, name)
	}
	s.must(rows.Err(), "list tables")
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
	s.query(strings.Join(parts, " UNION ALL "), nil, func(row interface{ Scan(...any) error }) error {
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

func (s *sim) query(q string, args []any, scan func(rows interface{ Scan(...any) error }) error) {
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
		func(row interface{ Scan(...any) error }) error {
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
		FROM rewards WHERE program_id = $1`, []any{s.p.ID}, func(row interface{ Scan(...any) error }) error {
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
		[]any{s.p.ID}, func(row interface{ Scan(...any) error }) error {
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
		[]any{s.p.ID}, func(row interface{ Scan(...any) error }) error {
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
		func(row interface{ Scan(...any) error }) error {
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
		func(row interface{ Scan(...any) error }) error {
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

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, st := range bi.Settings {
		if st.Key == "-race" {
			return st.Value == "true"
		}
	}
	return false
}
