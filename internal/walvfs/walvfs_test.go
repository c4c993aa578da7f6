package walvfs

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"modernc.org/libc"
	_ "modernc.org/sqlite"
)

// open opens path through this VFS, or through the default one when vfs is
// false; sync is the synchronous pragma.
func open(t *testing.T, path string, vfs bool, sync string) *sql.DB {
	t.Helper()
	if err := Register(); err != nil {
		t.Fatal(err)
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")"
	if vfs {
		dsn += "&vfs=" + Name
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, k BLOB UNIQUE, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	return db
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// insert adds n rows with random keys in one transaction; random keys put
// each row on another page of the index, as a payment's rows do.
func insert(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	for range n {
		if _, err := tx.Exec(`INSERT INTO rows (k, v) VALUES (?, ?)`, randomBytes(16), randomBytes(300)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM rows`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func integrity(t *testing.T, db *sql.DB) {
	t.Helper()
	var s string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&s); err != nil || s != "ok" {
		t.Fatalf("integrity_check: %q, %v", s, err)
	}
}

// A commit of many pages reaches the log in a few writes, and another
// connection reads what it committed.
func TestGathersACommitsFrames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	w := open(t, path, true, "FULL")
	r := open(t, path, false, "FULL")
	insert(t, w, 10) // the log's header and first frames
	w0, f0 := writes.Load(), flushes.Load()
	insert(t, w, 2000)
	asked, written := writes.Load()-w0, flushes.Load()-f0
	t.Logf("one commit: %d writes asked for, %d made", asked, written)
	// 124 KiB per write, the unix VFS's most: 30 frames of 4 KiB.
	if asked < 200 || written*20 > asked {
		t.Fatalf("%d writes asked for became %d: want at least 200, gathered twenty or more to a write", asked, written)
	}
	if n := count(t, r); n != 2010 {
		t.Fatalf("the other connection reads %d rows, want 2010", n)
	}
	integrity(t, r)
}

// With synchronous=NORMAL a commit does not sync the log; the barrier
// before the wal-index header is what writes the frames, and a reader on
// the default VFS sees every commit at once.
func TestReadersSeeEachCommitWithoutSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.db")
	w := open(t, path, true, "NORMAL")
	r := open(t, path, false, "NORMAL")
	for i := 1; i <= 50; i++ {
		insert(t, w, 20)
		if n := count(t, r); n != 20*i {
			t.Fatalf("after commit %d the reader sees %d rows, want %d", i, n, 20*i)
		}
	}
	integrity(t, r)
}

// A transaction larger than the writer's cache spills frames to the log
// before it commits, reads them back, rewrites some in place (pages and
// checksums), and rolls part of itself back to a savepoint, which
// rewrites the log from an earlier frame. Without a sync at commit
// (NORMAL) nothing but the commit's own write puts the frames in the file
// before readers are told of them.
func TestSpillsAndSavepoints(t *testing.T) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) { spillsAndSavepoints(t, sync) })
	}
}

func spillsAndSavepoints(t *testing.T, sync string) {
	path := filepath.Join(t.TempDir(), "a.db")
	w := open(t, path, true, sync)
	if _, err := w.Exec(`PRAGMA cache_size = 20`); err != nil {
		t.Fatal(err)
	}
	insert(t, w, 500)
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for range 1000 {
		exec(`INSERT INTO rows (k, v) VALUES (?, ?)`, randomBytes(16), randomBytes(300))
	}
	exec(`SAVEPOINT s`)
	for range 1000 {
		exec(`INSERT INTO rows (k, v) VALUES (?, ?)`, randomBytes(16), randomBytes(300))
	}
	exec(`UPDATE rows SET v = ? WHERE id % 3 = 0`, randomBytes(200))
	exec(`ROLLBACK TO s`)
	exec(`RELEASE s`)
	for range 300 {
		exec(`INSERT INTO rows (k, v) VALUES (?, ?)`, randomBytes(16), randomBytes(300))
	}
	exec(`UPDATE rows SET v = ? WHERE id % 5 = 0`, randomBytes(100))
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := open(t, path, false, sync)
	if n := count(t, r); n != 1800 {
		t.Fatalf("reader sees %d rows, want 1800", n)
	}
	integrity(t, r)
	if _, err := w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	integrity(t, r)
}

// storeFunc puts only package-level functions of this package, with the
// C prototype's *libc.TLS first, in SQLite's tables.
func TestStoreFuncRefuses(t *testing.T) {
	var field uintptr
	closure := func(*libc.TLS, uintptr) int32 { return int32(field) }
	var h handler
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"closure", storeFunc(&field, closure)},
		{"method value", storeFunc(&field, h.close)},
		{"another package's function", storeFunc(&field, (*libc.TLS).Close)},
		{"no *libc.TLS first", storeFunc(&field, countsAt)},
		{"nil", storeFunc(&field, (func(*libc.TLS))(nil))},
	} {
		if tc.err == nil {
			t.Errorf("%s: stored, want refused", tc.name)
		}
	}
	if field != 0 {
		t.Errorf("a refused function was stored")
	}
	if err := storeFunc(&field, xClose); err != nil || field == 0 {
		t.Errorf("xClose: %v, stored %v; want it stored", err, field != 0)
	}
	if got := loadFunc[func(*libc.TLS, uintptr) int32](field); reflect.ValueOf(got).Pointer() != reflect.ValueOf(xClose).Pointer() {
		t.Error("loadFunc does not give back what storeFunc stored")
	}
}

type handler struct{}

func (handler) close(*libc.TLS, uintptr) int32 { return 0 }

// A process that stops without closing anything has every commit it made
// on disk: the next opening recovers them from the log.
func TestCommitsSurviveAKilledProcess(t *testing.T) {
	if path := os.Getenv("WALVFS_CRASH_DB"); path != "" {
		db := open(t, path, true, "FULL")
		for range 40 {
			insert(t, db, 25)
		}
		fmt.Println("committed")
		os.Exit(0) // no Close, no checkpoint: only the log has the rows
	}
	path := filepath.Join(t.TempDir(), "a.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCommitsSurviveAKilledProcess$")
	cmd.Env = append(os.Environ(), "WALVFS_CRASH_DB="+path)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("committed")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the child left no log to recover from: %v", err)
	}
	r := open(t, path, false, "FULL")
	if n := count(t, r); n != 1000 {
		t.Fatalf("after the crash %d rows, want 1000", n)
	}
	integrity(t, r)
}
