package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// addCreditRule stores a reward rule for the env's program: fixed amount in
// minor units of USD, firing once.
func (e *env) addCreditRule(t *testing.T, trigger, recipient string, amount int64, holdingDays int) *rewards.Rule {
	t.Helper()
	r := rewards.Rule{ProgramID: e.program.ID, Trigger: trigger, Recipient: recipient, RewardType: rewards.Credit,
		Unit: rewards.Fixed, Amount: amount, Currency: "USD", Recurrence: rewards.First, HoldingDays: holdingDays, Active: true}
	if err := e.db.InTx(t.Context(), func(tx *store.Tx) error { return tx.CreateRule(t.Context(), &r) }); err != nil {
		t.Fatal(err)
	}
	return &r
}

// recordPayment records a payment by a customer of the env's program.
func (e *env) recordPayment(t *testing.T, customerKey, key string, amount int64) *rewards.Transaction {
	t.Helper()
	txn, _, err := e.db.RecordTransaction(t.Context(), e.program, store.NewTransaction{CustomerKey: customerKey, Key: key,
		Type: rewards.Purchase, Amount: amount, Currency: "USD"})
	if err != nil {
		t.Fatalf("record transaction %s: %v", key, err)
	}
	return txn
}

// storeBalance reads a customer's balance in currency from the store.
func (e *env) storeBalance(t *testing.T, c *referral.Customer, currency string) rewards.Balance {
	t.Helper()
	b, err := e.db.Balance(t.Context(), e.program.ID, c.ID, currency)
	if err != nil {
		t.Fatal(err)
	}
	return *b
}

func TestCustomerList(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.addCreditRule(t, rewards.Signup, rewards.Referrer, 1000, 30)
		jane := e.customer("cus_jane", "Jane Doe", "")
		e.customer("cus_bob", "Bob Stone", jane.ReferralCode)
		e.customer("cus_evil", "<script>alert(1)</script>", "")
		janeEmail, bobEmail := "cus_jane@example.com", "cus_bob@example.com"
		owner := e.asOwner(t)

		t.Run("everyone, with figures", func(t *testing.T) {
			p := owner.get(e.path("customers")).want(t, http.StatusOK)
			p.has(t, "Jane Doe", "cus_jane@example.com", jane.ReferralCode, `href="/dashboard/p/`+e.program.ID+`/customers/cus_jane"`,
				"Bob Stone", "3 customers · 1 referred", "+ USD 10.00 pending", "1 successful",
				"/export/customers.csv", "/export/referrals.csv")
			if strings.Contains(p.Body, "<script>alert(1)</script>") || !strings.Contains(p.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Error("a customer's name reached the page unescaped")
			}
		})
		for _, tc := range []struct {
			name, query string
			want        []string
			not         []string
		}{
			{"email prefix", "q=CUS_JANE%40", []string{janeEmail}, []string{bobEmail}},
			{"name substring", "q=ston", []string{bobEmail}, []string{janeEmail}},
			{"referral code", "q=" + strings.ToLower(jane.ReferralCode), []string{janeEmail}, []string{bobEmail}},
			{"referred", "filter=referred", []string{bobEmail}, []string{janeEmail, "cus_evil"}},
			{"not referred", "filter=not_referred", []string{janeEmail, "cus_evil"}, []string{bobEmail}},
			{"pending rewards", "filter=pending_rewards", []string{janeEmail}, []string{bobEmail, "cus_evil"}},
			{"search within a filter", "q=cus_&filter=referred", []string{bobEmail}, []string{janeEmail}},
			{"unknown filter shows all", "filter=bogus", []string{janeEmail, bobEmail, "cus_evil"}, nil},
			{"no match", "q=nobody", []string{"No customers match", "“nobody”", "Show all customers"}, []string{janeEmail}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := owner.get(e.path("customers?"+tc.query)).want(t, http.StatusOK)
				text := p.text()
				for _, w := range tc.want {
					if !strings.Contains(text, w) {
						t.Errorf("page lacks %q: %s", w, text)
					}
				}
				for _, n := range tc.not {
					if strings.Contains(text, n) {
						t.Errorf("page shows %q: %s", n, text)
					}
				}
			})
		}
		t.Run("viewer sees the list", func(t *testing.T) {
			e.asViewer(t).get(e.path("customers")).want(t, http.StatusOK).has(t, "Jane Doe")
		})
	})
}

func TestCustomerListPages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			for i := range 27 {
				if _, err := tx.CreateCustomer(ctx, e.program, referral.NewCustomer{Key: fmt.Sprintf("c%02d", i),
					Email: fmt.Sprintf("c%02d@example.com", i), Name: fmt.Sprintf("Person %02d", i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		owner := e.asOwner(t)
		first := owner.get(e.path("customers")).want(t, http.StatusOK)
		// One transaction gives every customer the same time, so their
		// order is their ids'; the page must hold 25 of the 27 either way.
		if n := strings.Count(first.Body, `class="who-link"`); n != 25 {
			t.Fatalf("first page has %d customers, want 25", n)
		}
		next := pagerLink(t, first, "next")
		if pagerLink(t, first, "prev") != "" {
			t.Error("the first page links to a newer page")
		}
		second := owner.get(next).want(t, http.StatusOK)
		if n := strings.Count(second.Body, `class="who-link"`); n != 2 {
			t.Fatalf("second page has %d customers, want 2", n)
		}
		if pagerLink(t, second, "next") != "" {
			t.Error("the last page links to an older page")
		}
		back := owner.get(pagerLink(t, second, "prev")).want(t, http.StatusOK)
		if n := strings.Count(back.Body, `class="who-link"`); n != 25 {
			t.Errorf("back to the first page: %d customers, want 25", n)
		}
		seen := map[string]bool{}
		for _, p := range []*page{first, second} {
			for _, m := range strings.Split(p.Body, `/customers/c`)[1:] {
				seen[m[:2]] = true
			}
		}
		if len(seen) != 27 {
			t.Errorf("the two pages show %d different customers, want all 27", len(seen))
		}
	})
}

// pagerLink returns the href of the page's rel=next or rel=prev link, or "".
func pagerLink(t *testing.T, p *page, rel string) string {
	t.Helper()
	i := strings.Index(p.Body, `rel="`+rel+`" href="`)
	if i < 0 {
		return ""
	}
	rest := p.Body[i+len(`rel="`+rel+`" href="`):]
	href := rest[:strings.IndexByte(rest, '"')]
	return strings.ReplaceAll(href, "&amp;", "&")
}

func TestCustomerListEmpty(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		p := e.asOwner(t).get(e.path("customers")).want(t, http.StatusOK)
		p.has(t, "No customers yet", "/v1/customers", `href="/dashboard/p/`+e.program.ID+`/developers"`)
	})
}

func TestCustomerPage(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.addCreditRule(t, rewards.Purchase, rewards.Referrer, 1000, 0)
		gift := rewards.Rule{ProgramID: e.program.ID, Name: "Friend gets 15% off", Trigger: rewards.Signup, Recipient: rewards.Friend,
			RewardType: rewards.Discount, Unit: rewards.Percentage, Amount: 1500, Recurrence: rewards.First, Active: true}
		if err := e.db.InTx(ctx, func(tx *store.Tx) error { return tx.CreateRule(ctx, &gift) }); err != nil {
			t.Fatal(err)
		}
		jane := e.customer("cus_jane", "Jane Doe", "")
		bob := e.customer("cus_bob", "<b>Bob</b>", jane.ReferralCode)
		e.recordPayment(t, "cus_bob", "inv_1", 5000)
		var extra *referral.Link
		err := e.db.InTx(ctx, func(tx *store.Tx) (err error) {
			extra, err = tx.CreateLink(ctx, e.program, "cus_jane", "https://acme.example/pricing", "JANE-PRICING")
			if err != nil {
				return err
			}
			return tx.Credit(ctx, e.program.ID, jane, 700, "EUR", "euro goodwill")
		})
		if err != nil {
			t.Fatal(err)
		}
		owner := e.asOwner(t)

		t.Run("referrer", func(t *testing.T) {
			p := owner.get(e.path("customers/cus_jane")).want(t, http.StatusOK)
			p.has(t, jane.ReferralCode, e.srv.URL+"/r/"+jane.ReferralCode, "https://acme.example/?ref="+jane.ReferralCode,
				"JANE-PRICING", e.srv.URL+"/r/"+extra.Code, "https://acme.example/pricing?ref=JANE-PRICING",
				`href="/dashboard/p/`+e.program.ID+`/customers/cus_bob"`, "&lt;b&gt;Bob&lt;/b&gt;",
				"Came on their own", "Reward earned", "USD 10.00", "EUR 7.00", "euro goodwill",
				`action="/dashboard/p/`+e.program.ID+`/customers/cus_jane/credit"`,
				`formaction="/dashboard/p/`+e.program.ID+`/customers/cus_jane/debit"`)
			if strings.Contains(p.Body, "<b>Bob</b>") {
				t.Error("a friend's name reached the page unescaped")
			}
		})
		t.Run("friend", func(t *testing.T) {
			p := owner.get(e.path("customers/cus_bob")).want(t, http.StatusOK)
			p.has(t, "Referred by", `href="/dashboard/p/`+e.program.ID+`/customers/cus_jane"`, "inv_1", "USD 50.00",
				`action="/dashboard/p/`+e.program.ID+`/transactions/inv_1/refund"`, "status-paid", "Has not referred anyone yet",
				"Joining as a friend", "Friend gets 15% off", "15% off")
			codes, err := e.db.CustomerDiscountCodes(ctx, e.program.ID, bob.ID)
			if err != nil || len(codes) != 1 {
				t.Fatalf("bob's codes: %v %v", codes, err)
			}
			p.has(t, codes[0].Code, "status-active")
		})
		t.Run("viewer sees it without forms", func(t *testing.T) {
			p := e.asViewer(t).get(e.path("customers/cus_bob")).want(t, http.StatusOK)
			p.has(t, "inv_1", "Referred by")
			for _, form := range []string{"/refund", "/credit", "/debit"} {
				if strings.Contains(p.Body, form+`"`) {
					t.Errorf("a viewer's page has a %s form", form)
				}
			}
		})
		t.Run("unknown customer", func(t *testing.T) {
			owner.get(e.path("customers/nobody")).want(t, http.StatusNotFound)
		})
		t.Run("another program's customer", func(t *testing.T) {
			other, _, _ := e.newProgram("Other", "USD", "https://other.example")
			if _, err := e.db.CreateCustomer(ctx, other, referral.NewCustomer{Key: "cus_other", Email: "o@example.com"}); err != nil {
				t.Fatal(err)
			}
			owner.get(e.path("customers/cus_other")).want(t, http.StatusNotFound)
			owner.get("/dashboard/p/"+other.ID+"/customers/cus_jane").want(t, http.StatusNotFound)
			owner.post(e.path("customers/cus_other/credit"), url.Values{"amount": {"5"}}).want(t, http.StatusNotFound)
			owner.get("/dashboard/p/prg_nope/customers/cus_jane").want(t, http.StatusNotFound)
		})
	})
}

func TestCreditAndDebit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		jane := e.customer("cus_jane", "Jane Doe", "")
		owner := e.asOwner(t)
		credit, debit := e.path("customers/cus_jane/credit"), e.path("customers/cus_jane/debit")

		p := owner.post(credit, url.Values{"amount": {"25.50"}, "currency": {"USD"}, "note": {"Sorry for the outage"}}).want(t, http.StatusSeeOther)
		if p.Location != e.path("customers/cus_jane") {
			t.Errorf("redirected to %q, want the customer page", p.Location)
		}
		if got := owner.follow(p).flash(); got != "Added USD 25.50 of credit." {
			t.Errorf("flash %q", got)
		}
		if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 2550 {
			t.Fatalf("after credit: %+v, want 25.50 available", b)
		}
		owner.post(debit, url.Values{"amount": {"10"}, "note": {"Spent at checkout"}}).want(t, http.StatusSeeOther)
		if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 1550 {
			t.Fatalf("after debit: %+v, want 15.50 available", b)
		}
		page := owner.get(e.path("customers/cus_jane")).want(t, http.StatusOK)
		page.has(t, "Sorry for the outage", "Spent at checkout", "Manual credit", "USD 15.50")

		for _, tc := range []struct {
			name, path string
			form       url.Values
			field      string
			want       string
		}{
			{"debit above the balance", debit, url.Values{"amount": {"15.51"}}, "balance-amount", "more than the customer's available credit"},
			{"too many decimals", credit, url.Values{"amount": {"1.234"}}, "balance-amount", "USD amounts have at most 2 decimals."},
			{"yen decimals", credit, url.Values{"amount": {"1.5"}, "currency": {"JPY"}}, "balance-amount", "JPY amounts have no decimals."},
			{"not a number", credit, url.Values{"amount": {"ten"}}, "balance-amount", "plain number"},
			{"thousands separator", credit, url.Values{"amount": {"1,000"}}, "balance-amount", "plain number"},
			{"zero", credit, url.Values{"amount": {"0"}}, "balance-amount", "more than 0"},
			{"negative", debit, url.Values{"amount": {"-5"}}, "balance-amount", "more than 0"},
			{"empty", credit, url.Values{"amount": {""}}, "balance-amount", "Enter an amount"},
			{"bad currency", credit, url.Values{"amount": {"5"}, "currency": {"XX"}}, "balance-currency", "ISO 4217"},
			{"long note", credit, url.Values{"amount": {"5"}, "note": {strings.Repeat("n", 501)}}, "balance-note", "at most 500"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := owner.post(tc.path, tc.form).want(t, http.StatusUnprocessableEntity)
				if got := p.fieldError(tc.field); !strings.Contains(got, tc.want) {
					t.Errorf("%s error %q, want %q", tc.field, got, tc.want)
				}
				if v := tc.form.Get("amount"); v != "" && !strings.Contains(p.Body, `value="`+v+`"`) {
					t.Errorf("the form lost the amount %q", v)
				}
			})
		}
		if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 1550 {
			t.Errorf("rejected changes moved the balance: %+v", b)
		}

		t.Run("another currency", func(t *testing.T) {
			owner.post(credit, url.Values{"amount": {"3"}, "currency": {"eur"}}).want(t, http.StatusSeeOther)
			if b := e.storeBalance(t, jane, "EUR"); b.CreditAvailable != 300 {
				t.Errorf("EUR balance %+v, want 3.00", b)
			}
			owner.get(e.path("customers/cus_jane")).has(t, "EUR 3.00")
		})
		t.Run("viewer", func(t *testing.T) {
			e.asViewer(t).post(credit, url.Values{"amount": {"5"}}).want(t, http.StatusForbidden)
			if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 1550 {
				t.Errorf("a viewer moved the balance: %+v", b)
			}
		})
		t.Run("unknown customer", func(t *testing.T) {
			owner.post(e.path("customers/nobody/credit"), url.Values{"amount": {"5"}}).want(t, http.StatusNotFound)
		})
	})
}

func TestCustomerLedgerPages(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		jane := e.customer("cus_jane", "Jane Doe", "")
		err := e.db.InTx(ctx, func(tx *store.Tx) error {
			for i := range 53 {
				if err := tx.Credit(ctx, e.program.ID, jane, 100, "USD", fmt.Sprintf("note %02d", i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		owner := e.asOwner(t)
		first := owner.get(e.path("customers/cus_jane")).want(t, http.StatusOK)
		if n := strings.Count(first.Body, ">note "); n != 50 {
			t.Errorf("first ledger page has %d entries, want 50", n)
		}
		i := strings.Index(first.Body, `?ledger_after=`)
		if i < 0 {
			t.Fatal("no link to older entries")
		}
		href := first.Body[strings.LastIndex(first.Body[:i], `"`)+1 : i+strings.IndexByte(first.Body[i:], '"')]
		older := owner.get(strings.ReplaceAll(href, "&amp;", "&")).want(t, http.StatusOK)
		if n := strings.Count(older.Body, ">note "); n != 3 {
			t.Errorf("older ledger page has %d entries, want 3", n)
		}
		older.has(t, "Newest entries")
		if strings.Contains(older.Body, "?ledger_after=") {
			t.Error("the last ledger page links to older entries")
		}
	})
}

func TestRefundForm(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.addCreditRule(t, rewards.Purchase, rewards.Referrer, 1000, 0)
		jane := e.customer("cus_jane", "Jane Doe", "")
		e.customer("cus_bob", "Bob Stone", jane.ReferralCode)
		e.recordPayment(t, "cus_bob", "inv_1", 5000)
		if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 1000 {
			t.Fatalf("jane earned %+v, want 10.00 available", b)
		}
		owner := e.asOwner(t)
		refund := e.path("transactions/inv_1/refund")

		for _, tc := range []struct {
			name, amount string
			field, want  string
		}{
			{"more than paid", "50.01", "refund-amount-inv_1", "more than what remains unrefunded"},
			{"too precise", "1.001", "refund-amount-inv_1", "at most 2 decimals"},
			{"not a number", "all", "refund-amount-inv_1", "plain number"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := owner.post(refund, url.Values{"amount": {tc.amount}}).want(t, http.StatusUnprocessableEntity)
				if got := p.fieldError(tc.field); !strings.Contains(got, tc.want) {
					t.Errorf("error %q, want %q", got, tc.want)
				}
				p.has(t, `<details class="row-action" open>`)
			})
		}

		t.Run("partial", func(t *testing.T) {
			p := owner.post(refund, url.Values{"amount": {"20"}, "reason": {"Broken item"}}).want(t, http.StatusSeeOther)
			if p.Location != e.path("customers/cus_bob") {
				t.Errorf("redirected to %q, want bob's page", p.Location)
			}
			if got := owner.follow(p).flash(); got != "Refunded USD 20.00 of inv_1." {
				t.Errorf("flash %q", got)
			}
			txn, err := e.db.Transaction(ctx, e.program.ID, "inv_1")
			if err != nil {
				t.Fatal(err)
			}
			if txn.Refunded != 2000 || txn.Status() != "partially_refunded" {
				t.Errorf("transaction refunded %d (%s), want 20.00, partially refunded", txn.Refunded, txn.Status())
			}
		})
		t.Run("the rest claws back the reward", func(t *testing.T) {
			p := owner.post(refund, url.Values{"reason": {"Returned"}}).want(t, http.StatusSeeOther)
			if got := owner.follow(p).flash(); got != "Refunded USD 30.00 of inv_1. Rewards clawed back: 1." {
				t.Errorf("flash %q", got)
			}
			if b := e.storeBalance(t, jane, "USD"); b.CreditAvailable != 0 {
				t.Errorf("jane's balance %+v, want the reward clawed back", b)
			}
			rws, _, err := e.db.Rewards(ctx, e.program.ID, store.RewardFilter{CustomerID: jane.ID})
			if err != nil {
				t.Fatal(err)
			}
			if len(rws) != 1 || rws[0].Status != rewards.Reversed {
				t.Errorf("rewards %+v, want one reversed", rws)
			}
			owner.get(e.path("customers/cus_bob")).has(t, "status-refunded")
		})
		t.Run("again", func(t *testing.T) {
			p := owner.post(refund, url.Values{}).want(t, http.StatusUnprocessableEntity)
			p.has(t, "already refunded in full")
		})
		t.Run("unknown transaction", func(t *testing.T) {
			owner.post(e.path("transactions/nope/refund"), url.Values{}).want(t, http.StatusNotFound)
		})
		t.Run("viewer", func(t *testing.T) {
			e.recordPayment(t, "cus_bob", "inv_2", 1000)
			e.asViewer(t).post(e.path("transactions/inv_2/refund"), url.Values{}).want(t, http.StatusForbidden)
			txn, err := e.db.Transaction(ctx, e.program.ID, "inv_2")
			if err != nil || txn.Refunded != 0 {
				t.Errorf("a viewer refunded: %v %v", txn, err)
			}
		})
	})
}

// TestCustomerNotRewarded: a customer referred after they had paid shows
// why their referral earns nothing, while the program rewards new
// customers only.
func TestCustomerNotRewarded(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		ann := e.customer("ann", "Ann Referrer", "")
		e.customer("bob", "Bob Buyer", "")
		if _, _, err := e.db.RecordTransaction(ctx, e.program, store.NewTransaction{CustomerKey: "bob", Key: "o1", Type: "purchase", Amount: 500, Currency: "USD"}); err != nil {
			t.Fatal(err)
		}
		code := ann.ReferralCode
		if _, err := e.db.UpdateCustomer(ctx, e.program, "bob", referral.CustomerUpdate{ReferredBy: &code}); err != nil {
			t.Fatal(err)
		}
		c := e.asOwner(t)
		c.get(e.path("customers/bob")).want(t, http.StatusOK).has(t, "Not rewarded: they had already paid when they were referred")
		if page := c.get(e.path("customers/ann")).want(t, http.StatusOK); strings.Contains(page.Body, "Not rewarded:") {
			t.Error("ann's page says she is not rewarded")
		}
	})
}

// TestCustomerReferralStatus shows each friend's referral as their
// referrer's figures count it: on the friend's page beside "Referred by",
// and in the referrer's list of the people they referred.
func TestCustomerReferralStatus(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.addCreditRule(t, rewards.Purchase, rewards.Referrer, 1000, 7)
		jane := e.customer("cus_jane", "Jane Doe", "")
		e.customer("cus_bob", "Bob", jane.ReferralCode)
		e.customer("cus_carl", "Carl", jane.ReferralCode)
		e.customer("cus_dan", "Dan", jane.ReferralCode)
		e.recordPayment(t, "cus_bob", "inv_bob", 5000)
		carl := e.recordPayment(t, "cus_carl", "inv_carl", 5000)
		held, _, err := e.db.Rewards(ctx, e.program.ID, store.RewardFilter{Status: rewards.Pending})
		if err != nil {
			t.Fatal(err)
		}
		rejected := false
		for _, r := range held {
			if r.TransactionID == carl.ID {
				if _, err := e.db.RejectReward(ctx, e.program.ID, r.ID, "Carl is Jane's second account"); err != nil {
					t.Fatal(err)
				}
				rejected = true
			}
		}
		if !rejected {
			t.Fatalf("no pending reward for Carl's payment among %d", len(held))
		}
		owner := e.asOwner(t)
		for _, tt := range []struct{ key, status, sentence string }{
			{"cus_bob", "successful", "Referral Successful and counted in the referrer's successful referrals."},
			{"cus_carl", "rejected", "Referral Rejected because a referrer reward for it was rejected"},
			{"cus_dan", "pending", "Referral Pending until they do what a referrer rule rewards."},
		} {
			t.Run(tt.key, func(t *testing.T) {
				p := owner.get(e.path("customers/"+tt.key)).want(t, http.StatusOK)
				p.has(t, `<span class="badge badge-lg status-`+tt.status+`"`)
				if text := p.text(); !strings.Contains(text, "Jane Doe Referral "+tt.status) || !strings.Contains(text, tt.sentence) {
					t.Errorf("the page does not say the referral is %s: %s", tt.status, text)
				}
			})
		}
		t.Run("referrer", func(t *testing.T) {
			p := owner.get(e.path("customers/cus_jane")).want(t, http.StatusOK)
			if strings.Contains(p.Body, `badge-lg status-`) {
				t.Error("Jane came on her own, yet her page shows a referral status")
			}
			text := p.text()
			for _, s := range []string{"Bob Successful", "Carl Rejected", "Dan Pending", "1 successful · 1 pending"} {
				if !strings.Contains(text, s) {
					t.Errorf("Jane's page lacks %q: %s", s, text)
				}
			}
		})
	})
}
