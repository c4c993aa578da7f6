package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/web"
)

// BenchmarkShortLink is the server's side of GET /r/{code} in process: the
// middleware, the link lookup (cached), the bot check, the visitor cookie
// and queueing the click, with the recorder writing the clicks to SQLite
// meanwhile. scripts/bench.sh redirect measures the same path over HTTP
// against a bare net/http handler; this one shows what a change to the
// path itself costs, without the load generator's noise.
func BenchmarkShortLink(b *testing.B) {
	db := storetest.Open(b, store.SQLite)
	api := httpapi.New(db, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Config{BaseURL: "https://adv.example.com"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { api.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	h := web.APIHandler(api)
	_, sk, _ := storetest.Program(b, db, "Acme", "USD", "https://yoursite.com")
	r := httptest.NewRequest("POST", "/v1/customers", strings.NewReader(`{"key":"jane","email":"jane@example.com","referral_code":"JANE20"}`))
	r.Header.Set("Authorization", "Bearer "+sk)
	r.Header.Set("Content-Type", "application/json")
	if w := httptest.NewRecorder(); func() int { h.ServeHTTP(w, r); return w.Code }() != http.StatusCreated {
		b.Fatal("create jane")
	}
	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest("GET", "/r/JANE20", nil)
		r.Header.Set("User-Agent", ua)
		r.RemoteAddr = "203.0.113.7:1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusFound {
			b.Fatalf("status %d", w.Code)
		}
	}
}
