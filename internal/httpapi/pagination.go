package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

// list is the envelope of every listing.
type list[T any] struct {
	Data       []T     `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
}

// page reads ?limit= and ?cursor=. Cursors are opaque to clients: the id of
// the last row, base64url-encoded; idPrefix says which ids are valid.
func page(r *http.Request, idPrefix string) (store.Page, error) {
	var p store.Page
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return p, referral.FieldError("invalid_limit", "limit", "Limit must be a whole number from 1 to 100.")
		}
		p.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || !strings.HasPrefix(string(b), idPrefix+"_") || len(b) > 64 || !referral.ValidText(string(b)) {
			return p, &referral.Error{Kind: referral.KindMalformed, Code: "invalid_cursor",
				Message: "The cursor is not one this API returned; pass next_cursor from the previous page.",
				Fields:  map[string]string{"cursor": "Unknown cursor."}}
		}
		p.After = string(b)
	}
	return p, nil
}

// newList builds the envelope; last gives the id of an item.
func newList[T, S any](items []S, more bool, convert func(S) T, lastID func(S) string) list[T] {
	out := list[T]{Data: make([]T, 0, len(items)), HasMore: more}
	for _, it := range items {
		out.Data = append(out.Data, convert(it))
	}
	if more && len(items) > 0 {
		c := base64.RawURLEncoding.EncodeToString([]byte(lastID(items[len(items)-1])))
		out.NextCursor = &c
	}
	return out
}
