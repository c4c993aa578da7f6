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
	mux.HandleFunc("GET /dashboard/login", d.LoginPage)
	mux.HandleFunc("POST /dashboard/login", d.Login)
	// Anyone may sign out, viewers included: logout ends whatever
	// session the cookie names.
	mux.HandleFunc("POST /dashboard/logout", d.Logout)

	in("GET /dashboard/{$}", d.Home)
	in("GET /dashboard/switch", d.SwitchProgram)
	in("GET /dashboard/programs", d.ProgramList)
	in("GET /dashboard/programs/new", d.ProgramNew)
	in("POST /dashboard/programs", d.ProgramCreate)

	// One program's pages. Every handler loads the program with d.program,
	// so another or unknown program id is a 404.
	in("GET /dashboard/p/{pid}/settings", d.SettingsPage)
	in("POST /dashboard/p/{pid}/settings", d.SettingsSave)
	// overview: begin
	in("GET /dashboard/p/{pid}/{$}", d.Overview)
	// overview: end
	// customers: begin
	in("GET /dashboard/p/{pid}/customers", d.CustomersPage)
	in("GET /dashboard/p/{pid}/customers/{key}", d.CustomerPage)
	in("POST /dashboard/p/{pid}/customers/{key}/credit", d.CustomerCredit)
	in("POST /dashboard/p/{pid}/customers/{key}/debit", d.CustomerDebit)
	in("POST /dashboard/p/{pid}/transactions/{key}/refund", d.TransactionRefund)
	// customers: end
	// rewards: begin
	in("GET /dashboard/p/{pid}/rewards", d.RewardsPage)
	in("POST /dashboard/p/{pid}/rewards/approve", d.RewardsApprove)
	in("POST /dashboard/p/{pid}/rewards/reject", d.RewardsReject)
	// rewards: end
	// rules: begin
	in("GET /dashboard/p/{pid}/rules", d.RulesPage)
	in("POST /dashboard/p/{pid}/rules", d.RuleSave)
	in("GET /dashboard/p/{pid}/rules/{id}", d.RuleEdit)
	in("POST /dashboard/p/{pid}/rules/{id}", d.RuleSave)
	in("POST /dashboard/p/{pid}/rules/{id}/delete", d.RuleDelete)
	// rules: end
	// developers: begin
	in("GET /dashboard/p/{pid}/developers", d.DevelopersPage)
	in("POST /dashboard/p/{pid}/developers/keys", d.KeyCreate)
	in("POST /dashboard/p/{pid}/developers/keys/{id}/revoke", d.KeyRevoke)
	in("POST /dashboard/p/{pid}/developers/widget_secret/rotate", d.WidgetSecretRotate)
	// developers: end
	// team: begin
	in("GET /dashboard/team", d.TeamPage)
	in("POST /dashboard/team", d.Invite)
	in("POST /dashboard/team/{id}/remove", d.RemoveAdmin)
	// team: end
	// export: begin
	in("GET /dashboard/p/{pid}/export/customers.csv", d.ExportCustomers)
	in("GET /dashboard/p/{pid}/export/referrals.csv", d.ExportReferrals)
	in("GET /dashboard/p/{pid}/export/rewards.csv", d.ExportRewards)
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
