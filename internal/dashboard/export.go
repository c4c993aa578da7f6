package dashboard

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// exportBatch is how many rows an export reads per query: big enough to
// be quick, small enough that 100,000 customers never sit in memory. Tests
// lower it to cover several batches with few rows.
var exportBatch = 500

// csvExport writes one CSV file: a header, then rows read in keyset
// batches by next, which returns the rows after cursor ("" for the first
// batch) and the cursor of the following batch ("" at the end).
type csvExport struct {
	name   string
	header []string
	next   func(cursor string) (rows [][]string, nextCursor string, err error)
}

// serveCSV streams e as an attachment. Rows are flushed to the client
// batch by batch; an error after the first byte can only cut the file
// short, so it is logged.
func (d *Dashboard) serveCSV(w http.ResponseWriter, r *http.Request, e csvExport) {
	first, cursor, err := e.next("")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="advocate-`+e.name+`-`+d.now().UTC().Format("2006-01-02")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	flusher, _ := w.(http.Flusher)
	write := func(rows [][]string) error {
		if err := cw.WriteAll(rows); err != nil { // WriteAll flushes
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	if err := write(append([][]string{e.header}, first...)); err != nil {
		return // the client went away
	}
	for cursor != "" {
		var rows [][]string
		if rows, cursor, err = e.next(cursor); err != nil {
			d.Log.ErrorContext(r.Context(), "csv export cut short", "export", e.name, "err", err)
			return
		}
		if err := write(rows); err != nil {
			return
		}
	}
}

// cell guards a text value against CSV formula injection: a spreadsheet
// would run a cell starting with = + - @ (or a tab or carriage return that
// hides one), so such cells get a leading single quote. Numbers and times
// that Advocate formats itself never need it.
func cell(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// csvMoney renders minor units as a decimal in major units; an amount
// without a currency is a percentage.
func csvMoney(minor int64, currency string) string {
	if currency == "" {
		return string(money.FormatPercent(minor))
	}
	return string(money.Format(minor, currency))
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func (d *Dashboard) ExportCustomers(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.serveCSV(w, r, csvExport{name: "customers",
		header: []string{"key", "email", "name", "referral_code", "referral_url", "referred_by_code", "referrer_key",
			"referrals", "successful_referrals", "currency", "credit_available", "credit_pending",
			"cash_available", "cash_pending", "cash_paid", "created_at"},
		next: d.customerBatches(r, p, "", func(c *store.CustomerRow) []string {
			b := c.Balance
			return []string{cell(c.Key), cell(c.Email), cell(c.Name), cell(c.ReferralCode),
				cell(referral.WithRef(p.WebsiteURL, p.RefParam, c.ReferralCode)), cell(c.ReferredBy), cell(c.ReferrerKey),
				strconv.Itoa(c.Referrals), strconv.Itoa(c.Successful), b.Currency,
				csvMoney(b.CreditAvailable, b.Currency), csvMoney(b.CreditPending, b.Currency),
				csvMoney(b.CashAvailable, b.Currency), csvMoney(b.CashPending, b.Currency), csvMoney(b.CashPaid, b.Currency),
				csvTime(c.CreatedAt)}
		})})
}

func (d *Dashboard) ExportReferrals(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.serveCSV(w, r, csvExport{name: "referrals",
		header: []string{"referrer_key", "referrer_email", "referrer_name", "referral_code", "friend_key", "friend_email",
			"friend_name", "status", "signed_up_at", "converted_at"},
		next: d.customerBatches(r, p, store.FilterReferred, func(c *store.CustomerRow) []string {
			converted := ""
			if c.ConvertedAt != nil {
				converted = csvTime(*c.ConvertedAt)
			}
			status := c.ReferralStatus // successful, pending, or rejected
			return []string{cell(c.ReferrerKey), cell(c.ReferrerEmail), cell(c.ReferrerName), cell(c.ReferredBy),
				cell(c.Key), cell(c.Email), cell(c.Name), status, csvTime(c.CreatedAt), converted}
		})})
}

// customerBatches reads a program's customers (with filter) in batches
// for an export, turning each into a row with toRow.
func (d *Dashboard) customerBatches(r *http.Request, p *referral.Program, filter string, toRow func(*store.CustomerRow) []string) func(string) ([][]string, string, error) {
	return batches(func(after string) ([]*store.CustomerRow, bool, error) {
		return d.DB.CustomerRows(r.Context(), p.ID, p.Currency, store.CustomerQuery{Filter: filter, After: after, Limit: exportBatch})
	}, func(c *store.CustomerRow) string { return c.ID }, toRow)
}

// batches adapts a keyset-paged read to csvExport.next: read returns the
// items after a cursor and whether more follow, each item becomes a row
// with toRow, and when more follow the next cursor is the last item's id.
func batches[T any](read func(after string) ([]T, bool, error), id func(T) string, toRow func(T) []string) func(string) ([][]string, string, error) {
	return func(after string) ([][]string, string, error) {
		items, more, err := read(after)
		if err != nil {
			return nil, "", err
		}
		rows := make([][]string, len(items))
		for i, it := range items {
			rows[i] = toRow(it)
		}
		if !more {
			return rows, "", nil
		}
		return rows, id(items[len(items)-1]), nil
	}
}

func (d *Dashboard) ExportRewards(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.serveCSV(w, r, csvExport{name: "rewards",
		header: []string{"id", "created_at", "status", "recipient", "customer_key", "customer_email", "customer_name",
			"friend_key", "friend_email", "friend_name", "trigger", "rule", "reward_type", "unit", "amount", "reversed_amount", "currency",
			"transaction_key", "needs_approval", "available_at", "reject_reason", "discount_code"},
		next: batches(func(after string) ([]*store.RewardRow, bool, error) {
			return d.DB.RewardRows(r.Context(), p.ID, store.RewardQuery{After: after, Limit: exportBatch})
		}, func(rw *store.RewardRow) string { return rw.ID }, func(rw *store.RewardRow) []string {
			code := ""
			if rw.DiscountCode != nil {
				code = rw.DiscountCode.Code
			}
			return []string{rw.ID, csvTime(rw.CreatedAt), rw.Status, rw.Recipient, cell(rw.CustomerKey),
				cell(rw.CustomerEmail), cell(rw.CustomerName), cell(rw.FriendKey), cell(rw.FriendEmail), cell(rw.FriendName), rw.Trigger,
				cell(rw.RuleName), rw.RewardType, rw.Unit, csvMoney(rw.Amount, rw.Currency), csvMoney(rw.Reversed, rw.Currency),
				rw.Currency, cell(rw.TransactionKey), strconv.FormatBool(rw.NeedsApproval), csvTime(rw.AvailableAt),
				cell(rw.RejectReason), cell(code)}
		})})
}
