package store_test

// TestSimulation, a seeded random walk over the store's money paths checked
// against an independent model after every step. This file holds the test
// and its knobs (seeds, step counts, -short), the walk's state and helpers,
// the op table and the run loop, and the random choices the ops draw from.
// The rest of the simulation:
//
//	simulation_model_test.go      the model, and what it expects rules to give
//	simulation_ops_test.go        ops on customers, referrals, rules, the program
//	simulation_ops_money_test.go  ops that move money: payments, refunds, approvals, …
//	simulation_checks_test.go     comparisons with the model and the invariants

import (
	"context"
	"database/sql"
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

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// The simulation's knobs. A failure prints the seed and the step count, so
// that `go test ./internal/store/ -run TestSimulation -sim.seed=N` replays
// exactly the same walk.
var (
	simSeed  = flag.Uint64("sim.seed", 0, "seed of TestSimulation (0: $ADVOCATE_SIM_SEED, else the clock; with -short, a fixed seed)")
	simSteps = flag.Int("sim.steps", 0, "steps of TestSimulation per engine (0: $ADVOCATE_SIM_STEPS, else the engine's default or, with -short, simShortSteps)")
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

// simShortSteps are the step counts of `go test -short`, a developer's
// quick run: one fixed seed, a few seconds per engine, still through the
// final whole-database check. -sim.seed and -sim.steps (or their
// environment variables) override it; scripts/test.sh never passes -short,
// so CI keeps the full walk.
var simShortSteps = map[store.Engine]int{store.SQLite: 300, store.Postgres: 100}

// TestSimulation is a seeded random walk over the store's money paths
// (signups, referrals, rules, purchases, subscriptions, duplicate and
// concurrent deliveries, partial and full refunds, approvals, the holding
// job, manual credits and debits, discount codes, deleted customers) on
// both engines. After every step it checks that the ledger transactions
// the step wrote sum to zero and the balances it touched equal their
// entries, that no reward exists twice, that a failed operation changed
// nothing, and that stats and balances equal what an independent model of
// issue 4's rules and issue 16's offers (milestones, tiers, currency
// options, skip counts, caps per period and by value; referral stats by
// qualification) computes from the operations alone; every few hundred
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
// alone, or else with -short the first fixed seed alone, or else the fixed
// seeds and one from the clock.
func simulationSeeds() []uint64 {
	if *simSeed != 0 {
		return []uint64{*simSeed}
	}
	if v, err := strconv.ParseUint(os.Getenv("ADVOCATE_SIM_SEED"), 10, 64); err == nil && v != 0 {
		return []uint64{v}
	}
	if testing.Short() {
		return simFixedSeeds[:1]
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
	if testing.Short() {
		return simShortSteps[e]
	}
	return simDefaultSteps[raceEnabled()][e]
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

var simCurrencies = []string{"USD", "EUR", "JPY"}

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
			manual: map[string]int64{}, seen: map[string]int{}, credited: map[string]int64{}, debited: map[string]int64{}, worth: map[string]int64{}},
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
		{"clock: weeks", 1, s.opWeeks},
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
	names = names[:0]
	for n := range s.m.seen {
		names = append(names, n)
	}
	slices.Sort(names)
	b.WriteString("offers: ")
	for _, n := range names {
		fmt.Fprintf(&b, "%s %d, ", n, s.m.seen[n])
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
