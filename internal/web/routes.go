package web

import (
	"github.com/advocate-oss/advocate/internal/dashboard"
	"github.com/advocate-oss/advocate/internal/httpapi"
)

// This file lists every URL the binary serves: the pattern, who may call
// it, and its handler. The access level is not a comment: the middleware
// that enforces it is chosen from it (httpapi.Access, dashboard.Access).
// Tests read these tables: TestRoutes, the OpenAPI check (every API route
// is documented and every documented operation is served), and the
// dashboard tests that loop over every page.

// API is the public listener's routes outside the dashboard: the REST API
// (/v1), short links, the SDK, health, metrics and the OpenAPI document.
// Browser routes (PublishableKey, BrowserPublic) also answer OPTIONS for
// CORS preflights; anything else gets a problem document (404 or 405).
var API = []APIRoute{
	{"GET /healthz", httpapi.Public, (*httpapi.Server).Healthz},
	{"GET /readyz", httpapi.Public, (*httpapi.Server).Readyz},
	{"GET /metrics", httpapi.MetricsToken, (*httpapi.Server).Metrics}, // only with --metrics-token
	{"GET /openapi.yaml", httpapi.Public, (*httpapi.Server).OpenAPI},

	{"GET /v1/program", httpapi.SecretKey, (*httpapi.Server).GetProgram},
	{"PUT /v1/program", httpapi.SecretKey, (*httpapi.Server).UpdateProgram},
	{"POST /v1/program/widget_secret/rotate", httpapi.SecretKey, (*httpapi.Server).RotateWidgetSecret},

	{"POST /v1/customers", httpapi.PublishableKey, (*httpapi.Server).CreateCustomer},
	{"GET /v1/customers", httpapi.SecretKey, (*httpapi.Server).ListCustomers},
	{"GET /v1/customers/{key}", httpapi.SecretKey, (*httpapi.Server).GetCustomer},
	{"PUT /v1/customers/{key}", httpapi.SecretKey, (*httpapi.Server).UpdateCustomer},
	{"DELETE /v1/customers/{key}", httpapi.SecretKey, (*httpapi.Server).DeleteCustomer},

	{"GET /v1/customers/{key}/referral_links", httpapi.SecretKey, (*httpapi.Server).ListCustomerLinks},
	{"POST /v1/customer_referral_links", httpapi.SecretKey, (*httpapi.Server).CreateLink},
	{"DELETE /v1/customer_referral_links/{id}", httpapi.SecretKey, (*httpapi.Server).DeleteLink},

	{"GET /v1/reward_rules", httpapi.SecretKey, (*httpapi.Server).ListRules},
	{"POST /v1/reward_rules", httpapi.SecretKey, (*httpapi.Server).CreateRule},
	{"GET /v1/reward_rules/{id}", httpapi.SecretKey, (*httpapi.Server).GetRule},
	{"PUT /v1/reward_rules/{id}", httpapi.SecretKey, (*httpapi.Server).UpdateRule},
	{"DELETE /v1/reward_rules/{id}", httpapi.SecretKey, (*httpapi.Server).DeleteRule},

	{"POST /v1/transactions", httpapi.SecretKey, (*httpapi.Server).CreateTransaction},
	{"GET /v1/transactions", httpapi.SecretKey, (*httpapi.Server).ListTransactions},
	{"GET /v1/transactions/{key}", httpapi.SecretKey, (*httpapi.Server).GetTransaction},
	{"POST /v1/transactions/{key}/refund", httpapi.SecretKey, (*httpapi.Server).RefundTransaction},
	{"DELETE /v1/transactions/{key}", httpapi.SecretKey, (*httpapi.Server).RefundTransaction},
	{"GET /v1/customers/{key}/transactions", httpapi.SecretKey, (*httpapi.Server).ListCustomerTransactions},

	{"GET /v1/rewards", httpapi.SecretKey, (*httpapi.Server).ListRewards},
	{"GET /v1/rewards/{id}", httpapi.SecretKey, (*httpapi.Server).GetReward},
	{"POST /v1/rewards/{id}/approve", httpapi.SecretKey, (*httpapi.Server).ApproveReward},
	{"POST /v1/rewards/{id}/reject", httpapi.SecretKey, (*httpapi.Server).RejectReward},

	{"GET /v1/customers/{key}/stats", httpapi.SecretKey, (*httpapi.Server).CustomerStats},
	{"GET /v1/leaderboard", httpapi.SecretKey, (*httpapi.Server).Leaderboard},
	{"GET /v1/customers/{key}/balance", httpapi.SecretKey, (*httpapi.Server).CustomerBalance},
	{"POST /v1/customers/{key}/balance/credit", httpapi.SecretKey, (*httpapi.Server).CreditBalance},
	{"POST /v1/customers/{key}/balance/debit", httpapi.SecretKey, (*httpapi.Server).DebitBalance},
	{"GET /v1/customers/{key}/ledger", httpapi.SecretKey, (*httpapi.Server).CustomerLedger},

	{"GET /v1/customers/{key}/discount_codes", httpapi.SecretKey, (*httpapi.Server).ListDiscountCodes},
	{"POST /v1/discount_codes/{code}/redeem", httpapi.SecretKey, (*httpapi.Server).RedeemDiscountCode},

	{"GET /v1/events", httpapi.SecretKey, (*httpapi.Server).ListEvents},
	{"GET /v1/events/{id}", httpapi.SecretKey, (*httpapi.Server).GetEvent},

	{"GET /v1/webhook_endpoints", httpapi.SecretKey, (*httpapi.Server).ListWebhookEndpoints},
	{"POST /v1/webhook_endpoints", httpapi.SecretKey, (*httpapi.Server).CreateWebhookEndpoint},
	{"GET /v1/webhook_endpoints/{id}", httpapi.SecretKey, (*httpapi.Server).GetWebhookEndpoint},
	{"PUT /v1/webhook_endpoints/{id}", httpapi.SecretKey, (*httpapi.Server).UpdateWebhookEndpoint},
	{"DELETE /v1/webhook_endpoints/{id}", httpapi.SecretKey, (*httpapi.Server).DeleteWebhookEndpoint},
	{"POST /v1/webhook_endpoints/{id}/rotate_secret", httpapi.SecretKey, (*httpapi.Server).RotateWebhookSecret},
	{"POST /v1/webhook_endpoints/{id}/test", httpapi.SecretKey, (*httpapi.Server).SendTestWebhook},
	{"GET /v1/webhook_endpoints/{id}/deliveries", httpapi.SecretKey, (*httpapi.Server).ListWebhookDeliveries},
	{"POST /v1/webhook_deliveries/{id}/retry", httpapi.SecretKey, (*httpapi.Server).RetryWebhookDelivery},

	{"GET /v1/integrations/stripe", httpapi.SecretKey, (*httpapi.Server).GetStripeIntegration},
	{"PUT /v1/integrations/stripe", httpapi.SecretKey, (*httpapi.Server).PutStripeIntegration},
	{"DELETE /v1/integrations/stripe", httpapi.SecretKey, (*httpapi.Server).DeleteStripeIntegration},
	{"POST /v1/integrations/stripe/sync", httpapi.SecretKey, (*httpapi.Server).SyncStripe},
	// Stripe's events for a program: the Stripe-Signature header, made
	// with the program's signing secret, is the credential.
	{"POST /integrations/stripe/webhook/{program_id}", httpapi.Public, (*httpapi.Server).StripeWebhook},

	{"GET /r/{code}", httpapi.Visitor, (*httpapi.Server).ShortLink},
	// Unsubscribe links of emails (RFC 8058): the signed token is the
	// authority; mail providers POST from anywhere.
	{"GET /unsubscribe/{token}", httpapi.Public, (*httpapi.Server).UnsubscribePage},
	{"POST /unsubscribe/{token}", httpapi.Public, (*httpapi.Server).Unsubscribe},
	{"GET /js/po.js", httpapi.Public, (*httpapi.Server).PoJS},
	{"GET /v1/sdk/config", httpapi.PublishableKey, (*httpapi.Server).SDKConfig},
	{"POST /v1/track/click", httpapi.BrowserPublic, (*httpapi.Server).TrackClick},
	{"GET /v1/widget", httpapi.PublishableKey, (*httpapi.Server).Widget},
}

// Dashboard is the admin UI. It answers every other path under
// /dashboard/ itself (a 404), and checks every state-changing request with
// http.CrossOriginProtection.
var Dashboard = []DashboardRoute{
	{"GET /{$}", dashboard.Public, (*dashboard.Dashboard).Root},
	{"GET /dashboard/assets/", dashboard.Public, (*dashboard.Dashboard).Assets},
	{"GET /dashboard/login", dashboard.Public, (*dashboard.Dashboard).LoginPage},
	{"POST /dashboard/login", dashboard.Public, (*dashboard.Dashboard).Login},
	// Anyone may sign out, viewers included: logout ends whatever session
	// the cookie names.
	{"POST /dashboard/logout", dashboard.Public, (*dashboard.Dashboard).Logout},

	{"GET /dashboard/{$}", dashboard.Admin, (*dashboard.Dashboard).Home},
	{"GET /dashboard/switch", dashboard.Admin, (*dashboard.Dashboard).SwitchProgram},
	{"GET /dashboard/programs", dashboard.Admin, (*dashboard.Dashboard).ProgramList},
	{"GET /dashboard/programs/new", dashboard.Admin, (*dashboard.Dashboard).ProgramNew},
	{"POST /dashboard/programs", dashboard.Admin, (*dashboard.Dashboard).ProgramCreate},

	// One program's pages. Every handler loads the program with d.program,
	// so another or unknown program id is a 404.
	{"GET /dashboard/p/{pid}/settings", dashboard.Admin, (*dashboard.Dashboard).SettingsPage},
	{"POST /dashboard/p/{pid}/settings", dashboard.Admin, (*dashboard.Dashboard).SettingsSave},
	{"GET /dashboard/p/{pid}/{$}", dashboard.Admin, (*dashboard.Dashboard).Overview},

	{"GET /dashboard/p/{pid}/customers", dashboard.Admin, (*dashboard.Dashboard).CustomersPage},
	{"GET /dashboard/p/{pid}/customers/{key}", dashboard.Admin, (*dashboard.Dashboard).CustomerPage},
	{"POST /dashboard/p/{pid}/customers/{key}/credit", dashboard.Admin, (*dashboard.Dashboard).CustomerCredit},
	{"POST /dashboard/p/{pid}/customers/{key}/debit", dashboard.Admin, (*dashboard.Dashboard).CustomerDebit},
	{"POST /dashboard/p/{pid}/customers/{key}/email_opt_out", dashboard.Admin, (*dashboard.Dashboard).CustomerEmailOptOut},
	{"POST /dashboard/p/{pid}/transactions/{key}/refund", dashboard.Admin, (*dashboard.Dashboard).TransactionRefund},

	{"GET /dashboard/p/{pid}/rewards", dashboard.Admin, (*dashboard.Dashboard).RewardsPage},
	{"POST /dashboard/p/{pid}/rewards/approve", dashboard.Admin, (*dashboard.Dashboard).RewardsApprove},
	{"POST /dashboard/p/{pid}/rewards/reject", dashboard.Admin, (*dashboard.Dashboard).RewardsReject},

	{"GET /dashboard/p/{pid}/rules", dashboard.Admin, (*dashboard.Dashboard).RulesPage},
	{"POST /dashboard/p/{pid}/rules", dashboard.Admin, (*dashboard.Dashboard).RuleSave},
	{"GET /dashboard/p/{pid}/rules/{id}", dashboard.Admin, (*dashboard.Dashboard).RuleEdit},
	{"POST /dashboard/p/{pid}/rules/{id}", dashboard.Admin, (*dashboard.Dashboard).RuleSave},
	{"POST /dashboard/p/{pid}/rules/{id}/delete", dashboard.Admin, (*dashboard.Dashboard).RuleDelete},

	{"GET /dashboard/p/{pid}/developers", dashboard.Admin, (*dashboard.Dashboard).DevelopersPage},
	{"POST /dashboard/p/{pid}/developers/keys", dashboard.Admin, (*dashboard.Dashboard).KeyCreate},
	{"POST /dashboard/p/{pid}/developers/keys/{id}/revoke", dashboard.Admin, (*dashboard.Dashboard).KeyRevoke},
	{"POST /dashboard/p/{pid}/developers/widget_secret/rotate", dashboard.Admin, (*dashboard.Dashboard).WidgetSecretRotate},
	{"POST /dashboard/p/{pid}/developers/webhooks", dashboard.Admin, (*dashboard.Dashboard).WebhookSave},
	{"GET /dashboard/p/{pid}/developers/webhooks/{id}", dashboard.Admin, (*dashboard.Dashboard).WebhookEdit},
	{"POST /dashboard/p/{pid}/developers/webhooks/{id}", dashboard.Admin, (*dashboard.Dashboard).WebhookSave},
	{"POST /dashboard/p/{pid}/developers/webhooks/{id}/pause", dashboard.Admin, (*dashboard.Dashboard).WebhookPause},
	{"POST /dashboard/p/{pid}/developers/webhooks/{id}/resume", dashboard.Admin, (*dashboard.Dashboard).WebhookResume},
	{"POST /dashboard/p/{pid}/developers/webhooks/{id}/rotate_secret", dashboard.Admin, (*dashboard.Dashboard).WebhookRotate},
	{"POST /dashboard/p/{pid}/developers/webhooks/{id}/delete", dashboard.Admin, (*dashboard.Dashboard).WebhookDelete},
	{"GET /dashboard/p/{pid}/developers/webhooks/{id}/deliveries", dashboard.Admin, (*dashboard.Dashboard).WebhookDeliveries},
	{"POST /dashboard/p/{pid}/developers/webhooks/{id}/test", dashboard.Admin, (*dashboard.Dashboard).WebhookTest},
	{"POST /dashboard/p/{pid}/developers/deliveries/{id}/retry", dashboard.Admin, (*dashboard.Dashboard).WebhookRetry},

	{"GET /dashboard/p/{pid}/emails", dashboard.Admin, (*dashboard.Dashboard).EmailsPage},
	{"POST /dashboard/p/{pid}/emails/settings", dashboard.Admin, (*dashboard.Dashboard).EmailSettingsSave},
	{"GET /dashboard/p/{pid}/emails/{kind}", dashboard.Admin, (*dashboard.Dashboard).EmailEdit},
	{"POST /dashboard/p/{pid}/emails/{kind}", dashboard.Admin, (*dashboard.Dashboard).EmailSave},
	{"POST /dashboard/p/{pid}/emails/{kind}/preview", dashboard.Admin, (*dashboard.Dashboard).EmailPreview},
	{"GET /dashboard/p/{pid}/emails/{kind}/preview.html", dashboard.Admin, (*dashboard.Dashboard).EmailPreviewDocument},
	{"POST /dashboard/p/{pid}/emails/{kind}/reset", dashboard.Admin, (*dashboard.Dashboard).EmailReset},
	{"POST /dashboard/p/{pid}/emails/{kind}/enable", dashboard.Admin, (*dashboard.Dashboard).EmailEnable},
	{"POST /dashboard/p/{pid}/emails/{kind}/disable", dashboard.Admin, (*dashboard.Dashboard).EmailDisable},

	{"GET /dashboard/p/{pid}/integrations", dashboard.Admin, (*dashboard.Dashboard).IntegrationsPage},
	{"POST /dashboard/p/{pid}/integrations/stripe", dashboard.Admin, (*dashboard.Dashboard).StripeSave},
	{"POST /dashboard/p/{pid}/integrations/stripe/sync", dashboard.Admin, (*dashboard.Dashboard).StripeSyncStart},
	{"POST /dashboard/p/{pid}/integrations/stripe/disconnect", dashboard.Admin, (*dashboard.Dashboard).StripeDisconnect},

	{"GET /dashboard/team", dashboard.Admin, (*dashboard.Dashboard).TeamPage},
	{"POST /dashboard/team", dashboard.Admin, (*dashboard.Dashboard).Invite},
	{"POST /dashboard/team/{id}/remove", dashboard.Admin, (*dashboard.Dashboard).RemoveAdmin},

	{"GET /dashboard/p/{pid}/export/customers.csv", dashboard.Admin, (*dashboard.Dashboard).ExportCustomers},
	{"GET /dashboard/p/{pid}/export/referrals.csv", dashboard.Admin, (*dashboard.Dashboard).ExportReferrals},
	{"GET /dashboard/p/{pid}/export/rewards.csv", dashboard.Admin, (*dashboard.Dashboard).ExportRewards},
}

// Metrics is the private listener (--metrics-addr), which only the
// scraper can reach: whoever reaches it may read the metrics.
var Metrics = []APIRoute{
	{"GET /metrics", httpapi.Public, (*httpapi.Server).Metrics},
}
