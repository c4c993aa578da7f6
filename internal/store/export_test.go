package store

import "context"

// ExecRaw runs a statement inside the transaction. Tests use it to damage
// data on purpose, such as a cached balance, and check that Verify notices.
func (tx *Tx) ExecRaw(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := tx.tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
