package email

// Occurrence is what planning needs to know of one event of the outbox.
// The store reads it from the event and the rows it names.
type Occurrence struct {
	Type string
	// ReferrerID is the referrer of a referral.created.
	ReferrerID string
	// Reward is the reward of a reward.created or reward.available.
	Reward *RewardFact
}

// RewardFact is what planning needs to know of a reward.
type RewardFact struct {
	CustomerID string
	// ToReferrer says the reward is the referrer's (its customer is not
	// the friend).
	ToReferrer bool
	// HasCode says a discount code was issued for it.
	HasCode bool
	// AvailableAtOnce says it was created available (no approval, no
	// holding period): its reward.created and reward.available came from
	// one change.
	AvailableAtOnce bool
}

// Planned is one email an event makes: a kind, to a customer or to the
// program's admins.
type Planned struct {
	Kind       string
	CustomerID string // "" when ToAdmins
	ToAdmins   bool
}

// Plan says which emails an event makes. A referrer hears of a friend's
// signup, of each reward they earn and of each that later becomes
// available: a reward created available is announced once, by its
// RewardEarned (whose text covers both), not by a second email a moment
// later. A friend hears of a discount code when it is issued, which is
// when their reward becomes available, at once or after holding. Admins
// hear of a webhook endpoint disabled. Other events make no email.
func Plan(o Occurrence) []Planned {
	switch o.Type {
	case "referral.created":
		if o.ReferrerID != "" {
			return []Planned{{Kind: FriendSignedUp, CustomerID: o.ReferrerID}}
		}
	case "reward.created":
		if r := o.Reward; r != nil && r.ToReferrer {
			return []Planned{{Kind: RewardEarned, CustomerID: r.CustomerID}}
		}
	case "reward.available":
		switch r := o.Reward; {
		case r == nil:
		case r.ToReferrer && !r.AvailableAtOnce:
			return []Planned{{Kind: RewardAvailable, CustomerID: r.CustomerID}}
		case !r.ToReferrer && r.HasCode:
			return []Planned{{Kind: FriendDiscount, CustomerID: r.CustomerID}}
		}
	case "webhook_endpoint.disabled":
		return []Planned{{Kind: EndpointDisabled, ToAdmins: true}}
	}
	return nil
}

// PlannedTypes are the event types Plan may make email of: the store reads
// only those.
var PlannedTypes = []string{"referral.created", "reward.created", "reward.available", "webhook_endpoint.disabled"}
