// Command testreport reads `go test -json` from standard input and prints
// what a person wants from a CI log: one line per package as it finishes,
// the whole output of every failed or skipped test, the simulation's seeds,
// and at the end how many tests ran on each storage engine and in Chromium,
// closed by one "N passed, N failed, N skipped" line.
//
// It exits non-zero when a test failed, a package did not build, or (with
// -strict) a test was skipped or a required kind of test did not run at
// all, so that a missing PostgreSQL or Chromium can never pass as a skip.
//
//	go test -json ./... | go run ./scripts/testreport -strict -require sqlite,postgres,chromium
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// browserPackage holds the tests that drive real Chromium.
const browserPackage = "/internal/browsertest"

// engines are the subtest names storetest gives each engine's run.
var engines = []string{"sqlite", "postgres"}

// logged is the test whose log is always shown: it names its random seed,
// which is what a failure elsewhere would need to be replayed.
const logged = "TestSimulation"

type report struct {
	out                     io.Writer
	output                  map[string][]string // package + test → its output so far
	passed, failed, skipped []string
	perEngine               map[string]int
	chromium                int
	brokenPackages          []string
}

func main() {
	strict := flag.Bool("strict", false, "fail when any test is skipped or a -require kind ran no test")
	require := flag.String("require", "", "comma-separated kinds that must have run: sqlite, postgres, chromium")
	summaryFile := flag.String("summary", "", "also write the closing line to this file")
	flag.Parse()

	r := &report{out: os.Stdout, output: map[string][]string{}, perEngine: map[string]int{}}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	ok := r.summary(*strict, splitList(*require))
	if *summaryFile != "" {
		if err := os.WriteFile(*summaryFile, []byte(r.closing()+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
			ok = false
		}
	}
	if !ok {
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// read consumes the stream. Lines that are not JSON (a build error printed
// by the go command itself) are passed through as they are.
func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(r.out, string(line))
			continue
		}
		r.add(e)
	}
	return sc.Err()
}

func (r *report) add(e event) {
	id := e.Package + " " + e.Test
	switch e.Action {
	case "output":
		r.output[id] = append(r.output[id], e.Output)
	case "pass", "fail", "skip":
		if e.Test == "" {
			r.finishPackage(e)
			return
		}
		name := e.Package + "." + e.Test
		switch e.Action {
		case "pass":
			r.passed = append(r.passed, name)
			r.count(e)
			if root, _, _ := strings.Cut(e.Test, "/"); root == logged {
				r.printLog(id)
			}
		case "fail":
			r.failed = append(r.failed, name)
			r.printLog(id)
		case "skip":
			r.skipped = append(r.skipped, name)
			r.printLog(id)
		}
		delete(r.output, id)
	}
}

// count files a passed test under its engine (the subtest named after the
// engine itself, not those nested below it) and under Chromium (the
// browser package's top-level tests).
func (r *report) count(e event) {
	parts := strings.Split(e.Test, "/")
	if last := parts[len(parts)-1]; slices.Contains(engines, last) {
		r.perEngine[last]++
	}
	if strings.HasSuffix(e.Package, browserPackage) && len(parts) == 1 {
		r.chromium++
	}
}

func (r *report) finishPackage(e event) {
	id := e.Package + " "
	switch e.Action {
	case "pass":
		fmt.Fprintf(r.out, "ok   %s\t%.1fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(r.out, "?    %s\t[no test files]\n", e.Package)
	case "fail":
		r.printLog(id)
		fmt.Fprintf(r.out, "FAIL %s\t%.1fs\n", e.Package, e.Elapsed)
		r.brokenPackages = append(r.brokenPackages, e.Package)
	}
	delete(r.output, id)
}

// printLog prints what a test wrote, without go test's "=== RUN" and
// similar progress lines.
func (r *report) printLog(id string) {
	for _, l := range r.output[id] {
		if !strings.HasPrefix(l, "=== ") {
			fmt.Fprint(r.out, l)
		}
	}
}

// summary prints the counts and says whether the run is green.
func (r *report) summary(strict bool, require []string) bool {
	ok := len(r.failed) == 0 && len(r.brokenPackages) == 0
	fmt.Fprintln(r.out)
	for _, e := range engines {
		fmt.Fprintf(r.out, "tests run on %s: %d\n", e, r.perEngine[e])
	}
	fmt.Fprintf(r.out, "tests run in Chromium: %d\n", r.chromium)
	for _, name := range r.failed {
		fmt.Fprintf(r.out, "FAILED: %s\n", name)
	}
	if strict {
		for _, name := range r.skipped {
			fmt.Fprintf(r.out, "SKIPPED (not allowed here): %s\n", name)
			ok = false
		}
		for _, kind := range require {
			n := r.perEngine[kind]
			if kind == "chromium" {
				n = r.chromium
			}
			if n == 0 {
				fmt.Fprintf(r.out, "NO TEST RAN on %s\n", kind)
				ok = false
			}
		}
	}
	if len(r.brokenPackages) > 0 && len(r.failed) == 0 {
		// A package that failed to build or exited early fails the run
		// although none of its tests reported a failure.
		r.failed = append(r.failed, r.brokenPackages...)
	}
	fmt.Fprintln(r.out, r.closing())
	return ok
}

// closing is the line CI readers look for.
func (r *report) closing() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped", len(r.passed), len(r.failed), len(r.skipped))
}
