// Package walvfs registers "advocate-wal", an SQLite VFS that is the
// default unix VFS but for one thing: the frames a connection appends to
// its write-ahead log are gathered in memory and reach the -wal file in
// one write system call, instead of two per page (a 24-byte frame header,
// then the page). A group commit of a few hundred pages spent a sixth of
// the single writer's time in those calls (docs/benchmarks.md).
//
// Nothing becomes visible, or durable, at another moment than before. The
// gathered frames are written before the log is synced, read, sized,
// truncated, controlled or closed, and before the connection publishes a
// new wal-index header: every commit calls the database file's
// xShmBarrier between the header's two copies, and that barrier first
// writes what the same connection gathered. So no reader, in this process
// or another, is ever told of a frame that is not in the file, and a
// crash loses at most a transaction that never committed.
//
// It works inside modernc.org/sqlite's transpiled C, where function
// pointers are Go functions: the tables below hold Go functions, as
// modernc.org/sqlite/vfs does for its read-only VFS. Only connections that
// name it in their DSN (vfs=advocate-wal) use it.
package walvfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// Name is the VFS name to put in a DSN: "file:path?vfs=" + Name.
const Name = "advocate-wal"

// bufferSize bounds what one connection gathers before it writes: a
// group commit of a few hundred 4 KiB pages is 1 – 2 MiB.
const bufferSize = 4 << 20

// maxWrite is the most the unix VFS writes in one call: it masks a write's
// length to 17 bits.
const maxWrite = 0x1ffff &^ 4095

// Register makes the VFS available; it is safe to call more than once.
func Register() error {
	registerOnce.Do(func() { registerErr = register() })
	return registerErr
}

var (
	registerOnce sync.Once
	registerErr  error

	// What SQLite reads through pointers lives in package variables, which
	// never move.
	vfs        sqlite3.Tsqlite3_vfs
	dbMethods  sqlite3.Tsqlite3_io_methods // the database file: the barrier
	walMethods sqlite3.Tsqlite3_io_methods // the log: the gathering

	baseVFS uintptr // the unix VFS this one delegates to
	// The unix VFS's methods of the main database and of the log (it opens
	// the log without locks, so with another table), captured at the first
	// opening of each.
	baseDB, baseWAL uintptr
	dbOnce, walOnce sync.Once
	tailOffset      uintptr // where a file's tail starts in its sqlite3_file

	// logs lists each connection's open logs, for its barrier. A modernc
	// connection passes its own *libc.TLS to every call it makes.
	logsMu sync.Mutex
	logs   = map[*libc.TLS][]uintptr{}

	// How many writes SQLite asked for and how many reached the file
	// gathered; the tests read them.
	writes, flushes atomic.Int64

	// Each log's own counts, by its path, for Syncs: a test reads its
	// database's alone, whatever else the process writes. A log's tail
	// holds its index, plus one, in the table, which is copied when a new
	// path comes, so that writes read it without a lock.
	countsMu     sync.Mutex
	countsByPath = map[string]int32{}
	countsTable  atomic.Pointer[[]*logCounts]
)

// logCounts are one log's: the writes SQLite asked for, the syncs that
// completed, and how many of those writes were asked for before the last
// sync began.
type logCounts struct {
	writes, syncs, syncedWrites atomic.Int64
}

// countsIndex returns the index, plus one, of the counts of the log at
// path, adding them at its first opening.
func countsIndex(path string) int32 {
	countsMu.Lock()
	defer countsMu.Unlock()
	if i, ok := countsByPath[path]; ok {
		return i
	}
	var table []*logCounts
	if old := countsTable.Load(); old != nil {
		table = *old
	}
	table = append(table[:len(table):len(table)], new(logCounts))
	countsTable.Store(&table)
	i := int32(len(table))
	countsByPath[path] = i
	return i
}

// countsAt returns the counts at index i, plus one; nil for 0.
func countsAt(i int32) *logCounts {
	if i == 0 {
		return nil
	}
	return (*countsTable.Load())[i-1]
}

// tail is what this VFS keeps after the unix VFS's own file structure, in
// the memory SQLite allocates for each open file. It is C memory, so it
// holds no Go pointers.
type tail struct {
	buf uintptr // bufferSize bytes of C memory, allocated at the first write
	off int64   // the file offset of buf's first byte
	n   int32   // how many bytes wait in buf
	// counts is the index, plus one, of the log's counts; 0 for no counts.
	counts int32
}

// Writes reports how many writes to logs SQLite asked this VFS for, and
// how many it made, since the process started: for tests and diagnostics.
func Writes() (asked, made int64) { return writes.Load(), flushes.Load() }

func register() error {
	tls := libc.NewTLS()
	defer tls.Close()
	base := sqlite3.Xsqlite3_vfs_find(tls, 0)
	if base == 0 {
		return errors.New("walvfs: SQLite has no default VFS")
	}
	baseVFS = base
	vfs = *(*sqlite3.Tsqlite3_vfs)(ptr(base))
	vfs.FpNext = 0
	tailOffset = (uintptr(vfs.FszOsFile) + 7) &^ 7
	vfs.FszOsFile = int32(tailOffset + unsafe.Sizeof(tail{}))
	name, err := libc.CString(Name)
	if err != nil {
		return fmt.Errorf("walvfs: %w", err)
	}
	vfs.FzName = name
	setCFunc(&vfs.FxOpen, xOpen)
	if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&vfs)), 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("walvfs: sqlite3_vfs_register: code %d", rc)
	}
	return nil
}

// ptr turns an address that SQLite handed over into a pointer. Reading
// the variable's memory as a pointer, rather than converting the integer,
// is what keeps go vet's unsafeptr check satisfied; both mean the same.
func ptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// cFunc is the Go function that modernc stores where C has a function
// pointer, read from one of SQLite's tables; setCFunc stores one there.
func cFunc[F any](fp uintptr) F { return *(*F)(unsafe.Pointer(&fp)) }

func setCFunc[F any](field *uintptr, f F) { *(*F)(unsafe.Pointer(field)) = f }

func tailOf(pFile uintptr) *tail { return (*tail)(unsafe.Add(ptr(pFile), tailOffset)) }

func methodsOf(pFile uintptr) *uintptr { return &(*sqlite3.Tsqlite3_file)(ptr(pFile)).FpMethods }

// walBase and dbBase are the unix VFS's methods of the log and of the
// main database.
func walBase() *sqlite3.Tsqlite3_io_methods { return (*sqlite3.Tsqlite3_io_methods)(ptr(baseWAL)) }

func dbBase() *sqlite3.Tsqlite3_io_methods { return (*sqlite3.Tsqlite3_io_methods)(ptr(baseDB)) }

// xOpen opens the file through the unix VFS, then puts this VFS's methods
// in front of the main database's and the log's.
func xOpen(tls *libc.TLS, _ uintptr, zName uintptr, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	*tailOf(pFile) = tail{}
	open := (*sqlite3.Tsqlite3_vfs)(ptr(baseVFS)).FxOpen
	rc := cFunc[func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32](open)(tls, baseVFS, zName, pFile, flags, pOutFlags)
	m := methodsOf(pFile)
	if rc != sqlite3.SQLITE_OK || *m == 0 {
		return rc
	}
	switch {
	case flags&sqlite3.SQLITE_OPEN_WAL != 0:
		walOnce.Do(func() { initWAL(*m) })
		if *m != baseWAL {
			return rc // another kind of unix file than the first: leave it be
		}
		*m = uintptr(unsafe.Pointer(&walMethods))
		tailOf(pFile).counts = countsIndex(libc.GoString(zName))
		logsMu.Lock()
		logs[tls] = append(logs[tls], pFile)
		logsMu.Unlock()
	case flags&sqlite3.SQLITE_OPEN_MAIN_DB != 0:
		dbOnce.Do(func() { initDB(*m) })
		if *m == baseDB {
			*m = uintptr(unsafe.Pointer(&dbMethods))
		}
	}
	return rc
}

func initDB(base uintptr) {
	baseDB = base
	dbMethods = *dbBase()
	setCFunc(&dbMethods.FxShmBarrier, xShmBarrier)
}

func initWAL(base uintptr) {
	baseWAL = base
	walMethods = *walBase()
	setCFunc(&walMethods.FxClose, xClose)
	setCFunc(&walMethods.FxRead, xRead)
	setCFunc(&walMethods.FxWrite, xWrite)
	setCFunc(&walMethods.FxTruncate, xTruncate)
	setCFunc(&walMethods.FxSync, xSync)
	setCFunc(&walMethods.FxFileSize, xFileSize)
	setCFunc(&walMethods.FxFileControl, xFileControl)
}

// The unix methods, called as modernc's transpiled C calls a function
// pointer.
func baseClose(tls *libc.TLS, pFile uintptr) int32 {
	return cFunc[func(*libc.TLS, uintptr) int32](walBase().FxClose)(tls, pFile)
}

func baseRead(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	return cFunc[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](walBase().FxRead)(tls, pFile, buf, n, off)
}

func baseWrite(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	return cFunc[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](walBase().FxWrite)(tls, pFile, buf, n, off)
}

// flush writes what the log's tail gathered. The tail is emptied even when
// the write fails: SQLite then rolls the transaction back, and frames past
// the last commit are never read.
func flush(tls *libc.TLS, pFile uintptr) int32 {
	t := tailOf(pFile)
	if t.n == 0 {
		return sqlite3.SQLITE_OK
	}
	n := t.n
	t.n = 0
	for done := int32(0); done < n; {
		chunk := min(n-done, maxWrite)
		flushes.Add(1)
		if rc := baseWrite(tls, pFile, t.buf+uintptr(done), chunk, t.off+int64(done)); rc != sqlite3.SQLITE_OK {
			return rc
		}
		done += chunk
	}
	return sqlite3.SQLITE_OK
}

// xWrite appends to the gathered bytes when the write continues them;
// anything else (the first frame, a frame rewritten in place) writes them
// first.
func xWrite(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	writes.Add(1)
	t := tailOf(pFile)
	if c := countsAt(t.counts); c != nil {
		c.writes.Add(1)
	}
	if t.n > 0 && off == t.off+int64(t.n) && t.n+n <= bufferSize {
		copy(unsafe.Slice((*byte)(ptr(t.buf+uintptr(t.n))), n), unsafe.Slice((*byte)(ptr(buf)), n))
		t.n += n
		return sqlite3.SQLITE_OK
	}
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if n > bufferSize/2 {
		return baseWrite(tls, pFile, buf, n, off)
	}
	if t.buf == 0 {
		if t.buf = libc.Xmalloc(tls, bufferSize); t.buf == 0 {
			return baseWrite(tls, pFile, buf, n, off)
		}
	}
	copy(unsafe.Slice((*byte)(ptr(t.buf)), n), unsafe.Slice((*byte)(ptr(buf)), n))
	t.off, t.n = off, n
	return sqlite3.SQLITE_OK
}

func xRead(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return baseRead(tls, pFile, buf, n, off)
}

// Syncs reports how many syncs of the log of the database file at path
// completed since the process started, and how many of the writes SQLite
// asked for came after the start of the last one. A test reads it around
// a request to see that what was acknowledged had been synced: more
// syncs, and no write since. The counts are that log's alone, so other
// databases of the process do not blur them; a log never opened through
// this VFS has none.
func Syncs(path string) (synced, writesSince int64) {
	// SQLite names the log after the database's full path, links resolved.
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	if p, err := filepath.Abs(path); err == nil {
		path = p
	}
	countsMu.Lock()
	i := countsByPath[path+"-wal"]
	countsMu.Unlock()
	c := countsAt(i)
	if c == nil {
		return 0, 0
	}
	return c.syncs.Load(), c.writes.Load() - c.syncedWrites.Load()
}

func xSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	c := countsAt(tailOf(pFile).counts)
	var w int64
	if c != nil {
		w = c.writes.Load() // each of these is gathered or written: the sync covers it
	}
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	rc := cFunc[func(*libc.TLS, uintptr, int32) int32](walBase().FxSync)(tls, pFile, flags)
	if rc == sqlite3.SQLITE_OK && c != nil {
		c.syncedWrites.Store(w)
		c.syncs.Add(1)
	}
	return rc
}

func xTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return cFunc[func(*libc.TLS, uintptr, int64) int32](walBase().FxTruncate)(tls, pFile, size)
}

func xFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return cFunc[func(*libc.TLS, uintptr, uintptr) int32](walBase().FxFileSize)(tls, pFile, pSize)
}

func xFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return cFunc[func(*libc.TLS, uintptr, int32, uintptr) int32](walBase().FxFileControl)(tls, pFile, op, pArg)
}

func xClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := flush(tls, pFile)
	t := tailOf(pFile)
	if t.buf != 0 {
		libc.Xfree(tls, t.buf)
		t.buf = 0
	}
	logsMu.Lock()
	for c, files := range logs {
		for i, f := range files {
			if f == pFile {
				if files = append(files[:i], files[i+1:]...); len(files) == 0 {
					delete(logs, c)
				} else {
					logs[c] = files
				}
				break
			}
		}
	}
	logsMu.Unlock()
	if closed := baseClose(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = closed
	}
	return rc
}

// xShmBarrier is the database file's: a commit calls it between the two
// copies of the new wal-index header, after its frames, so the connection's
// gathered frames reach the log before any reader can see the header. With
// synchronous=FULL the commit's sync has written them already. A barrier
// cannot report an error, and a header must never point past the log's end,
// so a failed write here ends the process: on the next start, recovery
// reads the log as it is on disk and ends at its last whole commit.
func xShmBarrier(tls *libc.TLS, pFile uintptr) {
	logsMu.Lock()
	files := logs[tls]
	logsMu.Unlock()
	for _, f := range files {
		if rc := flush(tls, f); rc != sqlite3.SQLITE_OK {
			fmt.Fprintf(os.Stderr, "walvfs: writing the log before publishing a commit failed (SQLite code %d); stopping so that recovery reads the log as it is on disk\n", rc)
			os.Exit(74) // EX_IOERR
		}
	}
	cFunc[func(*libc.TLS, uintptr)](dbBase().FxShmBarrier)(tls, pFile)
}
