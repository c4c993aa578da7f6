package store

import (
	"context"
	"fmt"

	"github.com/advocate-oss/advocate/internal/rewards"
)

// writerCache keeps what SQLite's single writer reads for every payment
// and that seldom changes: the active rules of a program's trigger, and
// the ids of a program's own accounts (created once, never changed). Read
// from the database they were two of a payment's ten statements. Only the
// committing goroutine uses it, so it needs no lock.
//
// It never serves what the database would not:
//   - each batch begins by reading config_version, which triggers bump in
//     the same transaction as any change of rules, whoever makes it (this
//     process, or another one on the same file), and the rules are dropped
//     when it moved;
//   - a change of rules in a batch drops them at once (Tx.rulesChanged),
//     for the members after it;
//   - any rollback drops everything, as the cache may hold what the
//     rolled-back writes made.
//
// What it returns is shared: callers must not change it.
type writerCache struct {
	version  int64 // config_version when the rules were read; 0 before the first batch
	rules    map[ruleKey][]*rewards.Rule
	accounts map[accountKey]string
}

type ruleKey struct{ program, trigger string }

type accountKey struct{ program, owner, account, currency string }

// maxWriterCache bounds each map; past it, the map starts over.
const maxWriterCache = 10_000

func newWriterCache() *writerCache {
	return &writerCache{rules: map[ruleKey][]*rewards.Rule{}, accounts: map[accountKey]string{}}
}

// begin checks the cache at the start of a batch, inside its transaction.
func (c *writerCache) begin(ctx context.Context, q querier) error {
	var v int64
	if err := q.QueryRowContext(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&v); err != nil {
		return fmt.Errorf("read config version: %w", err)
	}
	if v != c.version {
		c.dropRules()
		c.version = v
	}
	return nil
}

func (c *writerCache) dropRules() { clear(c.rules) }

// drop forgets everything.
func (c *writerCache) drop() {
	clear(c.rules)
	clear(c.accounts)
}

// activeRules returns the cached rules of a trigger, if any.
func (c *writerCache) activeRules(k ruleKey) ([]*rewards.Rule, bool) {
	if c == nil {
		return nil, false
	}
	r, ok := c.rules[k]
	return r, ok
}

func (c *writerCache) keepRules(k ruleKey, r []*rewards.Rule) {
	if c == nil {
		return
	}
	if len(c.rules) >= maxWriterCache {
		clear(c.rules)
	}
	c.rules[k] = r
}

// account returns the cached id of a program account, if any.
func (c *writerCache) account(k accountKey) (string, bool) {
	if c == nil {
		return "", false
	}
	id, ok := c.accounts[k]
	return id, ok
}

func (c *writerCache) keepAccount(k accountKey, id string) {
	if c == nil {
		return
	}
	if len(c.accounts) >= maxWriterCache {
		clear(c.accounts)
	}
	c.accounts[k] = id
}
