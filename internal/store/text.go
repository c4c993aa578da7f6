package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/advocate-oss/advocate/internal/referral"
)

// BadText reports whether err is a text value that the database refused
// for holding NUL or invalid UTF-8 (PostgreSQL's 22021 and 22P05). The
// input boundaries refuse such values first; this is the last line, so
// that one that slips through is the client's 4xx, not a 500.
func BadText(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "22021" || pg.Code == "22P05"
	}
	return errors.Is(err, referral.ErrBadText)
}
