package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/experiments"
	"github.com/softdiff/softdiff/experiments/lab"
	"github.com/softdiff/softdiff/soft"
)

// testDice is a fast experiment used by the CLI tests: a fair die's rate of
// sixes, whose pooled interval must cover 1/6.
var testDice = &lab.Experiment{
	Name: "test-dice", Title: "dice (CLI test fixture)", Hypothesis: "A fair die shows six at rate 1/6.",
	Params: []lab.Param{{Name: "rolls", Default: 600, Quick: 300, Int: true, Min: 1, Max: 1e6}},
	Tables: []lab.TableSpec{{Name: "sixes", Title: "Sixes", Labels: []string{"die"},
		Metrics: []lab.MetricSpec{{Name: "six", Kind: lab.Rate}},
		Plots:   []lab.PlotSpec{{X: "die", Y: "six"}}}},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		var us []lab.Unit
		for d := 1; d <= 3; d++ {
			us = append(us, lab.Unit{Key: string(rune('0' + d)), Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
				rng := soft.BlockRand(seed, 0)
				n := cfg.Int("rolls")
				var k int64
				for i := 0; i < n; i++ {
					if rng.IntN(6) == 5 {
						k++
					}
				}
				return []lab.Row{{Table: "sixes", Labels: []string{string(rune('0' + d))},
					Values: map[string]lab.Obs{"six": lab.Count(k, int64(n))}}}, nil
			}})
		}
		return us, nil
	},
	Verdict: func(r *lab.Result) []string {
		e, _ := r.Table("sixes").Get("six", "die=1")
		return []string{"die 1 covers 1/6: " + map[bool]string{true: "yes", false: "no"}[e.Contains(1.0/6)]}
	},
}

// blockStarted receives a value when test-block's unit has started.
var blockStarted = make(chan struct{}, 16)

// testBlock waits until its context is cancelled: an interrupted run.
var testBlock = &lab.Experiment{
	Name: "test-block", Title: "blocks until interrupted (CLI test fixture)", Hypothesis: "none",
	Tables: []lab.TableSpec{{Name: "t", Title: "t", Metrics: []lab.MetricSpec{{Name: "x"}}}},
	Units: func(cfg lab.Config) ([]lab.Unit, error) {
		return []lab.Unit{{Key: "u", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
			blockStarted <- struct{}{}
			<-ctx.Done()
			return nil, ctx.Err()
		}}}, nil
	},
}

func init() {
	lab.Register(testDice)
	lab.Register(testBlock)
}

func runCLI(ctx context.Context, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, "unknown command"},
		{[]string{"run"}, "want one experiment"},
		{[]string{"run", "no-such-experiment"}, "unknown experiment"},
		{[]string{"run", "test-dice", "--bogus"}, "bogus"},
		{[]string{"run", "test-dice", "--seeds", "-2"}, "--seeds"},
		{[]string{"run", "test-dice", "--seeds", "two"}, "seeds"},
		{[]string{"run", "test-dice", "--workers", "-1"}, "--workers"},
		{[]string{"run", "test-dice", "--shard", "3/2"}, "shard"},
		{[]string{"run", "test-dice", "--set", "rolls=0"}, "rolls"},
		{[]string{"run", "test-dice", "--set", "rolls=1.5"}, "integer"},
		{[]string{"run", "test-dice", "--set", "sides=7"}, "sides"},
		{[]string{"run", "test-dice", "--set", "rolls=many"}, "not a number"},
		{[]string{"run", "test-dice", "--set", "nope.rolls=3"}, "unknown experiment"},
		{[]string{"list", "nothing"}, "unknown experiment"},
		{[]string{"report"}, "one results directory"},
		{[]string{"merge", "x"}, "--out"},
	} {
		_, _, err := runCLI(context.Background(), tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error mentioning %q", tc.args, err, tc.want)
		}
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, cmd := range []string{"list", "run", "report", "merge"} {
		_, stderr, err := runCLI(context.Background(), cmd, "--help")
		if !errors.Is(err, errHelp) || !strings.Contains(stderr, "Usage: softdiff "+cmd) {
			t.Errorf("%s --help: err %v, stderr %q", cmd, err, stderr)
		}
	}
	out, _, err := runCLI(context.Background(), "help")
	if err != nil || !strings.Contains(out, "softdiff run NAME|all") {
		t.Errorf("help: %v %q", err, out)
	}
}

func TestUnwritableOut(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory below a regular file cannot be created, even by root.
	stdout, _, err := runCLI(context.Background(), "run", "test-dice", "--quick", "--out", filepath.Join(file, "results"))
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("unwritable --out: %v", err)
	}
	if stdout != "" {
		t.Fatalf("work was done before the --out check: %q", stdout)
	}
}

func TestRunWritesAndReport(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runCLI(context.Background(), "run", "test-dice", "--quick", "--out", dir, "--workers", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Sixes") || !strings.Contains(out, "die 1 covers 1/6: yes") {
		t.Fatalf("stdout lacks the table or verdict:\n%s", out)
	}
	for _, f := range []string{"test-dice/sixes.csv", "test-dice/sixes.svg", "test-dice/summary.json", "test-dice/README.md", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	rep, _, err := runCLI(context.Background(), "report", dir)
	if err != nil || !strings.Contains(rep, "## test-dice") || !strings.Contains(rep, "softdiff run test-dice --quick") {
		t.Fatalf("report: %v\n%s", err, rep)
	}
	md := filepath.Join(dir, "docs", "results.md")
	if _, _, err := runCLI(context.Background(), "report", dir, "--out", md, "--assets", filepath.Join(dir, "docs", "results")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(md)
	if !strings.Contains(string(data), "](results/test-dice/sixes.svg)") {
		t.Fatalf("report does not link the copied plot:\n%s", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "docs", "results", "test-dice", "sixes.svg")); err != nil {
		t.Fatal(err)
	}
}

func TestShardAndMerge(t *testing.T) {
	dir := t.TempDir()
	whole, _, err := runCLI(context.Background(), "run", "test-dice", "--out", filepath.Join(dir, "whole"))
	if err != nil {
		t.Fatal(err)
	}
	var ins []string
	for _, s := range []string{"0/3", "1/3", "2/3"} {
		in := filepath.Join(dir, "shard"+s[:1])
		if _, _, err := runCLI(context.Background(), "run", "test-dice", "--shard", s, "--out", in); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	if _, _, err := runCLI(context.Background(), append([]string{"merge", "--out", filepath.Join(dir, "m")}, ins[:2]...)...); err == nil {
		t.Fatal("merge with a missing shard succeeded without --partial")
	}
	merged, _, err := runCLI(context.Background(), append([]string{"merge", "--out", filepath.Join(dir, "merged")}, ins...)...)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "whole", "test-dice", "sixes.csv"))
	b, _ := os.ReadFile(filepath.Join(dir, "merged", "test-dice", "sixes.csv"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("merged table differs from the whole run:\n%s\n%s", a, b)
	}
	if !strings.Contains(merged, "die 1 covers") || !strings.Contains(whole, "die 1 covers") {
		t.Fatal("verdict missing")
	}
}

func TestInterruptedRunKeepsFinishedResults(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCLI(context.Background(), "run", "test-dice", "--quick", "--out", dir); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "test-dice", "records.json"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := runCLI(ctx, "run", "test-block", "--out", dir, "--seeds", "1")
		done <- err
	}()
	<-blockStarted
	cancel() // as Ctrl-C does through signal.NotifyContext
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "test-dice", "records.json"))
	if len(before) == 0 || !bytes.Equal(before, after) {
		t.Fatal("finished result changed by the interrupted run")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() == "test-block" || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("interrupted run left %s in --out", e.Name())
		}
	}
	// A context cancelled before the start stops the run too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, _, err := runCLI(ctx2, "run", "test-dice", "--out", dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("pre-cancelled run: %v", err)
	}
}

func TestList(t *testing.T) {
	out, _, err := runCLI(context.Background(), "list")
	if err != nil || !strings.Contains(out, "test-dice") {
		t.Fatalf("list: %v %q", err, out)
	}
	out, _, err = runCLI(context.Background(), "list", "test-dice")
	if err != nil || !strings.Contains(out, "rolls") || !strings.Contains(out, "A fair die") {
		t.Fatalf("list test-dice: %v %q", err, out)
	}
}

func TestExitCodes(t *testing.T) {
	var b bytes.Buffer
	_, _, err := runCLI(context.Background(), "run", "test-dice", "--seeds", "x")
	if c := exitCode(err, &b); c != 2 || !strings.Contains(b.String(), "seeds") {
		t.Errorf("bad flag: exit %d, stderr %q", c, b.String())
	}
	_, _, err = runCLI(context.Background(), "run", "--help")
	if c := exitCode(err, &b); c != 0 {
		t.Errorf("--help: exit %d", c)
	}
	b.Reset()
	_, _, err = runCLI(context.Background(), "report", t.TempDir())
	if c := exitCode(err, &b); c != 1 || !strings.Contains(b.String(), "no experiment results") {
		t.Errorf("empty results dir: exit %d, stderr %q", c, b.String())
	}
	if c := exitCode(nil, &b); c != 0 {
		t.Errorf("success: exit %d", c)
	}
}

// TestMain lets a test run the real main() in a child process (for the
// signal test): with SOFTDIFF_CLI_CHILD set, its fields are the arguments.
func TestMain(m *testing.M) {
	if args := os.Getenv("SOFTDIFF_CLI_CHILD"); args != "" {
		os.Args = append([]string{"softdiff"}, strings.Fields(args)...)
		main()
		return
	}
	os.Exit(m.Run())
}

// TestSIGINTExits130: a real SIGINT to a running command exits with status
// 130, keeps the message that says what was interrupted, and takes back the
// --out directory the command created.
func TestSIGINTExits130(t *testing.T) {
	out := filepath.Join(t.TempDir(), "fresh", "results")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SOFTDIFF_CLI_CHILD=run test-block --seeds 1 --out "+out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "experiment start") {
			break
		}
	}
	// The unit is now blocked in its context; interrupt the process.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v, want status 130\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "softdiff: interrupted during test-block") {
		t.Fatalf("message lost:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Dir(out)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the interrupted run left the --out it created (%v)", err)
	}
}

// TestOutRemovedOnFailure: a failed merge creates no --out, and a run that
// fails before any experiment finishes removes the --out it created but
// never a directory that existed before.
func TestOutRemovedOnFailure(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "shard0")
	if _, _, err := runCLI(context.Background(), "run", "test-dice", "--shard", "0/2", "--out", in); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged", "deep")
	if _, _, err := runCLI(context.Background(), "merge", "--out", out, in); err == nil {
		t.Fatal("merge of one of two shards succeeded without --partial")
	}
	if _, err := os.Stat(filepath.Join(dir, "merged")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed merge left %s (%v)", out, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out = filepath.Join(dir, "new", "results")
	go func() {
		_, _, err := runCLI(ctx, "run", "test-block", "--out", out, "--seeds", "1")
		done <- err
	}()
	<-blockStarted
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "new")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("interrupted run left the --out it created (%v)", err)
	}
	// An existing --out stays, even empty.
	keep := filepath.Join(dir, "keep")
	if err := os.Mkdir(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		_, _, err := runCLI(ctx, "run", "test-block", "--out", keep, "--seeds", "1")
		done <- err
	}()
	<-blockStarted
	cancel()
	<-done
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("an existing --out was removed: %v", err)
	}
}

// TestParameterRanges: out-of-range values for the real experiments'
// parameters and seeds are refused before any work, naming the range.
func TestParameterRanges(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "marginal-trap", "--set", "samples=1e99"}, "outside its range [10, 100000]"},
		{[]string{"run", "marginal-trap", "--set", "samples=9223372036854775807"}, "outside its range"},
		{[]string{"run", "marginal-trap", "--set", "samples=1e10"}, "outside its range"},
		{[]string{"run", "all", "--set", "samples=1e10"}, "outside its range"},
		{[]string{"run", "frequency-collapse", "--set", "mask-rate=1.5"}, "[0, 1]"},
		{[]string{"run", "test-dice", "--seeds", "0"}, "--seeds 0: need 1 to 1000"},
		{[]string{"run", "test-dice", "--seeds", "1001"}, "--seeds 1001"},
	} {
		stdout, _, err := runCLI(context.Background(), tc.args...)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error mentioning %q", tc.args, err, tc.want)
		}
		if stdout != "" {
			t.Errorf("%v: work done before the check: %q", tc.args, stdout)
		}
	}
	// Every registered parameter documents its range in 'list NAME'.
	for _, e := range lab.All() {
		out, _, err := runCLI(context.Background(), "list", e.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range e.Params {
			if !strings.Contains(out, fmt.Sprintf("[%v, %v]", p.Min, p.Max)) {
				t.Errorf("list %s: no range for %s:\n%s", e.Name, p.Name, out)
			}
		}
	}
}

func TestExitCodeInterrupted(t *testing.T) {
	var b bytes.Buffer
	err := fmt.Errorf("interrupted during x: %w", context.Canceled)
	if c := exitCode(err, &b); c != 130 || !strings.Contains(b.String(), "interrupted during x") {
		t.Errorf("interrupted: exit %d, stderr %q", c, b.String())
	}
}

// TestBinaryOutsideRepository: the built command (this test binary's main)
// runs an experiment on the shipped KJV model from a directory outside the
// repository, with no SOFTDIFF_DATA: the data is embedded.
func TestBinaryOutsideRepository(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, experiments.DataEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "SOFTDIFF_CLI_CHILD=run kernel-smoothness --quick --out res")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "res", "kernel-smoothness", "rho.csv")); err != nil {
		t.Fatalf("no results: %v\n%s", err, out)
	}
	// The override still reads a model from disk.
	cmd = exec.Command(os.Args[0])
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), experiments.DataEnv+"="+dir, "SOFTDIFF_CLI_CHILD=run kernel-smoothness --quick")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), experiments.DataEnv+"="+dir) {
		t.Fatalf("%s pointing at a directory without kjv-hmm.json: %v\n%s", experiments.DataEnv, err, out)
	}
}
