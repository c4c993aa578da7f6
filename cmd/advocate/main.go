// Command advocate is the Advocate server and its admin tool.
//
//	advocate serve            run the API (and, later, dashboard and workers)
//	advocate migrate          apply database migrations
//	advocate program create   create a program and print its API keys
//	advocate keys create|list|revoke
//	advocate admin create
//	advocate verify           prove every balance from the ledger
//	advocate stripe sync      replay missed Stripe events
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Advocate: self-hosted customer referrals.

Usage:
  advocate serve                 start the server (zero config: SQLite in ./advocate-data)
  advocate migrate               apply database migrations
  advocate program create        create a program and print its API keys
  advocate keys create|list|revoke
  advocate admin create          create a dashboard admin
  advocate verify                recompute every balance from the ledger; non-zero exit on mismatch
  advocate stripe sync --since D replay the Stripe events missed since date D (at most 30 days)

Every command takes --db (a SQLite file path or a postgres:// URL); flags
override ADVOCATE_* environment variables, which override the defaults.
Run "advocate COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "advocate:", err)
		}
		os.Exit(2)
	}
}

// run dispatches a subcommand; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch {
	case cmd == "serve":
		return serve(ctx, rest, stdout, stderr)
	case cmd == "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case cmd == "program" && sub == "create":
		return programCreate(ctx, rest[1:], stdout, stderr)
	case cmd == "keys" && (sub == "create" || sub == "list" || sub == "revoke"):
		return keys(ctx, sub, rest[1:], stdout, stderr)
	case cmd == "verify":
		return verify(ctx, rest, stdout, stderr)
	case cmd == "stripe" && sub == "sync":
		return stripeSync(ctx, rest[1:], stdout, stderr)
	case cmd == "admin" && sub == "create":
		return adminCreate(ctx, rest[1:], stdout, stderr)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args)
}
