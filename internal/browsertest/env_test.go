package browsertest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

//go:embed testdata/shop.html
var shopHTML string

var shopPage = template.Must(template.New("shop").Parse(shopHTML))

// world is Advocate on one site (127.0.0.1) and a business's shop that
// embeds the snippet on another (localhost), as in production.
type world struct {
	t       *testing.T
	api     *httpapi.Server
	adv     string // Advocate's origin
	shop    string // the shop's origin
	program *referral.Program
	sk, pk  string

	mu     sync.Mutex
	apiURL map[string]string // shop path → api_url passed to init
}

// pointAPI makes the shop page at path pass api_url to po('init').
func (w *world) pointAPI(path, url string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.apiURL[path] = url
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	// Listen first: Advocate's base URL is part of its config.
	advL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, adv: "http://" + advL.Addr().String(), apiURL: map[string]string{}}
	w.api = httpapi.New(db, log, httpapi.Config{BaseURL: w.adv})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { w.api.Run(runCtx); close(ran) }()
	t.Cleanup(func() { stop(); <-ran })
	adv := &httptest.Server{Listener: advL, Config: &http.Server{Handler: web.APIHandler(w.api)}}
	adv.Start()
	t.Cleanup(adv.Close)

	shop := httptest.NewServer(http.HandlerFunc(w.serveShop))
	t.Cleanup(shop.Close)
	w.shop = strings.Replace(shop.URL, "127.0.0.1", "localhost", 1)

	w.program, w.sk, w.pk = storetest.Program(t, db, "Acme", "USD", w.shop)
	// Through the API, as a business would: referral URLs and CORS follow
	// the program's website.
	w.call("PUT", "/v1/program", map[string]any{"website_url": w.shop + "/"}, 200, nil)
	return w
}

type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// serveShop renders the fixture shop with the snippet for every path.
func (w *world) serveShop(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/favicon.ico" {
		http.NotFound(rw, r)
		return
	}
	w.mu.Lock()
	apiURL := w.apiURL[r.URL.Path]
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	nonce := ""
	if r.URL.Path == "/csp" {
		// A strict policy: scripts by nonce and from Advocate, no inline
		// styles at all.
		nonce = "shop-nonce"
		rw.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+nonce+"' "+w.adv+
			"; connect-src "+w.adv+"; style-src 'self'; img-src 'self'")
	}
	err := shopPage.Execute(rw, map[string]string{
		"Script": w.adv + "/js/po.js",
		"PK":     w.pk,
		"APIURL": apiURL,
		"Nonce":  nonce,
	})
	if err != nil {
		w.t.Errorf("shop page: %v", err)
	}
}

// call sends a request with the secret key and decodes the answer into
// out, failing the test unless the status is want.
func (w *world) call(method, path string, body any, want int, out any) {
	w.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			w.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, w.adv+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.sk)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			w.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// customer is the part of the API's customer the tests look at.
type customer struct {
	Key          string  `json:"key"`
	Name         string  `json:"name"`
	ReferralCode string  `json:"referral_code"`
	ReferralURL  string  `json:"referral_url"`
	ReferredBy   *string `json:"referred_by"`
}

// newCustomer creates a customer through the API.
func (w *world) newCustomer(key, name string, referredBy string) customer {
	w.t.Helper()
	body := map[string]any{"key": key, "name": name, "email": key + "@example.com"}
	if referredBy != "" {
		body["referred_by"] = referredBy
	}
	var out struct{ Customer customer }
	w.call("POST", "/v1/customers", body, 201, &out)
	return out.Customer
}

func (w *world) customer(key string) customer {
	w.t.Helper()
	var out struct{ Customer customer }
	w.call("GET", "/v1/customers/"+key, nil, 200, &out)
	return out.Customer
}

// hash is what the business's backend computes for the widget.
func (w *world) hash(customerKey string) string {
	m := hmac.New(sha256.New, []byte(w.program.WidgetSecret))
	m.Write([]byte(customerKey))
	return hex.EncodeToString(m.Sum(nil))
}

// link is a referral link's click counters.
type link struct {
	Code         string `json:"code"`
	Clicks       int    `json:"clicks"`
	UniqueClicks int    `json:"unique_clicks"`
}

// clicks writes the buffered clicks and returns the counters of the
// customer's link with that code.
func (w *world) clicks(customerKey, code string) link {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.api.FlushClicks(ctx)
	var out struct{ Data []link }
	w.call("GET", "/v1/customers/"+customerKey+"/referral_links", nil, 200, &out)
	for _, l := range out.Data {
		if l.Code == code {
			return l
		}
	}
	w.t.Fatalf("customer %s has no link %s: %+v", customerKey, code, out.Data)
	return link{}
}

// clicksAtLeast waits until the link has n clicks: the SDK's beacon
// arrives on its own time.
func (w *world) clicksAtLeast(customerKey, code string, n int) link {
	w.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := w.clicks(customerKey, code)
		if l.Clicks >= n || time.Now().After(deadline) {
			return l
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// closedURL is an address where nothing listens: the API is down.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// hangingURL is an API that accepts connections and never answers.
func hangingURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
	})
	return "http://" + l.Addr().String()
}
