package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/advocate-oss/advocate/internal/referral"
	"github.com/advocate-oss/advocate/internal/store"
)

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	if err := parse("migrate", args, stderr, c.flags); err != nil {
		return err
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(stdout, "Migrated %s (%s).\n", store.Redacted(c.DB), db.Engine)
	return nil
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "" {
			*l = append(*l, d)
		}
	}
	return nil
}

func programCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var name, currency, website string
	var domains stringList
	var asJSON bool
	err := parse("program create", args, stderr, func(fs *flag.FlagSet) {
		c.flags(fs)
		fs.StringVar(&name, "name", "", "program name (required)")
		fs.StringVar(&currency, "currency", "USD", "ISO 4217 currency of rewards and balances")
		fs.StringVar(&website, "website-url", "", "the site referral links point to, e.g. https://yoursite.com (required)")
		fs.Var(&domains, "allowed-domains", "other domains that links and the SDK may use, comma-separated or repeated")
		fs.BoolVar(&asJSON, "json", false, "print {program_id, secret_key, publishable_key} as JSON")
	})
	if err != nil {
		return err
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := referral.NewProgram(name, currency, website)
	if err != nil {
		return explain(err)
	}
	p.AllowedDomains = domains
	created, err := db.CreateProgram(ctx, p, nil)
	if err != nil {
		return explain(err)
	}
	sk, pk := created.SecretKey, created.Publishable
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]string{"program_id": p.ID, "secret_key": sk, "publishable_key": pk})
	}
	fmt.Fprintf(stdout, "Program:          %s (%s)\nSecret key:       %s\nPublishable key:  %s\nThe keys are shown only once.\n", p.Name, p.ID, sk, pk)
	return nil
}

func keys(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	var c config
	var programID, kind, keyID string
	var asJSON bool
	err := parse("keys "+sub, args, stderr, func(fs *flag.FlagSet) {
		c.flags(fs)
		fs.StringVar(&programID, "program", "", "program id (required)")
		if sub == "create" {
			fs.StringVar(&kind, "kind", referral.SecretKey, "secret or publishable")
		}
		if sub == "revoke" {
			fs.StringVar(&keyID, "id", "", "id of the key to revoke (from keys list)")
		}
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	})
	if err != nil {
		return err
	}
	if programID == "" {
		return fmt.Errorf("keys %s: --program is required", sub)
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Program(ctx, programID); err != nil {
		return explain(err)
	}
	switch sub {
	case "create":
		if kind != referral.SecretKey && kind != referral.PublishableKey {
			return fmt.Errorf("keys create: --kind must be secret or publishable")
		}
		created, err := db.CreateAPIKey(ctx, programID, kind)
		if err != nil {
			return err
		}
		plain, k := created.Plain, created.Key
		if asJSON {
			return json.NewEncoder(stdout).Encode(map[string]string{"id": k.ID, "kind": k.Kind, "key": plain})
		}
		fmt.Fprintf(stdout, "%s key %s: %s\nIt is shown only once.\n", k.Kind, k.ID, plain)
	case "revoke":
		if keyID == "" {
			return fmt.Errorf("keys revoke: --id is required")
		}
		if err := db.RevokeAPIKey(ctx, programID, keyID); err != nil {
			return explain(err)
		}
		fmt.Fprintf(stdout, "Revoked %s.\n", keyID)
	case "list":
		ks, err := db.APIKeys(ctx, programID)
		if err != nil {
			return err
		}
		if asJSON {
			type row struct {
				ID, Kind, Prefix, CreatedAt string
				Revoked                     bool
			}
			var out []row
			for _, k := range ks {
				out = append(out, row{k.ID, k.Kind, k.Prefix + "…", k.CreatedAt.Format("2006-01-02T15:04:05Z"), k.RevokedAt != nil})
			}
			return json.NewEncoder(stdout).Encode(out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tKIND\tKEY\tCREATED\tSTATUS")
		for _, k := range ks {
			status := "active"
			if k.RevokedAt != nil {
				status = "revoked " + k.RevokedAt.Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Kind, k.Prefix, k.CreatedAt.Format("2006-01-02 15:04"), status)
		}
		return tw.Flush()
	}
	return nil
}

func adminCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	var email, password, role string
	err := parse("admin create", args, stderr, func(fs *flag.FlagSet) {
		c.flags(fs)
		fs.StringVar(&email, "email", "", "sign-in email (required)")
		fs.StringVar(&password, "password", env("ADMIN_PASSWORD", ""), "password, 12 to 72 characters (ADVOCATE_ADMIN_PASSWORD)")
		fs.StringVar(&role, "role", store.RoleOwner, "owner (may change anything) or viewer (read only)")
	})
	if err != nil {
		return err
	}
	db, err := openDB(ctx, &c)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := db.CreateAdmin(ctx, email, password, role)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "Created %s %s (%s).\n", a.Role, a.Email, a.ID)
	return nil
}

// explain turns a validation error into lines a person can act on, each
// naming the flag to fix.
func explain(err error) error {
	e, ok := referral.AsError(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	var lines []string
	if len(e.Fields) > 1 {
		lines = append(lines, e.Message)
	}
	for _, f := range slices.Sorted(maps.Keys(e.Fields)) {
		lines = append(lines, fmt.Sprintf("--%s: %s", strings.ReplaceAll(f, "_", "-"), e.Fields[f]))
	}
	return errors.New(strings.Join(lines, "\n  "))
}
