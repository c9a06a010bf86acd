package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/experiments/lab"
)

func cmdList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("list", "list [NAME]\n\nLists the experiments and the samplers; with NAME, its hypothesis, parameters and tables.", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("list: at most one experiment name, got %d", len(pos))
	}
	if len(pos) == 1 {
		e, ok := lab.Lookup(pos[0])
		if !ok {
			return usagef("list: unknown experiment %q (see 'softdiff list')", pos[0])
		}
		fmt.Fprintf(stdout, "%s — %s\n\n%s\n\nParameters (default, --quick, accepted range):\n", e.Name, e.Title, e.Hypothesis)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  seeds\t%d\t%d\t[1, %d] integer\tseeds (--seeds)\n", lab.DefaultSeeds, lab.QuickSeeds, lab.MaxSeeds)
		for _, p := range e.Params {
			kind := ""
			if p.Int {
				kind = " integer"
			}
			fmt.Fprintf(tw, "  %s\t%v\t%v\t[%v, %v]%s\t%s\n", p.Name, p.Default, p.Quick, p.Min, p.Max, kind, p.Doc)
		}
		tw.Flush()
		fmt.Fprintln(stdout, "\nTables:")
		for _, t := range e.Tables {
			fmt.Fprintf(stdout, "  %s: %s\n", t.Name, t.Title)
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, e := range lab.All() {
		fmt.Fprintf(tw, "%s\t%s\n", e.Name, e.Title)
	}
	fmt.Fprintln(tw, "\nsamplers (quality-vs-nfe runs all; add one with experiments.RegisterSampler):")
	for _, s := range experiments.Samplers() {
		fmt.Fprintf(tw, "  %s\t%s\n", s.Name, s.Family)
	}
	return tw.Flush()
}

const runSynopsis = `run NAME|all [flags]

Runs one experiment, or all of them. With several experiments, --jobs of
them run side by side (default 2), so that one experiment's last items do not
leave cores idle; the results do not depend on it, and tables are printed and
written in the listing order. Tables go to stdout as aligned text; with --out, each finished experiment's CSV, JSON, Markdown and SVG files
are written atomically into DIR/NAME (an existing DIR/NAME is replaced whole),
and DIR/README.md summarises everything in DIR. With --shard i/n only the i-th
of n disjoint parts of each grid runs; combine the parts with 'softdiff merge'.
Parameters and their accepted ranges: 'softdiff list NAME'; override with
--set name=value (or --set NAME.name=value with 'all'); every value is
checked against its range before any work starts. If the run fails or is
interrupted (Ctrl-C: exit status 130) before any experiment has finished, a
--out directory the command created is removed again.`

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", runSynopsis, stderr)
	quick := fs.Bool("quick", false, "reduced sizes (all experiments in about 5 minutes on 2 cores)")
	seeds := fs.Int("seeds", 0, fmt.Sprintf("number of seeds, 1 to %d (default %d, or %d with --quick)", lab.MaxSeeds, lab.DefaultSeeds, lab.QuickSeeds))
	seed := fs.Uint64("seed", lab.DefaultSeed, "base seed of all random streams")
	out := fs.String("out", "", "directory for CSV, JSON, SVG and Markdown outputs")
	workers := fs.Int("workers", 0, "parallel workers (0: GOMAXPROCS); results do not depend on it")
	shard := fs.String("shard", "", "run only part i/n of each grid (0 <= i < n)")
	jobs := fs.Int("jobs", 2, "experiments run side by side with 'all' (1: one after another); results do not depend on it")
	var sets setFlags
	fs.Var(&sets, "set", "override a parameter: name=value or NAME.name=value (repeatable)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("run: want one experiment name or 'all', got %d arguments (see 'softdiff list')", len(pos))
	}
	var exps []*lab.Experiment
	if pos[0] == "all" {
		exps = lab.All()
	} else {
		e, ok := lab.Lookup(pos[0])
		if !ok {
			return usagef("run: unknown experiment %q (see 'softdiff list')", pos[0])
		}
		exps = []*lab.Experiment{e}
	}
	seedsSet := false
	fs.Visit(func(f *flag.Flag) { seedsSet = seedsSet || f.Name == "seeds" })
	if seedsSet && (*seeds < 1 || *seeds > lab.MaxSeeds) {
		return usagef("run: --seeds %d: need 1 to %d", *seeds, lab.MaxSeeds)
	}
	if *workers < 0 {
		return usagef("run: --workers %d: need 0 (all cores) or more", *workers)
	}
	if *jobs < 1 {
		return usagef("run: --jobs %d: need 1 or more", *jobs)
	}
	sh := lab.Shard{I: 0, N: 1}
	if *shard != "" {
		if sh, err = lab.ParseShard(*shard); err != nil {
			return usagef("run: --shard: %v", err)
		}
	}
	cfgs := make([]lab.Config, len(exps))
	used := make([]bool, len(sets))
	for i, e := range exps {
		c := e.Config(*quick)
		if seedsSet {
			c.Seeds = *seeds
		}
		c.Seed, c.Workers, c.Shard = *seed, *workers, sh
		for j, s := range sets {
			if s.exp != "" && s.exp != e.Name {
				continue
			}
			if s.exp == "" && len(exps) > 1 && !hasParam(e, s.name) {
				continue
			}
			if err := e.Set(&c, s.name, s.value); err != nil {
				return usagef("run: --set: %v", err)
			}
			used[j] = true
		}
		cfgs[i] = c
	}
	for j, s := range sets {
		if !used[j] {
			if s.exp != "" {
				if _, ok := lab.Lookup(s.exp); !ok {
					return usagef("run: --set %s.%s: unknown experiment %q", s.exp, s.name, s.exp)
				}
			}
			return usagef("run: --set %s: no selected experiment has parameter %q", s.name, s.name)
		}
	}
	for i, e := range exps {
		if err := e.Validate(cfgs[i]); err != nil {
			return usagef("run: %v", err)
		}
	}
	finished := 0
	if *out != "" {
		created, err := makeOut(*out)
		if err != nil {
			return usagef("run: --out %s: %v", *out, err)
		}
		// Nothing finished: take back what makeOut created (an interrupted or
		// failed run leaves no empty --out behind).
		defer func() {
			if finished == 0 {
				removeCreated(created)
			}
		}()
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	outs := runExperiments(ctx, exps, cfgs, *jobs, func() lab.Progress {
		if *jobs > 1 && len(exps) > 1 {
			return &logProgress{log: log} // bars of experiments side by side would overwrite each other
		}
		return newProgress(stderr, log)
	})
	for i, e := range exps {
		o := <-outs[i]
		if o.err != nil {
			if ctx.Err() != nil {
				msg := "interrupted during " + e.Name
				if *out != "" && i > 0 {
					msg += fmt.Sprintf("; the %d finished experiment(s) are in %s", i, *out)
				}
				return fmt.Errorf("%s: %w", msg, ctx.Err())
			}
			return o.err
		}
		if err := printResult(stdout, o.res); err != nil {
			return err
		}
		if *out != "" {
			if err := lab.WriteResult(*out, o.res); err != nil {
				return fmt.Errorf("write %s results: %w", e.Name, err)
			}
			finished++
			if err := writeIndex(*out); err != nil {
				return err
			}
		}
	}
	return nil
}

// outcome is one experiment's result or error.
type outcome struct {
	res *lab.Result
	err error
}

// runExperiments runs exps with up to jobs of them at a time, started in
// order, and returns one channel per experiment that receives its outcome.
// The first failure cancels the others; their outcome is then that failure,
// so a caller reading the channels in order reports the error that caused
// the stop, not the cancellation. A cancelled ctx gives ctx's error.
func runExperiments(ctx context.Context, exps []*lab.Experiment, cfgs []lab.Config, jobs int, prog func() lab.Progress) []chan outcome {
	outs := make([]chan outcome, len(exps))
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		mu    sync.Mutex
		first error
	)
	fail := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		if first == nil && ctx.Err() == nil {
			first = err
			cancel()
		}
		if first != nil {
			return first
		}
		return err
	}
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	go func() {
		defer func() { wg.Wait(); cancel() }()
		for i, e := range exps {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				outs[i] <- outcome{err: fail(ctx.Err())}
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := lab.Run(ctx, e, cfgs[i], prog())
				<-sem
				if err != nil {
					err = fail(err)
				}
				outs[i] <- outcome{res, err}
			}()
		}
	}()
	return outs
}

func hasParam(e *lab.Experiment, name string) bool {
	for _, p := range e.Params {
		if p.Name == name {
			return true
		}
	}
	return false
}

// makeOut creates dir if needed and proves a file can be created in it, so
// an unwritable --out fails before any work. It returns the directories it
// created, deepest first (none if dir existed), for removeCreated; on error
// it has already removed them.
func makeOut(dir string) ([]string, error) {
	var created []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		removeCreated(created)
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".softdiff-write-test-*")
	if err != nil {
		removeCreated(created)
		return nil, err
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		removeCreated(created)
		return nil, err
	}
	return created, nil
}

// removeCreated removes the directories makeOut created, deepest first,
// each only if it is empty: nothing the command did not make is deleted.
func removeCreated(created []string) {
	for _, d := range created {
		if os.Remove(d) != nil {
			return
		}
	}
}

// writeIndex rewrites dir/README.md: the report of every result in dir.
func writeIndex(dir string) error {
	rs, err := lab.ReadDir(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	err = lab.WriteReport(&b, rs, lab.ReportOptions{
		PlotPrefix: func(r *lab.Result) string { return r.Experiment + "/" },
		Command:    "softdiff report " + dir,
		Dir:        dir,
	})
	if err != nil {
		return err
	}
	return lab.WriteFileAtomic(filepath.Join(dir, "README.md"), []byte(b.String()))
}

func printResult(w io.Writer, r *lab.Result) error {
	fmt.Fprintf(w, "== %s — %s", r.Experiment, r.Title)
	if !r.Complete() {
		fmt.Fprintf(w, " (shard %s)", r.Config.Shard)
	}
	fmt.Fprintf(w, "\n   %s\n\n", lab.Command(r))
	for _, t := range r.Tables {
		if err := t.WriteText(w); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	for _, v := range r.Verdicts {
		fmt.Fprintf(w, "* %s\n", v)
	}
	if len(r.Verdicts) > 0 {
		fmt.Fprintln(w)
	}
	return nil
}

const reportSynopsis = `report DIR [--out FILE] [--assets DIR] [--preface FILE]

Writes a Markdown summary of every experiment result in DIR (as written by
'softdiff run --out DIR' or 'softdiff merge') to stdout or FILE: the commands,
then per experiment its hypothesis, tables, plots and the verdicts its
intervals support. With --assets, the SVG plots are copied to ASSETS/NAME/ and
linked from FILE. --preface inserts a Markdown file after the header.`

func cmdReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", reportSynopsis, stderr)
	out := fs.String("out", "", "write the report to FILE instead of stdout")
	assets := fs.String("assets", "", "copy plots into this directory and link them")
	preface := fs.String("preface", "", "Markdown file to insert after the header")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("report: want one results directory, got %d arguments", len(pos))
	}
	if *assets != "" && *out == "" {
		return usagef("report: --assets needs --out (links are relative to the report file)")
	}
	rs, err := lab.ReadDir(pos[0])
	if err != nil {
		return err
	}
	prefix := func(r *lab.Result) string { return filepath.ToSlash(filepath.Join(pos[0], r.Experiment)) + "/" }
	if *out != "" {
		base := filepath.Dir(*out)
		src := pos[0]
		if *assets != "" {
			src = *assets
			for _, r := range rs {
				if err := copySVGs(filepath.Join(pos[0], r.Experiment), filepath.Join(*assets, r.Experiment)); err != nil {
					return err
				}
			}
		}
		prefix = func(r *lab.Result) string {
			rel, err := filepath.Rel(base, filepath.Join(src, r.Experiment))
			if err != nil {
				rel = filepath.Join(src, r.Experiment)
			}
			return filepath.ToSlash(rel) + "/"
		}
	}
	ro := lab.ReportOptions{PlotPrefix: prefix, Dir: pos[0], Command: "softdiff " + strings.Join(append([]string{"report"}, args...), " ")}
	if *preface != "" {
		data, err := os.ReadFile(*preface)
		if err != nil {
			return usagef("report: --preface: %v", err)
		}
		ro.Preface = string(data)
	}
	var b strings.Builder
	if err := lab.WriteReport(&b, rs, ro); err != nil {
		return err
	}
	if *out == "" {
		_, err := io.WriteString(stdout, b.String())
		return err
	}
	return lab.WriteFileAtomic(*out, []byte(b.String()))
}

func copySVGs(from, to string) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() || filepath.Ext(e.Name()) != ".svg" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := lab.WriteFileAtomic(filepath.Join(to, e.Name()), data); err != nil {
			return err
		}
	}
	return nil
}

const mergeSynopsis = `merge --out DIR [--partial] IN...

Combines the outputs of 'softdiff run --shard i/n --out IN' runs: for every
experiment found in the IN directories, the shards' raw records are merged
(configurations must agree, each shard may appear once), the tables are pooled
again and written to DIR as 'run --out' would. Without --partial every shard
must be present.`

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", mergeSynopsis, stderr)
	out := fs.String("out", "", "directory for the merged results (required)")
	partial := fs.Bool("partial", false, "allow missing shards")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("merge: --out DIR is required")
	}
	if len(pos) == 0 {
		return usagef("merge: no input directories")
	}
	groups := map[string][]*lab.Result{}
	var names []string
	for _, dir := range pos {
		rs, err := lab.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if groups[r.Experiment] == nil {
				names = append(names, r.Experiment)
			}
			groups[r.Experiment] = append(groups[r.Experiment], r)
		}
	}
	// Merge and check everything before writing anything, so a failed
	// merge leaves --out as it was.
	merged := make([]*lab.Result, len(names))
	for i, n := range names {
		m, err := lab.Merge(groups[n]...)
		if err != nil {
			return err
		}
		if !m.Complete() && !*partial {
			return fmt.Errorf("merge %s: have shards %v of %d (use --partial to merge anyway)", n, m.Shards, m.Config.Shard.N)
		}
		merged[i] = m
	}
	created, err := makeOut(*out)
	if err != nil {
		return usagef("merge: --out %s: %v", *out, err)
	}
	written := false
	for _, m := range merged {
		if err := printResult(stdout, m); err != nil {
			return err
		}
		if err := lab.WriteResult(*out, m); err != nil {
			if !written {
				removeCreated(created)
			}
			return err
		}
		written = true
	}
	return writeIndex(*out)
}
