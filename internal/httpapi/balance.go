package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// statsJSON is exactly the seed's stats object.
type statsJSON struct {
	TotalReferrals      int         `json:"total_referrals"`
	SuccessfulReferrals int         `json:"successful_referrals"`
	PendingReferrals    int         `json:"pending_referrals"`
	TotalRewards        json.Number `json:"total_rewards"`
	Currency            string      `json:"currency"`
}

func (s *Server) CustomerStats(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	cur, err := queryCurrency(r.URL.Query().Get("currency"), p.Currency)
	if err != nil {
		return err
	}
	c, err := s.DB.Customer(r.Context(), p.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	st, err := s.DB.Stats(r.Context(), p.ID, c.ID, cur)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statsJSON{TotalReferrals: st.TotalReferrals, SuccessfulReferrals: st.SuccessfulReferrals,
		PendingReferrals: st.PendingReferrals, TotalRewards: amountJSON(st.TotalRewards, cur), Currency: cur})
	return nil
}

// balanceJSON is the seed's balance object (balance: available credit and
// cash; pending: still held) with a breakdown by reward type.
type balanceJSON struct {
	Balance  json.Number `json:"balance"`
	Currency string      `json:"currency"`
	Pending  json.Number `json:"pending"`
	Credit   struct {
		Available json.Number `json:"available"`
		Pending   json.Number `json:"pending"`
	} `json:"credit"`
	Cash struct {
		Available json.Number `json:"available"`
		Pending   json.Number `json:"pending"`
		Paid      json.Number `json:"paid"`
	} `json:"cash"`
}

func toBalanceJSON(b *rewards.Balance) balanceJSON {
	var out balanceJSON
	c := b.Currency
	out.Balance = amountJSON(b.CreditAvailable+b.CashAvailable, c)
	out.Currency = c
	out.Pending = amountJSON(b.CreditPending+b.CashPending, c)
	out.Credit.Available, out.Credit.Pending = amountJSON(b.CreditAvailable, c), amountJSON(b.CreditPending, c)
	out.Cash.Available, out.Cash.Pending, out.Cash.Paid = amountJSON(b.CashAvailable, c), amountJSON(b.CashPending, c), amountJSON(b.CashPaid, c)
	return out
}

func (s *Server) CustomerBalance(w http.ResponseWriter, r *http.Request) error {
	p := program(r)
	cur, err := queryCurrency(r.URL.Query().Get("currency"), p.Currency)
	if err != nil {
		return err
	}
	c, err := s.DB.Customer(r.Context(), p.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	b, err := s.DB.Balance(r.Context(), p.ID, c.ID, cur)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBalanceJSON(b))
	return nil
}

// CreditBalance and DebitBalance change a customer's credit by hand: a
// goodwill credit, or credit spent at checkout. Both answer with the new
// balance.
func (s *Server) CreditBalance(w http.ResponseWriter, r *http.Request) error {
	return s.moveBalance(w, r, s.DB.Credit)
}

func (s *Server) DebitBalance(w http.ResponseWriter, r *http.Request) error {
	return s.moveBalance(w, r, s.DB.Debit)
}

type balanceMove func(ctx context.Context, p *referral.Program, in store.BalanceChange) (*rewards.Balance, error)

func (s *Server) moveBalance(w http.ResponseWriter, r *http.Request, move balanceMove) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Amount   money.Number `json:"amount"`
		Currency string       `json:"currency"`
		Note     string       `json:"note"`
	}
	if err := decode(body, &in); err != nil {
		return err
	}
	change := store.BalanceChange{CustomerKey: r.PathValue("key"), Amount: in.Amount, Currency: in.Currency, Note: in.Note}
	return respond(w, r, func(ctx context.Context) (*rewards.Balance, error) {
		return move(ctx, program(r), change)
	}, func(b *rewards.Balance) (int, any) { return http.StatusOK, toBalanceJSON(b) })
}

// ledgerEntryJSON is one line of a customer's ledger.
type ledgerEntryJSON struct {
	ID                  string      `json:"id"`
	LedgerTransactionID string      `json:"ledger_transaction_id"`
	Kind                string      `json:"kind"`
	Account             string      `json:"account"`
	Amount              json.Number `json:"amount"`
	Currency            string      `json:"currency"`
	RewardID            *string     `json:"reward_id"`
	Note                string      `json:"note"`
	CreatedAt           time.Time   `json:"created_at"`
}

func (s *Server) CustomerLedger(w http.ResponseWriter, r *http.Request) error {
	pg, err := page(r, "ent")
	if err != nil {
		return err
	}
	p := program(r)
	c, err := s.DB.Customer(r.Context(), p.ID, r.PathValue("key"))
	if err != nil {
		return err
	}
	entries, more, err := s.DB.CustomerLedger(r.Context(), p.ID, c.ID, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(entries, more, func(e *store.LedgerEntry) ledgerEntryJSON {
		return ledgerEntryJSON{ID: e.ID, LedgerTransactionID: e.LedgerTransactionID, Kind: e.Kind, Account: e.Account,
			Amount: amountJSON(e.Amount, e.Currency), Currency: e.Currency, RewardID: optString(e.RewardID), Note: e.Note,
			CreatedAt: time.UnixMicro(e.CreatedAt).UTC()}
	}, func(e *store.LedgerEntry) string { return e.ID }))
	return nil
}
