package money

import (
	"encoding/json"
	"reflect"
)

// Number is a JSON number literal, kept as text like json.Number so that
// [Parse] reads it exactly. Unlike json.Number it refuses a JSON string
// when decoded: encoding/json lets "10" into a json.Number, but amounts are
// numbers on the wire, and a client sending strings should hear so rather
// than have it work by accident.
type Number string

// UnmarshalJSON accepts a JSON number and leaves n alone for null; anything
// else is a *json.UnmarshalTypeError, which encoding/json completes with
// the field's name.
func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		*n = Number(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[float64]()}
}

// MarshalJSON writes n as the number it holds, or null if it is empty.
func (n Number) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	return []byte(n), nil
}

// jsonKind names the JSON type of a value that is not a number.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "value"
	}
	switch b[0] {
	case '"':
		return "string"
	case '[':
		return "array"
	case '{':
		return "object"
	case 't', 'f':
		return "bool"
	}
	return "value"
}
