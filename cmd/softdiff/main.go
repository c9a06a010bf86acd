// Command softdiff runs softdiff's experiments on the built-in testbeds.
//
//	softdiff list [NAME]                       list experiments (or one in detail)
//	softdiff run NAME|all [flags]              run experiments, tables to stdout
//	softdiff report DIR [--out FILE] [--assets DIR]   Markdown summary of results
//	softdiff merge --out DIR SHARD_DIR...      combine shard outputs
//	softdiff version | help
//
// Every command takes --help. Bad flags or configuration print a message and
// exit with status 2; an interrupt (SIGINT, Ctrl-C) prints what was kept and
// exits with status 130; other failures exit with status 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// Version is the softdiff release.
const Version = "0.1.0-dev"

const usage = `softdiff %s — soft-state diffusion language model experiments

Usage:
  softdiff list [NAME]            list the experiments (NAME: hypothesis and parameters)
  softdiff run NAME|all [flags]   run experiments; tables to stdout, files to --out
  softdiff report DIR [flags]     Markdown summary of the results in DIR
  softdiff merge --out DIR IN...  combine the outputs of sharded runs
  softdiff sample --testbed NAME  exact samples as .npy (training data for train/)
  softdiff export-kernel --testbed NAME --kernel NAME --out FILE   a kernel's forward tables (train/ --objective kernel)
  softdiff generate --model oip:http://HOST:PORT/NAME --len L   sample from a served model
  softdiff version                print the version
  softdiff help                   print this help

Run 'softdiff COMMAND --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code := exitCode(run(ctx, os.Args[1:], os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode reports err on stderr and returns the exit status: 0 for success
// or a served --help, 2 for a bad command line or configuration, 130 (the
// shell's 128 + SIGINT) for an interrupted command, 1 otherwise.
func exitCode(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "softdiff:", err)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "softdiff:", err)
		return 130
	}
	fmt.Fprintln(stderr, "softdiff:", err)
	return 1
}

// usageError is a bad command line or configuration; main exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// errHelp reports that --help was given and served.
var errHelp = errors.New("help requested")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
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
	case "list":
		return cmdList(args[1:], stdout, stderr)
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "merge":
		return cmdMerge(args[1:], stdout, stderr)
	case "sample":
		return cmdSample(args[1:], stdout, stderr)
	case "export-kernel":
		return cmdExportKernel(args[1:], stdout, stderr)
	case "generate":
		return cmdGenerate(ctx, args[1:], stdout, stderr)
	}
	return usagef("unknown command %q (try 'softdiff help')", args[0])
}
