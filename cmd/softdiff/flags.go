package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// newFlags returns a flag set for command name whose usage text goes to
// stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: softdiff %s\n", synopsis)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parse parses args allowing flags after positional arguments, and returns
// the positional ones. --help prints the usage and returns errHelp; a bad flag
// is a usageError.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		if err != nil {
			return nil, usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// setFlags collects repeated --set name=value flags.
type setFlags []setting

type setting struct {
	exp, name string // exp empty: every experiment that has the parameter
	value     float64
}

func (s *setFlags) String() string {
	var parts []string
	for _, x := range *s {
		parts = append(parts, fmt.Sprintf("%s=%v", x.name, x.value))
	}
	return strings.Join(parts, ",")
}

func (s *setFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want [experiment.]name=value, got %q", v)
	}
	f, err := strconv.ParseFloat(val, 64)
	if err != nil {
		return fmt.Errorf("parameter %s: %q is not a number", k, val)
	}
	st := setting{name: k, value: f}
	if e, n, ok := strings.Cut(k, "."); ok {
		st.exp, st.name = e, n
	}
	*s = append(*s, st)
	return nil
}
