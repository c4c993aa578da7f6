package main

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readme is the README.md at the root of the repository.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// quickstartCommands returns the sh blocks of the README between the
// quickstart markers, in order.
func quickstartCommands(t *testing.T, doc string) []string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "<!-- quickstart:start -->")
	section, _, ok2 := strings.Cut(rest, "<!-- quickstart:end -->")
	if !ok || !ok2 {
		t.Fatal("README.md has no <!-- quickstart:start --> … <!-- quickstart:end --> section")
	}
	var cmds []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		cmds = append(cmds, m[1])
	}
	return cmds
}

// TestQuickstart runs the README's quickstart, command by command, against
// a fresh server on a fresh database, with the secret key that server
// prints, so the README cannot drift from the API. Each command uses
// curl -f, which fails on any status but 2xx.
func TestQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the README's commands (scripts/test.sh installs it): %v", tool, err)
		}
	}
	cmds := quickstartCommands(t, readme(t))
	if len(cmds) < 6 {
		t.Fatalf("found %d commands in the README quickstart, want the seed's walk-through", len(cmds))
	}

	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "advocate.db")}, stdout, stderr)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			logs, _ := os.ReadFile(stderr.Name())
			t.Logf("server log:\n%s", logs)
		}
	}()

	var baseURL, key string
	for deadline := time.Now().Add(30 * time.Second); baseURL == "" || key == ""; {
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(stdout.Name())
			t.Fatalf("server did not print its URL and secret key:\n%s", out)
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve returned early: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		out, _ := os.ReadFile(stdout.Name())
		for line := range strings.Lines(string(out)) {
			f := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "Advocate is running at ") && len(f) == 5:
				baseURL = f[4]
			case strings.HasPrefix(strings.TrimSpace(line), "Secret key:") && len(f) == 3:
				key = f[2]
			}
		}
	}

	for i, cmd := range cmds {
		cmd = strings.ReplaceAll(cmd, "http://localhost:8080", baseURL)
		cmd = strings.ReplaceAll(cmd, "YOUR_API_KEY", key)
		c := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", cmd)
		c.Env = append(os.Environ(), "ADVOCATE_KEY="+key)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("quickstart command %d failed: %v\n%s\noutput: %s", i+1, err, cmd, out)
		}
		t.Logf("command %d: %s", i+1, out)
	}
	quickstartClicks(t, readme(t), baseURL, key)
}

// quickstartClicks checks that the quickstart's visit to Jane's short link
// was counted, as the README shows: a browser's visit is a click.
func quickstartClicks(t *testing.T, doc, baseURL, key string) {
	t.Helper()
	const shown = `"code": "JANE20", "clicks": 1, "unique_clicks": 1`
	if !strings.Contains(doc, shown) {
		t.Errorf("README.md's quickstart does not show %s", shown)
	}
	var clicks, unique int
	// Clicks are written in batches in the background: wait for the batch.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", baseURL+"/v1/customers/cust_123/referral_links", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var links struct {
			Data []struct {
				Code         string `json:"code"`
				Clicks       int    `json:"clicks"`
				UniqueClicks int    `json:"unique_clicks"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&links)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links.Data {
			if l.Code == "JANE20" {
				clicks, unique = l.Clicks, l.UniqueClicks
			}
		}
		if clicks > 0 {
			break
		}
	}
	if clicks != 1 || unique != 1 {
		t.Errorf("JANE20 after the quickstart: %d clicks, %d unique; want 1 and 1 as the README shows", clicks, unique)
	}
}

// TestReadmeDocumentsEveryFlag checks that the configuration table lists
// every setting of serve, with its environment variable.
func TestReadmeDocumentsEveryFlag(t *testing.T) {
	doc := readme(t)
	_, table, _ := strings.Cut(doc, "## Configuration")
	table, _, _ = strings.Cut(table, "\n## ")
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	c.serveFlags(fs)
	fs.VisitAll(func(f *flag.Flag) {
		env := "ADVOCATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		for _, want := range []string{"`--" + f.Name + "`", "`" + env + "`"} {
			if !strings.Contains(table, want) {
				t.Errorf("README.md's configuration table does not mention %s", want)
			}
		}
	})
}
