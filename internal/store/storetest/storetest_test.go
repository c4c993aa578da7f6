package storetest_test

import (
	"maps"
	"testing"

	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// TestFingerprint: every kind of write a refused request could leave
// behind changes the fingerprint, updates in place and moved balances
// included (the dashboard's fuzzer counted rows only and missed those,
// discount codes and idempotency keys).
func TestFingerprint(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p, _, _ := storetest.Program(t, db, "Acme", "USD", "https://yoursite.com")
		tests := []struct {
			name, sql string
		}{
			{"a program's settings changed in place", `UPDATE programs SET name = 'Acme 2', updated_at = updated_at + 1 WHERE id = $1`},
			{"an idempotency key stored", `INSERT INTO idempotency_keys (program_id, key, request_hash, created_at) VALUES ($1, 'k1', 'h', 1)`},
			{"an account opened with a balance", `INSERT INTO ledger_accounts (id, program_id, owner, type, currency, balance, created_at)
				VALUES ('acc_t', $1, 'cus_t', 'credit_available', 'USD', 500, 1)`},
			{"a balance moved", `UPDATE ledger_accounts SET balance = balance - 100 WHERE program_id = $1`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := storetest.Fingerprint(t, db)
				if _, err := db.WriteStats().Exec(tt.sql, p.ID); err != nil {
					t.Fatal(err)
				}
				after := storetest.Fingerprint(t, db)
				if maps.Equal(before, after) {
					t.Errorf("fingerprint unchanged: %v", after)
				}
			})
		}
	})
}
