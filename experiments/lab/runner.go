package lab

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"
)

// Record is one Row of one unit at one seed, with its place in the grid.
type Record struct {
	Unit      string `json:"unit"`
	UnitIndex int    `json:"unit_index"`
	Seed      int    `json:"seed"`
	RowIndex  int    `json:"row"`
	Row
}

// Result is an experiment's outcome: the raw records (what shards exchange)
// and the tables pooled from them.
type Result struct {
	Experiment string   `json:"experiment"`
	Title      string   `json:"title"`
	Hypothesis string   `json:"hypothesis"`
	Config     Config   `json:"config"`
	Units      []string `json:"units"`   // the whole grid's unit keys, in order
	Shards     []int    `json:"shards"`  // shard indices (of Config.Shard.N) contained
	Elapsed    float64  `json:"elapsed"` // wall-clock seconds of the run (beside other experiments under --jobs), summed over shards
	Records    []Record `json:"records"`

	Tables   []*Table `json:"-"`
	Verdicts []string `json:"-"`
}

// Complete reports whether r holds every shard of its grid.
func (r *Result) Complete() bool { return len(r.Shards) == r.Config.Shard.N }

// Table returns the pooled table called name, or nil.
func (r *Result) Table(name string) *Table {
	for _, t := range r.Tables {
		if t.Spec.Name == name {
			return t
		}
	}
	return nil
}

// Progress receives progress reports from Run: Begin once with the number of
// (unit, seed) items, Update after each finished item, End at the end. Calls
// come from several goroutines but never concurrently for one Progress.
type Progress interface {
	Begin(name string, total int)
	Update(s ProgressState)
	End()
}

// ProgressState is a run's progress after a finished item.
type ProgressState struct {
	Done, Total int
	Elapsed     time.Duration
	// Remaining estimates the wall time left, weighting every unfinished
	// item by its expected cost: the mean measured time of the finished
	// items of the same unit (its other seeds), or of all finished items for
	// a unit none of whose items has finished yet. Run schedules seed 0 of
	// every unit first, so after that first pass every unit has been
	// measured. The expected work left is divided by the throughput so far
	// (work finished per second of wall time), which accounts for parallel
	// workers.
	Remaining time.Duration
}

type nopProgress struct{}

func (nopProgress) Begin(string, int)    {}
func (nopProgress) Update(ProgressState) {}
func (nopProgress) End()                 {}

// etaEstimator predicts the time left in a run from the measured cost of
// its finished items (see ProgressState.Remaining).
type etaEstimator struct {
	left     []int     // unfinished items per unit
	sum      []float64 // seconds of finished items per unit
	n        []int     // finished items per unit
	work     float64   // seconds of all finished items
	finished int
}

func newETA(units int, items []int) *etaEstimator {
	e := &etaEstimator{left: make([]int, units), sum: make([]float64, units), n: make([]int, units)}
	for _, u := range items {
		e.left[u]++
	}
	return e
}

// finish records an item of unit u that took d.
func (e *etaEstimator) finish(u int, d time.Duration) {
	e.left[u]--
	e.sum[u] += d.Seconds()
	e.n[u]++
	e.work += d.Seconds()
	e.finished++
}

// remaining returns the estimated wall time left after elapsed, or -1
// before any item has finished.
func (e *etaEstimator) remaining(elapsed time.Duration) time.Duration {
	if e.finished == 0 || !(e.work > 0) {
		return -1
	}
	mean := e.work / float64(e.finished)
	var todo float64
	for u, l := range e.left { // fixed order: the sum is reproducible
		c := mean
		if e.n[u] > 0 {
			c = e.sum[u] / float64(e.n[u])
		}
		todo += float64(l) * c
	}
	return time.Duration(todo / e.work * float64(elapsed))
}

// ItemSeed returns the stream seed of unit key at seed index s under base: an
// FNV-1a hash of the key mixed with base and s by SplitMix64, so that it does
// not depend on the unit's position in the grid, on sharding or on workers.
func ItemSeed(base uint64, key string, s int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return Mix(Mix(base^h.Sum64()) + uint64(s)*0x9e3779b97f4a7c15)
}

// Mix is one SplitMix64 step: a well-mixed 64-bit function of x, used to
// derive the seed of a sub-stream (a setting, a data draw) from an item seed.
func Mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Run runs the part of e's grid that cfg.Shard selects, every (unit, seed)
// item on up to cfg.Workers goroutines, and pools the records into tables.
// The result does not depend on cfg.Workers. If ctx is cancelled Run stops
// starting items, waits for running ones and returns ctx's error and no
// result. prog may be nil.
func Run(ctx context.Context, e *Experiment, cfg Config, prog Progress) (*Result, error) {
	if prog == nil {
		prog = nopProgress{}
	}
	if err := e.Validate(cfg); err != nil {
		return nil, err
	}
	units, err := e.Units(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.Name, err)
	}
	keys := make([]string, len(units))
	seen := map[string]bool{}
	for i, u := range units {
		if seen[u.Key] {
			return nil, fmt.Errorf("%s: duplicate unit key %q", e.Name, u.Key)
		}
		seen[u.Key] = true
		keys[i] = u.Key
	}
	type item struct{ u, s int }
	var items []item
	seeds := cfg.Seeds
	if e.Deterministic {
		seeds = 1
	}
	// Seed-major order: seed 0 of every unit first, so that the progress
	// estimate has measured every unit after the first pass. The order does
	// not change the result (records are sorted) nor the shard split.
	var itemUnits []int
	for s := 0; s < seeds; s++ {
		for u := range units {
			if (u*seeds+s)%cfg.Shard.N == cfg.Shard.I {
				items = append(items, item{u, s})
				itemUnits = append(itemUnits, u)
			}
		}
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(items)))
	eta := newETA(len(units), itemUnits)
	start := time.Now()
	prog.Begin(e.Name, len(items))
	defer prog.End()

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		recs    []Record
		firstEr error
		next    int
		wg      sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(items) || firstEr != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				it := items[next]
				next++
				mu.Unlock()
				u := units[it.u]
				t0 := time.Now()
				rows, err := u.Run(ctx, ItemSeed(cfg.Seed, u.Key, it.s))
				took := time.Since(t0)
				if err == nil {
					err = checkRows(e, rows)
				}
				mu.Lock()
				if err != nil {
					if firstEr == nil {
						firstEr = fmt.Errorf("%s: unit %s seed %d: %w", e.Name, u.Key, it.s, err)
						cancel()
					}
					mu.Unlock()
					return
				}
				for ri, r := range rows {
					recs = append(recs, Record{Unit: u.Key, UnitIndex: it.u, Seed: it.s, RowIndex: ri, Row: r})
				}
				eta.finish(it.u, took)
				el := time.Since(start)
				prog.Update(ProgressState{Done: eta.finished, Total: len(items), Elapsed: el, Remaining: eta.remaining(el)})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// A cancelled caller is reported as such, not as the unit error the
	// cancellation caused.
	if err := parent.Err(); err != nil {
		return nil, err
	}
	if firstEr != nil {
		return nil, firstEr
	}
	res := &Result{
		Experiment: e.Name, Title: e.Title, Hypothesis: e.Hypothesis,
		Config: cfg, Units: keys, Shards: []int{cfg.Shard.I},
		Elapsed: time.Since(start).Seconds(), Records: recs,
	}
	sortRecords(res.Records)
	if err := finish(e, res); err != nil {
		return nil, err
	}
	return res, nil
}

// checkRows checks a unit's rows: at least one, each valid (checkRow).
func checkRows(e *Experiment, rows []Row) error {
	if len(rows) == 0 {
		return errors.New("unit returned no rows")
	}
	for _, r := range rows {
		if err := checkRow(e, r); err != nil {
			return err
		}
	}
	return nil
}

func sortRecords(rs []Record) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.UnitIndex != b.UnitIndex {
			return a.UnitIndex < b.UnitIndex
		}
		if a.Seed != b.Seed {
			return a.Seed < b.Seed
		}
		return a.RowIndex < b.RowIndex
	})
}

// finish pools r's records into tables and, for a complete grid, states the
// verdicts. A verdict function that panics on tables it did not expect is
// reported as an error, not passed on to the caller.
func finish(e *Experiment, r *Result) (err error) {
	r.Tables = pool(e.Tables, r.Records)
	r.Verdicts = nil
	if r.Complete() && e.Verdict != nil {
		defer func() {
			if p := recover(); p != nil {
				r.Verdicts = nil
				err = fmt.Errorf("%s: verdict on these tables failed: %v", e.Name, p)
			}
		}()
		r.Verdicts = e.Verdict(r)
	}
	return nil
}

// Merge combines results of the same experiment and configuration run as
// different shards into one, and pools its tables. It fails if the inputs
// disagree on the experiment, the configuration or the grid, if a shard
// appears twice, or if the merged records fail the checks of ReadRecords
// (so every listed shard has all its records). The merged result may still
// lack shards (see Complete).
func Merge(parts ...*Result) (*Result, error) {
	if len(parts) == 0 {
		return nil, errors.New("merge: nothing to merge")
	}
	first := parts[0]
	e, ok := Lookup(first.Experiment)
	if !ok {
		return nil, fmt.Errorf("merge: unknown experiment %q", first.Experiment)
	}
	out := &Result{
		Experiment: first.Experiment, Title: e.Title, Hypothesis: e.Hypothesis,
		Config: first.Config, Units: first.Units,
	}
	out.Config.Shard.I = 0
	have := map[int]bool{}
	for _, p := range parts {
		if p.Experiment != first.Experiment {
			return nil, fmt.Errorf("merge: experiments differ: %s and %s", first.Experiment, p.Experiment)
		}
		if err := sameConfig(first.Config, p.Config); err != nil {
			return nil, fmt.Errorf("merge %s: %w", p.Experiment, err)
		}
		if len(p.Units) != len(first.Units) {
			return nil, fmt.Errorf("merge %s: grids differ (%d and %d units)", p.Experiment, len(first.Units), len(p.Units))
		}
		for i := range p.Units {
			if p.Units[i] != first.Units[i] {
				return nil, fmt.Errorf("merge %s: grids differ at unit %d (%s and %s)", p.Experiment, i, first.Units[i], p.Units[i])
			}
		}
		for _, s := range p.Shards {
			if have[s] {
				return nil, fmt.Errorf("merge %s: shard %d/%d appears twice", p.Experiment, s, first.Config.Shard.N)
			}
			have[s] = true
			out.Shards = append(out.Shards, s)
		}
		out.Elapsed += p.Elapsed
		out.Records = append(out.Records, p.Records...)
	}
	sort.Ints(out.Shards)
	sortRecords(out.Records)
	if err := out.validate(); err != nil {
		return nil, fmt.Errorf("merge %s: %w", out.Experiment, err)
	}
	if err := finish(e, out); err != nil {
		return nil, err
	}
	return out, nil
}

func sameConfig(a, b Config) error {
	if a.Quick != b.Quick || a.Seeds != b.Seeds || a.Seed != b.Seed || a.Shard.N != b.Shard.N {
		return fmt.Errorf("configurations differ (quick %v/%v, seeds %d/%d, seed %d/%d, shards of %d/%d)",
			a.Quick, b.Quick, a.Seeds, b.Seeds, a.Seed, b.Seed, a.Shard.N, b.Shard.N)
	}
	if len(a.Params) != len(b.Params) {
		return errors.New("configurations differ in their parameters")
	}
	for _, k := range slices.Sorted(maps.Keys(a.Params)) {
		if w, ok := b.Params[k]; !ok || w != a.Params[k] {
			return fmt.Errorf("configurations differ in parameter %s", k)
		}
	}
	return nil
}

// Repool recomputes r's tables and verdicts from its records (after reading
// it back from disk).
func Repool(r *Result) error {
	e, ok := Lookup(r.Experiment)
	if !ok {
		return fmt.Errorf("unknown experiment %q", r.Experiment)
	}
	sortRecords(r.Records)
	return finish(e, r)
}
