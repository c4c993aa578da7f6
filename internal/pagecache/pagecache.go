// Package pagecache keeps SQLite's own page cache (pcache1) and mends one
// thing in it: a temporary page number that made every commit walk the
// whole cache.
//
// When SQLite rebalances B-tree pages it puts the new pages in ascending
// order by swapping their numbers, parking one page for a moment under the
// number of the pending-byte page (262,145 with 4 KiB pages), a number no
// page ever has. pcache1 remembers the largest number it has seen, and at
// the end of every transaction discards the pages numbered past the end of
// the database; because of the parked page it believes there are some and
// walks its whole hash table, about 0.5 ms per commit with a 32 MB
// cache: a twentieth of the single writer's time on a database
// smaller than 1 GiB, and the reason a larger cache did not pay. The
// parked page has its real number again within the same call of
// balance_nonroot, so this package restores the largest number seen to
// what it was before the parking: exact, as pcache1 needs it.
//
// It is installed when the package is initialised, as SQLite allows only
// before its first use; Installed reports whether it was.
package pagecache

import (
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// pendingByte is SQLite's PENDING_BYTE: the page holding it is never used.
const pendingByte = 0x40000000

var (
	methods      sqlite3.Tsqlite3_pcache_methods2
	defaultRekey uintptr
	installed    bool
)

// Installed reports whether SQLite uses the mended page cache.
func Installed() bool { return installed }

func init() {
	tls := libc.NewTLS()
	defer tls.Close()
	va := libc.Xmalloc(tls, 8)
	if va == 0 {
		return
	}
	defer libc.Xfree(tls, va)
	arg := uintptr(unsafe.Pointer(&methods))
	if sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_GETPCACHE2, libc.VaList(va, arg)) != sqlite3.SQLITE_OK ||
		methods.FxRekey == 0 {
		return
	}
	defaultRekey = methods.FxRekey
	setCFunc(&methods.FxRekey, rekey)
	installed = sqlite3.Xsqlite3_config(tls, sqlite3.SQLITE_CONFIG_PCACHE2, libc.VaList(va, arg)) == sqlite3.SQLITE_OK
}

// cFunc is the Go function that modernc stores where C has a function
// pointer, read from one of SQLite's tables; setCFunc stores one there.
func cFunc[F any](fp uintptr) F { return *(*F)(unsafe.Pointer(&fp)) }

func setCFunc[F any](field *uintptr, f F) { *(*F)(unsafe.Pointer(field)) = f }

// rekey is pcache1's xRekey, except that parking a page under the
// pending-byte page's number leaves the largest number seen as it was.
func rekey(tls *libc.TLS, p, page uintptr, oldKey, newKey uint32) {
	c := (*sqlite3.TPCache1)(*(*unsafe.Pointer)(unsafe.Pointer(&p)))
	before := c.FiMaxKey
	cFunc[func(*libc.TLS, uintptr, uintptr, uint32, uint32)](defaultRekey)(tls, p, page, oldKey, newKey)
	if c.FszPage > 0 && newKey == pendingByte/uint32(c.FszPage)+1 && before < newKey {
		c.FiMaxKey = before
	}
}
