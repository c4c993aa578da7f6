package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// runCmd runs a command the way main does and returns what it printed.
func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustRun runs a command that must succeed.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, args...)
	if err != nil {
		t.Fatalf("advocate %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// wantErr checks that err names every one of want.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want an error naming %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
}

// syncBuffer is a buffer a running server writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// api serves the API over dsn's database, to check that keys a command
// printed work (or stopped working).
func api(t *testing.T, dsn string) string {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	srv := httptest.NewServer(web.APIHandler(httpapi.New(db, slog.New(slog.DiscardHandler), httpapi.Config{BaseURL: "http://adv.test"})))
	t.Cleanup(srv.Close)
	return srv.URL
}

// call makes one API request and returns its status and body.
func call(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// createdProgram is what "program create --json" prints.
type createdProgram struct {
	ProgramID      string `json:"program_id"`
	SecretKey      string `json:"secret_key"`
	PublishableKey string `json:"publishable_key"`
}

func createProgramJSON(t *testing.T, dsn string) createdProgram {
	t.Helper()
	out := mustRun(t, "program", "create", "--db", dsn, "--name", "Acme", "--currency", "EUR", "--website-url", "https://x.com", "--json")
	var p createdProgram
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("program create --json printed %q: %v", out, err)
	}
	return p
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"bogus"}, "unknown command"},
		{"program without create", []string{"program"}, "unknown command"},
		{"keys without action", []string{"keys", "delete"}, "unknown command"},
		{"unexpected argument", []string{"migrate", "--db", filepath.Join(t.TempDir(), "a.db"), "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"migrate", "--nope"}, "not defined: -nope"},
		{"help", []string{"help"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCmd(t, tt.args...)
			if tt.wantErr == "" {
				if err != nil || !strings.Contains(out, "advocate serve") {
					t.Errorf("got %v and %q, want the usage", err, out)
				}
				return
			}
			wantErr(t, err, tt.wantErr)
			if strings.Contains(tt.wantErr, "command") && !strings.Contains(errOut, "Usage") {
				t.Errorf("stderr %q, want the usage", errOut)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			dsn := storetest.DSN(t, e)
			for range 2 { // a second run finds nothing to do
				out := mustRun(t, "migrate", "--db", dsn)
				if !strings.Contains(out, "Migrated") || !strings.Contains(out, "("+string(e)+")") {
					t.Errorf("printed %q, want Migrated … (%s)", out, e)
				}
				if e == store.Postgres && (strings.Contains(out, ":advocate@") || !strings.Contains(out, "xxxxx")) {
					t.Errorf("printed %q, want the password masked", out)
				}
			}
			db, err := store.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if ps, err := db.Programs(t.Context()); err != nil || len(ps) != 0 {
				t.Errorf("programs %v, %v: want the schema in place and empty", ps, err)
			}
		})
	}
}

func TestProgramCreate(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "advocate.db")
	p := createProgramJSON(t, dsn)
	if !strings.HasPrefix(p.ProgramID, "prg_") || !strings.HasPrefix(p.SecretKey, "sk_") || !strings.HasPrefix(p.PublishableKey, "pk_") {
		t.Fatalf("got %+v", p)
	}
	url := api(t, dsn)

	status, body := call(t, "GET", url+"/v1/program", p.SecretKey, "")
	var got struct {
		Program struct{ ID, Name, Currency, WebsiteURL string }
	}
	json.Unmarshal([]byte(body), &got)
	if status != 200 || got.Program.ID != p.ProgramID || got.Program.Currency != "EUR" {
		t.Errorf("secret key: GET /v1/program = %d %s, want 200 with the EUR program", status, body)
	}
	if status, body := call(t, "POST", url+"/v1/customers", p.PublishableKey, `{"key":"c1","email":"c1@x.com","name":"C"}`); status != 201 {
		t.Errorf("publishable key: POST /v1/customers = %d %s, want 201", status, body)
	}
	if status, _ := call(t, "GET", url+"/v1/program", p.PublishableKey, ""); status != 403 {
		t.Errorf("publishable key: GET /v1/program = %d, want 403 (known key, wrong kind)", status)
	}

	t.Run("text output", func(t *testing.T) {
		out := mustRun(t, "program", "create", "--db", dsn, "--name", "Text", "--website-url", "https://y.com", "--allowed-domains", "shop.io")
		for _, want := range []string{"Program:", "Secret key:       sk_", "Publishable key:  pk_", "shown only once"} {
			if !strings.Contains(out, want) {
				t.Errorf("printed %q, want %q", out, want)
			}
		}
	})
}

func TestProgramCreateInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		flags []string
	}{
		{"currency", []string{"--name", "X", "--currency", "EURO", "--website-url", "https://x.com"}, []string{"--currency", "ISO 4217"}},
		{"website", []string{"--name", "X", "--currency", "EUR", "--website-url", "ftp://x"}, []string{"--website-url", "http(s)"}},
		{"missing website", []string{"--name", "X"}, []string{"--website-url"}},
		{"missing name", []string{"--website-url", "https://x.com"}, []string{"--name"}},
		{"several", []string{"--name", "", "--currency", "EURO", "--website-url", "ftp://x"}, []string{"--name", "--currency", "--website-url"}},
		{"allowed domain", []string{"--name", "X", "--website-url", "https://x.com", "--allowed-domains", "https://shop.io"}, []string{"--allowed-domains"}},
	}
	dsn := filepath.Join(t.TempDir(), "advocate.db")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, append([]string{"program", "create", "--db", dsn}, tt.args...)...)
			wantErr(t, err, tt.flags...)
		})
	}
	db, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ps, err := db.Programs(t.Context()); err != nil || len(ps) != 0 {
		t.Errorf("%d programs stored (%v), want none", len(ps), err)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "advocate.db")
	p := createProgramJSON(t, dsn)
	url := api(t, dsn)
	type created struct{ ID, Kind, Key string }
	create := func(kind string) created {
		t.Helper()
		var c created
		out := mustRun(t, "keys", "create", "--db", dsn, "--program", p.ProgramID, "--kind", kind, "--json")
		if err := json.Unmarshal([]byte(out), &c); err != nil || c.Kind != kind || !strings.HasPrefix(c.ID, "key_") {
			t.Fatalf("keys create printed %q (%v)", out, err)
		}
		return c
	}
	sk, pk := create("secret"), create("publishable")

	t.Run("new keys work", func(t *testing.T) {
		if status, body := call(t, "GET", url+"/v1/program", sk.Key, ""); status != 200 {
			t.Errorf("new secret key: %d %s", status, body)
		}
		if status, body := call(t, "POST", url+"/v1/customers", pk.Key, `{"key":"k1","email":"k1@x.com","name":"K"}`); status != 201 {
			t.Errorf("new publishable key: %d %s", status, body)
		}
	})
	t.Run("text create", func(t *testing.T) {
		out := mustRun(t, "keys", "create", "--db", dsn, "--program", p.ProgramID)
		if !strings.Contains(out, "secret key key_") || !strings.Contains(out, ": sk_") {
			t.Errorf("printed %q, want the new secret key", out)
		}
	})
	t.Run("list shows prefixes only", func(t *testing.T) {
		for _, format := range [][]string{nil, {"--json"}} {
			out := mustRun(t, append([]string{"keys", "list", "--db", dsn, "--program", p.ProgramID}, format...)...)
			for _, full := range []string{p.SecretKey, p.PublishableKey, sk.Key, pk.Key} {
				if strings.Contains(out, full) {
					t.Errorf("list %v shows a full key:\n%s", format, out)
				}
				if !strings.Contains(out, full[:12]+"…") {
					t.Errorf("list %v does not show prefix %s…:\n%s", format, full[:12], out)
				}
			}
		}
	})
	t.Run("revoke", func(t *testing.T) {
		out := mustRun(t, "keys", "revoke", "--db", dsn, "--program", p.ProgramID, "--id", sk.ID)
		if !strings.Contains(out, "Revoked "+sk.ID) {
			t.Errorf("printed %q", out)
		}
		if status, _ := call(t, "GET", url+"/v1/program", sk.Key, ""); status != 401 {
			t.Errorf("revoked key: %d, want 401", status)
		}
		if status, _ := call(t, "GET", url+"/v1/program", p.SecretKey, ""); status != 200 {
			t.Errorf("another key of the program: %d, want 200", status)
		}
		var rows []struct {
			ID      string
			Revoked bool
		}
		out = mustRun(t, "keys", "list", "--db", dsn, "--program", p.ProgramID, "--json")
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(rows, func(r struct {
			ID      string
			Revoked bool
		}) bool {
			return r.ID == sk.ID
		})
		if i < 0 || !rows[i].Revoked || len(rows) != 5 {
			t.Errorf("list %s: want 5 keys, %s revoked", out, sk.ID)
		}
		if out := mustRun(t, "keys", "list", "--db", dsn, "--program", p.ProgramID); !strings.Contains(out, "revoked") {
			t.Errorf("list %q, want the revoked key marked", out)
		}
	})
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"no program", []string{"keys", "list", "--db", dsn}, "--program is required"},
		{"unknown program", []string{"keys", "list", "--db", dsn, "--program", "prg_missing"}, "program_not_found"},
		{"bad kind", []string{"keys", "create", "--db", dsn, "--program", p.ProgramID, "--kind", "admin"}, "--kind"},
		{"revoke without id", []string{"keys", "revoke", "--db", dsn, "--program", p.ProgramID}, "--id is required"},
		{"revoke unknown", []string{"keys", "revoke", "--db", dsn, "--program", p.ProgramID, "--id", "key_missing"}, "api_key_not_found"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, tt.args...)
			wantErr(t, err, tt.want)
		})
	}
}

func TestAdminCreate(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "advocate.db")
	out := mustRun(t, "admin", "create", "--db", dsn, "--email", "owner@x.com", "--password", "correct horse battery")
	if !strings.Contains(out, "Created owner owner@x.com (adm_") {
		t.Errorf("printed %q", out)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"short password", []string{"--email", "b@x.com", "--password", "short"}, []string{"--password", "12 to 72"}},
		{"no password", []string{"--email", "b@x.com"}, []string{"--password"}},
		{"bad email", []string{"--email", "nope", "--password", "correct horse battery"}, []string{"--email"}},
		{"bad role", []string{"--email", "b@x.com", "--password", "correct horse battery", "--role", "god"}, []string{"--role"}},
		{"duplicate email", []string{"--email", "Owner@X.com", "--password", "another good password"}, []string{"already exists"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, append([]string{"admin", "create", "--db", dsn}, tt.args...)...)
			wantErr(t, err, tt.want...)
		})
	}
	db, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.AdminCount(t.Context()); err != nil || n != 1 {
		t.Errorf("%d admins (%v), want 1", n, err)
	}
}

// TestConfigPrecedence: a flag beats ADVOCATE_*, which beats the default.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	envDB, flagDB := filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db")
	tests := []struct {
		name    string
		env     string // ADVOCATE_DB; "-" for unset
		args    []string
		created string
		absent  []string
	}{
		{"default", "-", nil, filepath.Join(dir, "advocate-data", "advocate.db"), []string{envDB, flagDB}},
		{"environment", envDB, nil, envDB, []string{flagDB}},
		{"flag over environment", envDB, []string{"--db", flagDB}, flagDB, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []string{envDB, flagDB} {
				os.Remove(f)
			}
			t.Setenv("ADVOCATE_DB", tt.env)
			if tt.env == "-" {
				os.Unsetenv("ADVOCATE_DB") // t.Setenv restores it afterwards
			}
			mustRun(t, append([]string{"migrate"}, tt.args...)...)
			if _, err := os.Stat(tt.created); err != nil {
				t.Errorf("database not at %s: %v", tt.created, err)
			}
			for _, f := range tt.absent {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("%s was created too", f)
				}
			}
		})
	}
}
