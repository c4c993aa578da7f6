package referral_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

// metadataWith returns a JSON object of n keys.
func metadataWith(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = "v"
	}
	return m
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nested returns a value with depth arrays around 1.
func nested(depth int) string {
	return strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth)
}

func TestParseMetadata(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		set     map[string]any
		deleted []string
		field   string // the field a problem names; "" if ok
	}{
		{"absent", ``, map[string]any{}, nil, ""},
		{"null", `null`, map[string]any{}, nil, ""},
		{"values kept exactly", `{"plan":"pro","seats":3,"price":19.99,"tags":["a"],"x":{"y":true}}`,
			map[string]any{"plan": "pro", "seats": json.Number("3"), "price": json.Number("19.99"),
				"tags": []any{"a"}, "x": map[string]any{"y": true}}, nil, ""},
		{"null value is a deletion", `{"plan":null,"seats":1}`, map[string]any{"seats": json.Number("1")}, []string{"plan"}, ""},
		{"50 keys", string(mustJSON(t, metadataWith(50))), metadataWith(50), nil, ""},
		{"51 keys", string(mustJSON(t, metadataWith(51))), nil, nil, "metadata"},
		{"40 character key", `{"` + strings.Repeat("k", 40) + `":1}`, map[string]any{strings.Repeat("k", 40): json.Number("1")}, nil, ""},
		{"41 character key", `{"` + strings.Repeat("k", 41) + `":1}`, nil, nil, "metadata"},
		{"41 character nested key", `{"a":{"` + strings.Repeat("k", 41) + `":1}}`, nil, nil, "metadata.a"},
		{"empty key", `{"":1}`, nil, nil, "metadata"},
		{"over 8 KiB", `{"a":"` + strings.Repeat("x", 8<<10) + `"}`, nil, nil, "metadata"},
		{"array", `[1]`, nil, nil, "metadata"},
		{"string", `"x"`, nil, nil, "metadata"},
		{"number", `1`, nil, nil, "metadata"},
		{"500 character string", `{"a":"` + strings.Repeat("é", 500) + `"}`, map[string]any{"a": strings.Repeat("é", 500)}, nil, ""},
		{"501 character string", `{"a":"` + strings.Repeat("x", 501) + `"}`, nil, nil, "metadata.a"},
		{"long string nested", `{"a":[["` + strings.Repeat("x", 501) + `"]]}`, nil, nil, "metadata.a"},
		{"3 levels deep", `{"a":` + nested(3) + `}`, map[string]any{"a": []any{[]any{[]any{json.Number("1")}}}}, nil, ""},
		{"4 levels deep", `{"a":` + nested(4) + `}`, nil, nil, "metadata.a"},
		{"4 levels of objects", `{"a":{"b":{"c":{"d":{"e":1}}}}}`, nil, nil, "metadata.a"},
		{"1000 levels deep", `{"a":` + nested(1000) + `}`, nil, nil, "metadata.a"},
		{"number beyond float64", `{"a":1e400}`, nil, nil, "metadata.a"},
		{"negative number beyond float64", `{"n":-1e309}`, nil, nil, "metadata.n"},
		{"number underflowing to zero", `{"a":1e-400}`, nil, nil, "metadata.a"},
		{"integer beyond 2^53", `{"a":9007199254740993}`, nil, nil, "metadata.a"},
		{"too many digits", `{"a":0.1000000000000000001}`, nil, nil, "metadata.a"},
		{"bad number nested", `{"a":{"b":[1e400]}}`, nil, nil, "metadata.a"},
		{"largest float64", `{"a":1.7976931348623157e308}`, map[string]any{"a": json.Number("1.7976931348623157e308")}, nil, ""},
		{"2^53", `{"a":9007199254740992}`, map[string]any{"a": json.Number("9007199254740992")}, nil, ""},
		{"exact exponent forms", `{"a":1e20,"b":1.50,"c":-0,"d":0e999999999999999999999,"e":1E-7}`,
			map[string]any{"a": json.Number("1e20"), "b": json.Number("1.50"), "c": json.Number("-0"),
				"d": json.Number("0e999999999999999999999"), "e": json.Number("1E-7")}, nil, ""},
		{"two bad keys", `{"a":1e400,"b":1e400}`, nil, nil, "metadata.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, deleted, err := referral.ParseMetadata(json.RawMessage(tt.raw))
			if tt.field != "" {
				e, ok := referral.AsError(err)
				if !ok || e.Kind != referral.KindInvalid || e.Fields[tt.field] == "" {
					t.Fatalf("got %v, want a 422 naming %s", err, tt.field)
				}
				if len(e.Fields) == 1 && e.Code != "invalid_metadata" {
					t.Errorf("code %q, want invalid_metadata", e.Code)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want ok", err)
			}
			if !reflect.DeepEqual(set, tt.set) {
				t.Errorf("set = %#v, want %#v", set, tt.set)
			}
			if !slices.Equal(deleted, tt.deleted) {
				t.Errorf("deletions = %v, want %v", deleted, tt.deleted)
			}
		})
	}
}

func TestValidateMetadata(t *testing.T) {
	tests := []struct {
		name  string
		m     map[string]any
		field string
	}{
		{"nil", nil, ""},
		{"go values", map[string]any{"a": 1.5, "b": 3, "c": int64(7), "d": "x", "e": true, "f": []any{nil}}, ""},
		{"NaN", map[string]any{"a": math.NaN()}, "metadata.a"},
		{"infinity", map[string]any{"a": math.Inf(-1)}, "metadata.a"},
		{"int beyond float64's exact range", map[string]any{"a": int64(math.MaxInt64)}, "metadata.a"},
		{"unsupported type", map[string]any{"a": struct{}{}}, "metadata.a"},
		{"null at the top", map[string]any{"a": nil}, ""},
		{"json.Number out of range", map[string]any{"a": json.Number("1e400")}, "metadata.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := referral.ValidateMetadata(tt.m)
			if tt.field == "" {
				if err != nil {
					t.Errorf("got %v, want ok", err)
				}
				return
			}
			if e, ok := referral.AsError(err); !ok || e.Fields[tt.field] == "" {
				t.Errorf("got %v, want a problem with %s", err, tt.field)
			}
		})
	}
}

func TestMergeMetadata(t *testing.T) {
	tests := []struct {
		name    string
		old     map[string]any
		set     map[string]any
		deleted []string
		want    map[string]any
		ok      bool
	}{
		{"key by key", map[string]any{"plan": "free", "seats": 1}, map[string]any{"plan": "pro"}, nil,
			map[string]any{"plan": "pro", "seats": 1}, true},
		{"deletion", map[string]any{"plan": "free", "seats": 1}, nil, []string{"seats", "absent"},
			map[string]any{"plan": "free"}, true},
		{"delete and add in one", metadataWith(50), map[string]any{"new": 1}, []string{"k00"},
			func() map[string]any { m := metadataWith(50); delete(m, "k00"); m["new"] = 1; return m }(), true},
		{"over 50 keys", metadataWith(50), map[string]any{"new": 1}, nil, nil, false},
		{"over 8 KiB", map[string]any{"a": strings.Repeat("x", 5000)}, map[string]any{"b": strings.Repeat("x", 5000)}, nil, nil, false},
		{"stored value from older rules kept", map[string]any{"a": json.Number("1e400")}, map[string]any{"b": "x"}, nil,
			map[string]any{"a": json.Number("1e400"), "b": "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := maps.Clone(tt.old)
			got, err := referral.MergeMetadata(tt.old, tt.set, tt.deleted)
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(tt.old, before) {
				t.Errorf("the original was changed: %v", tt.old)
			}
		})
	}
}

// FuzzParseMetadata checks that whatever ParseMetadata accepts is within
// the limits and reads back the same through a float64-based JSON parser
// (as most clients have): stored metadata can always be served.
//
//	go test -run XXX -fuzz FuzzParseMetadata -fuzztime 30s ./internal/referral/
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{
		`{"a":1e400}`, `{"n":-1e309}`, `{"a":1e-400}`, `{"a":"10"}`, `{"a":92233720368547758.07}`,
		`{"a":9007199254740993}`, `{"a":1.7976931348623157e308}`, `{"a":-0}`, `{"a":0e99999999999999999999}`,
		`{"a":` + nested(4) + `}`, `{"a":` + nested(3) + `}`, `{"a":` + nested(5000) + `}`,
		`{"a":"` + strings.Repeat("x", 20000) + `"}`, "{\"a\":\"\xff\xfe\"}", "{\"\xff\":1}",
		`{"plan":"pro","seats":3,"price":19.99,"tags":["a"],"x":{"y":true},"z":null}`,
		`[]`, `null`, `1`, `{"a":1}{`, `{"a":1.000000000000000000000000001}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		set, deleted, err := referral.ParseMetadata(raw)
		if err != nil {
			e, ok := referral.AsError(err)
			if !ok || e.Kind != referral.KindInvalid || len(e.Fields) == 0 {
				t.Fatalf("error %v is not a 422 naming a field", err)
			}
			return
		}
		if len(set)+len(deleted) > referral.MaxMetadataKeys {
			t.Fatalf("%d keys accepted", len(set)+len(deleted))
		}
		b, err := json.Marshal(set)
		if err != nil {
			t.Fatalf("accepted metadata does not encode: %v", err)
		}
		// What is stored must decode with plain float64 numbers, and each
		// number must mean what was sent.
		var plain map[string]any
		if err := json.Unmarshal(b, &plain); err != nil {
			t.Fatalf("stored %s does not read back: %v", b, err)
		}
		var kept map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&kept); err != nil {
			t.Fatal(err)
		}
		checkNumbers(t, kept)
	})
}

// checkNumbers fails if a number in v changes value through float64.
func checkNumbers(t *testing.T, v any) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			t.Fatalf("accepted number %s does not fit a float64", x)
		}
		if f == 0 && strings.Trim(strings.Split(strings.ToLower(string(x)), "e")[0], "-0.") != "" {
			t.Fatalf("accepted number %s underflows to 0", x)
		}
	case []any:
		for _, e := range x {
			checkNumbers(t, e)
		}
	case map[string]any:
		for _, e := range x {
			checkNumbers(t, e)
		}
	}
}
