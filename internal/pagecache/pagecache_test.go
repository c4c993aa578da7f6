package pagecache

import (
	"crypto/rand"
	"database/sql"
	"path/filepath"
	"testing"
	"unsafe"

	"modernc.org/libc"
	_ "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

func TestInstalled(t *testing.T) {
	if !Installed() {
		t.Fatal("SQLite does not use the mended page cache")
	}
}

// Parking a page under the pending-byte page's number leaves the largest
// number seen where it was; every other move raises it as before.
func TestParkingLeavesTheLargestKey(t *testing.T) {
	tls := libc.NewTLS()
	defer tls.Close()
	if rc := sqlite3.Xsqlite3_initialize(tls); rc != sqlite3.SQLITE_OK {
		t.Fatalf("sqlite3_initialize: %d", rc)
	}
	cache := cFunc[func(*libc.TLS, int32, int32, int32) uintptr](methods.FxCreate)(tls, 4096, 256, 1)
	if cache == 0 {
		t.Fatal("xCreate failed")
	}
	defer cFunc[func(*libc.TLS, uintptr)](methods.FxDestroy)(tls, cache)
	cFunc[func(*libc.TLS, uintptr, int32)](methods.FxCachesize)(tls, cache, 100)
	fetch := func(key uint32) uintptr {
		p := cFunc[func(*libc.TLS, uintptr, uint32, int32) uintptr](methods.FxFetch)(tls, cache, key, 2)
		if p == 0 {
			t.Fatalf("xFetch(%d) failed", key)
		}
		return p
	}
	rekey := func(page uintptr, from, to uint32) {
		cFunc[func(*libc.TLS, uintptr, uintptr, uint32, uint32)](methods.FxRekey)(tls, cache, page, from, to)
	}
	c := (*sqlite3.TPCache1)(*(*unsafe.Pointer)(unsafe.Pointer(&cache)))
	maxKey := func(want uint32) {
		t.Helper()
		if c.FiMaxKey != want {
			t.Fatalf("largest key seen = %d, want %d", c.FiMaxKey, want)
		}
	}
	a, b := fetch(10), fetch(20)
	maxKey(20)
	// balance_nonroot swapping pages 10 and 20 through the parking number.
	const parking = pendingByte/4096 + 1
	rekey(a, 10, parking)
	maxKey(20)
	rekey(b, 20, 10)
	rekey(a, parking, 20)
	maxKey(20)
	// Any other move raises it, as pcache1 does.
	rekey(a, 20, 30)
	maxKey(30)
	// Truncating past the end still finds the page that moved.
	cFunc[func(*libc.TLS, uintptr, uint32)](methods.FxTruncate)(tls, cache, 25)
	if n := cFunc[func(*libc.TLS, uintptr) int32](methods.FxPagecount)(tls, cache); n != 1 {
		t.Fatalf("%d pages after truncating at 25, want 1", n)
	}
}

// A database that grows by random inserts, with part of each transaction
// rolled back to a savepoint (which shrinks it again in the cache), stays
// whole: what the mended cache keeps is what SQLite expects.
func TestRandomInsertsAndRollbacks(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "a.db")+"?_pragma=journal_mode(WAL)&_pragma=cache_size(200)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE rows (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	random := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	want := 0
	for range 30 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			if _, err := tx.Exec(q, args...); err != nil {
				t.Fatal(err)
			}
		}
		for range 200 {
			exec(`INSERT INTO rows VALUES (?, ?)`, random(16), random(200))
		}
		exec(`SAVEPOINT s`)
		for range 300 {
			exec(`INSERT INTO rows VALUES (?, ?)`, random(16), random(200))
		}
		exec(`ROLLBACK TO s`)
		exec(`RELEASE s`)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		want += 200
	}
	var n int
	var check string
	if err := db.QueryRow(`SELECT COUNT(*) FROM rows`).Scan(&n); err != nil || n != want {
		t.Fatalf("%d rows (%v), want %d", n, err, want)
	}
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q (%v)", check, err)
	}
}
