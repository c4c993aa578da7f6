package ledger

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	const cus = "cus_1"
	tests := []struct {
		name     string
		postings []Posting
		wantErr  string // "" when valid; else part of the message
	}{
		{"balanced", []Posting{
			{ProgramOwner, RewardsExpense, -1000, "USD"},
			{cus, CreditPending, 1000, "USD"},
		}, ""},
		{"three postings", []Posting{
			{ProgramOwner, RewardsExpense, -1500, "USD"},
			{cus, CreditPending, 1000, "USD"},
			{cus, CashPending, 500, "USD"},
		}, ""},
		{"balanced in each of two currencies", []Posting{
			{ProgramOwner, RewardsExpense, -1000, "USD"},
			{cus, CreditAvailable, 1000, "USD"},
			{ProgramOwner, RewardsExpense, -500, "JPY"},
			{cus, CreditAvailable, 500, "JPY"},
		}, ""},
		{"unbalanced", []Posting{
			{ProgramOwner, RewardsExpense, -1000, "USD"},
			{cus, CreditPending, 999, "USD"},
		}, "sums to -1 USD"},
		{"zero overall, not per currency", []Posting{
			{ProgramOwner, RewardsExpense, -1000, "USD"},
			{cus, CreditPending, 1000, "EUR"},
		}, "sums to"},
		{"one currency balanced, the other not", []Posting{
			{ProgramOwner, RewardsExpense, -1000, "USD"},
			{cus, CreditAvailable, 1000, "USD"},
			{cus, CreditAvailable, 500, "JPY"},
			{ProgramOwner, RewardsExpense, -400, "JPY"},
		}, "sums to 100 JPY"},
		{"zero posting", []Posting{
			{ProgramOwner, RewardsExpense, 0, "USD"},
			{cus, CreditPending, 0, "USD"},
		}, "zero posting"},
		{"zero posting beside balanced ones", []Posting{
			{ProgramOwner, RewardsExpense, -1000, "USD"},
			{cus, CreditPending, 1000, "USD"},
			{cus, CashPending, 0, "USD"},
		}, "zero posting to cash_pending"},
		{"the maximum amount", []Posting{
			{ProgramOwner, Adjustments, -1_000_000_000_000, "USD"},
			{cus, CreditAvailable, 1_000_000_000_000, "USD"},
		}, ""},
		{"above the maximum amount", []Posting{
			{ProgramOwner, Adjustments, -1_000_000_000_001, "USD"},
			{cus, CreditAvailable, 1_000_000_000_001, "USD"},
		}, "above the maximum amount"},
		{"int64 extremes that would wrap to zero", []Posting{
			{ProgramOwner, Adjustments, -9223372036854775807, "USD"},
			{cus, CreditAvailable, 9223372036854775807, "USD"},
			{cus, CreditAvailable, 2, "USD"},
			{ProgramOwner, Adjustments, -2, "USD"},
		}, "above the maximum amount"},
		{"single posting", []Posting{{cus, CreditAvailable, 1000, "USD"}}, "has 1 postings, needs at least 2"},
		{"no postings", nil, "has 0 postings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt := Transaction{Kind: KindRewardEarned, Postings: tt.postings}
			err := lt.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got %v, want valid", err)
				}
				return
			}
			if !(errors.Is(err, ErrUnbalanced) || errors.Is(err, ErrTooLarge)) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want ErrUnbalanced or ErrTooLarge mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestMove(t *testing.T) {
	got := Move(ProgramOwner, Adjustments, "cus_1", CreditAvailable, 2500, "EUR")
	want := []Posting{
		{Owner: ProgramOwner, Account: Adjustments, Amount: -2500, Currency: "EUR"},
		{Owner: "cus_1", Account: CreditAvailable, Amount: 2500, Currency: "EUR"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	tests := []struct {
		name   string
		amount int64
		valid  bool
	}{
		{"positive", 2500, true},
		{"negative moves the other way", -2500, true},
		{"zero", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt := Transaction{Kind: KindManualCredit, Postings: Move(ProgramOwner, Adjustments, "cus_1", CreditAvailable, tt.amount, "EUR")}
			if err := lt.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate: %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestAccounts(t *testing.T) {
	tests := []struct {
		rewardType         string
		pending, available string
	}{
		{"credit", CreditPending, CreditAvailable},
		{"cash", CashPending, CashAvailable},
	}
	for _, tt := range tests {
		if got := PendingAccount(tt.rewardType); got != tt.pending {
			t.Errorf("PendingAccount(%s) = %s, want %s", tt.rewardType, got, tt.pending)
		}
		if got := AvailableAccount(tt.rewardType); got != tt.available {
			t.Errorf("AvailableAccount(%s) = %s, want %s", tt.rewardType, got, tt.available)
		}
	}
}
