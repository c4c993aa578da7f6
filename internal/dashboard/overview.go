package dashboard

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/advocate-oss/advocate/internal/money"
	"github.com/advocate-oss/advocate/internal/store"
)

// periods the overview offers, in days.
var periods = []int{7, 30, 90, 365}

type overviewData struct {
	Period     int
	Periods    []int
	O          *store.Overview
	Conversion string // successful / referrals, as a percentage
	ClickRate  string // referrals / clicks
	Chart      template.JS
	Currency   string
}

func (d *Dashboard) Overview(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	period := 30
	if v, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil {
		for _, allowed := range periods {
			if v == allowed {
				period = v
			}
		}
	}
	now := d.now()
	o, err := d.DB.ProgramOverview(r.Context(), p.ID, p.Currency, now.AddDate(0, 0, -(period-1)), now)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	data := overviewData{Period: period, Periods: periods, O: o, Currency: p.Currency,
		Conversion: ratio(o.TotalSuccessful, o.TotalReferrals), ClickRate: ratio(o.TotalReferrals, o.TotalClicks)}
	labels := make([]string, len(o.Days))
	for i, day := range o.Days {
		labels[i] = day.Format("Jan 2")
	}
	major := func(s store.Series) []json.Number {
		out := make([]json.Number, len(s))
		for i, v := range s {
			out[i] = money.Format(v, p.Currency)
		}
		return out
	}
	chart, err := json.Marshal(map[string]any{
		"labels": labels, "clicks": o.Clicks, "referrals": o.Referrals, "successful": o.Successful,
		"rewards": major(o.RewardsIssued), "revenue": major(o.Revenue), "currency": p.Currency,
	})
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	data.Chart = template.JS(chart) // JSON from numbers and formatted dates only
	d.render(w, r, http.StatusOK, "overview", &view{Title: p.Name, Nav: "overview", Program: p, Data: data})
}

// ratio renders a/b as a percentage with one decimal, "—" when b is 0.
func ratio(a, b int64) string {
	if b == 0 {
		return "—"
	}
	tenths := (a*1000 + b/2) / b
	return strconv.FormatInt(tenths/10, 10) + "." + strconv.FormatInt(tenths%10, 10) + "%"
}
