package rewards

// The reward workflow: what happens when a referred friend signs up or
// pays, when a reward's holding period ends or a person decides on it,
// when a payment is refunded, and when credit is added or spent by hand.
//
// Each step is a function of what it needs to know, read by the store
// beforehand, and returns a Plan: the rewards to create, the rewards whose
// state changes, the discount codes to issue or void, the ledger
// transactions to post and the events to announce. The store persists a
// plan as given, in the operation's own database transaction, and decides
// nothing itself. So this file reads like the product, with no SQL in it,
// and is tested with table tests of named cases (workflow_test.go).

import (
	"time"

	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/referral"
)

// Plan is one step of the workflow worked out in full.
type Plan struct {
	// Rewards are new rewards, with their discount code when one is
	// issued at once.
	Rewards []*Reward
	// Changed are rewards whose status, reversed amount, reject reason or
	// need for approval changed.
	Changed []*Reward
	// Codes are discount codes to issue. The store picks each one's text,
	// which must be unique in the program.
	Codes []*DiscountCode
	// Voided names rewards whose unredeemed discount code is cancelled.
	Voided []string
	// Redeemed is a discount code used at checkout.
	Redeemed *DiscountCode
	// Refund is a refund of a payment, with its new refunded total.
	Refund *Refund
	// Ledger holds the balanced transactions to post, in order.
	Ledger []ledger.Transaction
	// Events are announced in the outbox (DESIGN.md §9) with the change.
	Events []OutboxEvent
	// Referral is a change of the friend's referral: successful, back to
	// pending, or rejected.
	Referral *ReferralChange
}

// Referral states, as the stats count them.
const (
	ReferralSuccessful = "successful"
	ReferralPending    = "pending"
	ReferralRejected   = "rejected"
)

// ReferralChange moves a friend's referral to State. A successful one
// names the payment that made it so (By; "" for the signup), so that a
// full refund of that payment can take it back.
type ReferralChange struct {
	FriendID string
	State    string
	By       string
}

// OutboxEvent is an event to record with the change it announces. Data is
// marshalled to JSON by the store.
type OutboxEvent struct {
	Type string
	Data any
}

// Refund is one refund of a payment.
type Refund struct {
	ID          string
	Transaction *Transaction // with Refunded already raised by Amount
	Amount      int64
	Reason      string
}

// Env is what every step takes from its surroundings: the time of the
// database transaction (one value for every row it writes) and a source of
// new ids.
type Env struct {
	Now   time.Time
	NewID func(prefix string) string
}

// FriendState is the referred customer whose action may fire rules.
type FriendState struct {
	ID, Key                 string
	ReferrerID, ReferrerKey string
	// Converted says the friend's referral is already successful.
	Converted bool
	// Rejected says a person rejected the referral (a referrer reward
	// for it): it rewards no one again.
	Rejected bool
	// PaidBeforeReferral says the friend had paid before they were
	// referred.
	PaidBeforeReferral bool
}

// RuleState is an active rule with what it has already given (History is
// only read for rules whose CountsHistory is true).
type RuleState struct {
	Rule    *Rule
	History History
}

// Firing is everything deciding the rewards for a friend's action needs.
type Firing struct {
	ProgramID        string
	RequireApproval  bool // the program's setting, for rules that follow it
	NewCustomersOnly bool // the program rewards nothing for a friend who paid before being referred
	Friend           FriendState
	Event            Event
	Transaction      *Transaction // the payment; nil for a signup
	Rules            []RuleState  // the program's active rules of Event.Trigger
	// ReferrerTriggers are the triggers of the program's active referrer
	// rules other than milestones (read for a signup not yet successful):
	// a program that rewards referrers for nothing counts the signup.
	ReferrerTriggers []string
	// Successful is the referrer's successful referrals before this
	// event (read when a tiered or milestone rule needs it).
	Successful int
	// Milestones are the program's active milestone rules with what each
	// gave the referrer (read when the referral becomes successful).
	Milestones []RuleState
}

// Rewardable says whether the friend's actions may reward anyone: they
// were referred, and, when the program rewards new customers only, they
// had not paid before (an existing customer is not one the referral
// brought).
func (f Firing) Rewardable() bool {
	return f.Friend.ReferrerID != "" && !f.Friend.Rejected && !(f.NewCustomersOnly && f.Friend.PaidBeforeReferral)
}

// Qualifies says whether the friend's action makes their referral
// successful: it is what an active referrer rule rewards (its trigger, at
// its minimum; caps do not matter), or, in a program that rewards
// referrers for nothing but milestones, the signup.
func (f Firing) Qualifies() bool {
	if !f.Rewardable() {
		return false
	}
	if f.Event.Trigger == Signup && len(f.ReferrerTriggers) == 0 {
		return true
	}
	for _, rs := range f.Rules {
		if rs.Rule.Qualifies(f.Event) {
			return true
		}
	}
	return false
}

// Converts says whether the action makes the referral successful now.
func (f Firing) Converts() bool {
	return !f.Friend.Converted && f.Qualifies()
}

// SuccessfulAfter is the referrer's successful referrals once the action
// is counted.
func (f Firing) SuccessfulAfter() int {
	if f.Converts() {
		return f.Successful + 1
	}
	return f.Successful
}

// RewardEvent is the data of reward.created and reward.available.
type RewardEvent struct {
	RewardID   string `json:"reward_id"`
	CustomerID string `json:"customer_id"`
	Status     string `json:"status"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	RewardType string `json:"reward_type"`
}

func rewardEvent(rw *Reward) *RewardEvent {
	return &RewardEvent{RewardID: rw.ID, CustomerID: rw.CustomerID, Status: rw.Status,
		Amount: rw.Amount, Currency: rw.Currency, RewardType: rw.RewardType}
}

// TransactionEvent is the data of transaction.created.
type TransactionEvent struct {
	TransactionID string `json:"transaction_id"`
	Key           string `json:"key"`
	CustomerID    string `json:"customer_id"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
}

// Payment is what happens when a friend pays: the payment is announced
// and the rules of its type fire. f.Transaction is the payment.
func (e Env) Payment(f Firing) Plan {
	t := f.Transaction
	p := Plan{Events: []OutboxEvent{{"transaction.created", &TransactionEvent{t.ID, t.Key, t.CustomerID, t.Amount, t.Currency}}}}
	p.Add(e.Fire(f))
	return p
}

// Fire gives the rewards of every rule that fires for the friend's action.
// A reward nothing holds back (no approval, no holding period) is
// available at once: its value goes straight into the available account
// (one posting instead of two) or its discount code is issued. When the
// action makes the referral successful, the referrer's milestones it
// reaches are rewarded too.
func (e Env) Fire(f Firing) Plan {
	var p Plan
	if !f.Rewardable() {
		return p
	}
	source := Signup
	if f.Transaction != nil {
		source = f.Transaction.ID
	}
	ev := f.Event
	ev.Successful = f.SuccessfulAfter()
	for _, rs := range f.Rules {
		if grant, ok, _ := rs.Rule.Fire(ev, rs.History); ok {
			p.give(e, f, rs.Rule, grant, source)
		}
	}
	if !f.Converts() {
		return p
	}
	by := ""
	if f.Transaction != nil {
		by = f.Transaction.ID
	}
	p.Referral = &ReferralChange{FriendID: f.Friend.ID, State: ReferralSuccessful, By: by}
	ok := map[string]any{"customer_id": f.Friend.ID, "referrer_id": f.Friend.ReferrerID}
	if by != "" {
		ok["transaction_id"] = by
	}
	p.Events = append(p.Events, OutboxEvent{"referral.successful", ok})
	// A milestone is the referrer's, not the payment's: its source is its
	// own, so that a refund of the payment claws it back only by taking
	// the referrer below it.
	reached := Event{Trigger: Milestone, OccurredAt: ev.OccurredAt, Successful: ev.Successful}
	for _, rs := range f.Milestones {
		if grant, ok, _ := rs.Rule.Fire(reached, rs.History); ok {
			p.give(e, f, rs.Rule, grant, Milestone+":"+source)
		}
	}
	return p
}

// give adds the reward rule gives for the friend's action from source
// (the payment's id, or signup).
func (p *Plan) give(e Env, f Firing, rule *Rule, grant Grant, source string) {
	rw := &Reward{
		ID: e.NewID("rwd"), ProgramID: f.ProgramID, RuleID: rule.ID,
		ReferrerID: f.Friend.ReferrerID, FriendID: f.Friend.ID, FriendKey: f.Friend.Key, Source: source,
		Trigger: rule.Trigger, Recipient: rule.Recipient, RewardType: rule.RewardType, Unit: grant.Unit,
		Amount: grant.Amount, Currency: grant.Currency, Status: Pending, NeedsApproval: rule.NeedsApproval(f.RequireApproval),
		AvailableAt: rule.AvailableAt(e.Now), CreatedAt: e.Now, UpdatedAt: e.Now,
	}
	if rule.Recipient == Referrer {
		rw.CustomerID, rw.CustomerKey = f.Friend.ReferrerID, f.Friend.ReferrerKey
	} else {
		rw.CustomerID, rw.CustomerKey = f.Friend.ID, f.Friend.Key
	}
	if t := f.Transaction; t != nil && rule.Trigger != Milestone {
		rw.TransactionID, rw.TransactionKey = t.ID, t.Key
	}
	immediate := !rw.NeedsApproval && rule.HoldingDays == 0
	if immediate {
		rw.Status = Available
	}
	p.Rewards = append(p.Rewards, rw)
	if rw.RewardType != Discount {
		account := ledger.PendingAccount(rw.RewardType)
		if immediate {
			account = ledger.AvailableAccount(rw.RewardType)
		}
		p.Ledger = append(p.Ledger, ledger.Transaction{Kind: ledger.KindRewardEarned, RewardID: rw.ID,
			Postings: ledger.Move(ledger.ProgramOwner, ledger.RewardsExpense, rw.CustomerID, account, rw.Amount, rw.Currency)})
	} else if immediate {
		p.issueCode(e, rw, rule.DiscountExpiresDays)
	}
	// One value for both events: the store marshals it once.
	data := rewardEvent(rw)
	p.Events = append(p.Events, OutboxEvent{"reward.created", data})
	if immediate {
		p.Events = append(p.Events, OutboxEvent{"reward.available", data})
	}
}

// Loss is what taking a successful referral from its referrer needs: their
// successful referrals before the loss, and each active milestone rule
// with its rewards to them that still stand.
type Loss struct {
	FriendID   string
	Successful int
	Milestones []Standing
}

// Standing is a milestone rule with its rewards that were not reversed.
type Standing struct {
	Rule    *Rule
	Rewards []*Reward
}

// lose claws back the milestones a referrer falls below when a referral
// stops counting, with the same clawback as a refund, unless the reward
// was paid out already.
func (e Env) lose(l Loss, note string) Plan {
	var p Plan
	for _, m := range l.Milestones {
		if l.Successful-1 >= m.Rule.MilestoneReferrals {
			continue
		}
		for _, rw := range m.Rewards {
			if (rw.Status == Pending || rw.Status == Available) && rw.Net() > 0 {
				p.Add(e.reverse(rw, rw.Net(), Reversed, note))
			}
		}
	}
	return p
}

// Unconverts says whether refunding t may take the friend's referral back
// to pending: t made it successful and is now refunded in full.
func Unconverts(t *Transaction, convertedBy string) bool {
	return convertedBy != "" && convertedBy == t.ID && t.Refunded >= t.Amount
}

// Requalify decides a referral again once the payment that made it
// successful was refunded in full (see Unconverts). Another payment of the
// friend's, not refunded in full, that an active referrer rule (rules)
// rewards keeps it successful; otherwise it goes back to pending and the
// referrer loses the milestones they fall below.
func (e Env) Requalify(friend FriendState, others []*Transaction, rules []*Rule, l Loss) Plan {
	for _, t := range others {
		if t.Refunded >= t.Amount {
			continue
		}
		ev := Event{Trigger: t.Type, Amount: t.Amount, Currency: t.Currency, OccurredAt: t.OccurredAt}
		for _, r := range rules {
			if r.Qualifies(ev) {
				return Plan{Referral: &ReferralChange{FriendID: friend.ID, State: ReferralSuccessful, By: t.ID}}
			}
		}
	}
	p := e.lose(l, "referral back to pending")
	p.Referral = &ReferralChange{FriendID: friend.ID, State: ReferralPending}
	p.Events = append(p.Events, OutboxEvent{"referral.pending", map[string]any{"customer_id": friend.ID, "referrer_id": friend.ReferrerID}})
	return p
}

// RejectsReferral says whether rejecting rw rejects the friend's referral
// as well: a person refused the referrer's reward for it, which is how a
// referral is judged fraudulent. A milestone reward is the referrer's
// own and rejects no referral.
func RejectsReferral(rw *Reward) bool {
	return rw.Recipient == Referrer && rw.Trigger != Milestone
}

// RejectReferral makes a referral count in neither figure and reward no
// one again. If it was successful, the referrer loses the milestones they
// fall below.
func (e Env) RejectReferral(friend FriendState, l Loss) Plan {
	var p Plan
	if friend.Converted {
		p = e.lose(l, "referral rejected")
	}
	p.Referral = &ReferralChange{FriendID: friend.ID, State: ReferralRejected}
	p.Events = append(p.Events, OutboxEvent{"referral.rejected", map[string]any{"customer_id": friend.ID, "referrer_id": friend.ReferrerID}})
	return p
}

// issueCode issues a discount reward's single-use code.
func (p *Plan) issueCode(e Env, rw *Reward, expiresDays int) {
	dc := &DiscountCode{ID: e.NewID("dc"), ProgramID: rw.ProgramID, CustomerID: rw.CustomerID,
		CustomerKey: rw.CustomerKey, RewardID: rw.ID, CreatedAt: e.Now}
	if rw.Unit == Percentage {
		dc.PercentOff = rw.Amount
	} else {
		dc.AmountOff, dc.Currency = rw.Amount, rw.Currency
	}
	if expiresDays > 0 {
		t := e.Now.AddDate(0, 0, expiresDays)
		dc.ExpiresAt = &t
	}
	rw.DiscountCode = dc
	p.Codes = append(p.Codes, dc)
}

// Reward errors a client can cause.
var (
	ErrRewardNotPending = referral.Errorf(referral.KindConflict, "reward_not_pending", "Only a pending reward can be approved or rejected.")
)

// Release makes a pending reward available: its value moves from the
// pending to the available account, or its discount code is issued
// (codeExpiresDays comes from its rule). It is what happens when a holding
// period ends and when a person approves.
func (e Env) Release(rw *Reward, codeExpiresDays int) Plan {
	var p Plan
	if rw.RewardType == Discount {
		p.issueCode(e, rw, codeExpiresDays)
	} else if net := rw.Net(); net > 0 {
		p.Ledger = append(p.Ledger, ledger.Transaction{Kind: ledger.KindRewardReleased, RewardID: rw.ID,
			Postings: ledger.Move(rw.CustomerID, ledger.PendingAccount(rw.RewardType), rw.CustomerID,
				ledger.AvailableAccount(rw.RewardType), net, rw.Currency)})
	}
	rw.Status, rw.UpdatedAt = Available, e.Now
	p.Changed = append(p.Changed, rw)
	p.Events = append(p.Events, OutboxEvent{"reward.available", rewardEvent(rw)})
	return p
}

// Hold leaves a due reward pending and makes it wait for a person: its
// release would take the customer's balance beyond money.MaxAmount, and
// it must neither block the rewards due after it nor be retried forever.
func (e Env) Hold(rw *Reward) Plan {
	rw.NeedsApproval, rw.UpdatedAt = true, e.Now
	return Plan{Changed: []*Reward{rw}}
}

// Approve makes a pending reward available now, whether it waited for
// approval or for its holding period.
func (e Env) Approve(rw *Reward, codeExpiresDays int) (Plan, error) {
	if rw.Status != Pending {
		return Plan{}, ErrRewardNotPending
	}
	return e.Release(rw, codeExpiresDays), nil
}

// Reject cancels a pending reward with a reason; its value goes back to
// the program. A pending discount has no code yet: nothing to void.
func (e Env) Reject(rw *Reward, reason string) (Plan, error) {
	if rw.Status != Pending {
		return Plan{}, ErrRewardNotPending
	}
	rw.RejectReason = reason
	if rw.RewardType == Discount {
		rw.Reversed, rw.Status, rw.UpdatedAt = rw.Amount, Rejected, e.Now
		return Plan{Changed: []*Reward{rw}, Events: []OutboxEvent{{"reward.rejected",
			map[string]any{"reward_id": rw.ID, "customer_id": rw.CustomerID}}}}, nil
	}
	return e.reverse(rw, rw.Net(), Rejected, "rejected: "+reason), nil
}

// reverse claws back delta (0 < delta <= rw.Net()) of a reward's value. A
// pending reward loses it from its pending account; an available or paid
// one from the available account, which may go negative: the debt is
// carried and offset against later rewards and payouts. A discount is
// reversed whole by voiding its code. Once nothing is left the reward
// takes status: reversed, or rejected when a person rejected it.
func (e Env) reverse(rw *Reward, delta int64, status, note string) Plan {
	var p Plan
	wasPending := rw.Status == Pending
	rw.Reversed += delta
	rw.UpdatedAt = e.Now
	if rw.Net() == 0 {
		rw.Status = status
	}
	p.Changed = append(p.Changed, rw)
	if rw.RewardType == Discount {
		p.Voided = append(p.Voided, rw.ID)
	} else {
		account := ledger.AvailableAccount(rw.RewardType)
		if wasPending {
			account = ledger.PendingAccount(rw.RewardType)
		}
		p.Ledger = append(p.Ledger, ledger.Transaction{Kind: ledger.KindRewardReversed, RewardID: rw.ID, Note: note,
			Postings: ledger.Move(rw.CustomerID, account, ledger.ProgramOwner, ledger.RewardsExpense, delta, rw.Currency)})
	}
	typ := "reward.reversed"
	if rw.Status == Rejected {
		typ = "reward.rejected"
	}
	p.Events = append(p.Events, OutboxEvent{typ, map[string]any{"reward_id": rw.ID, "customer_id": rw.CustomerID,
		"reversed": delta, "currency": rw.Currency, "status": rw.Status}})
	return p
}

// Refund errors a client can cause.
var (
	ErrAlreadyRefunded    = referral.Errorf(referral.KindConflict, "already_refunded", "This transaction was already refunded in full.")
	ErrRefundExceedsTotal = referral.FieldError("refund_exceeds_amount", "amount", "The refund is more than what remains unrefunded of the transaction.")
	// ErrAmountNotPositive guards the workflow itself: a negative debit
	// would be a credit in disguise, whatever the caller checked.
	ErrAmountNotPositive = referral.FieldError("invalid_amount", "amount", "The amount must be more than 0.")
)

// Refund records a refund of amount (0: everything not yet refunded) of
// payment t and claws back its rewards (rws, in id order): percentage
// rewards shrink in proportion to what is refunded, fixed rewards and
// discounts are reversed when the whole payment is. Pending rewards lose
// value from their pending account; available and paid ones are debited,
// even below zero.
func (e Env) Refund(t *Transaction, rws []*Reward, amount int64, reason string) (Plan, error) {
	if amount < 0 {
		return Plan{}, ErrAmountNotPositive
	}
	remaining := t.Amount - t.Refunded
	if remaining == 0 {
		return Plan{}, ErrAlreadyRefunded
	}
	if amount == 0 {
		amount = remaining
	}
	if amount > remaining {
		return Plan{}, ErrRefundExceedsTotal
	}
	t.Refunded += amount
	t.UpdatedAt = e.Now
	p := Plan{Refund: &Refund{ID: e.NewID("ref"), Transaction: t, Amount: amount, Reason: reason}}
	for _, rw := range rws {
		if rw.Status == Reversed || rw.Status == Rejected || rw.Trigger == Milestone {
			continue
		}
		delta := ClawbackTarget(rw.Amount, rw.Unit, rw.RewardType, t.Refunded, t.Amount) - rw.Reversed
		if delta <= 0 {
			continue
		}
		p.Add(e.reverse(rw, delta, Reversed, "refund of "+t.Key))
	}
	p.Events = append(p.Events, OutboxEvent{"transaction.refunded", map[string]any{"transaction_id": t.ID, "key": t.Key,
		"amount": amount, "refunded_amount": t.Refunded, "currency": t.Currency}})
	return p, nil
}

// ErrInsufficientBalance is returned for a debit above the available credit.
var ErrInsufficientBalance = referral.FieldError("insufficient_balance", "amount", "The amount is more than the customer's available credit.")

// Credit adds a manual credit to a customer's available credit.
func (e Env) Credit(customerID string, amount int64, currency, note string) (Plan, error) {
	if amount <= 0 {
		return Plan{}, ErrAmountNotPositive
	}
	return Plan{
		Ledger: []ledger.Transaction{{Kind: ledger.KindManualCredit, Note: note,
			Postings: ledger.Move(ledger.ProgramOwner, ledger.Adjustments, customerID, ledger.CreditAvailable, amount, currency)}},
		Events: []OutboxEvent{{"balance.credited", map[string]any{"customer_id": customerID, "amount": amount, "currency": currency, "note": note}}},
	}, nil
}

// Debit spends a customer's available credit (at checkout), never below
// zero: available is the credit the customer holds, read and locked in the
// same database transaction.
func (e Env) Debit(customerID string, available, amount int64, currency, note string) (Plan, error) {
	if amount <= 0 {
		return Plan{}, ErrAmountNotPositive
	}
	if amount > available {
		return Plan{}, ErrInsufficientBalance
	}
	return Plan{
		Ledger: []ledger.Transaction{{Kind: ledger.KindDebit, Note: note,
			Postings: ledger.Move(customerID, ledger.CreditAvailable, ledger.ProgramOwner, ledger.Redemptions, amount, currency)}},
		Events: []OutboxEvent{{"balance.debited", map[string]any{"customer_id": customerID, "amount": amount, "currency": currency, "note": note}}},
	}, nil
}

// Discount code errors a client can cause.
var (
	ErrDiscountCodeNotFound = referral.Errorf(referral.KindNotFound, "discount_code_not_found", "No discount code like that exists in this program.")
	ErrDiscountCodeRedeemed = referral.Errorf(referral.KindConflict, "discount_code_redeemed", "This discount code was already used.")
	ErrDiscountCodeVoid     = referral.Errorf(referral.KindConflict, "discount_code_void", "This discount code was cancelled because its reward was reversed.")
	ErrDiscountCodeExpired  = referral.Errorf(referral.KindInvalid, "discount_code_expired", "This discount code has expired.")
)

// Redeem uses a discount code at checkout, once.
func (e Env) Redeem(dc *DiscountCode) (Plan, error) {
	switch {
	case dc.RedeemedAt != nil:
		return Plan{}, ErrDiscountCodeRedeemed
	case dc.VoidedAt != nil:
		return Plan{}, ErrDiscountCodeVoid
	case dc.ExpiresAt != nil && !e.Now.Before(*dc.ExpiresAt):
		return Plan{}, ErrDiscountCodeExpired
	}
	now := e.Now
	dc.RedeemedAt = &now
	return Plan{Redeemed: dc, Events: []OutboxEvent{{"discount_code.redeemed",
		map[string]any{"code": dc.Code, "customer_id": dc.CustomerID, "reward_id": dc.RewardID}}}}, nil
}

// Add appends q's changes to p's: two steps of one operation.
func (p *Plan) Add(q Plan) {
	p.Rewards = append(p.Rewards, q.Rewards...)
	p.Changed = append(p.Changed, q.Changed...)
	p.Codes = append(p.Codes, q.Codes...)
	p.Voided = append(p.Voided, q.Voided...)
	p.Ledger = append(p.Ledger, q.Ledger...)
	p.Events = append(p.Events, q.Events...)
	if q.Redeemed != nil {
		p.Redeemed = q.Redeemed
	}
	if q.Refund != nil {
		p.Refund = q.Refund
	}
	if q.Referral != nil {
		p.Referral = q.Referral
	}
}
