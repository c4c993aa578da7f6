package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/advocate-oss/advocate/internal/store/storetest"
)

// chromiumEnv overrides where Chromium is; Debian's package is the default.
const chromiumEnv = "ADVOCATE_CHROMIUM"

// shared is one Chromium shared by every test of the package; each test
// opens its own browser context (like a private window), so cookies and
// storage never leak from one test to the next.
var shared struct {
	once   sync.Once
	ctx    context.Context
	err    error
	cancel func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
	}
	os.Exit(code)
}

// chromium returns the shared browser, starting it on first use. Without
// Chromium the test fails in a strict run (scripts/test.sh, CI) and is
// skipped elsewhere.
func chromium(t *testing.T) context.Context {
	t.Helper()
	shared.once.Do(func() { shared.ctx, shared.cancel, shared.err = start() })
	if shared.err != nil {
		if storetest.Strict() {
			t.Fatalf("browser tests need Chromium in a strict run (scripts/test.sh installs it): %v", shared.err)
		}
		t.Skipf("no Chromium (apt-get install -y chromium, or run scripts/test.sh): %v", shared.err)
	}
	return shared.ctx
}

func start() (context.Context, func(), error) {
	path := os.Getenv(chromiumEnv)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "advocate-chromium-")
	if err != nil {
		return nil, nil, err
	}
	// This machine may have no internet: everything Chromium would fetch
	// on its own (updates, sync, QUIC probes) is switched off.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
		// Headless Chromium says "HeadlessChrome", which click counting
		// takes for automation; these tests stand in for people.
		chromedp.UserAgent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	stop := func() {
		cancel()
		acancel()
		os.RemoveAll(dir)
	}
	if err := chromedp.Do(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("start %s: %w", path, err)
	}
	return ctx, stop, nil
}

// tab is one page in a fresh browser context, with what it logged.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu         sync.Mutex
	exceptions []string
	warnings   []string
}

// newTab opens a tab in a new browser context. initScripts run in every
// document before its own scripts, e.g. to simulate blocked cookies.
func newTab(t *testing.T, initScripts ...string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chromium(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx}
	if err := chromedp.Listen(ctx, b.listen); err != nil {
		t.Fatalf("listen: %v", err)
	}
	for _, src := range initScripts {
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
			t.Fatalf("init script: %v", err)
		}
	}
	return b
}

// listen keeps uncaught exceptions and console warnings; it runs on the
// tab's reader goroutine, so it only appends.
func (b *tab) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
		b.mu.Lock()
		b.exceptions = append(b.exceptions, msg)
		b.mu.Unlock()
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			var s string
			if json.Unmarshal(a.Value, &s) == nil {
				parts = append(parts, s)
			} else if a.Description != "" {
				parts = append(parts, a.Description)
			}
		}
		b.mu.Lock()
		b.warnings = append(b.warnings, strings.Join(parts, " "))
		b.mu.Unlock()
	}
}

// noExceptions fails the test if the page threw anything uncaught.
func (b *tab) noExceptions() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.exceptions) > 0 {
		b.t.Errorf("uncaught exceptions in the page: %q", b.exceptions)
	}
}

// warned waits briefly for a console warning containing every fragment.
func (b *tab) warned(fragments ...string) bool {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, w := range b.warnings {
			all := true
			for _, f := range fragments {
				all = all && strings.Contains(w, f)
			}
			if all {
				b.mu.Unlock()
				return true
			}
		}
		b.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// clearWarnings forgets the warnings so far, before a step whose own
// warning a test looks for.
func (b *tab) clearWarnings() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.warnings = nil
}

func (b *tab) allWarnings() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.warnings...)
}

// timeout bounds one browser step; the browser itself outlives it.
func (b *tab) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 15*time.Second)
}

// open navigates and waits for the load event.
func (b *tab) open(url string) {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
}

func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	return u
}

// eval runs a script in the page, waits for a promise it returns and
// decodes the result into T.
func eval[T any](b *tab, script string) T {
	b.t.Helper()
	v, err := evalErr[T](b, script)
	if err != nil {
		b.t.Fatalf("eval %s: %v", script, err)
	}
	return v
}

func evalErr[T any](b *tab, script string) (T, error) {
	ctx, cancel := b.timeout()
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](script, chromedp.EvalAwaitPromise))
}

// poll waits until the expression is truthy.
func (b *tab) poll(expr string) {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		b.t.Fatalf("waiting for %s: %v", expr, err)
	}
}

// do runs browser actions with the step timeout.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// screenshot saves the element as a PNG in the test's artifact directory
// (kept with go test -artifacts) and returns its path.
func (b *tab) screenshot(sel, name string) string {
	b.t.Helper()
	ctx, cancel := b.timeout()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(sel), 2))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", sel, err)
	}
	path := filepath.Join(b.t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

// cookies returns the page's cookies as the browser stores them.
func (b *tab) cookies() map[string]string {
	b.t.Helper()
	raw := eval[string](b, `document.cookie`)
	out := map[string]string{}
	for _, kv := range strings.Split(raw, "; ") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// grantClipboard lets the page at origin read the clipboard, so a test
// can check what the Copy button put there.
func (b *tab) grantClipboard(origin string) {
	b.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted,
			Origin: origin, BrowserContextID: chromedp.FromContext(b.ctx).BrowserContextID,
		})
		if err != nil {
			b.t.Fatalf("grant %s: %v", name, err)
		}
	}
}
