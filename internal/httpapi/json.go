package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/advocate-oss/advocate/internal/referral"
)

// maxBodyBytes caps every request body.
const maxBodyBytes = 1 << 20

var (
	errBodyTooLarge = referral.Errorf(referral.KindMalformed, "body_too_large", "The request body is larger than 1 MiB.")
	errMediaType    = referral.Errorf(referral.KindMalformed, "unsupported_media_type", "Send the body as JSON with 'Content-Type: application/json'.")
	errEmptyBody    = referral.Errorf(referral.KindMalformed, "empty_body", "The request needs a JSON object body.")
)

// readBody returns the request body, enforcing the size cap and the JSON
// content type. Bodies are read whole once so that idempotency can hash
// them and decode can be strict.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, referral.Errorf(referral.KindMalformed, "unreadable_body", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) > 0 {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, errMediaType
		}
	}
	return body, nil
}

// readNoFields reads the body of an action that takes no fields: none, or
// an empty JSON object; anything else is refused as decode refuses it.
func readNoFields(r *http.Request) error {
	body, err := readBody(r)
	if err != nil || len(body) == 0 {
		return err
	}
	var in struct{}
	return decode(body, &in)
}

// decode reads body into v strictly: one JSON object, no unknown fields, no
// trailing data, every type right, and every string storable text (no NUL,
// valid UTF-8). Each failure names what is wrong.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errEmptyBody
	}
	dec := json.NewDecoder(bytes.NewReader(markInvalidUTF8(body)))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); err != io.EOF {
			return referral.Errorf(referral.KindMalformed, "malformed_json", "The body must hold exactly one JSON object.")
		}
		if field := badText(reflect.ValueOf(v), ""); field != "" {
			return referral.BadTextError(field)
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return referral.Errorf(referral.KindMalformed, "malformed_json", "The body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return referral.Errorf(referral.KindMalformed, "malformed_json", "The body must be a JSON object.")
		}
		msg := fmt.Sprintf("Must be %s.", jsonTypeName(typ.Type.Kind().String()))
		return &referral.Error{Kind: referral.KindInvalid, Code: "invalid_field_type", Message: typ.Field + ": " + msg, Fields: map[string]string{typ.Field: msg}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &referral.Error{Kind: referral.KindInvalid, Code: "unknown_field", Message: fmt.Sprintf("Unknown field %q.", name),
			Fields: map[string]string{name: "Unknown field."}}
	default:
		return referral.Errorf(referral.KindMalformed, "malformed_json", "The body could not be decoded: %s.", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	}
	return "of another type"
}

// writeJSON sends v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// encodeJSON is the body writeJSON writes, as bytes.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	err := json.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}
