package referral_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
)

// TestValidationCodes: a lone problem with a code of its own (such as
// amount_too_large) keeps it; several problems are validation_failed; and
// problems added from another Error take the resource's code.
func TestValidationCodes(t *testing.T) {
	tests := []struct {
		name string
		add  func(v *referral.Validation)
		code string
	}{
		{"nothing", func(v *referral.Validation) {}, ""},
		{"plain", func(v *referral.Validation) { v.Add("name", "bad") }, "invalid_rule"},
		{"own code", func(v *referral.Validation) { v.AddCode("amount", "amount_too_large", "big") }, "amount_too_large"},
		{"own code among others", func(v *referral.Validation) {
			v.AddCode("amount", "amount_too_large", "big")
			v.Add("name", "bad")
		}, "validation_failed"},
		{"from another error", func(v *referral.Validation) {
			v.AddError(referral.FieldError("invalid_metadata", "metadata.a", "bad"))
		}, "invalid_rule"},
		{"nil error adds nothing", func(v *referral.Validation) { v.AddError(nil) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v referral.Validation
			tt.add(&v)
			err := v.Err("invalid_rule")
			if tt.code == "" {
				if err != nil {
					t.Errorf("got %v, want nil", err)
				}
				return
			}
			if e, ok := referral.AsError(err); !ok || e.Code != tt.code {
				t.Errorf("got %v, want code %s", err, tt.code)
			}
		})
	}
}

// TestValidationKeepsOtherErrors: an error AddError cannot split into
// fields is what Err returns, as it is, even beside field problems; it
// used to be dropped, and Err's nil then read as success.
func TestValidationKeepsOtherErrors(t *testing.T) {
	internal := errors.New("metadata: out of memory")
	noFields := referral.Errorf(referral.KindInvalid, "invalid_metadata", "Metadata must be a JSON object.")
	tests := []struct {
		name string
		add  func(v *referral.Validation)
		want error
	}{
		{"plain error", func(v *referral.Validation) { v.AddError(internal) }, internal},
		{"wrapped error", func(v *referral.Validation) { v.AddError(fmt.Errorf("parse: %w", internal)) }, internal},
		{"Error without fields", func(v *referral.Validation) { v.AddError(noFields) }, noFields},
		{"beside a field problem", func(v *referral.Validation) {
			v.Add("name", "bad")
			v.AddError(internal)
		}, internal},
		{"the first of two", func(v *referral.Validation) {
			v.AddError(noFields)
			v.AddError(internal)
		}, noFields},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v referral.Validation
			tt.add(&v)
			if err := v.Err("invalid_rule"); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
