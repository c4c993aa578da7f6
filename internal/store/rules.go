package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/rewards"
)

// ErrRuleNotFound is returned for an unknown or deleted reward rule.
var ErrRuleNotFound = referral.Errorf(referral.KindNotFound, "reward_rule_not_found", "No reward rule with that id exists in this program.")

const ruleColumns = `id, program_id, name, trigger_type, recipient, reward_type, unit, amount, currency, recurrence,
	max_count, max_months, min_amount, min_amount_currency, holding_days, max_rewards_per_referrer,
	discount_expires_days, payout_method, active, created_at, updated_at, require_approval, currency_options,
	milestone_referrals, tiers, skip_count, max_rewards_period, max_amount_per_referrer, max_amount_currency`

func scanRule(row scanner) (*rewards.Rule, error) {
	var r rewards.Rule
	var cur, minCur, payout sql.NullString
	var maxCount, maxMonths, maxPerReferrer, expires sql.NullInt64
	var minAmount sql.NullInt64
	var created, updated int64
	var approval sql.NullBool
	var options, tiers string
	var milestone, skip, maxAmount sql.NullInt64
	var period, maxAmountCur sql.NullString
	err := row.Scan(&r.ID, &r.ProgramID, &r.Name, &r.Trigger, &r.Recipient, &r.RewardType, &r.Unit, &r.Amount, &cur, &r.Recurrence,
		&maxCount, &maxMonths, &minAmount, &minCur, &r.HoldingDays, &maxPerReferrer, &expires, &payout, &r.Active, &created, &updated, &approval, &options,
		&milestone, &tiers, &skip, &period, &maxAmount, &maxAmountCur)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(tiers), &r.Tiers); err != nil {
		return nil, fmt.Errorf("rule %s: tiers: %w", r.ID, err)
	}
	if len(r.Tiers) == 0 {
		r.Tiers = nil
	}
	r.MilestoneReferrals, r.SkipCount, r.MaxAmountPerReferrer = int(milestone.Int64), int(skip.Int64), maxAmount.Int64
	r.MaxRewardsPeriod, r.MaxAmountCurrency = period.String, maxAmountCur.String
	if r.CurrencyOptions, err = readCurrencyOptions(options); err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	if approval.Valid {
		r.RequireApproval = &approval.Bool
	}
	r.Currency, r.MinAmountCurrency, r.PayoutMethod = cur.String, minCur.String, payout.String
	r.MaxCount, r.MaxMonths, r.MaxRewardsPerReferrer = int(maxCount.Int64), int(maxMonths.Int64), int(maxPerReferrer.Int64)
	r.DiscountExpiresDays, r.MinAmount = int(expires.Int64), minAmount.Int64
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &r, nil
}

func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }

// storedOption is a currency option as stored, in minor units.
type storedOption struct {
	Amount    int64 `json:"amount"`
	MinAmount int64 `json:"min_amount,omitempty"`
	MaxAmount int64 `json:"max_amount_per_referrer,omitempty"`
}

func currencyOptionsJSON(opts map[string]rewards.CurrencyOption) string {
	m := make(map[string]storedOption, len(opts))
	for cur, o := range opts {
		m[cur] = storedOption{o.Amount, o.MinAmount, o.MaxAmountPerReferrer}
	}
	b, _ := json.Marshal(m) // map keys sorted: stable
	return string(b)
}

func readCurrencyOptions(s string) (map[string]rewards.CurrencyOption, error) {
	var m map[string]storedOption
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("currency options: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]rewards.CurrencyOption, len(m))
	for cur, o := range m {
		out[cur] = rewards.CurrencyOption{Amount: o.Amount, MinAmount: o.MinAmount, MaxAmountPerReferrer: o.MaxAmount}
	}
	return out, nil
}

func tiersJSON(tiers []rewards.Tier) string {
	if len(tiers) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(tiers)
	return string(b)
}

func nullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

// CreateRule stores a validated rule.
func (tx *Tx) CreateRule(ctx context.Context, r *rewards.Rule) error {
	r.ID = id.New("rule", tx.now)
	r.CreatedAt, r.UpdatedAt = tx.now, tx.now
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO reward_rules (`+ruleColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
		$24, $25, $26, $27, $28, $29)`,
		r.ID, r.ProgramID, r.Name, r.Trigger, r.Recipient, r.RewardType, r.Unit, r.Amount, nullString(r.Currency), r.Recurrence,
		nullInt(int64(r.MaxCount)), nullInt(int64(r.MaxMonths)), nullInt(r.MinAmount), nullString(r.MinAmountCurrency), r.HoldingDays,
		nullInt(int64(r.MaxRewardsPerReferrer)), nullInt(int64(r.DiscountExpiresDays)), nullString(r.PayoutMethod), r.Active,
		micros(r.CreatedAt), micros(r.UpdatedAt), nullBool(r.RequireApproval), currencyOptionsJSON(r.CurrencyOptions),
		nullInt(int64(r.MilestoneReferrals)), tiersJSON(r.Tiers), nullInt(int64(r.SkipCount)), nullString(r.MaxRewardsPeriod),
		nullInt(r.MaxAmountPerReferrer), nullString(r.MaxAmountCurrency))
	if err != nil {
		return fmt.Errorf("create reward rule: %w", err)
	}
	tx.rulesChanged()
	return nil
}

// UpdateRule saves a changed rule. Rewards already given keep the values
// they were given with.
func (tx *Tx) UpdateRule(ctx context.Context, r *rewards.Rule) error {
	r.UpdatedAt = tx.now
	res, err := tx.tx.ExecContext(ctx, `UPDATE reward_rules SET name = $3, trigger_type = $4, recipient = $5, reward_type = $6,
		unit = $7, amount = $8, currency = $9, recurrence = $10, max_count = $11, max_months = $12, min_amount = $13,
		min_amount_currency = $14, holding_days = $15, max_rewards_per_referrer = $16, discount_expires_days = $17,
		payout_method = $18, active = $19, updated_at = $20, require_approval = $21, currency_options = $22,
		milestone_referrals = $23, tiers = $24, skip_count = $25, max_rewards_period = $26, max_amount_per_referrer = $27,
		max_amount_currency = $28
		WHERE id = $1 AND program_id = $2 AND deleted_at IS NULL`,
		r.ID, r.ProgramID, r.Name, r.Trigger, r.Recipient, r.RewardType, r.Unit, r.Amount, nullString(r.Currency), r.Recurrence,
		nullInt(int64(r.MaxCount)), nullInt(int64(r.MaxMonths)), nullInt(r.MinAmount), nullString(r.MinAmountCurrency), r.HoldingDays,
		nullInt(int64(r.MaxRewardsPerReferrer)), nullInt(int64(r.DiscountExpiresDays)), nullString(r.PayoutMethod), r.Active,
		micros(r.UpdatedAt), nullBool(r.RequireApproval), currencyOptionsJSON(r.CurrencyOptions),
		nullInt(int64(r.MilestoneReferrals)), tiersJSON(r.Tiers), nullInt(int64(r.SkipCount)), nullString(r.MaxRewardsPeriod),
		nullInt(r.MaxAmountPerReferrer), nullString(r.MaxAmountCurrency))
	if err != nil {
		return fmt.Errorf("update reward rule: %w", err)
	}
	tx.rulesChanged()
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrRuleNotFound
	}
	return nil
}

// DeleteRule retires a rule: it fires no more, and the rewards it gave stay.
func (tx *Tx) DeleteRule(ctx context.Context, programID, ruleID string) error {
	res, err := tx.tx.ExecContext(ctx, `UPDATE reward_rules SET deleted_at = $3, active = FALSE, updated_at = $3
		WHERE id = $1 AND program_id = $2 AND deleted_at IS NULL`, ruleID, programID, micros(tx.now))
	if err != nil {
		return fmt.Errorf("delete reward rule: %w", err)
	}
	tx.rulesChanged()
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrRuleNotFound
	}
	return nil
}

// Rule returns a live rule.
func (db *DB) Rule(ctx context.Context, programID, ruleID string) (*rewards.Rule, error) {
	r, err := scanRule(db.read.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM reward_rules
		WHERE id = $1 AND program_id = $2 AND deleted_at IS NULL`, ruleID, programID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRuleNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get reward rule: %w", err)
	}
	return r, nil
}

// Rules lists a program's live rules, oldest first.
func (db *DB) Rules(ctx context.Context, programID string) ([]*rewards.Rule, error) {
	return listRules(ctx, db.read, `SELECT `+ruleColumns+` FROM reward_rules
		WHERE program_id = $1 AND deleted_at IS NULL ORDER BY id`, programID)
}

// activeRules lists the rules a trigger may fire, inside the transaction
// so that a rule changed concurrently is seen consistently.
func (tx *Tx) activeRules(ctx context.Context, programID, trigger string) ([]*rewards.Rule, error) {
	k := ruleKey{programID, trigger}
	if rules, ok := tx.writer.activeRules(k); ok {
		return rules, nil
	}
	rules, err := listRules(ctx, tx.tx, `SELECT `+ruleColumns+` FROM reward_rules
		WHERE program_id = $1 AND trigger_type = $2 AND active = TRUE AND deleted_at IS NULL ORDER BY id`, programID, trigger)
	if err == nil {
		tx.writer.keepRules(k, rules)
	}
	return rules, err
}

func listRules(ctx context.Context, q querier, query string, args ...any) ([]*rewards.Rule, error) {
	return queryAll(ctx, q, "list reward rules", scanRule, query, args...)
}
