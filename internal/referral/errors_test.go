package referral_test

import (
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
