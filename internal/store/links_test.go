package store_test

import (
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

func TestLinks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		p.AllowedDomains = []string{"partner.io"}
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane"})
		create := func(programID, key, dest, code string) (*referral.Link, error) {
			q := *p
			q.ID = programID
			var l *referral.Link
			err := db.InTx(ctx, func(tx *store.Tx) (err error) {
				l, err = tx.CreateLink(ctx, &q, key, dest, code)
				return err
			})
			return l, err
		}
		del := func(programID, id string) error {
			return db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeleteLink(ctx, programID, id); return err })
		}

		generated, err := create(p.ID, "jane", "https://app.yoursite.com/signup", "")
		if err != nil {
			t.Fatal(err)
		}
		custom, err := create(p.ID, "jane", "https://partner.io/deal", "jane-partner")
		if err != nil {
			t.Fatal(err)
		}
		t.Run("created", func(t *testing.T) {
			if !regexp.MustCompile(`^JANE[2-9]{2}$`).MatchString(generated.Code) || generated.Code == jane.ReferralCode {
				t.Errorf("generated code %q, want a new JANE code", generated.Code)
			}
			if custom.Code != "JANE-PARTNER" || custom.Default || custom.CustomerKey != "jane" || custom.DestinationURL != "https://partner.io/deal" || !strings.HasPrefix(custom.ID, "rl_") {
				t.Errorf("custom link %+v", custom)
			}
		})
		t.Run("by code any case", func(t *testing.T) {
			l, err := db.LinkByCode(ctx, p.ID, "jane-Partner")
			if err != nil {
				t.Fatal(err)
			}
			if l.ID != custom.ID || l.CustomerID != jane.ID || l.DestinationURL != custom.DestinationURL || l.Default {
				t.Errorf("got %+v, want %+v", l, custom)
			}
			if _, err := db.LinkByCode(ctx, newProgram(t, db).ID, custom.Code); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("another program: %v, want ErrLinkNotFound", err)
			}
		})
		t.Run("customer links default first", func(t *testing.T) {
			ls, err := db.CustomerLinks(ctx, p.ID, "jane")
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, l := range ls {
				codes = append(codes, l.Code)
			}
			if want := []string{jane.ReferralCode, generated.Code, custom.Code}; !slices.Equal(codes, want) || !ls[0].Default {
				t.Errorf("got %v, want %v with the default first", codes, want)
			}
			if _, err := db.CustomerLinks(ctx, p.ID, "nobody"); !errors.Is(err, referral.ErrCustomerNotFound) {
				t.Errorf("unknown customer: %v", err)
			}
		})

		bad := []struct {
			name, programID, key, dest, code string
			kind                             referral.Kind
			fields                           []string
		}{
			{"other domain", p.ID, "jane", "https://evil.com", "", referral.KindInvalid, []string{"destination_url"}},
			{"lookalike domain", p.ID, "jane", "https://yoursite.com.evil.com/x", "", referral.KindInvalid, []string{"destination_url"}},
			{"not http", p.ID, "jane", "javascript:alert(1)", "", referral.KindInvalid, []string{"destination_url"}},
			{"bad code", p.ID, "jane", "https://yoursite.com", "a b", referral.KindInvalid, []string{"code"}},
			{"bad code and destination", p.ID, "jane", "ftp://yoursite.com", "x", referral.KindInvalid, []string{"code", "destination_url"}},
			{"unknown customer", p.ID, "nobody", "https://yoursite.com", "", referral.KindInvalid, []string{"customer_key"}},
			{"another program's customer", "prg_other", "jane", "https://yoursite.com", "", referral.KindInvalid, []string{"customer_key"}},
			{"code taken by a default link", p.ID, "jane", "https://yoursite.com", strings.ToLower(jane.ReferralCode), referral.KindConflict, []string{"code"}},
			{"code taken by an extra link", p.ID, "jane", "https://yoursite.com", "JANE-PARTNER", referral.KindConflict, []string{"code"}},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				n := count(t, db, "referral_links")
				_, err := create(tt.programID, tt.key, tt.dest, tt.code)
				e, ok := referral.AsError(err)
				if !ok || e.Kind != tt.kind || !slices.Equal(slices.Sorted(maps.Keys(e.Fields)), tt.fields) {
					t.Errorf("got %v, want kind %d naming %v", err, tt.kind, tt.fields)
				}
				if got := count(t, db, "referral_links"); got != n {
					t.Errorf("%d links, want %d", got, n)
				}
			})
		}

		t.Run("delete", func(t *testing.T) {
			if err := del(newProgram(t, db).ID, custom.ID); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("another program deleted the link: %v", err)
			}
			if err := del(p.ID, custom.ID); err != nil {
				t.Fatal(err)
			}
			if err := del(p.ID, custom.ID); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("second delete: %v, want ErrLinkNotFound", err)
			}
			if _, err := db.LinkByCode(ctx, p.ID, custom.Code); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("deleted link by code: %v, want ErrLinkNotFound", err)
			}
			ls, _ := db.CustomerLinks(ctx, p.ID, "jane")
			if len(ls) != 2 {
				t.Errorf("%d links listed, want 2 after the delete", len(ls))
			}
			// The code stays reserved: a shared link never starts pointing at someone else.
			_, err := create(p.ID, "jane", "https://yoursite.com", custom.Code)
			wantCode(t, err, "referral_code_taken")
			_, err = db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "k", Email: "k@x.com", Name: "K", ReferralCode: custom.Code})
			if !errors.Is(err, referral.ErrReferralCodeTaken) {
				t.Errorf("customer with a deleted link's code: %v, want ErrReferralCodeTaken", err)
			}
		})
		t.Run("default link not deletable", func(t *testing.T) {
			def, err := db.LinkByCode(ctx, p.ID, jane.ReferralCode)
			if err != nil {
				t.Fatal(err)
			}
			wantCode(t, del(p.ID, def.ID), "default_link_not_deletable")
			if _, err := db.LinkByCode(ctx, p.ID, jane.ReferralCode); err != nil {
				t.Errorf("default link gone: %v", err)
			}
		})
		t.Run("links of a deleted customer", func(t *testing.T) {
			if err := db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeleteCustomer(ctx, p.ID, "jane"); return err }); err != nil {
				t.Fatal(err)
			}
			if _, err := db.LinkByCode(ctx, p.ID, generated.Code); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("link of a deleted customer: %v, want ErrLinkNotFound", err)
			}
			if err := del(p.ID, generated.ID); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("deleting a link of a deleted customer: %v, want ErrLinkNotFound", err)
			}
		})
	})
}
