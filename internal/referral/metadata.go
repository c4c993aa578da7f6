package referral

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on metadata, in the spirit of Stripe's (50 keys, 40-character
// keys, 500-character values). Unlike Stripe, values may be any JSON value,
// so nesting and numbers are bounded too: every value must read back the
// same in any client, including JavaScript and other float64 parsers.
const (
	MaxMetadataKeys      = 50      // keys of the top-level object
	MaxMetadataKeyLen    = 40      // bytes of any object key, nested ones too
	MaxMetadataStringLen = 500     // characters of any string value
	MaxMetadataDepth     = 3       // objects and arrays nested inside one value
	MaxMetadataBytes     = 8 << 10 // the whole object as JSON
)

// metadataError names the field of a metadata problem: "metadata" for the
// object as a whole, "metadata.<key>" for one key's value.
func metadataError(field, message string) *Error {
	return FieldError("invalid_metadata", field, message)
}

// ParseMetadata reads a metadata object from JSON. A null value means
// "delete this key" when merging; deletions lists those keys, and set never
// holds nil values. Numbers stay json.Number, so that they are stored as
// they were sent. Every value is checked with ValidateMetadata.
func ParseMetadata(raw json.RawMessage) (set map[string]any, deletions []string, err error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return map[string]any{}, nil, nil
	}
	if len(raw) > MaxMetadataBytes {
		return nil, nil, metadataError("metadata", "Metadata must be at most 8 KiB of JSON.")
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, nil, metadataError("metadata", "Metadata must be a JSON object.")
	}
	set = make(map[string]any, len(m))
	for k, v := range m {
		if v == nil {
			deletions = append(deletions, k)
			continue
		}
		set[k] = v
	}
	sort.Strings(deletions)
	if err := validateMetadata(m, true); err != nil {
		return nil, nil, err
	}
	return set, deletions, nil
}

// ValidateMetadata checks metadata against the limits: at most
// MaxMetadataKeys keys of 1 to MaxMetadataKeyLen bytes, string values of at
// most MaxMetadataStringLen characters, arrays and objects nested at most
// MaxMetadataDepth deep inside a value, numbers that a float64 holds
// exactly as written (see metadataNumber), and MaxMetadataBytes in all. Each
// bad key is named as its own field, "metadata.<key>".
func ValidateMetadata(m map[string]any) error {
	return validateMetadata(m, false)
}

// validateMetadata is ValidateMetadata; with nullDeletes, top-level nulls
// are deletions and pass.
func validateMetadata(m map[string]any, nullDeletes bool) error {
	if len(m) > MaxMetadataKeys {
		return metadataError("metadata", "Metadata may have at most 50 keys.")
	}
	var v Validation
	for k, val := range m {
		if msg := metadataKey(k); msg != "" {
			v.AddCode("metadata", "invalid_metadata", msg)
			continue
		}
		if val == nil && nullDeletes {
			continue
		}
		if msg := metadataValue(val, 0); msg != "" {
			v.AddCode("metadata."+k, "invalid_metadata", msg)
		}
	}
	if err := v.Err("invalid_metadata"); err != nil {
		return err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return metadataError("metadata", "Metadata must be JSON.")
	}
	if len(b) > MaxMetadataBytes {
		return metadataError("metadata", "Metadata must be at most 8 KiB of JSON.")
	}
	return nil
}

func metadataKey(k string) string {
	if k == "" || len(k) > MaxMetadataKeyLen {
		return "Metadata keys must be 1 to 40 characters."
	}
	return ""
}

// metadataValue reports a problem with one value at the given depth of
// nesting, or "".
func metadataValue(val any, depth int) string {
	switch x := val.(type) {
	case nil, bool:
		return ""
	case string:
		if utf8.RuneCountInString(x) > MaxMetadataStringLen {
			return "Strings in metadata must be at most 500 characters."
		}
		return ""
	case json.Number:
		return metadataNumber(string(x))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "Numbers in metadata must be finite."
		}
		return ""
	case int:
		return metadataNumber(strconv.Itoa(x))
	case int64:
		return metadataNumber(strconv.FormatInt(x, 10))
	case []any:
		if depth >= MaxMetadataDepth {
			return "Metadata values may nest arrays and objects at most 3 deep."
		}
		for _, e := range x {
			if msg := metadataValue(e, depth+1); msg != "" {
				return msg
			}
		}
		return ""
	case map[string]any:
		if depth >= MaxMetadataDepth {
			return "Metadata values may nest arrays and objects at most 3 deep."
		}
		for k, e := range x {
			if msg := metadataKey(k); msg != "" {
				return msg
			}
			if msg := metadataValue(e, depth+1); msg != "" {
				return msg
			}
		}
		return ""
	}
	return "Metadata values must be strings, numbers, booleans, arrays or objects."
}

// metadataNumber accepts a JSON number literal only when the nearest
// float64 is the same number: converting it to float64 and back to the
// shortest decimal that identifies that float gives the value written.
// So 19.99, 1e20 and 0.1 pass, but 1e400 and -1e309 (beyond float64),
// 1e-400 (underflows to 0) and 9007199254740993 or 0.1000000000000000001
// (more digits than a float64 holds) are refused: a client reading them
// back would get another number, or fail to read them at all. Send such
// values as strings.
func metadataNumber(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return "Numbers in metadata must fit a 64-bit float (about ±1.8e308); send larger values as strings."
	}
	if !sameDecimal(s, strconv.FormatFloat(f, 'g', -1, 64)) {
		return "Numbers in metadata may have at most the 15 to 17 significant digits a 64-bit float holds; send longer numbers as strings."
	}
	return ""
}

// sameDecimal reports whether two decimal literals (as JSON or
// strconv.FormatFloat writes them) have the same value.
func sameDecimal(a, b string) bool {
	na, ea, oka := normDecimal(a)
	nb, eb, okb := normDecimal(b)
	if !oka || !okb {
		return false
	}
	if strings.TrimPrefix(na, "-") == "" { // zero: -0 and 0e5 are 0 too
		return strings.TrimPrefix(nb, "-") == ""
	}
	return na == nb && ea == eb
}

// normDecimal writes s as a signed significand without leading or trailing
// zeros and the power of ten it is scaled by. The exponent is clamped, which
// does not change the comparison for the short literals metadata holds.
func normDecimal(s string) (sig string, exp int64, ok bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		e, err := strconv.ParseInt(strings.TrimPrefix(expPart, "+"), 10, 64)
		if err != nil {
			if len(expPart) == 0 {
				return "", 0, false
			}
			e = math.MaxInt32 // a huge exponent; only reached for zero
			if expPart[0] == '-' {
				e = -e
			}
		}
		exp = max(min(e, math.MaxInt32), -math.MaxInt32)
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	exp -= int64(len(frac))
	trimmed := strings.TrimRight(digits, "0")
	exp += int64(len(digits) - len(trimmed))
	sig = strings.TrimLeft(trimmed, "0")
	if neg {
		sig = "-" + sig
	}
	return sig, exp, true
}

// MergeMetadata applies set and deletions to m key by key and checks the
// result still fits the limits on the number of keys and the size. The
// values of set must have been checked (ParseMetadata does); those already
// stored are kept as they are, even if older rules allowed more.
func MergeMetadata(m map[string]any, set map[string]any, deletions []string) (map[string]any, error) {
	out := make(map[string]any, len(m)+len(set))
	for k, v := range m {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	for _, k := range deletions {
		delete(out, k)
	}
	if len(out) > MaxMetadataKeys {
		return nil, metadataError("metadata", "Metadata may have at most 50 keys.")
	}
	if b, err := json.Marshal(out); err != nil || len(b) > MaxMetadataBytes {
		return nil, metadataError("metadata", "Metadata must be at most 8 KiB of JSON.")
	}
	return out, nil
}
