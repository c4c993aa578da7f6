package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/advocate-oss/advocate/internal/id"
	"github.com/advocate-oss/advocate/internal/referral"
)

// InsertClicks stores a batch of clicks in one transaction and bumps the
// counters of their links. A click is unique when it is its visitor's
// first on that link in that clock hour; the click_uniques primary key
// decides, so several nodes agree.
//
// Clicks arrive by the thousand under load, so the batch is written with
// few statements: a visitor's repeat on a link within the batch needs no
// uniqueness check (the first one settled it), and each link's counters
// are bumped once, in id order so that two nodes never wait on each
// other's links. (Multi-row INSERTs were no faster: the SQLite driver
// looks up every parameter's name by a linear scan.)
//
// A click whose id is stored already is skipped, and not counted again:
// the recorder writes a batch again when its commit may have failed, and
// it may have succeeded. (Its uniqueness row is there too, so its visit
// does not make a later click unique.) A click without an id gets one.
//
// A click whose texts PostgreSQL would refuse (NUL, invalid UTF-8) fails
// the batch on both engines alike, before anything is written. An empty
// batch still runs its (empty) transaction: the recorder writes one to
// tell a bad click from a database that is down.
func (db *DB) InsertClicks(ctx context.Context, clicks []referral.Click) error {
	for i, c := range clicks {
		for _, s := range []string{c.ProgramID, c.LinkID, c.Source, c.Visitor, c.LandingURL, c.Referrer, c.UserAgent} {
			if !referral.ValidText(s) {
				return fmt.Errorf("record click %d of %d: %w", i+1, len(clicks), referral.ErrBadText)
			}
		}
	}
	return db.InTx(ctx, func(tx *Tx) error {
		type visit struct {
			link, visitor string
			hour          int64
		}
		seen := map[visit]bool{}
		counts := map[string]*[2]int64{} // link id → clicks, unique clicks
		for i, c := range clicks {
			if i%clicksBetweenYields == clicksBetweenYields-1 {
				// A batch of thousands takes the CPU for a long while;
				// let the redirects queued behind it run in between, so that
				// on a busy CPU they wait for a slice of it, not all of it.
				runtime.Gosched()
			}
			v := visit{c.LinkID, c.Visitor, c.At.Unix() / 3600}
			unique := false
			if !seen[v] {
				seen[v] = true
				res, err := tx.tx.ExecContext(ctx, `INSERT INTO click_uniques (link_id, visitor, hour) VALUES ($1, $2, $3)
					ON CONFLICT (link_id, visitor, hour) DO NOTHING`, v.link, v.visitor, v.hour)
				if err != nil {
					return fmt.Errorf("record click: %w", err)
				}
				n, _ := res.RowsAffected()
				unique = n == 1
			}
			clickID := c.ID
			if clickID == "" {
				clickID = id.New("clk", c.At)
			}
			res, err := tx.tx.ExecContext(ctx, `INSERT INTO clicks (id, program_id, link_id, source, visitor, landing_url,
				referrer, user_agent, is_unique, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (id) DO NOTHING`,
				clickID, c.ProgramID, c.LinkID, c.Source, c.Visitor, c.LandingURL, c.Referrer, c.UserAgent, unique, micros(c.At))
			if err != nil {
				return fmt.Errorf("record click: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // stored by an earlier write of this batch, and counted then
			}
			if counts[c.LinkID] == nil {
				counts[c.LinkID] = new([2]int64)
			}
			counts[c.LinkID][0]++
			if unique {
				counts[c.LinkID][1]++
			}
		}
		for _, link := range slices.Sorted(maps.Keys(counts)) {
			if _, err := tx.tx.ExecContext(ctx, `UPDATE referral_links SET clicks = clicks + $2, unique_clicks = unique_clicks + $3
				WHERE id = $1`, link, counts[link][0], counts[link][1]); err != nil {
				return fmt.Errorf("count clicks: %w", err)
			}
		}
		return nil
	})
}

// clicksBetweenYields is how many clicks InsertClicks writes (a short
// slice of work) before it lets other goroutines run.
const clicksBetweenYields = 32

// ResolveCode finds where a code sends a visitor, in any program: codes
// are unique across programs. Deleted links and deleted customers' links
// resolve to nothing.
func (db *DB) ResolveCode(ctx context.Context, code string) (*referral.LinkTarget, error) {
	var t referral.LinkTarget
	var dest sql.NullString
	var website, param string
	err := db.read.QueryRowContext(ctx, `SELECT l.program_id, l.id, l.code, l.destination_url, p.website_url, p.ref_param
		FROM referral_links l JOIN customers c ON c.id = l.customer_id JOIN programs p ON p.id = l.program_id
		WHERE l.code = $1 AND l.deleted_at IS NULL AND c.deleted_at IS NULL`, referral.NormalizeCode(code)).
		Scan(&t.ProgramID, &t.LinkID, &t.Code, &dest, &website, &param)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, referral.ErrLinkNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("resolve code: %w", err)
	}
	target := website
	if dest.Valid {
		target = dest.String
	}
	t.URL = referral.WithRef(target, param, t.Code)
	return &t, nil
}

// DefaultWebsite is where unknown codes go: the oldest program's website.
func (db *DB) DefaultWebsite(ctx context.Context) (string, error) {
	var u string
	err := db.read.QueryRowContext(ctx, `SELECT website_url FROM programs ORDER BY id LIMIT 1`).Scan(&u)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return u, err
}

// ClickCount says how many clicks are stored; load tests count with it.
func (db *DB) ClickCount(ctx context.Context, since time.Time) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM clicks WHERE created_at >= $1`, micros(since)).Scan(&n)
	return n, err
}
