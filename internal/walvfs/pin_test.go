package walvfs

import (
	"database/sql"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What walvfs was last checked against. It follows how SQLite writes its
// log (wal.c: walFrames, walWriteOneFrame, walRewriteChecksums,
// walRestartHdr), delegates everything else to the unix VFS (os_unix.c),
// and fills SQLite's tables with Go functions as modernc.org/sqlite's
// transpiled C (on modernc.org/libc) calls them. Any of the three may
// change that.
const (
	checkedSQLite        = "v1.62.0"
	checkedLibc          = "v1.80.1"
	checkedSQLiteVersion = "3.54.1"
)

// TestCheckedAgainst fails on any change of the modules or of the SQLite
// that walvfs was checked against, so that an upgrade cannot slip in
// unread.
func TestCheckedAgainst(t *testing.T) {
	const reverify = "re-verify walvfs against the new version before changing the pins in pin_test.go: " +
		"read the new SQLite's os_unix.c (unixOpen, unixWrite, unixSync, the io_methods tables) and wal.c " +
		"(walFrames, walWriteOneFrame, walRewriteChecksums, walRestartHdr) for how the log is written, " +
		"check that modernc.org/sqlite still stores C function pointers as Go func values, " +
		"and run this package's tests and the store's"
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}",
		"modernc.org/sqlite", "modernc.org/libc").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	got := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if path, version, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			got[path] = version
		}
	}
	for _, m := range []struct{ path, want string }{
		{"modernc.org/sqlite", checkedSQLite},
		{"modernc.org/libc", checkedLibc},
	} {
		if got[m.path] != m.want {
			t.Errorf("%s is %q, walvfs was checked against %s: %s", m.path, got[m.path], m.want, reverify)
		}
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version string
	if err := db.QueryRow(`SELECT sqlite_version()`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != checkedSQLiteVersion {
		t.Errorf("sqlite_version() is %s, walvfs was checked against %s: %s", version, checkedSQLiteVersion, reverify)
	}
}
