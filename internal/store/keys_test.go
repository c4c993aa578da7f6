package store_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
	"github.com/advocate-oss/advocate/internal/store/storetest"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		p, other := newProgram(t, db), newProgram(t, db)
		type made struct {
			plain string
			key   *referral.APIKey
		}
		var sk, pk, otherSK made
		err := db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if sk.plain, sk.key, err = tx.CreateAPIKey(ctx, p.ID, referral.SecretKey); err != nil {
				return err
			}
			if pk.plain, pk.key, err = tx.CreateAPIKey(ctx, p.ID, referral.PublishableKey); err != nil {
				return err
			}
			otherSK.plain, otherSK.key, err = tx.CreateAPIKey(ctx, other.ID, referral.SecretKey)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("found by hash", func(t *testing.T) {
			for _, m := range []made{sk, pk, otherSK} {
				k, prog, err := db.APIKeyByHash(ctx, referral.HashAPIKey(m.plain))
				if err != nil {
					t.Fatalf("%s: %v", m.key.Kind, err)
				}
				if k.ID != m.key.ID || k.ProgramID != m.key.ProgramID || k.Kind != m.key.Kind || k.Prefix != m.plain[:12] {
					t.Errorf("got %+v, want %+v", k, m.key)
				}
				want, err := db.Program(ctx, m.key.ProgramID)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(prog, want) {
					t.Errorf("key's program %+v, want %+v", prog, want)
				}
			}
		})
		t.Run("unknown hash", func(t *testing.T) {
			unknown, _ := referral.NewAPIKey(referral.SecretKey)
			for _, h := range []string{referral.HashAPIKey(unknown), sk.plain, ""} {
				if _, _, err := db.APIKeyByHash(ctx, h); !errors.Is(err, store.ErrKeyNotFound) {
					t.Errorf("APIKeyByHash(%q) = %v, want ErrKeyNotFound", h, err)
				}
			}
		})
		t.Run("only the hash is stored", func(t *testing.T) {
			var n int
			err := db.WriteStats().QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE hash = $1 OR prefix = $1`, sk.plain).Scan(&n)
			if err != nil || n != 0 {
				t.Errorf("plaintext key found in api_keys (%d rows, %v)", n, err)
			}
		})
		t.Run("revoke scoped to program", func(t *testing.T) {
			err := db.InTx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, other.ID, sk.key.ID) })
			wantCode(t, err, "api_key_not_found")
			if _, _, err := db.APIKeyByHash(ctx, sk.key.Hash); err != nil {
				t.Errorf("another program revoked the key: %v", err)
			}
		})
		t.Run("revoke unknown", func(t *testing.T) {
			err := db.InTx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, p.ID, "key_missing") })
			wantCode(t, err, "api_key_not_found")
		})
		t.Run("revoked key is not found", func(t *testing.T) {
			for range 2 { // revoking twice is harmless
				if err := db.InTx(ctx, func(tx *store.Tx) error { return tx.RevokeAPIKey(ctx, p.ID, sk.key.ID) }); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := db.APIKeyByHash(ctx, sk.key.Hash); !errors.Is(err, store.ErrKeyNotFound) {
				t.Errorf("revoked key: got %v, want ErrKeyNotFound", err)
			}
			if _, _, err := db.APIKeyByHash(ctx, pk.key.Hash); err != nil {
				t.Errorf("the other key of the program stopped working: %v", err)
			}
		})
		t.Run("list", func(t *testing.T) {
			ks, err := db.APIKeys(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != 2 {
				t.Fatalf("got %d keys, want 2 (revoked ones included)", len(ks))
			}
			byID := map[string]*referral.APIKey{ks[0].ID: ks[0], ks[1].ID: ks[1]}
			if k := byID[sk.key.ID]; k == nil || k.RevokedAt == nil || k.Kind != referral.SecretKey {
				t.Errorf("secret key %+v, want it listed as revoked", k)
			}
			if k := byID[pk.key.ID]; k == nil || k.RevokedAt != nil || k.Kind != referral.PublishableKey || k.Prefix != pk.plain[:12] {
				t.Errorf("publishable key %+v, want it listed as active with its prefix", k)
			}
		})
	})
}
