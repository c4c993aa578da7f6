package dashboard_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// download fetches a CSV export and parses it into rows keyed by header.
func download(t *testing.T, c *client, path, name string) ([]string, []map[string]string) {
	t.Helper()
	p := c.get(path).want(t, http.StatusOK)
	if ct := p.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	wantDisp := `attachment; filename="advocate-` + name + `-` + time.Now().UTC().Format("2006-01-02") + `.csv"`
	if cd := p.Header.Get("Content-Disposition"); cd != wantDisp {
		t.Errorf("Content-Disposition %q, want %q", cd, wantDisp)
	}
	records, err := csv.NewReader(strings.NewReader(p.Body)).ReadAll()
	if err != nil {
		t.Fatalf("%s is not valid CSV: %v", name, err)
	}
	header := records[0]
	var rows []map[string]string
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, h := range header {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return header, rows
}

func rowWhere(rows []map[string]string, col, val string) map[string]string {
	for _, r := range rows {
		if r[col] == val {
			return r
		}
	}
	return nil
}

func TestExportCSV(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.addCreditRule(t, rewards.Signup, rewards.Referrer, 1000, 30)
		e.addCreditRule(t, rewards.Purchase, rewards.Referrer, 550, 0)
		jane := e.customer("cus_jane", "Jane Doe", "")
		e.customer("cus_bob", "=HYPERLINK(\"http://evil.example\",\"click\")", jane.ReferralCode)
		e.customer("cus_cat", "Cat", jane.ReferralCode)
		e.recordPayment(t, "cus_bob", "inv_1", 5000)
		if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.Credit(ctx, e.program.ID, jane, 125, "USD", "") }); err != nil {
			t.Fatal(err)
		}
		rws := e.rewardsOf(t, jane)
		owner := e.asOwner(t)
		owner.post(e.path("rewards/reject"), url.Values{"id": {rws[len(rws)-1].ID}, "reason": {"@SUM(A1:A9)"}}).want(t, http.StatusSeeOther)

		t.Run("customers", func(t *testing.T) {
			header, rows := download(t, owner, e.path("export/customers.csv"), "customers")
			want := []string{"key", "email", "name", "referral_code", "referral_url", "referred_by_code", "referrer_key",
				"referrals", "successful_referrals", "currency", "credit_available", "credit_pending",
				"cash_available", "cash_pending", "cash_paid", "created_at"}
			if !slices.Equal(header, want) {
				t.Errorf("header %v, want %v", header, want)
			}
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3", len(rows))
			}
			j := rowWhere(rows, "key", "cus_jane")
			// Jane: 10.00 pending for Cat's signup, 10.00 for Bob's
			// rejected, 5.50 for Bob's purchase and 1.25 by hand available.
			// Rejecting a referrer reward rejects Bob's referral: it
			// counts in neither figure.
			for col, v := range map[string]string{"email": "cus_jane@example.com", "name": "Jane Doe", "referral_code": jane.ReferralCode,
				"referral_url": "https://acme.example/?ref=" + jane.ReferralCode, "referrals": "1", "successful_referrals": "1",
				"currency": "USD", "credit_available": "6.75", "credit_pending": "10.00", "cash_paid": "0.00", "referrer_key": ""} {
				if j[col] != v {
					t.Errorf("jane's %s = %q, want %q", col, j[col], v)
				}
			}
			if at, err := time.Parse(time.RFC3339, j["created_at"]); err != nil || at.Location() != time.UTC || time.Since(at) > time.Minute {
				t.Errorf("created_at %q is not a recent RFC 3339 UTC time: %v", j["created_at"], err)
			}
			b := rowWhere(rows, "key", "cus_bob")
			if b["name"] != `'=HYPERLINK("http://evil.example","click")` {
				t.Errorf("bob's name cell %q is not guarded against formula injection", b["name"])
			}
			if b["referred_by_code"] != jane.ReferralCode || b["referrer_key"] != "cus_jane" {
				t.Errorf("bob's referrer %q %q", b["referred_by_code"], b["referrer_key"])
			}
		})
		t.Run("referrals", func(t *testing.T) {
			header, rows := download(t, owner, e.path("export/referrals.csv"), "referrals")
			if want := []string{"referrer_key", "referrer_email", "referrer_name", "referral_code", "friend_key", "friend_email",
				"friend_name", "status", "signed_up_at", "converted_at"}; !slices.Equal(header, want) {
				t.Errorf("header %v", header)
			}
			if len(rows) != 2 {
				t.Fatalf("%d rows, want 2 referrals", len(rows))
			}
			cat := rowWhere(rows, "friend_key", "cus_cat")
			if cat["referrer_key"] != "cus_jane" || cat["referrer_name"] != "Jane Doe" || cat["status"] != "successful" || cat["converted_at"] == "" {
				t.Errorf("cat's referral %v", cat)
			}
			if bob := rowWhere(rows, "friend_key", "cus_bob"); bob["status"] != "rejected" {
				t.Errorf("bob's referral, whose reward was rejected: %v", bob)
			}
		})
		t.Run("rewards", func(t *testing.T) {
			header, rows := download(t, owner, e.path("export/rewards.csv"), "rewards")
			if !slices.Contains(header, "amount") || !slices.Contains(header, "currency") || !slices.Contains(header, "reject_reason") {
				t.Errorf("header %v", header)
			}
			if len(rows) != 3 {
				t.Fatalf("%d rows, want 3 rewards", len(rows))
			}
			rejected := rowWhere(rows, "status", "rejected")
			if rejected == nil || rejected["reject_reason"] != "'@SUM(A1:A9)" || rejected["amount"] != "10.00" || rejected["reversed_amount"] != "10.00" {
				t.Errorf("rejected reward %v, want its reason guarded and amounts in major units", rejected)
			}
			purchase := rowWhere(rows, "transaction_key", "inv_1")
			if purchase == nil || purchase["amount"] != "5.50" || purchase["currency"] != "USD" || purchase["status"] != "available" ||
				purchase["customer_key"] != "cus_jane" || !strings.HasPrefix(purchase["friend_name"], "'=HYPERLINK") {
				t.Errorf("purchase reward %v", purchase)
			}
		})
		t.Run("viewer may export", func(t *testing.T) {
			download(t, e.asViewer(t), e.path("export/rewards.csv"), "rewards")
		})
		t.Run("another program id", func(t *testing.T) {
			owner.get("/dashboard/p/prg_nope/export/customers.csv").want(t, http.StatusNotFound)
		})
	})
}

// An export reads in keyset batches: customers come out once each, in
// order, whether the last batch is full or not.
func TestExportBatches(t *testing.T) {
	defer dashboard.SetExportBatch(7)()
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		owner := e.asOwner(t)
		created := 0
		add := func(n int) {
			t.Helper()
			err := e.db.InTx(ctx, func(tx *store.Tx) error {
				for range n {
					if _, err := tx.CreateCustomer(ctx, e.program, referral.NewCustomer{Key: fmt.Sprintf("k%03d", created),
						Email: fmt.Sprintf("k%03d@example.com", created), ReferralCode: fmt.Sprintf("CODE%03d", created)}); err != nil {
						return err
					}
					created++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name string
			add  int
		}{{"none", 0}, {"less than a batch", 3}, {"exactly four batches", 25}, {"a row more", 1}} {
			t.Run(tc.name, func(t *testing.T) {
				add(tc.add)
				_, rows := download(t, owner, e.path("export/customers.csv"), "customers")
				var keys []string
				for _, r := range rows {
					keys = append(keys, r["key"])
				}
				var want []string
				for i := range created {
					want = append(want, fmt.Sprintf("k%03d", i))
				}
				// Equal lengths and equal sets: every customer once.
				if len(keys) != created || !sameSet(keys, want) {
					t.Errorf("exported %d keys %v, want %d: %v", len(keys), keys, created, want)
				}
			})
		}
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestStoredMetadataPages: a customer and a payment whose metadata older
// versions stored with numbers beyond float64 (1e400) do not break the
// pages and exports that list them: they used to answer 500.
func TestStoredMetadataPages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane := e.customer("cus_jane", "Jane", "")
		e.customer("cus_evil", "Evil", jane.ReferralCode)
		e.recordPayment(t, "cus_evil", "inv_1", 5000)
		for _, q := range []string{
			`UPDATE customers SET metadata = '{"a":1e400}' WHERE key = 'cus_evil'`,
			`UPDATE transactions SET metadata = '{"n":-1e309}' WHERE key = 'inv_1'`,
		} {
			if _, err := e.db.WriteStats().Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		owner := e.asOwner(t)
		for _, path := range []string{"customers", "customers/cus_evil", "customers/cus_jane", "", "rewards",
			"export/customers.csv", "export/referrals.csv", "export/rewards.csv"} {
			t.Run("/"+path, func(t *testing.T) {
				owner.get(e.path(path)).want(t, http.StatusOK)
			})
		}
	})
}
