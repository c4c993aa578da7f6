// Package referral holds Advocate's domain: programs, customers, referral
// codes and links, API keys, and the rules that keep them valid. It knows
// nothing of HTTP or SQL.
package referral

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Kind says what sort of failure an Error is; the API maps it to a status.
type Kind int

// The kinds of failure, each with one HTTP status in httpapi.
const (
	KindInternal     Kind = iota
	KindInvalid           // 422: well-formed but breaks a rule
	KindMalformed         // 400: cannot be read
	KindNotFound          // 404
	KindConflict          // 409
	KindUnauthorized      // 401
	KindForbidden         // 403
	KindTooMany           // 429
)

// Error is a failure a client caused, with a stable machine code, a message
// a person can act on, and per-field messages for validation failures.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code + ": " + e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(e.Code + ": " + e.Message)
	for _, k := range keys {
		fmt.Fprintf(&b, "; %s: %s", k, e.Fields[k])
	}
	return b.String()
}

// Errorf returns an Error of the given kind and code.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns a validation Error about one field.
func FieldError(code, field, message string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message, Fields: map[string]string{field: message}}
}

// AsError returns the *Error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Validation gathers field problems so that one response names them all.
type Validation struct {
	fields map[string]string
	codes  map[string]string // a field's own code, such as amount_too_large
	other  error             // the first error AddError had no fields of
}

// Add records a problem with field; the first problem per field wins.
func (v *Validation) Add(field, message string) {
	v.AddCode(field, "", message)
}

// AddCode records a problem with field that has a code of its own, which
// the Error carries when it is the only problem.
func (v *Validation) AddCode(field, code, message string) {
	if v.fields == nil {
		v.fields = map[string]string{}
	}
	if _, ok := v.fields[field]; !ok {
		v.fields[field] = message
		if code != "" {
			if v.codes == nil {
				v.codes = map[string]string{}
			}
			v.codes[field] = code
		}
	}
}

// AddError records every field problem of err, an *Error with Fields (nil
// adds nothing), under the code Err is given: a resource's problems share
// its code, whichever rule found them. Any other error is kept as it is
// and Err returns it, so that no failure can vanish into a nil.
func (v *Validation) AddError(err error) {
	if err == nil {
		return
	}
	e, ok := AsError(err)
	if !ok || len(e.Fields) == 0 {
		if v.other == nil {
			v.other = err
		}
		return
	}
	for f, m := range e.Fields {
		v.Add(f, m)
	}
}

// Err returns nil when nothing was added, the first error without fields
// that AddError got if there was one, else a KindInvalid Error. With a
// single field the Error's code is that field's own code if it has one,
// else code; with several it is "validation_failed".
func (v *Validation) Err(code string) error {
	if v.other != nil {
		return v.other
	}
	if len(v.fields) == 0 {
		return nil
	}
	if len(v.fields) > 1 {
		code = "validation_failed"
	}
	for f := range v.fields {
		if c := v.codes[f]; c != "" && len(v.fields) == 1 {
			code = c
		}
	}
	msg := "The request has invalid fields."
	if len(v.fields) == 1 {
		for _, m := range v.fields {
			msg = m
		}
	}
	return &Error{Kind: KindInvalid, Code: code, Message: msg, Fields: v.fields}
}

// Common errors shared by several resources.
var (
	ErrCustomerNotFound = Errorf(KindNotFound, "customer_not_found", "No customer with that key exists in this program.")
	ErrLinkNotFound     = Errorf(KindNotFound, "referral_link_not_found", "No referral link with that id exists in this program.")
	ErrProgramNotFound  = Errorf(KindNotFound, "program_not_found", "No program with that id exists.")
)
