package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// newProgram stores a program for yoursite.com.
func newProgram(t *testing.T, db *store.DB) *referral.Program {
	t.Helper()
	p, err := referral.NewProgram("Acme", "USD", "https://yoursite.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateProgram(t.Context(), p) }); err != nil {
		t.Fatalf("create program: %v", err)
	}
	return p
}

// newCustomer creates a customer or fails the test.
func newCustomer(t *testing.T, db *store.DB, p *referral.Program, in referral.NewCustomer) *referral.Customer {
	t.Helper()
	c, err := db.CreateCustomer(t.Context(), p, in)
	if err != nil {
		t.Fatalf("create customer %q: %v", in.Key, err)
	}
	return c
}

// stepClock makes every transaction of db one millisecond later than the
// one before, starting at start, so that ids sort in creation order.
func stepClock(db *store.DB, start time.Time) {
	var mu sync.Mutex
	now := start
	db.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
}

// eventTypes lists a program's event types, oldest first.
func eventTypes(t *testing.T, db *store.DB, programID string) []string {
	t.Helper()
	var out []string
	for _, e := range events(t, db, programID) {
		out = append(out, e.Type)
	}
	return out
}

func events(t *testing.T, db *store.DB, programID string) []store.Event {
	t.Helper()
	evs, err := db.Events(t.Context(), programID, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// wantCode fails unless err is a *referral.Error with the given code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := referral.AsError(err)
	if !ok || e.Code != code {
		t.Errorf("got error %v, want code %s", err, code)
	}
}

// count returns the rows of a table, read straight from the database so
// that nothing in the store's own queries can hide a stray write.
func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.WriteStats().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
