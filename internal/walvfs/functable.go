package walvfs

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"unsafe"

	"modernc.org/libc"
)

// SQLite reaches a VFS through tables of C function pointers: sqlite3_vfs
// (xOpen, …) and sqlite3_io_methods (xWrite, xSync, …). In
// modernc.org/sqlite's transpiled C such a pointer is a uintptr field
// holding a Go func value, which the library calls by reading the field
// back as the func type of the C prototype; modernc.org/sqlite/vfs fills
// its own tables the same way. storeFunc and loadFunc are the only places
// where this package reads or writes such a field.

// storeFunc stores f in field, a function pointer of a table that this
// package owns (a package variable, which never moves).
//
// Only a package-level function of this package may be stored: no
// closure and no method value. The table is memory the garbage collector
// does not scan, and only a package-level function's func value is static
// data that lives as long as the process. f's type must be the C
// prototype of the field it goes in, with *libc.TLS first, and f must not
// panic (there is no recovery in the C frames above it) or leave a Go
// pointer in C memory. storeFunc refuses anything else, so a table is
// never filled with a function that would break those rules.
func storeFunc[F any](field *uintptr, f F) error {
	v := reflect.ValueOf(f)
	if v.Kind() != reflect.Func || v.IsNil() {
		return fmt.Errorf("walvfs: %T is not a function", f)
	}
	if t := v.Type(); t.NumIn() == 0 || t.In(0) != reflect.TypeFor[*libc.TLS]() {
		return fmt.Errorf("walvfs: %T does not take *libc.TLS first, as SQLite's C functions do", f)
	}
	name := runtime.FuncForPC(v.Pointer()).Name()
	local, ok := strings.CutPrefix(name, packagePath+".")
	if !ok || strings.ContainsAny(local, ".-") {
		return fmt.Errorf("walvfs: %s is not a package-level function of %s; only those may be stored in SQLite's tables", name, packagePath)
	}
	*(*F)(unsafe.Pointer(field)) = f
	return nil
}

// loadFunc reads the function in fp, a field of one of SQLite's tables:
// one that SQLite filled (a function of the transpiled library) or that
// storeFunc filled. F must be the C prototype of that field.
func loadFunc[F any](fp uintptr) F { return *(*F)(unsafe.Pointer(&fp)) }

// packagePath is this package's import path, which the names of its
// package-level functions start with.
var packagePath = func() string {
	name := runtime.FuncForPC(reflect.ValueOf(xOpen).Pointer()).Name()
	return name[:strings.LastIndex(name, ".")]
}()
