package email

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlan(t *testing.T) {
	referrer := &RewardFact{CustomerID: "cus_r", ToReferrer: true}
	atOnce := &RewardFact{CustomerID: "cus_r", ToReferrer: true, AvailableAtOnce: true}
	code := &RewardFact{CustomerID: "cus_f", HasCode: true, AvailableAtOnce: true}
	credit := &RewardFact{CustomerID: "cus_f"}
	tests := []struct {
		name string
		o    Occurrence
		want []Planned
	}{
		{"signup with a referrer", Occurrence{Type: "referral.created", ReferrerID: "cus_r"}, []Planned{{Kind: FriendSignedUp, CustomerID: "cus_r"}}},
		{"referrer's reward", Occurrence{Type: "reward.created", Reward: referrer}, []Planned{{Kind: RewardEarned, CustomerID: "cus_r"}}},
		{"referrer's reward released", Occurrence{Type: "reward.available", Reward: referrer}, []Planned{{Kind: RewardAvailable, CustomerID: "cus_r"}}},
		{"referrer's reward available at once: one email", Occurrence{Type: "reward.available", Reward: atOnce}, nil},
		{"friend's reward created", Occurrence{Type: "reward.created", Reward: code}, nil},
		{"friend's discount code issued", Occurrence{Type: "reward.available", Reward: code}, []Planned{{Kind: FriendDiscount, CustomerID: "cus_f"}}},
		{"friend's credit", Occurrence{Type: "reward.available", Reward: credit}, nil},
		{"endpoint disabled", Occurrence{Type: "webhook_endpoint.disabled"}, []Planned{{Kind: EndpointDisabled, ToAdmins: true}}},
		{"reward gone", Occurrence{Type: "reward.created"}, nil},
		{"other event", Occurrence{Type: "customer.created"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Plan(tt.o)); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}
