// Command softdiff runs softdiff's experiments on the built-in testbeds.
//
//	softdiff version
//	softdiff help
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// Version is the softdiff release.
const Version = "0.1.0-dev"

const usage = `softdiff %s — soft-state diffusion language model experiments

Usage:
  softdiff version     print the version
  softdiff help        print this help
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "softdiff:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "softdiff:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line; main exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	_ = ctx
	if len(args) == 0 {
		fmt.Fprintf(stdout, usage, Version)
		return nil
	}
	switch args[0] {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "softdiff", Version)
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprintf(stdout, usage, Version)
		return nil
	}
	fs := flag.NewFlagSet("softdiff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	return usageError{fmt.Sprintf("unknown command %q (try 'softdiff help')", args[0])}
}
