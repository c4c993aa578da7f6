package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	const stream = `{"Action":"run","Package":"x/internal/store","Test":"TestA"}
{"Action":"output","Package":"x/internal/store","Test":"TestA/sqlite","Output":"hello\n"}
{"Action":"pass","Package":"x/internal/store","Test":"TestA/sqlite/case"}
{"Action":"pass","Package":"x/internal/store","Test":"TestA/sqlite"}
{"Action":"pass","Package":"x/internal/store","Test":"TestA/postgres"}
{"Action":"pass","Package":"x/internal/store","Test":"TestA"}
{"Action":"output","Package":"x/internal/store","Test":"TestSimulation/sqlite","Output":"=== RUN   TestSimulation/sqlite\n"}
{"Action":"output","Package":"x/internal/store","Test":"TestSimulation/sqlite","Output":"    sim_test.go:1: seed 42\n"}
{"Action":"pass","Package":"x/internal/store","Test":"TestSimulation/sqlite"}
{"Action":"pass","Package":"x/internal/store","Elapsed":1.5}
{"Action":"pass","Package":"x/internal/browsertest","Test":"TestPage"}
{"Action":"pass","Package":"x/internal/browsertest","Test":"TestPage/sub"}
{"Action":"output","Package":"x/internal/browsertest","Test":"TestGone","Output":"no chromium\n"}
{"Action":"skip","Package":"x/internal/browsertest","Test":"TestGone"}
{"Action":"pass","Package":"x/internal/browsertest","Elapsed":2}
`
	tests := []struct {
		name    string
		strict  bool
		require []string
		wantOK  bool
		want    []string
	}{
		{"lenient", false, nil, true, []string{
			"tests run on sqlite: 2", "tests run on postgres: 1", "tests run in Chromium: 1",
			"seed 42", "no chromium", "7 passed, 0 failed, 1 skipped"}},
		{"a skip fails a strict run", true, nil, false, []string{"SKIPPED (not allowed here): x/internal/browsertest.TestGone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			r := &report{out: &out, output: map[string][]string{}, perEngine: map[string]int{}}
			if err := r.read(strings.NewReader(stream)); err != nil {
				t.Fatal(err)
			}
			if got := r.summary(tt.strict, tt.require); got != tt.wantOK {
				t.Errorf("summary ok = %v, want %v", got, tt.wantOK)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "hello") || strings.Contains(out.String(), "=== RUN") {
				t.Errorf("a passing test's log was printed:\n%s", out.String())
			}
		})
	}

	t.Run("a required kind that ran nothing fails", func(t *testing.T) {
		var out strings.Builder
		r := &report{out: &out, output: map[string][]string{}, perEngine: map[string]int{"sqlite": 3}}
		if r.summary(true, []string{"sqlite", "postgres"}) {
			t.Errorf("summary ok without postgres tests:\n%s", out.String())
		}
		if !strings.Contains(out.String(), "NO TEST RAN on postgres") {
			t.Errorf("output does not name postgres:\n%s", out.String())
		}
	})

	t.Run("a package that does not build fails", func(t *testing.T) {
		var out strings.Builder
		r := &report{out: &out, output: map[string][]string{}, perEngine: map[string]int{}}
		r.read(strings.NewReader("# x/internal/y\nsyntax error\n" + `{"Action":"fail","Package":"x/internal/y"}` + "\n"))
		if r.summary(false, nil) {
			t.Error("summary ok with a package that failed")
		}
		if !strings.Contains(out.String(), "syntax error") || !strings.Contains(out.String(), "0 passed, 1 failed") {
			t.Errorf("output:\n%s", out.String())
		}
	})
}
