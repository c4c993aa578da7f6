package walvfs

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A log write that fails is the error of the commit it belongs to, with
// or without a sync at commit: the process goes on, the commit is not
// there, and the connection writes again once the disk takes writes. The
// child process lowers its file size limit, so that writing the commit's
// frames fails half-way.
func TestFailedLogWriteFailsTheCommit(t *testing.T) {
	if path := os.Getenv("WALVFS_FULL_DB"); path != "" {
		failedLogWrite(path, os.Getenv("WALVFS_SYNC"))
		return
	}
	for _, sync := range []string{"FULL", "NORMAL"} {
		t.Run(sync, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestFailedLogWriteFailsTheCommit$")
			cmd.Env = append(os.Environ(), "WALVFS_FULL_DB="+path, "WALVFS_SYNC="+sync)
			out, err := cmd.CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("commit failed as it should")) {
				t.Fatalf("child: %v\n%s", err, out)
			}
			r := open(t, path, false, sync)
			if n := count(t, r); n != 20 {
				t.Fatalf("%d rows, want the 20 of the two commits that succeeded", n)
			}
			integrity(t, r)
		})
	}
}

// failedLogWrite runs in the child; it reports by printing and exiting.
func failedLogWrite(path, sync string) {
	fail := func(format string, args ...any) {
		fmt.Printf(format+"\n", args...)
		os.Exit(1)
	}
	if err := Register(); err != nil {
		fail("%v", err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous("+sync+")&vfs="+Name)
	if err != nil {
		fail("%v", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE rows (id INTEGER PRIMARY KEY, k BLOB UNIQUE, v BLOB)`); err != nil {
		fail("%v", err)
	}
	if err := insertRows(db, 10); err != nil {
		fail("first commit: %v", err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		fail("%v", err)
	}
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit fails with EFBIG instead
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		fail("%v", err)
	}
	low := limit
	low.Cur = uint64(fi.Size()) + 64<<10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &low); err != nil {
		fail("%v", err)
	}
	err = insertRows(db, 2000) // about 170 frames, 700 KB: past the limit
	var lite *sqlite.Error
	if !errors.As(err, &lite) || lite.Code()&0xff != sqlite3.SQLITE_IOERR && lite.Code()&0xff != sqlite3.SQLITE_FULL {
		fail("a commit past the file size limit returned %v, want an I/O error", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		fail("%v", err)
	}
	if err := insertRows(db, 10); err != nil {
		fail("commit after the failed one: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM rows`).Scan(&n); err != nil || n != 20 {
		fail("the writer sees %d rows (%v), want 20", n, err)
	}
	fmt.Println("commit failed as it should:", err)
	os.Exit(0)
}

// insertRows is insert for the child, which has no test to fail.
func insertRows(db *sql.DB, n int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for range n {
		if _, err := tx.Exec(`INSERT INTO rows (k, v) VALUES (?, ?)`, randomBytes(16), randomBytes(300)); err != nil {
			return err
		}
	}
	return tx.Commit()
}
