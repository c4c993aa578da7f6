package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibcMatchesSQLite fails when modernc.org/libc drifts from the
// version modernc.org/sqlite was built and tested with. The transpiled
// SQLite reaches into libc's internals, so modernc asks downstream
// projects to pin the two together (pocketbase checks the same); another
// module raising libc through minimal version selection would otherwise
// go unnoticed.
func TestLibcMatchesSQLite(t *testing.T) {
	// The versions the build selects, as the go command resolves them.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Path}} {{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}",
		"modernc.org/sqlite", "modernc.org/libc").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	versions := map[string]string{}
	for line := range strings.Lines(string(out)) {
		if path, version, ok := strings.Cut(strings.TrimSpace(line), " "); ok {
			versions[path] = version
		}
	}
	sqlite, libc := versions["modernc.org/sqlite"], versions["modernc.org/libc"]
	if sqlite == "" || libc == "" {
		t.Fatalf("modernc.org/sqlite %q, modernc.org/libc %q: not both in the build", sqlite, libc)
	}
	graph, err := exec.Command("go", "mod", "graph").Output()
	if err != nil {
		t.Fatalf("go mod graph: %v", err)
	}
	prefix := "modernc.org/sqlite@" + sqlite + " modernc.org/libc@"
	for line := range strings.Lines(string(graph)) {
		if want, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			if libc != want {
				t.Errorf("modernc.org/libc is %s, but modernc.org/sqlite %s requires %s: pin it with go get modernc.org/libc@%s",
					libc, sqlite, want, want)
			}
			return
		}
	}
	t.Fatalf("go mod graph names no libc for modernc.org/sqlite %s", sqlite)
}
