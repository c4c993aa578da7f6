package email

// Kinds of email a program sends.
const (
	FriendSignedUp   = "friend_signed_up"          // to the referrer: a friend signed up through their link
	RewardEarned     = "reward_earned"             // to the referrer: they earned a reward (pending or available)
	RewardAvailable  = "reward_available"          // to the referrer: a reward became available
	FriendDiscount   = "friend_discount_code"      // to the friend: their discount code
	EndpointDisabled = "webhook_endpoint_disabled" // to the program's admins: a webhook endpoint was disabled
)

// Placeholder is a value a template may use as {{name}}. Example is what the
// dashboard's preview shows for it.
type Placeholder struct{ Name, Description, Example string }

// Kind describes one kind of email: who gets it, its default subject/body and
// the placeholders it may use.
type Kind struct {
	Name, Title, Audience string // Audience: "referrer", "friend", "admins"
	Subject, Body         string // the defaults
	Placeholders          []Placeholder
}

// The audiences of the kinds.
const (
	AudienceReferrer = "referrer"
	AudienceFriend   = "friend"
	AudienceAdmins   = "admins"
)

// Placeholders shared by several kinds.
var (
	phProgramName = Placeholder{"program_name", "The program's name.", "Acme Rewards"}
	phName        = Placeholder{"customer_name", "The recipient's full name (their email address when the name is unknown).", "Jane Doe"}
	phFirstName   = Placeholder{"customer_first_name", "The recipient's first name (\"there\" when the name is unknown).", "Jane"}
	phLink        = Placeholder{"referral_link", "The recipient's referral link, to share with friends.", "https://acme.example/?ref=JANE20"}
	phCode        = Placeholder{"referral_code", "The recipient's referral code.", "JANE20"}
	phFriend      = Placeholder{"friend_name", "The referred friend's name (their email address when the name is unknown).", "Sam Lee"}
	phAmount      = Placeholder{"reward_amount", "The reward's value, formatted: an amount such as \"$20.00\" or a percentage such as \"20% off\".", "$20.00"}
	phRewardDesc  = Placeholder{"reward_description", "What the reward is, in words.", "$20.00 account credit"}
	phStatus      = Placeholder{"reward_status", "The reward's status: \"pending\" while it is held, \"available\" once it can be used.", "pending"}
)

// Kinds are the kinds of email, in display order.
var Kinds = []Kind{
	{
		Name:     FriendSignedUp,
		Title:    "A friend signed up",
		Audience: AudienceReferrer,
		Subject:  "{{friend_name}} joined {{program_name}} through your link",
		Body: `Hi {{customer_first_name}},

Good news: {{friend_name}} just signed up for {{program_name}} through your referral link. Thank you for spreading the word!

You will be rewarded as soon as {{friend_name}} qualifies. Keep sharing your link to earn more:

{{referral_link}}`,
		Placeholders: []Placeholder{phProgramName, phName, phFirstName, phLink, phCode, phFriend},
	},
	{
		Name:     RewardEarned,
		Title:    "A reward was earned",
		Audience: AudienceReferrer,
		Subject:  "You earned {{reward_amount}} from {{program_name}}",
		Body: `Hi {{customer_first_name}},

Thanks to {{friend_name}}, you earned a reward: {{reward_description}}.

Its status is {{reward_status}}; if it is pending, we will let you know as soon as it becomes available.

Every friend who joins through your link earns you another reward:

{{referral_link}}`,
		Placeholders: []Placeholder{phProgramName, phName, phFirstName, phLink, phCode, phFriend, phAmount, phRewardDesc, phStatus},
	},
	{
		Name:     RewardAvailable,
		Title:    "A reward became available",
		Audience: AudienceReferrer,
		Subject:  "Your {{reward_amount}} reward from {{program_name}} is ready",
		Body: `Hi {{customer_first_name}},

Your reward for referring {{friend_name}} is now available: {{reward_description}}.

Thank you for recommending {{program_name}}. Share your link to earn more:

{{referral_link}}`,
		Placeholders: []Placeholder{phProgramName, phName, phFirstName, phLink, phCode, phFriend, phAmount, phRewardDesc, phStatus},
	},
	{
		Name:     FriendDiscount,
		Title:    "The friend's discount code",
		Audience: AudienceFriend,
		Subject:  "Your {{program_name}} discount code: {{discount_code}}",
		Body: `Hi {{customer_first_name}},

Welcome to {{program_name}}! As a friend of one of our customers, you get {{discount_description}}.

Your discount code is {{discount_code}}. Enter it at checkout.

Enjoying {{program_name}}? Share your own link and earn rewards too:

{{referral_link}}`,
		Placeholders: []Placeholder{
			phProgramName, phName, phFirstName, phLink, phCode,
			{"discount_code", "The friend's discount code.", "WELCOME-7QX2"},
			{"discount_description", "What the discount gives, in words.", "20% off your first order"},
		},
	},
	{
		Name:     EndpointDisabled,
		Title:    "A webhook endpoint was disabled",
		Audience: AudienceAdmins,
		Subject:  "{{program_name}}: webhook endpoint disabled",
		Body: `The webhook endpoint {{endpoint_url}} of {{program_name}} was disabled and receives no more events.

Reason: {{disabled_reason}}

Once it works again, turn it back on in the dashboard, where failed deliveries can be retried too:

{{dashboard_url}}`,
		Placeholders: []Placeholder{
			phProgramName,
			{"endpoint_url", "The disabled endpoint's URL.", "https://hooks.acme.example/advocate"},
			{"disabled_reason", "Why the endpoint was disabled.", "Every delivery failed for 5 days; the last to https://hooks.acme.example/advocate: 503 Service Unavailable"},
			{"dashboard_url", "The endpoint's page in the dashboard.", "https://advocate.acme.example/dashboard/programs/prg_01jd8x/webhooks"},
		},
	},
}

// KindByName returns the kind named name.
func KindByName(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Examples returns every placeholder of the kind filled with its example,
// for previews; nil for an unknown kind.
func Examples(kind string) Values {
	k, ok := KindByName(kind)
	if !ok {
		return nil
	}
	v := make(Values, len(k.Placeholders))
	for _, p := range k.Placeholders {
		v[p.Name] = p.Example
	}
	return v
}

// placeholder returns the kind's placeholder named name.
func (k Kind) placeholder(name string) (Placeholder, bool) {
	for _, p := range k.Placeholders {
		if p.Name == name {
			return p, true
		}
	}
	return Placeholder{}, false
}
