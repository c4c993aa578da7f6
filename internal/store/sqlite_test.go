package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
)

// This file is inside package store to see the two SQLite pools; every
// other store test is in store_test and runs on both engines.

func TestSQLitePragmas(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "advocate.db") // the directory is created
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pragma, value string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "10000"},
		{"temp_store", "2"}, // MEMORY: group commit's savepoint journal stays off disk
	}
	pools := []struct {
		name string
		pool *sql.DB
	}{
		{"writer", db.write},
		{"reader", db.read.DB},
	}
	for _, p := range pools {
		t.Run(p.name, func(t *testing.T) {
			for _, w := range want {
				var got string
				if err := p.pool.QueryRowContext(ctx, "PRAGMA "+w.pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", w.pragma, err)
				}
				if got != w.value {
					t.Errorf("PRAGMA %s = %s, want %s", w.pragma, got, w.value)
				}
			}
		})
	}
	t.Run("one writer connection", func(t *testing.T) {
		// The group commit keeps one connection for every write; the pool
		// has a second only for Ping and migrations.
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if err := db.InTx(ctx, func(tx *Tx) error { return nil }); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := db.write.Stats().OpenConnections; n != 1 {
			t.Errorf("writer pool has %d open connections after concurrent writes, want 1", n)
		}
		if n := db.write.Stats().MaxOpenConnections; n > 2 {
			t.Errorf("writer pool allows %d connections, want at most 2", n)
		}
		if n := db.read.Stats().MaxOpenConnections; n < 2 {
			t.Errorf("reader pool allows %d connections, want a pool", n)
		}
	})
	t.Run("reader cannot write", func(t *testing.T) {
		if _, err := db.read.ExecContext(ctx, `DELETE FROM programs`); err == nil {
			t.Error("a write through the read pool succeeded")
		}
	})
	t.Run("foreign keys enforced", func(t *testing.T) {
		_, err := db.write.ExecContext(ctx, `INSERT INTO api_keys (id, program_id, kind, prefix, hash, created_at)
			VALUES ('key_x', 'prg_missing', 'secret', 'sk_', 'h', 0)`)
		if err == nil {
			t.Error("an api key of a missing program was stored")
		}
	})
	t.Run("write transactions begin immediate", func(t *testing.T) {
		// With BEGIN IMMEDIATE the write lock is taken at BEGIN, so a second
		// connection cannot start writing while the transaction is open.
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.ExecContext(ctx, `CREATE TABLE probe (x INTEGER)`); err == nil {
			t.Error("another connection wrote while a write transaction was open, before it wrote anything")
		}
	})
}
