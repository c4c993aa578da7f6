package dashboard

import (
	"net/http"
)

// Handler returns every dashboard route. Every state-changing request is
// checked by http.CrossOriginProtection (Sec-Fetch-Site / Origin), and
// session cookies are SameSite=Lax; viewers may only use GET.
func (d *Dashboard) Handler() http.Handler {
	mux := http.NewServeMux()
	in := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, d.signedIn(h)) }

	mux.Handle("GET /dashboard/assets/", http.StripPrefix("/dashboard/", assets()))
	mux.HandleFunc("GET /dashboard/login", d.loginPage)
	mux.HandleFunc("POST /dashboard/login", d.login)
	// Anyone may sign out, viewers included: logout ends whatever
	// session the cookie names.
	mux.HandleFunc("POST /dashboard/logout", d.logout)

	in("GET /dashboard/{$}", d.home)
	in("GET /dashboard/switch", d.switchProgram)
	in("GET /dashboard/programs", d.programList)
	in("GET /dashboard/programs/new", d.programNew)
	in("POST /dashboard/programs", d.programCreate)

	// One program's pages. Every handler loads the program with d.program,
	// so another or unknown program id is a 404.
	in("GET /dashboard/p/{pid}/settings", d.settingsPage)
	in("POST /dashboard/p/{pid}/settings", d.settingsSave)
	// overview: begin
	in("GET /dashboard/p/{pid}/{$}", d.overview)
	// overview: end
	// customers: begin
	in("GET /dashboard/p/{pid}/customers", d.customersPage)
	in("GET /dashboard/p/{pid}/customers/{key}", d.customerPage)
	in("POST /dashboard/p/{pid}/customers/{key}/credit", d.customerCredit)
	in("POST /dashboard/p/{pid}/customers/{key}/debit", d.customerDebit)
	in("POST /dashboard/p/{pid}/transactions/{key}/refund", d.transactionRefund)
	// customers: end
	// rewards: begin
	in("GET /dashboard/p/{pid}/rewards", d.rewardsPage)
	in("POST /dashboard/p/{pid}/rewards/approve", d.rewardsApprove)
	in("POST /dashboard/p/{pid}/rewards/reject", d.rewardsReject)
	// rewards: end
	// rules: begin
	in("GET /dashboard/p/{pid}/rules", d.rulesPage)
	in("POST /dashboard/p/{pid}/rules", d.ruleSave)
	in("GET /dashboard/p/{pid}/rules/{id}", d.ruleEdit)
	in("POST /dashboard/p/{pid}/rules/{id}", d.ruleSave)
	in("POST /dashboard/p/{pid}/rules/{id}/delete", d.ruleDelete)
	// rules: end
	// developers: begin
	in("GET /dashboard/p/{pid}/developers", d.developersPage)
	in("POST /dashboard/p/{pid}/developers/keys", d.keyCreate)
	in("POST /dashboard/p/{pid}/developers/keys/{id}/revoke", d.keyRevoke)
	in("POST /dashboard/p/{pid}/developers/widget_secret/rotate", d.widgetSecretRotate)
	// developers: end
	// team: begin
	in("GET /dashboard/team", d.teamPage)
	in("POST /dashboard/team", d.invite)
	in("POST /dashboard/team/{id}/remove", d.removeAdmin)
	// team: end
	// export: begin
	in("GET /dashboard/p/{pid}/export/customers.csv", d.exportCustomers)
	in("GET /dashboard/p/{pid}/export/referrals.csv", d.exportReferrals)
	in("GET /dashboard/p/{pid}/export/rewards.csv", d.exportRewards)
	// export: end

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.fail(w, r, http.StatusForbidden, "This request came from another site and was refused.")
	}))
	return csrf.Handler(d.checkText(mux))
}

func assets() http.Handler {
	fs := http.FileServerFS(assetFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fs.ServeHTTP(w, r)
	})
}
