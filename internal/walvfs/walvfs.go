// Package walvfs registers "advocate-wal", an SQLite VFS that is the
// default unix VFS but for one thing: the frames a connection appends to
// its write-ahead log are gathered in memory and reach the -wal file in a
// few large write system calls, instead of two per page (a 24-byte frame
// header, then the page). For a group commit of a few hundred pages those
// calls were a large part of the single writer's time.
//
// Nothing becomes visible, or durable, at another moment than before, and
// every failure is reported where SQLite expects it. The frames of a
// commit reach the file before the write of its last frame returns, so a
// failed write is that commit's error (an SQLITE_IOERR), and SQLite
// publishes a commit to readers only after that, whatever the synchronous
// setting. Writes that are not appends of frames (the log's header, a frame
// rewritten in place) first write what was gathered and then go straight
// to the file, and so do reads, syncs, truncation, size queries, file
// controls and close. A crash loses at most a transaction that never
// committed.
//
// It works inside modernc.org/sqlite's transpiled C, where function
// pointers are Go functions (see storeFunc), and it follows how SQLite
// writes its log (wal.c's walFrames, walWriteOneFrame,
// walRewriteChecksums) in the versions that TestCheckedAgainst pins. Only
// connections that name it in their DSN (vfs=advocate-wal) use it.
package walvfs

import (
	"encoding/binary"
	"errors"
	"fmt"
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

// frameHeaderSize is the size of a log frame's header, which SQLite writes
// on its own just before the frame's page.
const frameHeaderSize = 24

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
	walMethods sqlite3.Tsqlite3_io_methods // the log's: the unix VFS's, but for walHooks
	walHooks   sqlite3.Tsqlite3_io_methods // this package's log methods, filled by register

	baseVFS uintptr // the unix VFS this one delegates to
	// The unix VFS's methods of the log, captured at its first opening (it
	// opens the log without locks, so with another table than the
	// database's).
	baseWAL    uintptr
	walOnce    sync.Once
	tailOffset uintptr // where a file's tail starts in its sqlite3_file

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
	// end is the end of the log as this connection wrote it: a frame
	// header written there is an append, one written before it rewrites a
	// frame in place.
	end int64
	n   int32 // how many bytes wait in buf
	// commit is set when the last gathered write is the header of a
	// commit's last frame: the frame's page is written next, and with it
	// the commit.
	commit bool
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
	err := errors.Join(
		storeFunc(&walHooks.FxClose, xClose),
		storeFunc(&walHooks.FxRead, xRead),
		storeFunc(&walHooks.FxWrite, xWrite),
		storeFunc(&walHooks.FxTruncate, xTruncate),
		storeFunc(&walHooks.FxSync, xSync),
		storeFunc(&walHooks.FxFileSize, xFileSize),
		storeFunc(&walHooks.FxFileControl, xFileControl),
	)
	if err != nil {
		return err
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
	if err := storeFunc(&vfs.FxOpen, xOpen); err != nil {
		return err
	}
	if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&vfs)), 0); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("walvfs: sqlite3_vfs_register: code %d", rc)
	}
	return nil
}

// ptr turns an address that SQLite handed over into a pointer. Reading
// the variable's memory as a pointer, rather than converting the integer,
// is what keeps go vet's unsafeptr check satisfied; both mean the same.
func ptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func tailOf(pFile uintptr) *tail { return (*tail)(unsafe.Add(ptr(pFile), tailOffset)) }

func methodsOf(pFile uintptr) *uintptr { return &(*sqlite3.Tsqlite3_file)(ptr(pFile)).FpMethods }

// walBase is the unix VFS's methods of the log.
func walBase() *sqlite3.Tsqlite3_io_methods { return (*sqlite3.Tsqlite3_io_methods)(ptr(baseWAL)) }

// xOpen opens the file through the unix VFS, then puts this VFS's methods
// in front of the log's.
func xOpen(tls *libc.TLS, _ uintptr, zName uintptr, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	*tailOf(pFile) = tail{}
	open := loadFunc[func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32]((*sqlite3.Tsqlite3_vfs)(ptr(baseVFS)).FxOpen)
	rc := open(tls, baseVFS, zName, pFile, flags, pOutFlags)
	m := methodsOf(pFile)
	if rc != sqlite3.SQLITE_OK || *m == 0 || flags&sqlite3.SQLITE_OPEN_WAL == 0 {
		return rc
	}
	walOnce.Do(func() { initWAL(*m) })
	if *m != baseWAL {
		return rc // another kind of unix file than the first: leave it be
	}
	*m = uintptr(unsafe.Pointer(&walMethods))
	tailOf(pFile).counts = countsIndex(libc.GoString(zName))
	return rc
}

// initWAL makes the log's methods: the unix VFS's, with the ones
// register filled in walHooks in their place.
func initWAL(base uintptr) {
	baseWAL = base
	walMethods = *walBase()
	walMethods.FxClose = walHooks.FxClose
	walMethods.FxRead = walHooks.FxRead
	walMethods.FxWrite = walHooks.FxWrite
	walMethods.FxTruncate = walHooks.FxTruncate
	walMethods.FxSync = walHooks.FxSync
	walMethods.FxFileSize = walHooks.FxFileSize
	walMethods.FxFileControl = walHooks.FxFileControl
}

// The unix methods, called as modernc's transpiled C calls a function
// pointer.
func baseClose(tls *libc.TLS, pFile uintptr) int32 {
	return loadFunc[func(*libc.TLS, uintptr) int32](walBase().FxClose)(tls, pFile)
}

func baseRead(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	return loadFunc[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](walBase().FxRead)(tls, pFile, buf, n, off)
}

func baseWrite(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	return loadFunc[func(*libc.TLS, uintptr, uintptr, int32, int64) int32](walBase().FxWrite)(tls, pFile, buf, n, off)
}

// flush writes what the log's tail gathered. The tail is emptied even when
// the write fails: SQLite then rolls the transaction back, and frames past
// the last commit are never read.
func flush(tls *libc.TLS, pFile uintptr) int32 {
	t := tailOf(pFile)
	t.commit = false
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

// xWrite gathers the frames SQLite appends to the log. A frame header
// written at the log's end starts (or continues) what is gathered, and the
// frame's page continues it; the page of a commit's last frame writes
// everything gathered before xWrite returns, so that the commit fails if
// that write does. Any other write (the log's header, a page or a
// checksum rewritten in place) writes what was gathered, then itself.
func xWrite(tls *libc.TLS, pFile, buf uintptr, n int32, off int64) int32 {
	writes.Add(1)
	t := tailOf(pFile)
	if c := countsAt(t.counts); c != nil {
		c.writes.Add(1)
	}
	if off == 0 {
		t.end = 0 // the log's header: the log starts again from its beginning
	}
	if t.n == 0 || off != t.off+int64(t.n) || t.n+n > bufferSize {
		if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
			return rc
		}
		if n != frameHeaderSize || off < t.end || !t.alloc(tls) {
			rc := baseWrite(tls, pFile, buf, n, off)
			if rc == sqlite3.SQLITE_OK {
				t.end = max(t.end, off+int64(n))
			}
			return rc
		}
		t.off = off
	}
	src := unsafe.Slice((*byte)(ptr(buf)), n)
	copy(unsafe.Slice((*byte)(ptr(t.buf+uintptr(t.n))), n), src)
	t.n += n
	t.end = max(t.end, off+int64(n))
	if t.commit {
		return flush(tls, pFile) // the page of a commit's last frame
	}
	// A frame header holds the page number, then the database's size in
	// pages after the commit for a commit's last frame, zero for the others.
	t.commit = n == frameHeaderSize && binary.BigEndian.Uint32(src[4:8]) != 0
	return sqlite3.SQLITE_OK
}

// alloc gives the tail its buffer at the first write; false when there is
// no memory for it, and the write goes straight to the file.
func (t *tail) alloc(tls *libc.TLS) bool {
	if t.buf == 0 {
		t.buf = libc.Xmalloc(tls, bufferSize)
	}
	return t.buf != 0
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
	rc := loadFunc[func(*libc.TLS, uintptr, int32) int32](walBase().FxSync)(tls, pFile, flags)
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
	t := tailOf(pFile)
	t.end = min(t.end, size)
	return loadFunc[func(*libc.TLS, uintptr, int64) int32](walBase().FxTruncate)(tls, pFile, size)
}

func xFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return loadFunc[func(*libc.TLS, uintptr, uintptr) int32](walBase().FxFileSize)(tls, pFile, pSize)
}

func xFileControl(tls *libc.TLS, pFile uintptr, op int32, pArg uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return loadFunc[func(*libc.TLS, uintptr, int32, uintptr) int32](walBase().FxFileControl)(tls, pFile, op, pArg)
}

func xClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := flush(tls, pFile)
	t := tailOf(pFile)
	if t.buf != 0 {
		libc.Xfree(tls, t.buf)
		t.buf = 0
	}
	if closed := baseClose(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = closed
	}
	return rc
}
