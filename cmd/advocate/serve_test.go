package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/webhooks"
)

var (
	runningRe = regexp.MustCompile(`Advocate is running at (https?://\S+)`)
	secretRe  = regexp.MustCompile(`Secret key:\s+(sk_\S+)`)
	publicRe  = regexp.MustCompile(`Publishable key:\s+(pk_\S+)`)
	loginRe   = regexp.MustCompile(`Dashboard login:\s+(\S+)\n\s+Password:\s+(\S+)`)
	programRe = regexp.MustCompile(`Program:\s+.*\((prg_\w+),`)
)

// served is a running "advocate serve".
type served struct {
	url            string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc // what SIGTERM does through signal.NotifyContext
	exited         chan struct{}
	err            error // serve's result, once exited is closed
}

// startServe runs serve on a free port and waits until it says it is
// running. The server is stopped when the test ends.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, exited: make(chan struct{})}
	go func() {
		s.err = run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), s.stdout, s.stderr)
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.After(30 * time.Second)
	for {
		if m := runningRe.FindStringSubmatch(s.stdout.String()); m != nil {
			s.url = m[1]
			return s
		}
		select {
		case <-s.exited:
			t.Fatalf("serve returned %v before running\nstdout:\n%s\nstderr:\n%s", s.err, s.stdout, s.stderr)
		case <-deadline:
			t.Fatalf("serve did not start\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// stop cancels serve's context and returns what serve returned.
func (s *served) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case <-s.exited:
		return s.err
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop\nstderr:\n%s", s.stderr)
		return nil
	}
}

func TestServeFirstStart(t *testing.T) {
	t.Parallel()
	for _, e := range storetest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			dsn := storetest.DSN(t, e)
			s := startServe(t, "--db", dsn)
			out := s.stdout.String()
			login, sk, pk, prog := loginRe.FindStringSubmatch(out), secretRe.FindStringSubmatch(out), publicRe.FindStringSubmatch(out), programRe.FindStringSubmatch(out)
			if login == nil || sk == nil || pk == nil || prog == nil {
				t.Fatalf("first start printed:\n%s\nwant the dashboard login, password, program and both keys", out)
			}
			if login[1] != "admin@advocate.localhost" || len(login[2]) < 20 {
				t.Errorf("login %q with password %q, want the default admin and a long random password", login[1], login[2])
			}
			if !strings.HasPrefix(s.url, "http://127.0.0.1:") || strings.HasSuffix(s.url, ":0") {
				t.Errorf("url %q, want the port actually listened on", s.url)
			}

			status, body := call(t, "POST", s.url+"/v1/customers", sk[1], `{"key":"cus_1","email":"jane@x.com","name":"Jane Doe"}`)
			if status != 201 {
				t.Fatalf("POST /v1/customers with the printed key = %d %s", status, body)
			}
			var res struct {
				Customer struct {
					Key          string `json:"key"`
					ReferralCode string `json:"referral_code"`
					ReferralURL  string `json:"referral_url"`
				} `json:"customer"`
			}
			json.Unmarshal([]byte(body), &res)
			c := res.Customer
			if c.Key != "cus_1" || !strings.HasPrefix(c.ReferralCode, "JANE") || c.ReferralURL != "https://example.com/?ref="+c.ReferralCode {
				t.Errorf("created %+v", c)
			}
			if status, _ := call(t, "GET", s.url+"/v1/program", pk[1], ""); status != 403 {
				t.Errorf("printed publishable key on a secret endpoint = %d, want 403", status)
			}
			if status, _ := call(t, "GET", s.url+"/healthz", "", ""); status != 200 {
				t.Errorf("/healthz = %d", status)
			}
			if err := s.stop(t); err != nil {
				t.Errorf("serve returned %v, want nil", err)
			}

			// A second start finds the admin and prints no credentials.
			again := startServe(t, "--db", dsn)
			out2 := again.stdout.String()
			for _, secret := range []string{"Password", "sk_", "pk_", login[2]} {
				if strings.Contains(out2, secret) {
					t.Errorf("second start printed %q:\n%s", secret, out2)
				}
			}
			if status, body := call(t, "GET", again.url+"/v1/customers/cus_1", sk[1], ""); status != 200 {
				t.Errorf("the first start's key after a restart: %d %s", status, body)
			}
			if err := again.stop(t); err != nil {
				t.Errorf("serve returned %v", err)
			}
			db, err := store.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			n, _ := db.AdminCount(t.Context())
			ps, _ := db.Programs(t.Context())
			if n != 1 || len(ps) != 1 || ps[0].ID != prog[1] {
				t.Errorf("%d admins and %d programs after two starts, want 1 and the printed %s", n, len(ps), prog[1])
			}
		})
	}
}

// TestServeGracefulShutdown cancels serve's context (what SIGTERM does)
// while a request is being received, and checks that the request still
// completes and commits, and that serve then returns nil.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "advocate.db")
	s := startServe(t, "--db", dsn)
	sk := secretRe.FindStringSubmatch(s.stdout.String())[1]

	// With "Expect: 100-continue" the client sends the body only once the
	// handler starts reading it, so a write to the pipe returning means the
	// request is in flight on the server.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", s.url+"/v1/customers", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sk)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		done <- result{res.StatusCode, string(b), err}
	}()
	body := `{"key":"slow","email":"slow@x.com","name":"Slow Poke"}`
	if _, err := io.WriteString(pw, body[:12]); err != nil {
		t.Fatal(err)
	}

	s.cancel()
	time.Sleep(300 * time.Millisecond)
	select {
	case <-s.exited:
		t.Fatalf("serve returned %v with a request in flight", s.err)
	default:
	}
	if _, err := (&http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}).Get(s.url + "/healthz"); err == nil {
		t.Error("a new connection was accepted after shutdown began")
	}

	if _, err := io.WriteString(pw, body[12:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-done
	if res.err != nil || res.status != 201 {
		t.Fatalf("in-flight request: %d %s %v, want 201", res.status, res.body, res.err)
	}
	select {
	case <-s.exited:
		if s.err != nil {
			t.Errorf("serve returned %v, want nil", s.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after the last request")
	}
	if !strings.Contains(s.stderr.String(), "msg=stopped") {
		t.Errorf("log has no stopped line:\n%s", s.stderr)
	}

	db, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	k, _, err := db.APIKeyByHash(t.Context(), referral.HashAPIKey(sk))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := db.Customer(t.Context(), k.ProgramID, "slow"); err != nil || c.Name != "Slow Poke" {
		t.Errorf("customer of the in-flight request: %+v, %v", c, err)
	}
}

// TestServeConfig: flags beat ADVOCATE_* variables, which beat defaults,
// and a malformed variable stops serve before it touches anything.
func TestServeConfig(t *testing.T) {
	t.Run("environment and flags", func(t *testing.T) {
		t.Setenv("ADVOCATE_ADDR", "256.0.0.1:1") // overridden by --addr
		t.Setenv("ADVOCATE_ADMIN_EMAIL", "boss@x.com")
		t.Setenv("ADVOCATE_LOG_FORMAT", "json")
		t.Setenv("ADVOCATE_BASE_URL", "https://refer.example.com/")
		s := startServe(t, "--db", filepath.Join(t.TempDir(), "advocate.db"))
		out := s.stdout.String()
		if m := loginRe.FindStringSubmatch(out); m == nil || m[1] != "boss@x.com" {
			t.Errorf("printed:\n%s\nwant the admin email from ADVOCATE_ADMIN_EMAIL", out)
		}
		if s.url != "https://refer.example.com" {
			t.Errorf("running at %q, want ADVOCATE_BASE_URL without its trailing slash", s.url)
		}
		first, _, _ := strings.Cut(s.stderr.String(), "\n")
		var line struct{ Msg, Config string }
		if err := json.Unmarshal([]byte(first), &line); err != nil || line.Msg != "starting" {
			t.Errorf("first log line %q, want JSON (ADVOCATE_LOG_FORMAT)", first)
		}
		if !strings.Contains(line.Config, "addr=127.0.0.1:0") {
			t.Errorf("config %q, want --addr over ADVOCATE_ADDR", line.Config)
		}
		if err := s.stop(t); err != nil {
			t.Error(err)
		}
	})
	bad := []struct {
		name, env, value string
		args             []string
		want             []string
	}{
		{"rate limit not a number", "ADVOCATE_RATE_LIMIT", "abc", nil, []string{"ADVOCATE_RATE_LIMIT", "abc", "not a whole number"}},
		{"timeout not a duration", "ADVOCATE_SHUTDOWN_TIMEOUT", "soon", nil, []string{"ADVOCATE_SHUTDOWN_TIMEOUT", "duration"}},
		{"log level", "ADVOCATE_LOG_LEVEL", "loud", nil, []string{"--log-level"}},
		{"log format flag over good env", "ADVOCATE_LOG_FORMAT", "json", []string{"--log-format", "xml"}, []string{"--log-format", "xml"}},
		{"negative rate limit flag", "ADVOCATE_RATE_LIMIT", "10", []string{"--rate-limit", "-1"}, []string{"--rate-limit"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.value)
			path := filepath.Join(t.TempDir(), "advocate.db")
			_, _, err := runCmd(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", path}, tt.args...)...)
			wantErr(t, err, tt.want...)
			if _, err := os.Stat(path); err == nil {
				t.Error("the database was created before the configuration was checked")
			}
		})
	}
}

// binary is the real advocate binary, started with "serve".
type binary struct {
	cmd            *exec.Cmd
	url            string
	stdout, stderr *syncBuffer
}

// startBinary builds the binary into dir and starts it on a free port with
// the database db, waiting until it says it is running. It is killed when
// the test ends, if it still runs.
func startBinary(t *testing.T, dir, db string) *binary {
	t.Helper()
	bin := filepath.Join(dir, "advocate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b := &binary{cmd: exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", db, "--rate-limit", "0"),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	b.cmd.Env = append(os.Environ(), "ADVOCATE_LOG_FORMAT=text")
	stdout, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.cmd.Stderr = b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.cmd.Process.Kill() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			b.stdout.Write([]byte(sc.Text() + "\n"))
			if m := runningRe.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case b.url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatalf("the binary did not start:\n%s", b.stderr)
	}
	return b
}

// TestBinarySIGTERM builds the real binary and stops it with SIGTERM.
func TestBinarySIGTERM(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := startBinary(t, dir, filepath.Join(dir, "advocate.db"))
	cmd, url, stderr := b.cmd, b.url, b.stderr
	if status, _ := call(t, "GET", url+"/readyz", "", ""); status != 200 {
		t.Fatalf("/readyz = %d", status)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("exit: %v, want status 0\n%s", err, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the binary did not exit on SIGTERM")
	}
	log := stderr.String()
	if !strings.Contains(log, "msg=stopped") || !strings.Contains(log, `msg="shutting down"`) {
		t.Errorf("log lacks the shutdown lines:\n%s", log)
	}
	if strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Errorf("unclean shutdown:\n%s", log)
	}
}

// TestBinarySIGKILL kills the real binary with SIGKILL while payments
// stream in. Every payment that was answered 201 must be in the database
// it left, with its two rewards, and the ledger must verify: the writer
// answers only after its commit is synced (synchronous=FULL, through
// internal/walvfs), whatever it gathers in memory before.
func TestBinarySIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "advocate.db")
	b := startBinary(t, dir, db)
	m := secretRe.FindStringSubmatch(b.stdout.String())
	if m == nil {
		t.Fatalf("no secret key in:\n%s", b.stdout)
	}
	sk := m[1]
	for _, body := range []string{
		`{"name":"Referrer credit","trigger":"purchase","recipient":"referrer","reward_type":"credit","amount":10,"unit":"fixed","currency":"USD","recurrence":"every"}`,
		`{"name":"Friend discount","trigger":"purchase","recipient":"friend","reward_type":"discount","amount":20,"unit":"percentage","recurrence":"every"}`,
		`{"key":"referrer","email":"referrer@example.com","referral_code":"REF"}`,
	} {
		path := "/v1/reward_rules"
		if strings.Contains(body, "referral_code") {
			path = "/v1/customers"
		}
		if status, out := call(t, "POST", b.url+path, sk, body); status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, status, out)
		}
	}
	const workers = 16
	for w := range workers {
		body := fmt.Sprintf(`{"key":"friend-%d","email":"friend-%d@example.com","referred_by":"REF"}`, w, w)
		if status, out := call(t, "POST", b.url+"/v1/customers", sk, body); status != http.StatusCreated {
			t.Fatalf("create friend: %d %s", status, out)
		}
	}

	// Payments from every friend, back to back, until the process dies.
	var mu sync.Mutex
	var answered []string
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("txn-%d-%d", w, i)
				body := fmt.Sprintf(`{"customer_key":"friend-%d","key":%q,"type":"purchase","amount":5000,"currency":"USD"}`, w, key)
				req, _ := http.NewRequest("POST", b.url+"/v1/transactions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+sk)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusCreated {
					mu.Lock()
					answered = append(answered, key)
					mu.Unlock()
				}
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := b.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.cmd.Wait()
	wg.Wait()
	if len(answered) == 0 {
		t.Fatalf("no payment was answered before the kill:\n%s", b.stderr)
	}

	// The files as the killed process left them.
	out := mustRun(t, "verify", "--db", db)
	if !strings.Contains(out, "ledger OK") {
		t.Fatalf("verify: %s", out)
	}
	conn, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var check string
	if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	stored := map[string]bool{}
	rows, err := conn.Query(`SELECT key FROM transactions`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		stored[k] = true
	}
	rows.Close()
	for _, k := range answered {
		if !stored[k] {
			t.Errorf("payment %s was answered 201 but is not in the database", k)
		}
	}
	var rewardsN int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM rewards`).Scan(&rewardsN); err != nil || rewardsN != 2*len(stored) {
		t.Errorf("%d rewards for %d transactions (%v), want two each", rewardsN, len(stored), err)
	}
	t.Logf("%d payments answered before the kill, %d stored", len(answered), len(stored))
}

// TestServeWebhookHosts: serve refuses webhook endpoints on private
// addresses (SSRF), unless started with --webhook-allow-private.
func TestServeWebhookHosts(t *testing.T) {
	t.Parallel()
	const body = `{"url": "http://127.0.0.1:9/hooks", "events": ["*"]}`
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprint("allow private ", allow), func(t *testing.T) {
			args := []string{"--db", storetest.DSN(t, store.SQLite)}
			if allow {
				args = append(args, "--webhook-allow-private")
			}
			s := startServe(t, args...)
			sk := secretRe.FindStringSubmatch(s.stdout.String())
			if sk == nil {
				t.Fatalf("first start printed no secret key:\n%s", s.stdout.String())
			}
			status, resp := call(t, "POST", s.url+"/v1/webhook_endpoints", sk[1], body)
			switch {
			case !allow && (status != 422 || !strings.Contains(resp, `"webhook_url_not_public"`)):
				t.Errorf("a loopback endpoint = %d %s, want 422 webhook_url_not_public", status, resp)
			case allow && status != 201:
				t.Errorf("a loopback endpoint with --webhook-allow-private = %d %s, want 201", status, resp)
			}
			if err := s.stop(t); err != nil {
				t.Errorf("serve returned %v", err)
			}
		})
	}
}

// TestServeDeliversWebhooks: what serve wires together sends an event
// from the outbox to an endpoint, signed with the endpoint's secret, its
// body the API's own rendering.
func TestServeDeliversWebhooks(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 10)
	bodies := make(chan []byte, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	s := startServe(t, "--db", storetest.DSN(t, store.SQLite), "--webhook-allow-private")
	sk := secretRe.FindStringSubmatch(s.stdout.String())
	if sk == nil {
		t.Fatalf("first start printed no secret key:\n%s", s.stdout.String())
	}
	status, resp := call(t, "POST", s.url+"/v1/webhook_endpoints", sk[1],
		`{"url": "`+receiver.URL+`/hooks", "events": ["customer.created"]}`)
	if status != 201 {
		t.Fatalf("create endpoint = %d %s", status, resp)
	}
	var created struct {
		Endpoint struct {
			Secret string `json:"secret"`
		} `json:"webhook_endpoint"`
	}
	json.Unmarshal([]byte(resp), &created)
	secret, err := webhooks.ParseSecret(created.Endpoint.Secret)
	if err != nil {
		t.Fatalf("secret %q: %v", created.Endpoint.Secret, err)
	}
	if status, resp := call(t, "POST", s.url+"/v1/customers", sk[1], `{"key": "cus_1", "email": "jane@x.com", "name": "Jane Doe"}`); status != 201 {
		t.Fatalf("create customer = %d %s", status, resp)
	}
	select {
	case r := <-got:
		body := <-bodies
		if err := webhooks.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			t.Errorf("signature: %v (headers %v)", err, r.Header)
		}
		var ev struct {
			Type string `json:"type"`
			Data struct {
				Customer struct {
					Key string `json:"key"`
				} `json:"customer"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.Type != "customer.created" || ev.Data.Customer.Key != "cus_1" ||
			r.URL.Path != "/hooks" || !strings.HasPrefix(r.Header.Get("webhook-id"), "evt_") {
			t.Errorf("delivered %s %s %s (%v)", r.URL.Path, r.Header.Get("webhook-id"), body, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivered within 10 s")
	}
	if err := s.stop(t); err != nil {
		t.Errorf("serve returned %v", err)
	}
}
