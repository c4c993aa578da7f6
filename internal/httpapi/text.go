package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/advocate-oss/advocate/internal/referral"
)

// The API refuses text that PostgreSQL cannot store (NUL characters,
// invalid UTF-8) where it enters, for every body field, query parameter
// and path segment alike, so that both engines answer the same 4xx and no
// handler has to remember a check of its own.

// nulEscape marks where a body had invalid UTF-8: decoded, it is a NUL,
// which the walk over the decoded strings then finds and names.
var nulEscape = []byte(`\u0000`)

// markInvalidUTF8 replaces each invalid UTF-8 sequence of a JSON body with
// an escaped NUL. encoding/json would otherwise turn it into U+FFFD
// silently. Only a body that is valid JSON is rewritten: there every
// invalid byte is inside a string and not after a backslash, so the
// escape lands in that string and nowhere else.
func markInvalidUTF8(body []byte) []byte {
	if utf8.Valid(body) || !json.Valid(body) {
		return body
	}
	return bytes.ToValidUTF8(body, nulEscape)
}

// badText returns the JSON path of the first string in v, a decoded body,
// that is not valid text (map keys included), or "". Raw JSON fields
// (metadata) are decoded and walked too.
func badText(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.String:
		if !referral.ValidText(v.String()) {
			return path
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return badText(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		// A type that decodes itself (rewards.Optional) wraps what the
		// client sent: its fields are not names in the body.
		wrapper := reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]())
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			sub := join(path, name)
			if wrapper || f.Anonymous && f.Tag.Get("json") == "" {
				sub = path
			}
			if p := badText(v.Field(i), sub); p != "" {
				return p
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			if k.Kind() == reflect.String && !referral.ValidText(k.String()) {
				return path // the key itself is unfit to name a field
			}
			if p := badText(v.MapIndex(k), join(path, k.String())); p != "" {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			var raw any
			if json.Unmarshal(v.Bytes(), &raw) != nil {
				return ""
			}
			return badText(reflect.ValueOf(&raw).Elem(), path)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return ""
		}
		for i := range v.Len() {
			if p := badText(v.Index(i), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	}
	return ""
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkText refuses a request whose path segments or query parameters
// hold text that cannot be stored: a path that cannot exist is a 404, a
// query parameter a 422 that names it. params are the route's wildcards.
func checkText(params []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range params {
			if !referral.ValidText(r.PathValue(p)) {
				writeProblem(w, http.StatusNotFound, errNotFound)
				return
			}
		}
		if name, bad := referral.BadValue(r.URL.Query()); bad {
			e := referral.BadTextError(name)
			e.Code = "invalid_parameter"
			writeProblem(w, http.StatusUnprocessableEntity, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// wildcards lists the names of a route pattern's {wildcards}.
func wildcards(pattern string) []string {
	var names []string
	for {
		_, rest, ok := strings.Cut(pattern, "{")
		if !ok {
			return names
		}
		name, after, _ := strings.Cut(rest, "}")
		name = strings.TrimSuffix(name, "...")
		if name != "$" {
			names = append(names, name)
		}
		pattern = after
	}
}
