package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// customerPageSize is how many customers one page of the list shows.
const customerPageSize = 25

// customerCountCap is where the list stops counting customers: beyond it
// the page says "10,000+" rather than read every row on every view.
const customerCountCap = 10000

// customerFilters are the list's filter tabs.
var customerFilters = []filterTab{
	{"", "All"},
	{store.FilterReferred, "Referred"},
	{store.FilterNotReferred, "Not referred"},
	{store.FilterPendingRewards, "Pending rewards"},
}

type filterTab struct{ Value, Label string }

// isPaged says whether a list page read with after or before is not the
// first page: going back with before to the newest rows is the first page
// again.
func isPaged(after, before string, more bool, rows int) bool {
	return after != "" || (before != "" && (more || rows == 0))
}

// pager is the navigation of a newest-first list page: the keyset cursors
// of its neighbours ("" when there is none) and, once link has run, the
// links to them and to the first page.
type pager struct {
	Prev, Next          string
	First, Newer, Older template.URL
}

// link sets the pager's links for the listing at path, keeping its filters
// (params: name, value pairs; empty values are left out) on each; paged
// says the page was read with a cursor, so it is not the first.
func (p *pager) link(path string, paged bool, params ...string) {
	to := func(cursor ...string) template.URL {
		return template.URL(path + "?" + encodeQuery(append(params[:len(params):len(params)], cursor...)...))
	}
	if paged {
		p.First = to()
	}
	if p.Prev != "" {
		p.Newer = to("before", p.Prev)
	}
	if p.Next != "" {
		p.Older = to("after", p.Next)
	}
}

// newPager works out the neighbours of a page read with after or before,
// given whether the store found more rows in that direction.
func newPager(firstID, lastID, after, before string, more bool) pager {
	var p pager
	if before != "" {
		p.Next = lastID
		if more {
			p.Prev = firstID
		}
		return p
	}
	if more {
		p.Next = lastID
	}
	if after != "" {
		p.Prev = firstID
	}
	return p
}

type customersData struct {
	Search  string
	Filter  string
	Filters []filterTab
	Rows    []customerItem
	Counts  store.CustomerCounts
	// ManyCustomers says the count stopped at customerCountCap.
	ManyCustomers bool
	Pager         pager
	Paged         bool // the page is not the first (see isPaged)
	Currency      string
	BaseURL       string
}

// customerItem is one row of the customer list.
type customerItem struct {
	*store.CustomerRow
	Initials  string
	Available int64 // credit and cash the customer can use or be paid
	Pending   int64 // still in a holding period or awaiting approval
}

// initials are the avatar letters: the first letters of the first two
// words of the name, or the email's first letter.
func initials(name, email string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		for _, r := range email {
			return string(unicode.ToUpper(r))
		}
		return "?"
	}
	return string(out)
}

func (d *Dashboard) CustomersPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	data := customersData{Search: strings.TrimSpace(q.Get("q")), Filters: customerFilters, Currency: p.Currency, BaseURL: d.BaseURL}
	for _, f := range customerFilters {
		if f.Value == q.Get("filter") {
			data.Filter = f.Value
		}
	}
	after, before := q.Get("after"), q.Get("before")
	rows, more, err := d.DB.CustomerRows(r.Context(), p.ID, p.Currency, store.CustomerQuery{Search: data.Search,
		Filter: data.Filter, After: after, Before: before, Limit: customerPageSize})
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	for _, c := range rows {
		b := c.Balance
		data.Rows = append(data.Rows, customerItem{CustomerRow: c, Initials: initials(c.Name, c.Email),
			Available: b.CreditAvailable + b.CashAvailable, Pending: b.CreditPending + b.CashPending})
	}
	if len(rows) > 0 {
		data.Pager = newPager(rows[0].ID, rows[len(rows)-1].ID, after, before, more)
	}
	data.Paged = isPaged(after, before, more, len(rows))
	data.Pager.link("/dashboard/p/"+p.ID+"/customers", data.Paged, "q", data.Search, "filter", data.Filter)
	if data.Counts, err = d.DB.CountCustomers(r.Context(), p.ID, customerCountCap); err != nil {
		d.serverError(w, r, err)
		return
	}
	data.ManyCustomers = data.Counts.Total >= customerCountCap
	d.render(w, r, http.StatusOK, "customers", &view{Title: "Customers", Nav: "customers", Program: p, Data: data})
}

// linkView is a referral link with the addresses to share.
type linkView struct {
	*referral.Link
	URL      string // the destination with the referral parameter
	ShortURL string // the hosted short link that counts clicks
}

// ledgerLine is a ledger entry with its time, for templates.
type ledgerLine struct {
	*store.LedgerEntry
	At time.Time
}

type customerData struct {
	C                *referral.Customer
	Initials         string
	Referrer         *referral.Customer // nil when not referred or the referrer was deleted
	Links            []linkView
	Stats            *rewards.Stats
	Balances         []*rewards.Balance
	Referred         []*store.CustomerRow
	Transactions     []*rewards.Transaction
	MoreTransactions bool
	Rewards          []*store.RewardRow
	MoreRewards      bool
	Codes            []*rewards.DiscountCode
	Ledger           []ledgerLine
	LedgerNext       string // cursor of older ledger entries
	LedgerPaged      bool
	// Failed names the form that Errors belong to: "balance", or
	// "refund:" and a transaction key.
	Failed string
	Now    time.Time
}

// ledgerPageSize is how many ledger entries the customer page shows.
const ledgerPageSize = 50

func (d *Dashboard) CustomerPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	c, ok := d.customer(w, r, p, r.PathValue("key"))
	if !ok {
		return
	}
	d.renderCustomer(w, r, http.StatusOK, p, c, nil, nil, "")
}

// customer loads a live customer of p by key; an unknown one is a 404.
func (d *Dashboard) customer(w http.ResponseWriter, r *http.Request, p *referral.Program, key string) (*referral.Customer, bool) {
	c, err := d.DB.Customer(r.Context(), p.ID, key)
	if !d.found(w, r, err, referral.ErrCustomerNotFound, "No such customer in this program. They may have been deleted.") {
		return nil, false
	}
	return c, true
}

// renderCustomer shows everything about one customer. Each part is one
// indexed query (or one per page of rows), never one per row.
func (d *Dashboard) renderCustomer(w http.ResponseWriter, r *http.Request, status int, p *referral.Program, c *referral.Customer,
	form url.Values, errs map[string]string, failed string) {
	ctx := r.Context()
	data := customerData{C: c, Initials: initials(c.Name, c.Email), Failed: failed, Now: d.now()}
	err := func() (err error) {
		if c.ReferrerKey != "" {
			if data.Referrer, err = d.DB.Customer(ctx, p.ID, c.ReferrerKey); errors.Is(err, referral.ErrCustomerNotFound) {
				data.Referrer, err = nil, nil
			} else if err != nil {
				return err
			}
		}
		links, err := d.DB.CustomerLinks(ctx, p.ID, c.Key)
		if err != nil {
			return err
		}
		for _, l := range links {
			dest := p.WebsiteURL
			if l.DestinationURL != "" {
				dest = l.DestinationURL
			}
			data.Links = append(data.Links, linkView{Link: l, URL: referral.WithRef(dest, p.RefParam, l.Code), ShortURL: d.BaseURL + "/r/" + l.Code})
		}
		if data.Stats, err = d.DB.Stats(ctx, p.ID, c.ID, p.Currency); err != nil {
			return err
		}
		if data.Balances, err = d.DB.CustomerBalances(ctx, p.ID, c.ID, p.Currency); err != nil {
			return err
		}
		if data.Referred, _, err = d.DB.CustomerRows(ctx, p.ID, p.Currency, store.CustomerQuery{ReferrerID: c.ID, Limit: 50}); err != nil {
			return err
		}
		if data.Transactions, data.MoreTransactions, err = d.DB.CustomerTransactions(ctx, p.ID, c.ID, store.Page{Limit: 50}); err != nil {
			return err
		}
		if data.Rewards, data.MoreRewards, err = d.DB.RewardRows(ctx, p.ID, store.RewardQuery{CustomerID: c.ID, Limit: 50}); err != nil {
			return err
		}
		if data.Codes, err = d.DB.CustomerDiscountCodes(ctx, p.ID, c.ID); err != nil {
			return err
		}
		after := r.URL.Query().Get("ledger_after")
		data.LedgerPaged = after != ""
		entries, more, err := d.DB.CustomerLedger(ctx, p.ID, c.ID, store.Page{Limit: ledgerPageSize, After: after})
		if err != nil {
			return err
		}
		for _, e := range entries {
			data.Ledger = append(data.Ledger, ledgerLine{LedgerEntry: e, At: time.UnixMicro(e.CreatedAt).UTC()})
		}
		if more {
			data.LedgerNext = entries[len(entries)-1].ID
		}
		return nil
	}()
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	title := c.Name
	if title == "" {
		title = c.Email
	}
	d.render(w, r, status, "customer", &view{Title: title, Nav: "customers", Program: p, Form: form, Errors: errs, Data: data})
}

func (d *Dashboard) CustomerCredit(w http.ResponseWriter, r *http.Request) {
	d.moveBalance(w, r, d.DB.Credit, "Added %s of credit.")
}

func (d *Dashboard) CustomerDebit(w http.ResponseWriter, r *http.Request) {
	d.moveBalance(w, r, d.DB.Debit, "Debited %s of credit.")
}

type balanceMove func(ctx context.Context, p *referral.Program, in store.BalanceChange) (*rewards.Balance, error)

// moveBalance credits or debits a customer's available credit by hand,
// with a note that goes into the ledger. done is the flash message, with
// the amount for %s.
func (d *Dashboard) moveBalance(w http.ResponseWriter, r *http.Request, move balanceMove, done string) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	c, ok := d.customer(w, r, p, r.PathValue("key"))
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	cur := strings.ToUpper(strings.TrimSpace(f.Get("currency")))
	b, err := move(r.Context(), p, store.BalanceChange{CustomerKey: c.Key, Amount: money.Number(strings.TrimSpace(f.Get("amount"))),
		Currency: cur, Note: f.Get("note")})
	if errs := clientErrors(err); errs != nil {
		d.renderCustomer(w, r, http.StatusUnprocessableEntity, p, c, f, errs, "balance")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	amount, _ := money.ParseAmount(json.Number(strings.TrimSpace(f.Get("amount"))), b.Currency) // parsed already by move
	d.redirect(w, r, customerURL(p.ID, c.Key), strings.Replace(done, "%s", formatMoney(amount, b.Currency), 1))
}

// TransactionRefund refunds all or part of a payment from the customer
// page and claws back the rewards it gave.
func (d *Dashboard) TransactionRefund(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	key := r.PathValue("key")
	t, err := d.DB.Transaction(r.Context(), p.ID, key)
	if !d.found(w, r, err, store.ErrTransactionNotFound, "No such transaction in this program.") {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	refunded, err := d.DB.Refund(r.Context(), p, store.RefundRequest{Key: key,
		Amount: money.Number(strings.TrimSpace(f.Get("amount"))), Reason: strings.TrimSpace(f.Get("reason"))})
	back := "/dashboard/p/" + p.ID + "/customers"
	if t.CustomerKey != "" {
		back = customerURL(p.ID, t.CustomerKey)
	}
	if errs := clientErrors(err); errs != nil {
		c, cerr := d.DB.Customer(r.Context(), p.ID, t.CustomerKey)
		if cerr != nil {
			// The payer was deleted: there is no page to show the form on.
			d.redirect(w, r, back, "!"+errs[""])
			return
		}
		d.renderCustomer(w, r, http.StatusUnprocessableEntity, p, c, f, errs, "refund:"+key)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	msg := "Refunded " + formatMoney(refunded.Refunded-t.Refunded, t.Currency) + " of " + key + "."
	if n := clawedBack(t.Rewards, refunded.Rewards); n > 0 {
		msg += " Rewards clawed back: " + strconv.Itoa(n) + "."
	}
	d.redirect(w, r, back, msg)
}

// clawedBack counts the rewards whose value a refund reduced.
func clawedBack(before, after []*rewards.Reward) int {
	was := map[string]int64{}
	for _, rw := range before {
		was[rw.ID] = rw.Reversed
	}
	n := 0
	for _, rw := range after {
		if rw.Reversed > was[rw.ID] {
			n++
		}
	}
	return n
}

func customerURL(pid, key string) string {
	return "/dashboard/p/" + pid + "/customers/" + url.PathEscape(key)
}
