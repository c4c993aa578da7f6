package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreRuleMeta leaves out what the server assigns.
var ignoreRuleMeta = cmp.Options{cmpopts.IgnoreFields(rule{}, "ID", "CreatedAt", "UpdatedAt"), cmpopts.EquateEmpty()}

// TestRewardRulesAsSeed sends the seed's three reward objects exactly as
// written and checks the documented defaults filled in around them.
func TestRewardRulesAsSeed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		defaults := rule{Trigger: "purchase", Recipient: "referrer", Recurrence: "first", HoldingDays: 0, Active: true}
		with := func(f func(r *rule)) rule { r := defaults; f(&r); return r }
		tests := []struct {
			name string
			body string
			want rule
		}{
			{"credit", `{"reward_type" : "credit" , "amount" : 10 , "currency" : "USD" }`, with(func(r *rule) {
				r.RewardType, r.Amount, r.Unit, r.Currency = "credit", "10.00", "fixed", ptr("USD")
			})},
			{"discount", `{"reward_type" : "discount" , "amount" : 20 , "unit" : "percentage" }`, with(func(r *rule) {
				r.RewardType, r.Amount, r.Unit = "discount", "20", "percentage"
			})},
			{"cash", `{"reward_type" : "cash" , "amount" : 25 , "currency" : "USD" }`, with(func(r *rule) {
				r.RewardType, r.Amount, r.Unit, r.Currency = "cash", "25.00", "fixed", ptr("USD")
			})},
		}
		var created []rule
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				got := e.createRule(tc.body)
				if diff := cmp.Diff(tc.want, got, ignoreRuleMeta); diff != "" {
					t.Errorf("rule (-want +got):\n%s", diff)
				}
				if got.ID == "" || got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
					t.Errorf("id %q, created_at %v, updated_at %v: want an id and equal times", got.ID, got.CreatedAt, got.UpdatedAt)
				}
				resp := e.do(req{method: "GET", path: "/v1/reward_rules/" + got.ID, key: e.sk})
				e.want(resp, http.StatusOK, "get rule")
				var one struct {
					Rule rule `json:"reward_rule"`
				}
				resp.json(t, &one)
				if diff := cmp.Diff(got, one.Rule); diff != "" {
					t.Errorf("GET differs from POST (-created +got):\n%s", diff)
				}
				created = append(created, got)
			})
		}

		t.Run("list", func(t *testing.T) {
			e := e.in(t)
			resp := e.do(req{method: "GET", path: "/v1/reward_rules", key: e.sk})
			e.want(resp, http.StatusOK, "list rules")
			var p page[rule]
			resp.json(t, &p)
			if diff := cmp.Diff(created, p.Data); diff != "" {
				t.Errorf("rules, oldest first (-want +got):\n%s", diff)
			}
			if p.HasMore || p.NextCursor != nil {
				t.Errorf("has_more %v, next_cursor %v: want one page", p.HasMore, p.NextCursor)
			}
		})

		t.Run("other program sees none", func(t *testing.T) {
			e := e.inProgram(t, "USD")
			resp := e.do(req{method: "GET", path: "/v1/reward_rules", key: e.sk})
			var p page[rule]
			resp.json(t, &p)
			if len(p.Data) != 0 {
				t.Errorf("another program lists %d rules, want none", len(p.Data))
			}
			for _, r := range created {
				e.wantProblem(e.do(req{method: "GET", path: "/v1/reward_rules/" + r.ID, key: e.sk}), 404, "reward_rule_not_found", "")
			}
		})
	})
}

// TestRewardRuleUpdate: PUT changes only the fields it names, and an
// amount cannot silently change meaning.
func TestRewardRuleUpdate(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		r := e.createRule(map[string]any{"name": "Give 10", "reward_type": "credit", "amount": 10, "currency": "USD", "min_amount": 50})
		steps := []struct {
			name   string
			body   string
			status int
			field  string        // named in the 422
			want   func(r *rule) // the change on 200
		}{
			{"holding days only", `{"holding_days": 14}`, 200, "", func(r *rule) { r.HoldingDays = 14 }},
			{"amount only", `{"amount": 12.5}`, 200, "", func(r *rule) { r.Amount = "12.50" }},
			{"currency without amount", `{"currency": "EUR"}`, 422, "amount", nil},
			{"unit without amount", `{"unit": "percentage"}`, 422, "amount", nil},
			{"amount too precise", `{"amount": 12.505}`, 422, "amount", nil},
			{"trigger signup with min_amount", `{"trigger": "signup"}`, 422, "min_amount", nil},
			{"currency without min_amount", `{"currency": "EUR", "amount": 9}`, 422, "min_amount", nil},
			{"currency with amount and min_amount", `{"currency": "EUR", "amount": 9, "min_amount": 40}`, 200, "", func(r *rule) {
				r.Currency, r.Amount, r.MinAmount = ptr("EUR"), "9.00", ptr(json.Number("40.00"))
			}},
			{"to percentage", `{"unit": "percentage", "amount": 7.5, "min_amount": 0}`, 200, "", func(r *rule) {
				r.Unit, r.Amount, r.Currency, r.MinAmount = "percentage", "7.5", nil, nil
			}},
			{"back to fixed in the program currency", `{"unit": "fixed", "amount": 5}`, 200, "", func(r *rule) {
				r.Unit, r.Amount, r.Currency = "fixed", "5.00", ptr("USD")
			}},
			{"every with max_count", `{"recurrence": "every", "max_count": 3, "trigger": "subscription"}`, 200, "", func(r *rule) {
				r.Recurrence, r.MaxCount, r.Trigger = "every", ptr(3), "subscription"
			}},
			{"back to first keeping max_count", `{"recurrence": "first"}`, 422, "recurrence", nil},
			{"deactivate", `{"active": false}`, 200, "", func(r *rule) { r.Active = false }},
			{"name", `{"name": "Five dollars"}`, 200, "", func(r *rule) { r.Name = "Five dollars" }},
			{"unknown field", `{"amount": 5, "colour": "red"}`, 422, "colour", nil},
			{"unknown recipient", `{"recipient": "neighbour"}`, 422, "recipient", nil},
		}
		for _, s := range steps {
			t.Run(s.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				resp := e.do(req{method: "PUT", path: "/v1/reward_rules/" + r.ID, key: e.sk, body: s.body})
				if resp.Status != s.status {
					t.Fatalf("status %d, want %d; body %s", resp.Status, s.status, resp.Body)
				}
				if s.status != 200 {
					if p := resp.problem(t); p.Errors[s.field] == "" {
						t.Errorf("errors %v do not name %q", p.Errors, s.field)
					}
					e.same(before)
					return
				}
				var got struct {
					Rule rule `json:"reward_rule"`
				}
				resp.json(t, &got)
				want := r
				s.want(&want)
				if diff := cmp.Diff(want, got.Rule, cmpopts.IgnoreFields(rule{}, "UpdatedAt")); diff != "" {
					t.Errorf("rule (-want +got):\n%s", diff)
				}
				r = got.Rule
			})
		}

		t.Run("unknown rule", func(t *testing.T) {
			e := e.in(t)
			e.wantProblem(e.do(req{method: "PUT", path: "/v1/reward_rules/rule_nope", key: e.sk, body: `{"amount": 1}`}), 404, "reward_rule_not_found", "")
		})
	})
}

// TestRewardRuleDelete: a deleted rule is gone from the API and fires no
// more, but the rewards it gave stay.
func TestRewardRuleDelete(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		r := e.createRule(map[string]any{"reward_type": "credit", "amount": 10, "currency": "USD"})
		keep := e.createRule(map[string]any{"reward_type": "credit", "amount": 1, "currency": "USD"})
		e.referrer("ann")
		e.friend("bob", "ann")
		e.friend("cat", "ann")
		given := e.purchase("bob", "order-1", "30").Rewards
		if len(given) != 2 {
			t.Fatalf("%d rewards, want 2", len(given))
		}

		e.want(e.do(req{method: "DELETE", path: "/v1/reward_rules/" + r.ID, key: e.sk}), http.StatusNoContent, "delete")
		e.wantProblem(e.do(req{method: "GET", path: "/v1/reward_rules/" + r.ID, key: e.sk}), 404, "reward_rule_not_found", "")
		e.wantProblem(e.do(req{method: "PUT", path: "/v1/reward_rules/" + r.ID, key: e.sk, body: `{"amount": 2}`}), 404, "reward_rule_not_found", "")
		e.wantProblem(e.do(req{method: "DELETE", path: "/v1/reward_rules/" + r.ID, key: e.sk}), 404, "reward_rule_not_found", "")

		var p page[rule]
		e.do(req{method: "GET", path: "/v1/reward_rules", key: e.sk}).json(t, &p)
		if len(p.Data) != 1 || p.Data[0].ID != keep.ID {
			t.Errorf("rules after delete: %+v, want only %s", p.Data, keep.ID)
		}
		for _, rw := range given {
			if got := e.reward(rw.ID); got.Status != "available" || got.RuleID != rw.RuleID {
				t.Errorf("reward %s after its rule was deleted: %+v", rw.ID, got)
			}
		}
		if got := e.balance("ann", "").Balance; got != "11.00" {
			t.Errorf("balance %s, want 11.00: rewards of a deleted rule stay", got)
		}
		if got := e.purchase("cat", "order-2", "30").Rewards; len(got) != 1 || got[0].RuleID != keep.ID {
			t.Errorf("rewards after delete: %+v, want only one from %s", got, keep.ID)
		}
	})
}

// TestRewardRuleBadInput: every invalid rule is a 422 naming the field,
// and nothing is written.
func TestRewardRuleBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		t.Cleanup(e.verifyLedger)
		tests := []struct {
			name  string
			body  string
			field string
			code  string // "" for invalid_reward_rule
		}{
			{"negative amount", `{"reward_type": "credit", "amount": -5, "currency": "USD"}`, "amount", ""},
			{"zero amount", `{"reward_type": "credit", "amount": 0, "currency": "USD"}`, "amount", ""},
			{"no amount", `{"reward_type": "credit", "currency": "USD"}`, "amount", ""},
			{"tenth of a cent", `{"reward_type": "credit", "amount": 10.001, "currency": "USD"}`, "amount", ""},
			{"decimals on yen", `{"reward_type": "credit", "amount": 1.5, "currency": "JPY"}`, "amount", ""},
			{"unknown currency", `{"reward_type": "credit", "amount": 10, "currency": "ABC"}`, "currency", ""},
			{"no-currency code XXX", `{"reward_type": "credit", "amount": 10, "currency": "XXX"}`, "currency", ""},
			{"percentage over 100", `{"reward_type": "discount", "amount": 100.01, "unit": "percentage"}`, "amount", ""},
			{"percentage 150", `{"reward_type": "credit", "amount": 150, "unit": "percentage"}`, "amount", ""},
			{"percentage 0", `{"reward_type": "discount", "amount": 0, "unit": "percentage"}`, "amount", ""},
			{"negative percentage", `{"reward_type": "discount", "amount": -5, "unit": "percentage"}`, "amount", ""},
			{"percentage with 3 decimals", `{"reward_type": "discount", "amount": 12.345, "unit": "percentage"}`, "amount", ""},
			{"percentage with a currency", `{"reward_type": "credit", "amount": 10, "unit": "percentage", "currency": "USD"}`, "currency", ""},
			{"percentage on signup", `{"trigger": "signup", "reward_type": "credit", "amount": 10, "unit": "percentage"}`, "unit", ""},
			{"min_amount on signup", `{"trigger": "signup", "reward_type": "credit", "amount": 5, "min_amount": 20}`, "min_amount", ""},
			{"min_amount too precise", `{"reward_type": "credit", "amount": 5, "min_amount": 20.001}`, "min_amount", ""},
			{"negative min_amount", `{"reward_type": "credit", "amount": 5, "min_amount": -1}`, "min_amount", ""},
			{"every on signup", `{"trigger": "signup", "reward_type": "credit", "amount": 5, "recurrence": "every"}`, "recurrence", ""},
			{"max_count with first", `{"reward_type": "credit", "amount": 5, "max_count": 3}`, "recurrence", ""},
			{"max_months with first", `{"reward_type": "credit", "amount": 5, "max_months": 3}`, "recurrence", ""},
			{"negative max_count", `{"trigger": "subscription", "recurrence": "every", "reward_type": "credit", "amount": 5, "max_count": -1}`, "max_count", ""},
			{"discount with a cash payout field", `{"reward_type": "discount", "amount": 20, "unit": "percentage", "payout_method": "paypal"}`, "payout_method", ""},
			{"credit with a cash payout field", `{"reward_type": "credit", "amount": 20, "payout_method": "wise"}`, "payout_method", ""},
			{"unknown payout method", `{"reward_type": "cash", "amount": 20, "payout_method": "cheque"}`, "payout_method", ""},
			{"expires_in_days on credit", `{"reward_type": "credit", "amount": 10, "expires_in_days": 30}`, "expires_in_days", ""},
			{"negative holding_days", `{"reward_type": "credit", "amount": 10, "holding_days": -1}`, "holding_days", ""},
			{"negative max_rewards_per_referrer", `{"reward_type": "credit", "amount": 10, "max_rewards_per_referrer": -1}`, "max_rewards_per_referrer", ""},
			{"unknown field", `{"reward_type": "credit", "amount": 10, "bonus": true}`, "bonus", "unknown_field"},
			{"unknown trigger", `{"trigger": "refund", "reward_type": "credit", "amount": 10}`, "trigger", ""},
			{"unknown recipient", `{"recipient": "stranger", "reward_type": "credit", "amount": 10}`, "recipient", ""},
			{"unknown reward_type", `{"reward_type": "points", "amount": 10}`, "reward_type", ""},
			{"no reward_type", `{"amount": 10}`, "reward_type", ""},
			{"unknown unit", `{"reward_type": "credit", "amount": 10, "unit": "points"}`, "unit", ""},
			{"unknown recurrence", `{"reward_type": "credit", "amount": 10, "recurrence": "sometimes"}`, "recurrence", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				e := e.in(t)
				before := e.snapshot()
				resp := e.do(req{method: "POST", path: "/v1/reward_rules", key: e.sk, body: tc.body})
				if resp.Status != http.StatusUnprocessableEntity {
					t.Fatalf("status %d, want 422; body %s", resp.Status, resp.Body)
				}
				p := resp.problem(t)
				if p.Errors[tc.field] == "" {
					t.Errorf("errors %v do not name %q", p.Errors, tc.field)
				}
				code := tc.code
				if code == "" {
					code = "invalid_reward_rule"
					if len(p.Errors) > 1 {
						code = "validation_failed"
					}
				}
				if p.Code != code {
					t.Errorf("code %q, want %q", p.Code, code)
				}
				e.same(before)
			})
		}
	})
}
