package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

func TestCreateCustomer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		jane := newCustomer(t, db, p, referral.NewCustomer{
			Key: "cus_jane", Email: " Jane.Doe@X.com ", Name: " Jane Doe ", Metadata: map[string]any{"plan": "pro"},
		})

		t.Run("stored form", func(t *testing.T) {
			if !regexp.MustCompile(`^JANE[2-9]{2}$`).MatchString(jane.ReferralCode) {
				t.Errorf("code %q, want JANE and two digits", jane.ReferralCode)
			}
			got, err := db.Customer(ctx, p.ID, "cus_jane")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, jane) {
				t.Errorf("read back %+v, want %+v", got, jane)
			}
			if got.Email != "Jane.Doe@X.com" || got.Name != "Jane Doe" || got.ReferredBy != "" || !strings.HasPrefix(got.ID, "cus_") {
				t.Errorf("got %+v, want trimmed email and name, not referred", got)
			}
		})
		t.Run("default link", func(t *testing.T) {
			l, err := db.LinkByCode(ctx, p.ID, strings.ToLower(jane.ReferralCode))
			if err != nil {
				t.Fatal(err)
			}
			if !l.Default || l.CustomerID != jane.ID || l.CustomerKey != "cus_jane" || l.DestinationURL != "" {
				t.Errorf("got %+v, want jane's default link", l)
			}
		})
		t.Run("event", func(t *testing.T) {
			evs := events(t, db, p.ID)
			if len(evs) != 1 || evs[0].Type != "customer.created" || evs[0].Data["customer_key"] != "cus_jane" || evs[0].Data["customer_id"] != jane.ID {
				t.Errorf("events %+v, want one customer.created for jane", evs)
			}
		})
		t.Run("custom code", func(t *testing.T) {
			c := newCustomer(t, db, p, referral.NewCustomer{Key: "vip", Email: "vip@x.com", Name: "V", ReferralCode: " vip-2025 "})
			if c.ReferralCode != "VIP-2025" {
				t.Errorf("code %q, want VIP-2025", c.ReferralCode)
			}
		})
		t.Run("same key and email in another program", func(t *testing.T) {
			other := newProgram(t, db)
			c := newCustomer(t, db, other, referral.NewCustomer{Key: "cus_jane", Email: "jane.doe@x.com", Name: "Jane"})
			if c.ID == jane.ID || c.ReferralCode == jane.ReferralCode {
				t.Errorf("got %+v: programs share a customer or a code", c)
			}
			if _, err := db.Customer(ctx, other.ID, "vip"); !errors.Is(err, referral.ErrCustomerNotFound) {
				t.Errorf("program B sees program A's customer: %v", err)
			}
			// Codes are unique across programs, so that /r/{code} is never ambiguous.
			_, err := db.CreateCustomer(ctx, other, referral.NewCustomer{Key: "vip", Email: "vip@x.com", Name: "V", ReferralCode: "VIP-2025"})
			if !errors.Is(err, referral.ErrReferralCodeTaken) {
				t.Errorf("program A's code in program B: %v, want ErrReferralCodeTaken", err)
			}
		})

		bad := []struct {
			name string
			in   referral.NewCustomer
			want error
			code string
		}{
			{"duplicate key", referral.NewCustomer{Key: "cus_jane", Email: "other@x.com", Name: "O"}, referral.ErrCustomerKeyTaken, ""},
			{"duplicate email any case", referral.NewCustomer{Key: "k2", Email: "JANE.DOE@x.COM", Name: "O"}, referral.ErrCustomerEmailTaken, ""},
			{"custom code taken", referral.NewCustomer{Key: "k3", Email: "k3@x.com", Name: "O", ReferralCode: strings.ToLower(jane.ReferralCode)}, referral.ErrReferralCodeTaken, ""},
			{"unknown referrer", referral.NewCustomer{Key: "k4", Email: "k4@x.com", Name: "O", ReferredBy: "NOPE99"}, referral.ErrUnknownReferralCode, ""},
			{"self referral by email", referral.NewCustomer{Key: "k5", Email: "janedoe+2@x.com", Name: "J", ReferredBy: jane.ReferralCode}, referral.ErrSelfReferral, ""},
			{"invalid fields", referral.NewCustomer{Key: "", Email: "nope", Name: "O"}, nil, "validation_failed"},
			{"invalid custom code", referral.NewCustomer{Key: "k6", Email: "k6@x.com", Name: "O", ReferralCode: "a b"}, nil, "invalid_customer"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				customers, links, evs := count(t, db, "customers"), count(t, db, "referral_links"), count(t, db, "events")
				_, err := db.CreateCustomer(ctx, p, tt.in)
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("got %v, want %v", err, tt.want)
				}
				if tt.code != "" {
					wantCode(t, err, tt.code)
				}
				if got := []int{count(t, db, "customers"), count(t, db, "referral_links"), count(t, db, "events")}; !slices.Equal(got, []int{customers, links, evs}) {
					t.Errorf("rows (customers, links, events) went from %v to %v", []int{customers, links, evs}, got)
				}
			})
		}
	})
}

func TestReferral(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane"})
		before := len(events(t, db, p.ID))

		friend := newCustomer(t, db, p, referral.NewCustomer{Key: "friend", Email: "friend@x.com", Name: "Friend", ReferredBy: strings.ToLower(jane.ReferralCode)})
		if friend.ReferredBy != jane.ReferralCode || friend.ReferrerID != jane.ID || friend.ReferrerKey != "jane" {
			t.Errorf("got %+v, want referred by jane", friend)
		}
		got, err := db.Customer(ctx, p.ID, "friend")
		if err != nil || !reflect.DeepEqual(got, friend) {
			t.Errorf("read back %+v (%v), want %+v", got, err, friend)
		}
		evs := events(t, db, p.ID)[before:]
		// A program without rules rewards referrers for nothing, so the
		// signup itself makes the referral successful (docs/rewards.md).
		if len(evs) != 3 || evs[0].Type != "customer.created" || evs[1].Type != "referral.created" || evs[2].Type != "referral.successful" {
			t.Fatalf("events %+v, want customer.created, referral.created and referral.successful", evs)
		}
		if want := map[string]any{"customer_id": friend.ID, "referrer_id": jane.ID}; !reflect.DeepEqual(evs[2].Data, want) {
			t.Errorf("referral.successful data %v, want %v", evs[2].Data, want)
		}
		want := map[string]any{"customer_id": friend.ID, "customer_key": "friend", "referrer_id": jane.ID, "referrer_key": "jane", "referral_code": jane.ReferralCode}
		if !reflect.DeepEqual(evs[1].Data, want) {
			t.Errorf("referral.created data %v, want %v", evs[1].Data, want)
		}

		t.Run("a failed referral writes no event", func(t *testing.T) {
			n := len(events(t, db, p.ID))
			_, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "again", Email: "Jane+alt@x.com", Name: "J", ReferredBy: jane.ReferralCode})
			if !errors.Is(err, referral.ErrSelfReferral) {
				t.Fatalf("got %v, want ErrSelfReferral", err)
			}
			if got := len(events(t, db, p.ID)); got != n {
				t.Errorf("%d events, want %d", got, n)
			}
		})
		t.Run("through an extra link", func(t *testing.T) {
			var l *referral.Link
			err := db.InTx(ctx, func(tx *store.Tx) (err error) {
				l, err = tx.CreateLink(ctx, p, "jane", "https://yoursite.com/blog", "JANEBLOG")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			c := newCustomer(t, db, p, referral.NewCustomer{Key: "reader", Email: "reader@x.com", Name: "R", ReferredBy: "janeblog"})
			if c.ReferrerID != jane.ID || c.ReferredBy != "JANEBLOG" {
				t.Errorf("got %+v, want referred by jane through JANEBLOG", c)
			}
			// A removed link still attributes: the friend did follow jane's link.
			if err := db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeleteLink(ctx, p.ID, l.ID); return err }); err != nil {
				t.Fatal(err)
			}
			c = newCustomer(t, db, p, referral.NewCustomer{Key: "late", Email: "late@x.com", Name: "L", ReferredBy: "JANEBLOG"})
			if c.ReferrerID != jane.ID {
				t.Errorf("got %+v, want referred by jane through the deleted link", c)
			}
		})
		t.Run("codes are scoped to the program", func(t *testing.T) {
			other := newProgram(t, db)
			_, err := db.CreateCustomer(ctx, other, referral.NewCustomer{Key: "x", Email: "x@x.com", Name: "X", ReferredBy: jane.ReferralCode})
			if !errors.Is(err, referral.ErrUnknownReferralCode) {
				t.Errorf("got %v, want ErrUnknownReferralCode", err)
			}
		})
	})
}

func TestCustomersList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		stepClock(db, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		p := newProgram(t, db)
		var cs []*referral.Customer
		for i := range 7 {
			in := referral.NewCustomer{Key: fmt.Sprint("c", i), Email: fmt.Sprintf("c%d@x.com", i), Name: fmt.Sprint("Customer ", i)}
			if i == 1 || i == 3 {
				in.ReferredBy = cs[0].ReferralCode
			}
			cs = append(cs, newCustomer(t, db, p, in))
		}
		if err := db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeleteCustomer(ctx, p.ID, "c5"); return err }); err != nil {
			t.Fatal(err)
		}
		yes, no := true, false
		tests := []struct {
			name   string
			filter store.CustomerFilter
			pages  [][]string
		}{
			{"all newest first", store.CustomerFilter{}, [][]string{{"c6", "c4", "c3", "c2", "c1", "c0"}}},
			{"pages", store.CustomerFilter{Page: store.Page{Limit: 2}}, [][]string{{"c6", "c4"}, {"c3", "c2"}, {"c1", "c0"}}},
			{"uneven pages", store.CustomerFilter{Page: store.Page{Limit: 4}}, [][]string{{"c6", "c4", "c3", "c2"}, {"c1", "c0"}}},
			{"email any case", store.CustomerFilter{Email: "C3@X.COM"}, [][]string{{"c3"}}},
			{"deleted email", store.CustomerFilter{Email: "c5@x.com"}, [][]string{nil}},
			{"referred", store.CustomerFilter{Referred: &yes}, [][]string{{"c3", "c1"}}},
			{"not referred", store.CustomerFilter{Referred: &no, Page: store.Page{Limit: 3}}, [][]string{{"c6", "c4", "c2"}, {"c0"}}},
			{"referred and email", store.CustomerFilter{Referred: &yes, Email: "c2@x.com"}, [][]string{nil}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := tt.filter
				for i, want := range tt.pages {
					got, more, err := db.Customers(ctx, p.ID, f)
					if err != nil {
						t.Fatal(err)
					}
					var keys []string
					for _, c := range got {
						keys = append(keys, c.Key)
					}
					if !slices.Equal(keys, want) {
						t.Errorf("page %d: got %v, want %v", i, keys, want)
					}
					if wantMore := i < len(tt.pages)-1; more != wantMore {
						t.Errorf("page %d: has more %v, want %v", i, more, wantMore)
					}
					if len(got) > 0 {
						f.After = got[len(got)-1].ID
					}
				}
			})
		}
		t.Run("another program", func(t *testing.T) {
			got, more, err := db.Customers(ctx, newProgram(t, db).ID, store.CustomerFilter{})
			if err != nil || len(got) != 0 || more {
				t.Errorf("got %d customers, more=%v, err=%v; want none", len(got), more, err)
			}
		})
		t.Run("referrer key in list", func(t *testing.T) {
			got, _, err := db.Customers(ctx, p.ID, store.CustomerFilter{Email: "c1@x.com"})
			if err != nil || len(got) != 1 || got[0].ReferrerKey != "c0" || got[0].ReferredBy != cs[0].ReferralCode {
				t.Errorf("got %+v (%v), want c1 referred by c0", got, err)
			}
		})
	})
}

func TestCustomersLimits(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		err := db.InTx(ctx, func(tx *store.Tx) error {
			for i := range store.MaxLimit + 1 {
				if _, err := tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: fmt.Sprint("k", i), Email: fmt.Sprintf("k%d@x.com", i), Name: "Sam"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name  string
			limit int
			want  int
		}{
			{"default", 0, store.DefaultLimit},
			{"one", 1, 1},
			{"capped", 1000, store.MaxLimit},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, more, err := db.Customers(ctx, p.ID, store.CustomerFilter{Page: store.Page{Limit: tt.limit}})
				if err != nil || len(got) != tt.want || !more {
					t.Errorf("got %d, more=%v, err=%v; want %d and more", len(got), more, err, tt.want)
				}
			})
		}
	})
}

func TestUpdateCustomer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		stepClock(db, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		p := newProgram(t, db)
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane", Metadata: map[string]any{"plan": "free", "seats": 1.0}})
		john := newCustomer(t, db, p, referral.NewCustomer{Key: "john", Email: "john@x.com", Name: "John"})
		newCustomer(t, db, p, referral.NewCustomer{Key: "ann", Email: "ann@x.com", Name: "Ann"})
		update := func(programID, key string, u referral.CustomerUpdate) (*referral.Customer, error) {
			var c *referral.Customer
			q := *p
			q.ID = programID
			err := db.InTx(ctx, func(tx *store.Tx) (err error) {
				c, err = tx.UpdateCustomer(ctx, &q, key, u)
				return err
			})
			return c, err
		}
		str := func(s string) *string { return &s }

		t.Run("fields and metadata merge", func(t *testing.T) {
			n := len(events(t, db, p.ID))
			c, err := update(p.ID, "jane", referral.CustomerUpdate{
				Name: str(" Jane Doe "), Email: str("jane.doe@x.com"),
				MetadataSet: map[string]any{"plan": "pro", "team": "a"}, MetadataDel: []string{"seats"},
			})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := db.Customer(ctx, p.ID, "jane")
			want := map[string]any{"plan": "pro", "team": "a"}
			if !reflect.DeepEqual(got, c) || got.Name != "Jane Doe" || got.Email != "jane.doe@x.com" || !reflect.DeepEqual(got.Metadata, want) {
				t.Errorf("got %+v, want the new name, email and metadata %v", got, want)
			}
			if !got.UpdatedAt.After(jane.UpdatedAt) || !got.CreatedAt.Equal(jane.CreatedAt) || got.ReferralCode != jane.ReferralCode {
				t.Errorf("got %+v, want only updated_at to move", got)
			}
			if types := eventTypes(t, db, p.ID)[n:]; !slices.Equal(types, []string{"customer.updated"}) {
				t.Errorf("events %v, want customer.updated", types)
			}
		})
		t.Run("nothing given changes nothing", func(t *testing.T) {
			before, _ := db.Customer(ctx, p.ID, "jane")
			c, err := update(p.ID, "jane", referral.CustomerUpdate{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Name != before.Name || c.Email != before.Email || !reflect.DeepEqual(c.Metadata, before.Metadata) {
				t.Errorf("got %+v, want %+v", c, before)
			}
		})
		t.Run("set referrer once", func(t *testing.T) {
			n := len(events(t, db, p.ID))
			c, err := update(p.ID, "ann", referral.CustomerUpdate{ReferredBy: str(strings.ToLower(john.ReferralCode))})
			if err != nil {
				t.Fatal(err)
			}
			if c.ReferrerID != john.ID || c.ReferrerKey != "john" || c.ReferredBy != john.ReferralCode {
				t.Errorf("got %+v, want referred by john", c)
			}
			if types := eventTypes(t, db, p.ID)[n:]; !slices.Equal(types, []string{"customer.updated", "referral.created", "referral.successful"}) {
				t.Errorf("events %v, want customer.updated, referral.created and referral.successful (no rules: the signup counts)", types)
			}
			// The same referrer again is no change and no new referral.
			n = len(events(t, db, p.ID))
			if _, err := update(p.ID, "ann", referral.CustomerUpdate{ReferredBy: str(john.ReferralCode)}); err != nil {
				t.Fatal(err)
			}
			if types := eventTypes(t, db, p.ID)[n:]; !slices.Equal(types, []string{"customer.updated"}) {
				t.Errorf("events %v, want only customer.updated", types)
			}
		})

		bad := []struct {
			name string
			key  string
			u    referral.CustomerUpdate
			want error
			code string
		}{
			{"email taken", "jane", referral.CustomerUpdate{Email: str("JOHN@x.com")}, referral.ErrCustomerEmailTaken, ""},
			{"referrer cannot change", "ann", referral.CustomerUpdate{ReferredBy: str(jane.ReferralCode)}, referral.ErrAlreadyReferred, ""},
			{"self referral", "john", referral.CustomerUpdate{ReferredBy: str(john.ReferralCode)}, referral.ErrSelfReferral, ""},
			{"unknown referrer", "john", referral.CustomerUpdate{ReferredBy: str("NOPE99")}, referral.ErrUnknownReferralCode, ""},
			{"unknown customer", "nobody", referral.CustomerUpdate{Name: str("x")}, referral.ErrCustomerNotFound, ""},
			{"invalid email", "john", referral.CustomerUpdate{Email: str("john")}, nil, "invalid_customer"},
			{"metadata over the size limit", "john", referral.CustomerUpdate{MetadataSet: bigMetadata(20, 450)}, nil, "invalid_customer"},
			{"metadata string too long", "john", referral.CustomerUpdate{MetadataSet: map[string]any{"a": strings.Repeat("x", 501)}}, nil, "invalid_customer"},
			{"metadata number beyond float64", "john", referral.CustomerUpdate{MetadataSet: map[string]any{"a": json.Number("1e400")}}, nil, "invalid_customer"},
			{"invalid fields with a valid one", "john", referral.CustomerUpdate{Name: str("ok"), Email: str("no"), ReferredBy: str("")}, nil, "validation_failed"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				before, _, _ := db.Customers(ctx, p.ID, store.CustomerFilter{})
				n := len(events(t, db, p.ID))
				_, err := update(p.ID, tt.key, tt.u)
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Errorf("got %v, want %v", err, tt.want)
				}
				if tt.code != "" {
					wantCode(t, err, tt.code)
				}
				if after, _, _ := db.Customers(ctx, p.ID, store.CustomerFilter{}); !reflect.DeepEqual(after, before) {
					t.Error("customers changed")
				}
				if got := len(events(t, db, p.ID)); got != n {
					t.Errorf("%d events, want %d", got, n)
				}
			})
		}
		t.Run("another program's customer", func(t *testing.T) {
			other := newProgram(t, db)
			if _, err := update(other.ID, "jane", referral.CustomerUpdate{Name: str("x")}); !errors.Is(err, referral.ErrCustomerNotFound) {
				t.Errorf("got %v, want ErrCustomerNotFound", err)
			}
		})
	})
}

func TestDeleteCustomer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		jane := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane", Metadata: map[string]any{"phone": "555"}})
		friend := newCustomer(t, db, p, referral.NewCustomer{Key: "friend", Email: "friend@x.com", Name: "Friend", ReferredBy: jane.ReferralCode})
		del := func(programID, key string) error {
			return db.InTx(ctx, func(tx *store.Tx) error { _, err := tx.DeleteCustomer(ctx, programID, key); return err })
		}

		if err := del(newProgram(t, db).ID, "jane"); !errors.Is(err, referral.ErrCustomerNotFound) {
			t.Fatalf("another program deleted jane: %v", err)
		}
		if err := del(p.ID, "jane"); err != nil {
			t.Fatal(err)
		}
		t.Run("gone from the API", func(t *testing.T) {
			if _, err := db.Customer(ctx, p.ID, "jane"); !errors.Is(err, referral.ErrCustomerNotFound) {
				t.Errorf("get: %v, want not found", err)
			}
			if _, err := db.LinkByCode(ctx, p.ID, jane.ReferralCode); !errors.Is(err, referral.ErrLinkNotFound) {
				t.Errorf("link: %v, want not found", err)
			}
			if err := del(p.ID, "jane"); !errors.Is(err, referral.ErrCustomerNotFound) {
				t.Errorf("second delete: %v, want not found", err)
			}
		})
		t.Run("personal data erased, row kept", func(t *testing.T) {
			var key, email, emailKey, identity *string
			var name, meta, code string
			err := db.WriteStats().QueryRowContext(ctx, `SELECT key, email, email_key, email_identity, name, metadata, referral_code
				FROM customers WHERE id = $1`, jane.ID).Scan(&key, &email, &emailKey, &identity, &name, &meta, &code)
			if err != nil {
				t.Fatal(err)
			}
			if key != nil || email != nil || emailKey != nil || identity != nil || name != "" || meta != "{}" {
				t.Errorf("row still holds personal data: key=%v email=%v name=%q metadata=%s", key, email, name, meta)
			}
			if code != jane.ReferralCode {
				t.Errorf("code %q, want %q kept", code, jane.ReferralCode)
			}
		})
		t.Run("referral history kept", func(t *testing.T) {
			f, err := db.Customer(ctx, p.ID, "friend")
			if err != nil {
				t.Fatal(err)
			}
			if f.ReferrerID != jane.ID || f.ReferredBy != friend.ReferredBy || f.ReferrerKey != "" {
				t.Errorf("got %+v, want still referred by jane's id, without her key", f)
			}
		})
		t.Run("event", func(t *testing.T) {
			evs := events(t, db, p.ID)
			last := evs[len(evs)-1]
			if last.Type != "customer.deleted" || last.Data["customer_id"] != jane.ID || len(last.Data) != 1 {
				t.Errorf("last event %+v, want customer.deleted with the id only", last)
			}
		})
		t.Run("code never reused", func(t *testing.T) {
			_, err := db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "x", Email: "x@x.com", Name: "X", ReferralCode: jane.ReferralCode})
			if !errors.Is(err, referral.ErrReferralCodeTaken) {
				t.Errorf("custom code of a deleted customer: %v, want taken", err)
			}
			_, err = db.CreateCustomer(ctx, p, referral.NewCustomer{Key: "y", Email: "y@x.com", Name: "Y", ReferredBy: jane.ReferralCode})
			if !errors.Is(err, referral.ErrUnknownReferralCode) {
				t.Errorf("referred by a deleted customer: %v, want unknown code", err)
			}
		})
		t.Run("key and email free again", func(t *testing.T) {
			again := newCustomer(t, db, p, referral.NewCustomer{Key: "jane", Email: "jane@x.com", Name: "Jane"})
			if again.ID == jane.ID || again.ReferralCode == jane.ReferralCode || len(again.Metadata) != 0 {
				t.Errorf("got %+v, want a new customer", again)
			}
		})
	})
}

// TestGeneratedCodeAvoidsCustomCodes takes every two-digit code of the
// stem JANE as custom codes; a generated code must then use a longer one.
func TestGeneratedCodeAvoidsCustomCodes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p := newProgram(t, db)
		taken := map[string]bool{}
		err := db.InTx(ctx, func(tx *store.Tx) error {
			for _, a := range "23456789" {
				for _, b := range "23456789" {
					code := fmt.Sprintf("jane%c%c", a, b)
					if _, err := tx.CreateCustomer(ctx, p, referral.NewCustomer{Key: code, Email: code + "@x.com", Name: "Custom", ReferralCode: code}); err != nil {
						return err
					}
					taken[strings.ToUpper(code)] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			c := newCustomer(t, db, p, referral.NewCustomer{Key: fmt.Sprint("jane", i), Email: fmt.Sprintf("jane%d@y.com", i), Name: "Jane"})
			if taken[c.ReferralCode] || !regexp.MustCompile(`^JANE[2-9]{4}$`).MatchString(c.ReferralCode) {
				t.Errorf("generated %q, want JANE and four digits, not a custom code", c.ReferralCode)
			}
			taken[c.ReferralCode] = true
		}
	})
}

func TestConcurrentCreates(t *testing.T) {
	t.Parallel()
	const n = 16
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newProgram(t, db)
		run := func(in func(i int) referral.NewCustomer) ([]*referral.Customer, []error) {
			cs := make([]*referral.Customer, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					cs[i], errs[i] = db.CreateCustomer(t.Context(), p, in(i))
				})
			}
			close(start)
			wg.Wait()
			return cs, errs
		}

		t.Run("same name", func(t *testing.T) {
			cs, errs := run(func(i int) referral.NewCustomer {
				return referral.NewCustomer{Key: fmt.Sprint("jane", i), Email: fmt.Sprintf("jane%d@x.com", i), Name: "Jane"}
			})
			codes := map[string]bool{}
			for i, err := range errs {
				if err != nil {
					t.Errorf("create %d: %v", i, err)
					continue
				}
				if !strings.HasPrefix(cs[i].ReferralCode, "JANE") || codes[cs[i].ReferralCode] {
					t.Errorf("code %q is not a fresh JANE code", cs[i].ReferralCode)
				}
				codes[cs[i].ReferralCode] = true
			}
			if got := count(t, db, "referral_links"); got != n {
				t.Errorf("%d links stored, want %d", got, n)
			}
		})
		t.Run("same key", func(t *testing.T) {
			_, errs := run(func(i int) referral.NewCustomer {
				return referral.NewCustomer{Key: "same", Email: fmt.Sprintf("same%d@x.com", i), Name: fmt.Sprint("Same ", i)}
			})
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, referral.ErrCustomerKeyTaken):
					t.Errorf("create %d: %v, want ErrCustomerKeyTaken", i, err)
				}
			}
			if ok != 1 {
				t.Errorf("%d creates of one key succeeded, want exactly 1", ok)
			}
			if _, err := db.Customer(t.Context(), p.ID, "same"); err != nil {
				t.Errorf("the winner was not stored: %v", err)
			}
		})
		t.Run("same email", func(t *testing.T) {
			_, errs := run(func(i int) referral.NewCustomer {
				return referral.NewCustomer{Key: fmt.Sprint("mail", i), Email: "Shared@x.com", Name: "Shared"}
			})
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, referral.ErrCustomerEmailTaken):
					t.Errorf("create %d: %v, want ErrCustomerEmailTaken", i, err)
				}
			}
			if ok != 1 {
				t.Errorf("%d creates of one email succeeded, want exactly 1", ok)
			}
		})
	})
}

// bigMetadata returns n keys, each with a string of size characters.
func bigMetadata(n, size int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = strings.Repeat("x", size)
	}
	return m
}
