package main

import (
	"context"
	"fmt"
	"io"
)

// verify recomputes every balance from ledger entries and checks every
// invariant; it exits non-zero on any mismatch, so it can run from cron or
// a deploy check.
func verify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	if err := parse("verify", args, stderr, c.flags); err != nil {
		return err
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	mismatches, err := db.Verify(ctx)
	if err != nil {
		return err
	}
	for _, m := range mismatches {
		fmt.Fprintln(stdout, "MISMATCH", m)
	}
	if len(mismatches) > 0 {
		return fmt.Errorf("verify: %d mismatches", len(mismatches))
	}
	fmt.Fprintln(stdout, "ledger OK: every transaction balances and every cached balance equals its entries")
	return nil
}
