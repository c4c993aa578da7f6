package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// Customer list filters for the dashboard.
const (
	FilterReferred       = "referred"
	FilterNotReferred    = "not_referred"
	FilterPendingRewards = "pending_rewards"
)

// CustomerQuery asks for one keyset page of the dashboard's customer list,
// newest first.
type CustomerQuery struct {
	// Search matches, case-insensitively, an email prefix, a name
	// substring, a key prefix, or any of a customer's referral codes.
	Search string
	// Filter is one of the Filter constants, or "" for everyone.
	Filter string
	// ReferrerID keeps only the customers this customer referred.
	ReferrerID string
	// After asks for customers older than this id (the next page), Before
	// for customers newer than it (the previous page).
	After, Before string
	Limit         int // DefaultLimit when 0, at most ExportLimit
}

// CustomerRow is a customer with what the dashboard shows beside them.
type CustomerRow struct {
	*referral.Customer
	ReferrerName  string
	ReferrerEmail string
	ConvertedAt   *time.Time // when their first reward-earning action happened
	Referrals     int
	Successful    int
	Balance       rewards.Balance // in the currency asked for
}

// extraScan scans a row into a base scanner's destinations followed by
// extra ones, so that a listing can add joined columns to a shared scan
// function such as scanCustomer.
type extraScan struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.row.Scan(append(dest, e.extra...)...) }

// likeEscape makes s match literally inside a LIKE pattern (with ESCAPE '\').
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CustomerRows lists one page of a program's live customers for the
// dashboard, with each one's referrer, referral counts and balance in
// currency. Whatever the page size, it costs three queries: the page, the
// referral counts of its customers, and their balances. more says whether
// rows exist beyond the page in the direction asked (older with After or
// no cursor, newer with Before).
//
// Searching by name is a substring match and so reads the program's
// customers in id order until the page is full; every other condition is
// indexed.
func (db *DB) CustomerRows(ctx context.Context, programID, currency string, q CustomerQuery) ([]*CustomerRow, bool, error) {
	w := where{}
	w.add("c.program_id = ", programID)
	w.cond("c.deleted_at IS NULL")
	if s := strings.TrimSpace(q.Search); s != "" {
		lower := likeEscape(strings.ToLower(s))
		w.args = append(w.args, lower+"%", "%"+lower+"%", referral.NormalizeCode(s), programID)
		n := len(w.args)
		w.cond(fmt.Sprintf(`(c.email_key LIKE $%d ESCAPE '\' OR LOWER(c.key) LIKE $%d ESCAPE '\'
			OR LOWER(c.name) LIKE $%d ESCAPE '\'
			OR c.id IN (SELECT customer_id FROM referral_links WHERE program_id = $%d AND code = $%d))`,
			n-3, n-3, n-2, n, n-1))
	}
	switch q.Filter {
	case FilterReferred:
		w.cond("c.referrer_id IS NOT NULL")
	case FilterNotReferred:
		w.cond("c.referrer_id IS NULL")
	case FilterPendingRewards:
		// Not a correlated EXISTS: SQLite would look up the pending rewards
		// by status for every customer.
		w.args = append(w.args, programID)
		w.cond(fmt.Sprintf("c.id IN (SELECT customer_id FROM rewards WHERE program_id = $%d AND status = 'pending')", len(w.args)))
	}
	if q.ReferrerID != "" {
		w.add("c.referrer_id = ", q.ReferrerID)
	}
	limit := pageLimit(q.Limit, ExportLimit)
	page := w.keyset("c.id", q.After, q.Before, limit)
	out, err := queryAll(ctx, db.read, "list customers", func(row scanner) (*CustomerRow, error) {
		var refName, refEmail sql.NullString
		var converted sql.NullInt64
		c, err := scanCustomer(extraScan{row, []any{&refName, &refEmail, &converted}})
		return &CustomerRow{Customer: c, ReferrerName: refName.String, ReferrerEmail: refEmail.String,
			ConvertedAt: nullMicros(converted), Balance: rewards.Balance{Currency: currency}}, err
	}, `SELECT `+customerColumns+`, r.name, r.email, c.converted_at`+customerFrom+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := keysetPage(out, q.Before, limit)
	if err := db.customerFigures(ctx, programID, currency, out); err != nil {
		return nil, false, err
	}
	return out, more, nil
}

// customerFigures fills in the referral counts and balances of rows, one
// query each.
func (db *DB) customerFigures(ctx context.Context, programID, currency string, rows []*CustomerRow) error {
	if len(rows) == 0 {
		return nil
	}
	byID := make(map[string]*CustomerRow, len(rows))
	ids := make([]string, len(rows))
	for i, r := range rows {
		byID[r.ID], ids[i] = r, r.ID
	}
	w := where{}
	w.addIn("referrer_id", ids)
	w.cond("referral_rejected_at IS NULL")
	err := eachRow(ctx, db.read, "referral counts", func(row scanner) error {
		var id string
		var n, ok int
		if err := row.Scan(&id, &n, &ok); err != nil {
			return err
		}
		byID[id].Referrals, byID[id].Successful = n, ok
		return nil
	}, `SELECT referrer_id, COUNT(*), COUNT(converted_at) FROM customers`+w.sql()+` GROUP BY referrer_id`, w.args...)
	if err != nil {
		return err
	}
	w = where{}
	w.add("program_id = ", programID)
	w.add("currency = ", currency)
	w.addIn("owner", ids)
	return eachRow(ctx, db.read, "balances", func(row scanner) error {
		var owner, typ string
		var amount int64
		if err := row.Scan(&owner, &typ, &amount); err != nil {
			return err
		}
		setBalance(&byID[owner].Balance, typ, amount)
		return nil
	}, `SELECT owner, type, balance FROM ledger_accounts`+w.sql(), w.args...)
}

// CustomerCounts are a program's live customers, and how many of them
// were referred.
type CustomerCounts struct {
	Total    int
	Referred int
}

// CountCustomers counts a program's live customers, and the referred ones
// among them, up to limit: counting every customer of a large program on
// each page view would cost more than the page. Total == limit means "at
// least limit", and Referred is then a count among those only.
func (db *DB) CountCustomers(ctx context.Context, programID string, limit int) (CustomerCounts, error) {
	var n CustomerCounts
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(referrer_id) FROM (SELECT referrer_id FROM customers
		WHERE program_id = $1 AND deleted_at IS NULL LIMIT $2) capped`, programID, limit).Scan(&n.Total, &n.Referred)
	if err != nil {
		return n, fmt.Errorf("count customers: %w", err)
	}
	return n, nil
}

// CustomerBalances returns a customer's balances in every currency they
// hold one in, always including want (the program's currency) first.
func (db *DB) CustomerBalances(ctx context.Context, programID, customerID, want string) ([]*rewards.Balance, error) {
	out := []*rewards.Balance{{Currency: want}}
	err := eachRow(ctx, db.read, "read balances", func(row scanner) error {
		var cur, typ string
		var amount int64
		if err := row.Scan(&cur, &typ, &amount); err != nil {
			return err
		}
		i := slices.IndexFunc(out, func(b *rewards.Balance) bool { return b.Currency == cur })
		if i < 0 {
			out = append(out, &rewards.Balance{Currency: cur})
			i = len(out) - 1
		}
		setBalance(out[i], typ, amount)
		return nil
	}, `SELECT currency, type, balance FROM ledger_accounts WHERE program_id = $1 AND owner = $2 ORDER BY currency`, programID, customerID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CustomerTransactions lists a customer's payments, newest first, without
// their rewards (the customer page lists rewards on their own).
func (db *DB) CustomerTransactions(ctx context.Context, programID, customerID string, p Page) ([]*rewards.Transaction, bool, error) {
	w := where{}
	w.add("t.program_id = ", programID)
	w.add("t.customer_id = ", customerID)
	page := p.keyset(&w, "t.id")
	out, err := queryAll(ctx, db.read, "list transactions", scanTransaction, `SELECT `+transactionColumns+transactionFrom+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(p, out)
	return out, more, nil
}
