package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/advocate-oss/advocate/internal/walvfs"
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
		// One for the group commit, and one the checkpointer may hold.
		if n := db.write.Stats().OpenConnections; n > 2 {
			t.Errorf("writer pool has %d open connections after concurrent writes, want at most 2", n)
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

// TestCheckpointOffTheWriter checks that committed writes reach the database
// file itself, not only the write-ahead log, without anyone asking: the
// background checkpointer copies them, since the writer's own automatic
// checkpoint is set far out of the way.
func TestCheckpointOffTheWriter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "advocate.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil { // every batch reads config_version
		t.Fatal(err)
	}
	var auto int
	if err := db.write.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != walAutoCheckpoint {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want %d", auto, err, walAutoCheckpoint)
	}
	if runtime.GOOS == "linux" && !sqlite.FdatasyncEnabled() {
		t.Error("SQLite commits with fsync, want fdatasync")
	}
	asked0, made0 := walvfs.Writes()
	err = db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.tx.ExecContext(ctx, `CREATE TABLE probe (n INTEGER, pad BLOB)`); err != nil {
			return err
		}
		for i := range 100 {
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO probe (n, pad) VALUES ($1, randomblob(2000))`, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The writer goes through walvfs: the commit's ~100 frames, two writes
	// each, reach the log in a few.
	asked, made := walvfs.Writes()
	if asked, made = asked-asked0, made-made0; asked < 100 || made*10 > asked {
		t.Errorf("the commit asked for %d log writes and %d were made: want them gathered through walvfs", asked, made)
	}
	// Open a copy of the database file without its log: it has the rows
	// only once they were checkpointed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := rowsInFileAlone(t, path, filepath.Join(dir, "copy.db"))
		if err == nil && n == 100 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file alone has %d probe rows (%v) 5 s after the commit, want 100", n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSQLiteWALVFSOff: with SQLiteWALVFS(false) the writer writes its log
// through SQLite's own unix VFS, and commits as durably.
func TestSQLiteWALVFSOff(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "advocate.db")
	db, err := Open(ctx, path, SQLiteWALVFS(false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `CREATE TABLE probe (n INTEGER)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if synced, _ := walvfs.Syncs(path); synced != 0 {
		t.Errorf("the log was synced %d times through walvfs, want it not opened through walvfs", synced)
	}
	var sync int
	if err := db.write.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous = %d (%v), want 2 (FULL)", sync, err)
	}
}

func rowsInFileAlone(t *testing.T, path, copyPath string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	os.Remove(copyPath + "-wal")
	if err := os.WriteFile(copyPath, b, 0o600); err != nil {
		return 0, err
	}
	c, err := sql.Open("sqlite", "file:"+copyPath)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var n int
	err = c.QueryRow(`SELECT COUNT(*) FROM probe`).Scan(&n)
	return n, err
}

// TestGroupCommitMixedBatch puts callers that succeed, fail before writing,
// fail after writing and panic after writing into one batch: every success
// is committed once, every failure leaves nothing, and each caller gets its
// own outcome. The batch first runs without savepoints; the first failure
// after a write rolls it back and the rest run again, each in a savepoint.
func TestGroupCommitMixedBatch(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "advocate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil { // every batch reads config_version
		t.Fatal(err)
	}
	insert := func(tx *Tx, k string) error {
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO probe (k) VALUES ($1)`, k)
		return err
	}
	if err := db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `CREATE TABLE probe (k TEXT PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// A first caller holds the writer until the others are queued, so that
	// they share the next batch.
	const n = 40
	entered, release := make(chan struct{}), make(chan struct{})
	first := make(chan error)
	go func() {
		first <- db.InTx(ctx, func(tx *Tx) error {
			close(entered)
			<-release
			return insert(tx, "first")
		})
	}()
	<-entered
	boom := errors.New("boom")
	type outcome struct {
		err      error
		panicked any
	}
	outcomes := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { outcomes[i].panicked = recover() }()
			k := fmt.Sprint("k", i)
			outcomes[i].err = db.InTx(ctx, func(tx *Tx) error {
				switch i % 5 {
				case 1: // fails before writing
					return boom
				case 2: // fails after writing
					if err := insert(tx, k); err != nil {
						return err
					}
					return boom
				case 3: // panics after writing
					if err := insert(tx, k); err != nil {
						return err
					}
					panic(boom)
				}
				return insert(tx, k)
			})
		})
	}
	for deadline := time.Now().Add(5 * time.Second); len(db.batch.jobs) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d callers queued", len(db.batch.jobs), n)
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, o := range outcomes {
		switch i % 5 {
		case 1, 2:
			if !errors.Is(o.err, boom) || o.panicked != nil {
				t.Errorf("caller %d: %v, panic %v; want its error", i, o.err, o.panicked)
			}
		case 3:
			if o.panicked != boom {
				t.Errorf("caller %d: %v, panic %v; want its panic", i, o.err, o.panicked)
			}
		default:
			if o.err != nil || o.panicked != nil {
				t.Errorf("caller %d: %v, panic %v; want success", i, o.err, o.panicked)
			}
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT k FROM probe ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got[k] = true
	}
	for i := range n {
		k := fmt.Sprint("k", i)
		if want := i%5 == 0 || i%5 == 4; got[k] != want {
			t.Errorf("row %s stored: %v, want %v", k, got[k], want)
		}
	}
	if len(got) != 1+2*n/5 {
		t.Errorf("%d rows stored, want %d", len(got), 1+2*n/5)
	}
	// A batch without failures goes back to running without savepoints.
	if err := db.InTx(ctx, func(tx *Tx) error { return insert(tx, "after") }); err != nil {
		t.Fatal(err)
	}
	if db.batch.careful {
		t.Error("still running members in savepoints after a batch without failures")
	}
}
