package store

import (
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

// cond appends a condition without an argument.
func (w *where) cond(expr string) { w.conds = append(w.conds, expr) }

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Page is a keyset page request: at most Limit rows after the row whose id
// is After, in the listing's order.
type Page struct {
	Limit int
	After string
}

// DefaultLimit and MaxLimit bound every listing.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

func (p Page) limit() int {
	if p.Limit <= 0 {
		return DefaultLimit
	}
	return min(p.Limit, MaxLimit)
}

// trim cuts the extra row fetched to learn whether there are more.
func trim[T any](p Page, rows []T) ([]T, bool) {
	if len(rows) > p.limit() {
		return rows[:p.limit()], true
	}
	return rows, false
}
