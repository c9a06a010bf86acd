package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/softdiff/softdiff/experiments/lab"
)

// gauge counts units running at once across experiments.
type gauge struct{ now, peak atomic.Int32 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// sleeper is an experiment of one unit that sleeps d (or fails with fail
// after d) while counted by g.
func sleeper(name string, d time.Duration, g *gauge, fail error) *lab.Experiment {
	return &lab.Experiment{
		Name: name, Title: name, Hypothesis: "none",
		Tables: []lab.TableSpec{{Name: "t", Title: "t", Metrics: []lab.MetricSpec{{Name: "x"}}}},
		Units: func(cfg lab.Config) ([]lab.Unit, error) {
			return []lab.Unit{{Key: "u", Run: func(ctx context.Context, seed uint64) ([]lab.Row, error) {
				g.enter()
				defer g.leave()
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				if fail != nil {
					return nil, fail
				}
				return []lab.Row{{Table: "t", Values: map[string]lab.Obs{"x": lab.Scalar(1)}}}, nil
			}}}, nil
		},
	}
}

func sleeperCfgs(exps []*lab.Experiment) []lab.Config {
	cfgs := make([]lab.Config, len(exps))
	for i, e := range exps {
		cfgs[i] = e.Config(true)
		cfgs[i].Seeds = 1
		cfgs[i].Shard = lab.Shard{N: 1}
	}
	return cfgs
}

func TestRunExperimentsJobsBound(t *testing.T) {
	for _, jobs := range []int{1, 2, 3} {
		var g gauge
		var exps []*lab.Experiment
		for _, n := range []string{"a", "b", "c", "d", "e"} {
			exps = append(exps, sleeper(n, 20*time.Millisecond, &g, nil))
		}
		outs := runExperiments(context.Background(), exps, sleeperCfgs(exps), jobs, func() lab.Progress { return nil })
		for i, e := range exps {
			o := <-outs[i]
			if o.err != nil || o.res == nil || o.res.Experiment != e.Name {
				t.Fatalf("jobs %d: outcome %d = %+v, want experiment %s", jobs, i, o, e.Name)
			}
		}
		// With 20 ms units, jobs experiments overlap: the peak is jobs
		// exactly (never more; at least 2 when allowed, as 5 × 20 ms
		// overlap on any scheduler that starts goroutines within 20 ms).
		if p := int(g.peak.Load()); p > jobs || (jobs > 1 && p < 2) {
			t.Errorf("jobs %d: %d experiments ran at once", jobs, p)
		}
	}
}

func TestRunExperimentsFirstFailureWins(t *testing.T) {
	var g gauge
	boom := errors.New("boom")
	exps := []*lab.Experiment{
		sleeper("slow", 10*time.Second, &g, nil), // cancelled by the failure
		sleeper("bad", 10*time.Millisecond, &g, boom),
		sleeper("later", 10*time.Millisecond, &g, nil), // never needed
	}
	start := time.Now()
	outs := runExperiments(context.Background(), exps, sleeperCfgs(exps), 2, func() lab.Progress { return nil })
	o := <-outs[0]
	if !errors.Is(o.err, boom) {
		t.Fatalf("first outcome: %v, want the failure of 'bad'", o.err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("the failure did not cancel the slow experiment")
	}
	for i := 1; i < len(exps); i++ {
		if o := <-outs[i]; o.err == nil {
			t.Errorf("outcome %d: no error after a failure", i)
		}
	}
}

func TestRunExperimentsCancelled(t *testing.T) {
	var g gauge
	exps := []*lab.Experiment{sleeper("a", 10*time.Second, &g, nil), sleeper("b", 10*time.Second, &g, nil), sleeper("c", 10*time.Second, &g, nil)}
	ctx, cancel := context.WithCancel(context.Background())
	outs := runExperiments(ctx, exps, sleeperCfgs(exps), 2, func() lab.Progress { return nil })
	time.Sleep(20 * time.Millisecond)
	cancel()
	for i := range exps {
		if o := <-outs[i]; !errors.Is(o.err, context.Canceled) {
			t.Errorf("outcome %d: %v, want context.Canceled", i, o.err)
		}
	}
}

// TestRunJobsSameOutput: 'run' with several experiments prints the same
// tables with --jobs 1 and --jobs 3.
func TestRunJobsSameOutput(t *testing.T) {
	a, _, err := runCLI(context.Background(), "run", "test-dice", "--jobs", "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range []string{"1", "3"} {
		dir := t.TempDir()
		b, _, err := runCLI(context.Background(), "run", "test-dice", "--jobs", j, "--out", dir)
		if err != nil || b != a {
			t.Fatalf("--jobs %s: %v\n%s\nwant\n%s", j, err, b, a)
		}
	}
	if _, _, err := runCLI(context.Background(), "run", "test-dice", "--jobs", "0"); err == nil {
		t.Fatal("--jobs 0 accepted")
	}
}
