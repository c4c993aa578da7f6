package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/ledger"
	"github.com/advocate-oss/advocate/internal/money"
)

// Post writes a balanced ledger transaction and updates the cached balance
// of every customer account it touches, in the caller's database
// transaction. It returns the ledger transaction's id. The balances move
// at once, for a later check in the same transaction to see; the ledger
// transaction and its entries, which no write transaction reads, are
// written when the transaction ends (see appendRows).
//
// A program's own accounts (rewards expense, adjustments, redemptions)
// carry no cached balance: their balance is the sum of their entries.
// Every reward in a program posts to its rewards expense account, so a
// cached balance there made one row that every write in the program
// updated; on PostgreSQL its lock was held through each commit and
// serialised all rewards, about 160 a second.
func (tx *Tx) Post(ctx context.Context, programID string, lt ledger.Transaction) (string, error) {
	if err := lt.Validate(); errors.Is(err, ledger.ErrTooLarge) {
		return "", ErrAmountTooLarge
	} else if err != nil {
		return "", err
	}
	ltID := id.New("ltx", tx.now)
	// Touch accounts in one global order (program accounts first, then
	// customers' by id) so that on PostgreSQL two transactions moving value
	// between the same accounts in opposite directions, such as a reward
	// earned and another reversed for one referrer, queue instead of
	// deadlocking.
	postings := slices.Clone(lt.Postings)
	slices.SortFunc(postings, func(a, b ledger.Posting) int {
		return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.Account, b.Account), strings.Compare(a.Currency, b.Currency))
	})
	entries := make([]any, 0, entryColumns*len(postings))
	for _, p := range postings {
		accountID, err := tx.postTo(ctx, programID, p)
		if errors.Is(err, ErrBalanceLimit) {
			return "", err
		}
		if err != nil {
			return "", fmt.Errorf("post %s to %s: %w", lt.Kind, p.Account, err)
		}
		entries = append(entries, id.New("ent", tx.now), ltID, accountID, p.Amount, p.Currency, micros(tx.now))
	}
	a := &tx.appends
	a[appendLedgerTxns] = append(a[appendLedgerTxns], ltID, programID, lt.Kind, nullString(lt.RewardID), nullString(lt.Reverses), lt.Note, micros(tx.now))
	a[appendEntries] = append(a[appendEntries], entries...)
	return ltID, nil
}

// maxAmountSQL bounds a balance that can take one more posting.
var maxAmountSQL = fmt.Sprintf("%d AND %d", -money.MaxAmount, money.MaxAmount)

const ledgerTxnColumnNames = "id, program_id, kind, reward_id, reverses, note, created_at"

const entryColumnNames = "id, ledger_transaction_id, account_id, amount, currency, created_at"

var entryColumns = columnCount(entryColumnNames)

// postTo returns the id of the account a posting goes to, creating the
// account on first use, and moves a customer account's cached balance.
func (tx *Tx) postTo(ctx context.Context, programID string, p ledger.Posting) (string, error) {
	var accountID string
	if p.Owner != ledger.ProgramOwner {
		// One statement finds or creates the account and moves its balance.
		// The posting is within money.MaxAmount (Validate), so the sum
		// cannot overflow while the balance is within it too, nor when it
		// moves a balance beyond it (stored by an older version) toward
		// zero: such a balance must be able to come back. A posting that
		// would grow it leaves it alone, and the check below refuses it.
		var balance int64
		err := tx.tx.QueryRowContext(ctx, `INSERT INTO ledger_accounts (id, program_id, owner, type, currency, balance, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (program_id, owner, type, currency) DO UPDATE SET balance = CASE
				WHEN ledger_accounts.balance BETWEEN `+maxAmountSQL+`
					OR (ledger_accounts.balance > 0 AND excluded.balance < 0)
					OR (ledger_accounts.balance < 0 AND excluded.balance > 0)
				THEN ledger_accounts.balance + excluded.balance
				ELSE ledger_accounts.balance END
			RETURNING id, balance`, id.New("acc", tx.now), programID, p.Owner, p.Account, p.Currency, p.Amount, micros(tx.now)).Scan(&accountID, &balance)
		grows := (balance > 0 && p.Amount > 0) || (balance < 0 && p.Amount < 0)
		if err == nil && grows && (balance > money.MaxAmount || balance < -money.MaxAmount) {
			return "", ErrBalanceLimit
		}
		return accountID, err
	}
	// A program account is only read: no row lock. Created once, it never
	// changes, so SQLite's writer keeps its id; a concurrent creator makes
	// the INSERT wait and do nothing.
	k := accountKey{programID, p.Owner, p.Account, p.Currency}
	if cached, ok := tx.writer.account(k); ok {
		return cached, nil
	}
	find := func() error {
		err := tx.tx.QueryRowContext(ctx, `SELECT id FROM ledger_accounts
			WHERE program_id = $1 AND owner = $2 AND type = $3 AND currency = $4`,
			programID, p.Owner, p.Account, p.Currency).Scan(&accountID)
		if err == nil {
			tx.writer.keepAccount(k, accountID)
		}
		return err
	}
	err := find()
	if !errors.Is(err, sql.ErrNoRows) {
		return accountID, err
	}
	if _, err := tx.tx.ExecContext(ctx, `INSERT INTO ledger_accounts (id, program_id, owner, type, currency, balance, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (program_id, owner, type, currency) DO NOTHING`,
		id.New("acc", tx.now), programID, p.Owner, p.Account, p.Currency, micros(tx.now)); err != nil {
		return "", err
	}
	return accountID, find()
}

// accountBalance reads one account's cached balance, locking it on
// PostgreSQL so that a check-then-debit cannot race.
func (tx *Tx) accountBalance(ctx context.Context, programID, owner, account, currency string) (int64, error) {
	var b int64
	err := tx.tx.QueryRowContext(ctx, `SELECT balance FROM ledger_accounts
		WHERE program_id = $1 AND owner = $2 AND type = $3 AND currency = $4`+tx.db.forUpdate(),
		programID, owner, account, currency).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return b, nil
}

// LedgerEntry is one line of a customer's ledger.
type LedgerEntry struct {
	ID                  string
	LedgerTransactionID string
	Kind                string
	Account             string
	Amount              int64
	Currency            string
	RewardID            string
	Note                string
	CreatedAt           int64
}

// CustomerLedger lists a customer's ledger entries, newest first.
func (db *DB) CustomerLedger(ctx context.Context, programID, customerID string, p Page) ([]*LedgerEntry, bool, error) {
	w := where{}
	w.add("a.program_id = ", programID)
	w.add("a.owner = ", customerID)
	page := p.keyset(&w, "e.id")
	out, err := queryAll(ctx, db.read, "list ledger", func(row scanner) (*LedgerEntry, error) {
		var e LedgerEntry
		err := row.Scan(&e.ID, &e.LedgerTransactionID, &e.Kind, &e.Account, &e.Amount, &e.Currency, &e.RewardID, &e.Note, &e.CreatedAt)
		return &e, err
	}, `SELECT e.id, e.ledger_transaction_id, t.kind, a.type, e.amount, e.currency,
		COALESCE(t.reward_id, ''), t.note, e.created_at
		FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
		JOIN ledger_transactions t ON t.id = e.ledger_transaction_id`+w.sql()+page, w.args...)
	if err != nil {
		return nil, false, err
	}
	out, more := trim(p, out)
	return out, more, nil
}

// Mismatch is one way in which stored data breaks a ledger invariant.
type Mismatch struct {
	Check   string
	Subject string
	Want    int64
	Got     int64
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: %s: want %d, got %d", m.Check, m.Subject, m.Want, m.Got)
}

// Verify recomputes everything the ledger promises and reports each
// mismatch: every ledger transaction sums to zero per currency; every
// customer account's cached balance equals the sum of its entries, and
// program accounts cache none; entries match their account's currency;
// every credit and cash reward's customer-side entries net to what the
// reward is still worth (credit applied in the billing system is spent
// there, like a debit at checkout, not taken back); and each customer's
// pending and available accounts equal the rewards in that state plus
// manual moves; and the count of each rule's rewards per referrer equals
// the rewards.
func (db *DB) Verify(ctx context.Context) ([]Mismatch, error) {
	var out []Mismatch
	checks := []struct {
		name, query string
	}{
		{"transaction does not sum to zero", `SELECT ledger_transaction_id || ' ' || currency, 0, SUM(amount)
			FROM ledger_entries GROUP BY ledger_transaction_id, currency HAVING SUM(amount) <> 0`},
		{"cached balance differs from entries", `SELECT a.id || ' ' || a.type || ' ' || a.currency, COALESCE(SUM(e.amount), 0), a.balance
			FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id WHERE a.owner <> ''
			GROUP BY a.id, a.type, a.currency, a.balance HAVING a.balance <> COALESCE(SUM(e.amount), 0)`},
		{"program account caches a balance", `SELECT id || ' ' || type || ' ' || currency, 0, balance
			FROM ledger_accounts WHERE owner = '' AND balance <> 0`},
		{"entry currency differs from account", `SELECT e.id, 0, 1 FROM ledger_entries e
			JOIN ledger_accounts a ON a.id = e.account_id WHERE e.currency <> a.currency`},
		{"reward entries differ from its net amount", `SELECT r.id, r.amount - r.reversed_amount, COALESCE(SUM(e.amount), 0)
			FROM rewards r
			LEFT JOIN ledger_transactions t ON t.reward_id = r.id
			  AND t.kind NOT IN ('applied_in_billing', 'clawed_back_in_billing')
			LEFT JOIN ledger_entries e ON e.ledger_transaction_id = t.id
			  AND e.account_id IN (SELECT id FROM ledger_accounts WHERE owner <> '')
			WHERE r.reward_type <> 'discount'
			GROUP BY r.id, r.amount, r.reversed_amount
			HAVING r.amount - r.reversed_amount <> COALESCE(SUM(e.amount), 0)`},
		// Pending rewards are summed once and joined: a subquery per account
		// made this check quadratic (SQLite scanned every pending reward for
		// every account).
		{"pending balance differs from pending rewards", `SELECT a.id || ' ' || a.type || ' ' || a.currency,
			COALESCE(p.net, 0), a.balance
			FROM ledger_accounts a LEFT JOIN (SELECT customer_id, currency,
			    CASE reward_type WHEN 'cash' THEN 'cash_pending' ELSE 'credit_pending' END AS type,
			    SUM(amount - reversed_amount) AS net
			  FROM rewards WHERE status = 'pending' AND reward_type IN ('credit', 'cash')
			  GROUP BY customer_id, currency, reward_type) p
			  ON p.customer_id = a.owner AND p.currency = a.currency AND p.type = a.type
			WHERE a.type IN ('credit_pending', 'cash_pending') AND a.balance <> COALESCE(p.net, 0)`},
		{"referrer's count of a rule's rewards differs", `SELECT k.rule_id || ' ' || k.referrer_id,
			CAST(SUM(k.want) AS BIGINT), CAST(SUM(k.got) AS BIGINT)
			FROM (SELECT rule_id, referrer_id, 1 AS want, 0 AS got FROM rewards WHERE status NOT IN ('reversed', 'rejected')
			  UNION ALL SELECT rule_id, referrer_id, 0, reward_count FROM referrer_rule_rewards) k
			GROUP BY k.rule_id, k.referrer_id HAVING SUM(k.want) <> SUM(k.got)`},
		// What Stripe confirmed for a reward (credits less clawbacks) is
		// exactly what moved out of the customer's available credit for it.
		{"credit applied in billing differs from Stripe actions done", `SELECT k.reward_id,
			CAST(SUM(k.want) AS BIGINT), CAST(SUM(k.got) AS BIGINT)
			FROM (SELECT reward_id, CASE kind WHEN 'credit' THEN amount ELSE -amount END AS want, 0 AS got
			    FROM stripe_actions WHERE status = 'done' AND kind IN ('credit', 'debit')
			  UNION ALL SELECT t.reward_id, 0, -e.amount FROM ledger_transactions t
			    JOIN ledger_entries e ON e.ledger_transaction_id = t.id
			    JOIN ledger_accounts a ON a.id = e.account_id AND a.owner <> ''
			    WHERE t.kind IN ('applied_in_billing', 'clawed_back_in_billing')) k
			GROUP BY k.reward_id HAVING SUM(k.want) <> SUM(k.got)`},
		{"reward status and reversal disagree", `SELECT id, 0, 1 FROM rewards
			WHERE (status IN ('reversed', 'rejected') AND reversed_amount <> amount)
			   OR (status NOT IN ('reversed', 'rejected') AND reversed_amount >= amount)
			   OR reversed_amount < 0`},
	}
	for _, c := range checks {
		found, err := queryAll(ctx, db.read, "verify "+c.name, func(row scanner) (Mismatch, error) {
			m := Mismatch{Check: c.name}
			err := row.Scan(&m.Subject, &m.Want, &m.Got)
			return m, err
		}, c.query)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	return out, nil
}
