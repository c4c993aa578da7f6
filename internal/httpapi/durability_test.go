package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/advocate-oss/advocate/internal/httpapi"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
	"github.com/advocate-oss/advocate/internal/walvfs"
)

// TestAcknowledgedMeansSynced checks the durability promise where it can
// be observed, instead of by killing the process (which cannot tell a
// synced commit from one still in the page cache). SQLite: the log is
// synced (fsync/fdatasync through internal/walvfs's xSync) after the
// request began and before its 201 arrived, and no log write came after
// that sync. PostgreSQL: the connections commit with synchronous_commit
// on and the server has fsync on.
//
// The syncs and writes counted are this database's log's alone, and its
// background writers are stopped first: a click flush or a checkpoint
// during a request could add a sync the request did not make, or a write
// after it that the request did not make either.
func TestAcknowledgedMeansSynced(t *testing.T) {
	for _, engine := range storetest.Engines(t) {
		t.Run(string(engine), func(t *testing.T) { acknowledgedMeansSynced(t, engine) })
	}
}

func acknowledgedMeansSynced(t *testing.T, engine store.Engine) {
	db, dsn := storetest.OpenDSN(t, engine)
	e := newEnv(t, db, httpapi.Config{})
	e.createCustomer(map[string]any{"key": "cust_1", "email": "jane@example.com"})
	if e.db.Engine == store.Postgres {
		for _, c := range []struct{ setting, want string }{{"synchronous_commit", "on"}, {"fsync", "on"}} {
			t.Run(c.setting, func(t *testing.T) {
				var got string
				if err := e.db.WriteStats().QueryRowContext(t.Context(), "SHOW "+c.setting).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("%s = %q on the writer's connection, want %q", c.setting, got, c.want)
				}
			})
		}
		return
	}
	// From here on, only the requests below write this database's log.
	e.stop()
	db.StopCheckpoints()
	for _, tc := range []struct {
		name, key string
		header    map[string]string
	}{
		{"without Idempotency-Key", "pay-1", nil},
		{"with Idempotency-Key", "pay-2", map[string]string{"Idempotency-Key": "pay-2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			syncsBefore, _ := walvfs.Syncs(dsn)
			resp := e.in(t).do(req{method: "POST", path: "/v1/transactions", key: e.sk, header: tc.header,
				body: map[string]any{"customer_key": "cust_1", "key": key, "amount": 10}})
			syncsAfter, writesSince := walvfs.Syncs(dsn)
			if resp.Status != http.StatusCreated {
				t.Fatalf("status %d: %s", resp.Status, resp.Body)
			}
			if syncsAfter == syncsBefore {
				t.Error("the 201 came back without a sync of the log during the request")
			}
			if writesSince != 0 {
				t.Errorf("%d writes to the log after its last sync when the 201 came back: acknowledged but not synced", writesSince)
			}
		})
	}
}
