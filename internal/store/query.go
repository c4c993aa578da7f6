package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// add appends "expr $N" with arg as $N.
func (w *where) add(expr string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, expr+"$"+strconv.Itoa(len(w.args)))
}

// addIn appends "expr IN ($i, …)" for vals, which must not be empty.
func (w *where) addIn(expr string, vals []string) {
	var b strings.Builder
	b.WriteString(expr + " IN (")
	for i, v := range vals {
		w.args = append(w.args, v)
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(len(w.args)))
	}
	w.conds = append(w.conds, b.String()+")")
}

// addInPadded is addIn with vals padded to a power of two by repeating
// the last: lists of any length then share a few query texts, so that
// the statements kept prepared (stmtCache, bounded) stay few.
func (w *where) addInPadded(expr string, vals []string) {
	n := 1
	for n < len(vals) {
		n *= 2
	}
	padded := slices.Grow(slices.Clone(vals), n-len(vals))
	for len(padded) < n {
		padded = append(padded, vals[len(vals)-1])
	}
	w.addIn(expr, padded)
}

// cond appends a condition without an argument.
func (w *where) cond(expr string) { w.conds = append(w.conds, expr) }

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// keyset adds the cursor condition of a newest-first listing keyed by col
// and returns its ORDER BY and LIMIT clause: rows older than after (or all
// of them), or with before the rows newer than it in ascending order (see
// keysetPage), fetching one row more than limit to learn whether there are
// more. Call it before sql, and before reading args.
func (w *where) keyset(col, after, before string, limit int) string {
	order := " DESC"
	if before != "" {
		w.add(col+" > ", before)
		order = " ASC"
	} else if after != "" {
		w.add(col+" < ", after)
	}
	return " ORDER BY " + col + order + " LIMIT " + strconv.Itoa(limit+1)
}

// keysetPage cuts the extra row a keyset query fetched and says whether
// there was one, then puts a before page, read in ascending order, back
// newest first.
func keysetPage[T any](rows []T, before string, limit int) ([]T, bool) {
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	if before != "" {
		slices.Reverse(rows)
	}
	return rows, more
}

// Page is a keyset page request: at most Limit rows after the row whose id
// is After, in the listing's order.
type Page struct {
	Limit int
	After string
}

// DefaultLimit and MaxLimit bound every listing. ExportLimit bounds a
// dashboard listing read in batches for a CSV export; pages shown to
// people stay at MaxLimit.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	ExportLimit  = 1000
)

// pageLimit is the page size asked for: DefaultLimit when limit is not
// positive, at most most.
func pageLimit(limit, most int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, most)
}

func (p Page) limit() int { return pageLimit(p.Limit, MaxLimit) }

// keyset adds p's cursor to w for a newest-first listing keyed by col and
// returns its ORDER BY and LIMIT clause (see where.keyset).
func (p Page) keyset(w *where, col string) string { return w.keyset(col, p.After, "", p.limit()) }

// trim cuts the extra row fetched to learn whether there are more.
func trim[T any](p Page, rows []T) ([]T, bool) { return keysetPage(rows, "", p.limit()) }

// scanner is a row to scan: *sql.Row or *sql.Rows.
type scanner interface{ Scan(...any) error }

// eachRow runs a query and calls fn for every row: the one loop over rows
// in the store, so that none forgets to close them or to check their
// error. what names the query in errors.
func eachRow(ctx context.Context, q querier, what string, fn func(scanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// exists says whether query finds a row: the one "is there any" check, so
// that none mistakes sql.ErrNoRows for a failure. what names it in errors.
func exists(ctx context.Context, q querier, what, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return true, nil
}

// scanString reads a row of one text column.
func scanString(row scanner) (string, error) {
	var s string
	err := row.Scan(&s)
	return s, err
}

// queryAll runs a query and returns every row as scan reads it.
func queryAll[T any](ctx context.Context, q querier, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := eachRow(ctx, q, what, func(row scanner) error {
		v, err := scan(row)
		out = append(out, v)
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}
