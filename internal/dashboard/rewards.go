package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
	"github.com/advocate-oss/advocate/internal/store"
)

// rewardPageSize is how many rewards one page of the queue shows.
const rewardPageSize = 50

// rewardTabs are the queue's status filters; "all" shows every status.
var rewardTabs = []filterTab{
	{rewards.Pending, "Pending"},
	{rewards.Available, "Available"},
	{rewards.Paid, "Paid"},
	{rewards.Reversed, "Reversed"},
	{rewards.Rejected, "Rejected"},
	{"all", "All"},
}

type rewardsData struct {
	Status   string
	Tabs     []filterTab
	Counts   map[string]int
	Total    int
	Rows     []*store.RewardRow
	Pager    pager
	Paged    bool
	Selected map[string]bool // rewards ticked in a bulk form that failed
}

// rewardStatus reads the status filter: pending by default.
func rewardStatus(s string) string {
	for _, t := range rewardTabs {
		if t.Value == s {
			return s
		}
	}
	return rewards.Pending
}

func (d *Dashboard) RewardsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	d.renderRewards(w, r, http.StatusOK, p, rewardStatus(r.URL.Query().Get("status")), nil, nil)
}

func (d *Dashboard) renderRewards(w http.ResponseWriter, r *http.Request, status int, p *referral.Program, filter string,
	form url.Values, errs map[string]string) {
	q := r.URL.Query()
	after, before := q.Get("after"), q.Get("before")
	rq := store.RewardQuery{Status: filter, After: after, Before: before, Limit: rewardPageSize}
	if filter == "all" {
		rq.Status = ""
	}
	rows, more, err := d.DB.RewardRows(r.Context(), p.ID, rq)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	data := rewardsData{Status: filter, Tabs: rewardTabs, Rows: rows, Paged: isPaged(after, before, more, len(rows)), Selected: map[string]bool{}}
	if len(rows) > 0 {
		data.Pager = newPager(rows[0].ID, rows[len(rows)-1].ID, after, before, more)
	}
	data.Pager.link("/dashboard/p/"+p.ID+"/rewards", data.Paged, "status", data.Status)
	if data.Counts, err = d.DB.CountRewards(r.Context(), p.ID); err != nil {
		d.serverError(w, r, err)
		return
	}
	for _, n := range data.Counts {
		data.Total += n
	}
	data.Counts["all"] = data.Total
	for _, id := range form["id"] {
		data.Selected[id] = true
	}
	d.render(w, r, status, "rewards", &view{Title: "Rewards", Nav: "rewards", Program: p, Form: form, Errors: errs, Data: data})
}

func (d *Dashboard) RewardsApprove(w http.ResponseWriter, r *http.Request) {
	d.decideRewards(w, r, "approved", func(ctx context.Context, programID, id, _ string) error {
		_, err := d.DB.ApproveReward(ctx, programID, id)
		return err
	})
}

func (d *Dashboard) RewardsReject(w http.ResponseWriter, r *http.Request) {
	d.decideRewards(w, r, "rejected", func(ctx context.Context, programID, id, reason string) error {
		_, err := d.DB.RejectReward(ctx, programID, id, reason)
		return err
	})
}

// decideRewards approves or rejects the rewards named by the form's id
// values, each in a transaction of its own, so that one already decided
// (by a colleague, or the holding period ending) does not stop the rest.
// The flash message says what happened to each.
func (d *Dashboard) decideRewards(w http.ResponseWriter, r *http.Request, verb string,
	decide func(ctx context.Context, programID, id, reason string) error) {
	p, ok := d.program(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		d.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	filter := rewardStatus(f.Get("status"))
	back := "/dashboard/p/" + p.ID + "/rewards?status=" + url.QueryEscape(filter)
	ids := uniq(f["id"])
	reason := strings.TrimSpace(f.Get("reason"))
	errs := map[string]string{}
	switch {
	case len(ids) == 0:
		errs[""] = "Select at least one reward first."
	case len(ids) > 500:
		errs[""] = "Select at most 500 rewards at a time."
	case verb == "rejected" && reason == "":
		errs["reason"] = "Say why the rewards are rejected; the reason is kept with them."
		errs[""] = errs["reason"]
	case len(reason) > 500:
		errs["reason"] = "Reason must be at most 500 characters."
		errs[""] = errs["reason"]
	}
	if len(errs) > 0 {
		d.renderRewards(w, r, http.StatusUnprocessableEntity, p, filter, f, errs)
		return
	}
	var done, decided, missing int
	for _, id := range ids {
		err := decide(r.Context(), p.ID, id, reason)
		switch {
		case err == nil:
			done++
		case errors.Is(err, store.ErrRewardNotPending):
			decided++
		case errors.Is(err, store.ErrRewardNotFound):
			missing++
		default:
			// What was decided so far stays decided; say so.
			d.Log.ErrorContext(r.Context(), "decide reward", "reward", id, "err", err)
			d.redirect(w, r, back, "!"+decisionSummary(verb, done, decided, missing)+" Then something went wrong on our side; try the rest again.")
			return
		}
	}
	msg := decisionSummary(verb, done, decided, missing)
	if done == 0 {
		msg = "!" + msg
	}
	d.redirect(w, r, back, msg)
}

// decisionSummary says what a bulk decision did: "3 approved." or
// "2 approved, 1 skipped: already decided."
func decisionSummary(verb string, done, decided, missing int) string {
	msg := strconv.Itoa(done) + " " + verb
	var skipped []string
	if decided > 0 {
		skipped = append(skipped, strconv.Itoa(decided)+" skipped: already decided")
	}
	if missing > 0 {
		skipped = append(skipped, strconv.Itoa(missing)+" skipped: not found")
	}
	if len(skipped) > 0 {
		msg += ", " + strings.Join(skipped, ", ")
	}
	return msg + "."
}

func uniq(vals []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
