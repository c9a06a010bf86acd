package lab

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Experiment is one registered experiment: a grid of work units, each run once
// per seed, and the tables their rows are pooled into.
type Experiment struct {
	// Name is the command-line name, e.g. "marginal-trap".
	Name string
	// Title is a one-line description.
	Title string
	// Hypothesis is the one-paragraph claim the experiment tests.
	Hypothesis string
	// Params are the experiment's configurable sizes and settings, each with a
	// default and a quick value.
	Params []Param
	// Tables describes the tables the rows are pooled into, in order.
	Tables []TableSpec
	// Units returns the grid of work for cfg, in a fixed order. It must be
	// deterministic: sharding and merging rely on the order.
	Units func(cfg Config) ([]Unit, error)
	// Verdict states, from the pooled tables, what the CIs support. It may be
	// nil.
	Verdict func(r *Result) []string
	// Deterministic marks an experiment whose units compute exact quantities
	// with no randomness: only seed 0 is run, whatever Config.Seeds says.
	Deterministic bool
	// Rank orders listings (All, 'softdiff list', 'run all'): ranked
	// experiments (Rank > 0) first, lowest first, then the unranked ones
	// (the zero value) by name.
	Rank int
}

// Param is one configurable setting of an experiment. Its accepted range
// [Min, Max] is part of its documentation ('softdiff list NAME' prints it)
// and is checked by Set before any work starts; Register requires
// Min < Max with Default and Quick inside the range, so every parameter is
// bounded (a sample size of 1e10 is refused, not run).
type Param struct {
	Name    string
	Doc     string
	Default float64 // value of a full run
	Quick   float64 // value under --quick
	Int     bool    // must be an integer
	Min     float64 // smallest accepted value
	Max     float64 // largest accepted value
}

// Unit is one cell of an experiment's grid. Run is called once per seed with
// that seed's 64-bit stream seed; it must draw all its randomness from
// streams derived from it (soft.BlockRand(seed, b)), and return at least one
// row (a finished item is recognised in a records file by its rows).
type Unit struct {
	Key string
	Run func(ctx context.Context, seed uint64) ([]Row, error)
}

// Row is one observation of a unit at one seed: the table it belongs to, its
// label values (in the order of the table's Labels) and metric observations by
// metric name. A metric missing from Values is not observed at this seed.
type Row struct {
	Table  string         `json:"table"`
	Labels []string       `json:"labels"`
	Values map[string]Obs `json:"values"`
}

// Obs is one seed's observation of a metric: a scalar X for Mean and Exact
// metrics, counts K of N for a Rate.
type Obs struct {
	X float64 `json:"x,omitempty"`
	K int64   `json:"k,omitempty"`
	N int64   `json:"n,omitempty"`
}

// Count returns a rate observation of k out of n.
func Count(k, n int64) Obs { return Obs{K: k, N: n} }

// Scalar returns a scalar observation.
func Scalar(x float64) Obs { return Obs{X: x} }

// Shard selects the I-th (0-based) of N disjoint parts of the grid.
type Shard struct {
	I int `json:"i"`
	N int `json:"n"`
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Whole reports whether s selects the whole grid.
func (s Shard) Whole() bool { return s.N <= 1 }

// ParseShard parses "i/n" with 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n", s)
	}
	return Shard{I: i, N: n}, nil
}

// Config is one run's configuration.
type Config struct {
	Quick   bool               `json:"quick"`
	Seeds   int                `json:"seeds"`
	Seed    uint64             `json:"seed"` // base seed of every random stream
	Workers int                `json:"-"`    // does not change results
	Shard   Shard              `json:"shard"`
	Params  map[string]float64 `json:"params"`
}

// DefaultSeeds is the number of seeds of a full run, QuickSeeds of --quick;
// Config.Seeds must lie in [1, MaxSeeds].
const (
	DefaultSeeds = 5
	QuickSeeds   = 3
	MaxSeeds     = 1000
	DefaultSeed  = 20260101
)

// Config returns e's configuration at its defaults (quick sizes if quick).
func (e *Experiment) Config(quick bool) Config {
	c := Config{Quick: quick, Seeds: DefaultSeeds, Seed: DefaultSeed, Shard: Shard{0, 1}, Params: map[string]float64{}}
	if quick {
		c.Seeds = QuickSeeds
	}
	for _, p := range e.Params {
		if quick {
			c.Params[p.Name] = p.Quick
		} else {
			c.Params[p.Name] = p.Default
		}
	}
	return c
}

// Set overrides parameter name with value after checking it; the error names
// the parameter and the accepted range.
func (e *Experiment) Set(c *Config, name string, value float64) error {
	for _, p := range e.Params {
		if p.Name != name {
			continue
		}
		if math.IsNaN(value) || math.IsInf(value, 0) {
			return fmt.Errorf("%s: parameter %s = %v is not a finite number", e.Name, name, value)
		}
		if p.Int && value != math.Trunc(value) {
			return fmt.Errorf("%s: parameter %s = %v must be an integer", e.Name, name, value)
		}
		if value < p.Min || value > p.Max {
			return fmt.Errorf("%s: parameter %s = %v outside its range [%v, %v]", e.Name, name, value, p.Min, p.Max)
		}
		c.Params[name] = value
		return nil
	}
	names := make([]string, len(e.Params))
	for i, p := range e.Params {
		names[i] = p.Name
	}
	return fmt.Errorf("%s: unknown parameter %q (known: %s)", e.Name, name, strings.Join(names, ", "))
}

// Validate checks c against e's parameters.
func (e *Experiment) Validate(c Config) error {
	if c.Seeds < 1 || c.Seeds > MaxSeeds {
		return fmt.Errorf("%s: seeds = %d outside [1, %d]", e.Name, c.Seeds, MaxSeeds)
	}
	if c.Shard.N < 1 || c.Shard.I < 0 || c.Shard.I >= c.Shard.N {
		return fmt.Errorf("%s: bad shard %s", e.Name, c.Shard)
	}
	for _, p := range e.Params {
		v, ok := c.Params[p.Name]
		if !ok {
			return fmt.Errorf("%s: parameter %s is not set", e.Name, p.Name)
		}
		cc := Config{Params: map[string]float64{}}
		if err := e.Set(&cc, p.Name, v); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		if e.param(k) == nil {
			return fmt.Errorf("%s: unknown parameter %q", e.Name, k)
		}
	}
	return nil
}

func (e *Experiment) param(name string) *Param {
	for i := range e.Params {
		if e.Params[i].Name == name {
			return &e.Params[i]
		}
	}
	return nil
}

// Float returns parameter name; it panics if the experiment did not declare
// it (a programming error in the experiment).
func (c Config) Float(name string) float64 {
	v, ok := c.Params[name]
	if !ok {
		panic("lab: parameter " + name + " not in config")
	}
	return v
}

// Int returns integer parameter name.
func (c Config) Int(name string) int { return int(c.Float(name)) }

var registry = map[string]*Experiment{}

// Register adds e to the registry. It panics on a duplicate or empty name, a
// table without a name, or a parameter without a range [Min, Max] that holds
// its Default and Quick values: programming errors in the experiment.
func Register(e *Experiment) {
	if e.Name == "" || e.Units == nil {
		panic("lab: Register needs a name and Units")
	}
	if _, dup := registry[e.Name]; dup {
		panic("lab: duplicate experiment " + e.Name)
	}
	for _, t := range e.Tables {
		if t.Name == "" {
			panic("lab: table without a name in " + e.Name)
		}
	}
	for _, p := range e.Params {
		inRange := func(v float64) bool { return v >= p.Min && v <= p.Max && (!p.Int || v == math.Trunc(v)) }
		if !(p.Min < p.Max) || math.IsInf(p.Min, 0) || math.IsInf(p.Max, 0) || !inRange(p.Default) || !inRange(p.Quick) {
			panic(fmt.Sprintf("lab: %s: parameter %s needs a finite range Min < Max holding Default and Quick, got [%v, %v] with %v, %v",
				e.Name, p.Name, p.Min, p.Max, p.Default, p.Quick))
		}
	}
	registry[e.Name] = e
}

// All returns the registered experiments in listing order (Experiment.Rank,
// then name).
func All() []*Experiment {
	out := make([]*Experiment, 0, len(registry))
	for _, e := range registry {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		ri, rj := out[i].Rank, out[j].Rank
		switch {
		case ri > 0 && rj > 0 && ri != rj:
			return ri < rj
		case (ri > 0) != (rj > 0):
			return ri > 0
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Lookup returns the experiment called name.
func Lookup(name string) (*Experiment, bool) {
	e, ok := registry[name]
	return e, ok
}
