package lab

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/soft"
)

// toyCoin is a test experiment: coins of known bias, so every pooled number
// has a known target.
var toyCoin = &Experiment{
	Name:       "test-coin",
	Title:      "coin flips (test fixture)",
	Hypothesis: "A coin of bias p lands heads at rate p.",
	Params:     []Param{{Name: "flips", Doc: "flips per seed", Default: 2000, Quick: 500, Int: true, Min: 1, Max: 1e6}},
	Tables: []TableSpec{{
		Name: "heads", Title: "Heads rate", Labels: []string{"p"},
		Metrics: []MetricSpec{{Name: "heads", Kind: Rate}, {Name: "mean", Kind: Mean}, {Name: "p", Kind: Exact}},
		Plots:   []PlotSpec{{X: "p", Y: "heads"}},
	}},
	Units: func(cfg Config) ([]Unit, error) {
		var us []Unit
		for _, p := range []float64{0.25, 0.5, 0.75} {
			us = append(us, Unit{Key: "p=" + ftoa(p), Run: func(ctx context.Context, seed uint64) ([]Row, error) {
				rng := soft.BlockRand(seed, 0)
				n := cfg.Int("flips")
				var k int64
				for i := 0; i < n; i++ {
					if rng.Float64() < p {
						k++
					}
				}
				return []Row{{Table: "heads", Labels: []string{ftoa(p)}, Values: map[string]Obs{
					"heads": Count(k, int64(n)), "mean": Scalar(float64(k) / float64(n)), "p": Scalar(p)}}}, nil
			}})
		}
		return us, nil
	},
	Verdict: func(r *Result) []string {
		e, _ := r.Table("heads").Get("heads", "p=0.25")
		f, _ := r.Table("heads").Get("heads", "p=0.75")
		if e.Below(f) {
			return []string{"p=0.25 lands heads less often than p=0.75"}
		}
		return nil
	},
}

func init() { Register(toyCoin) }

func TestMeanCI(t *testing.T) {
	// Reference: mean of 1..5 is 3, sample sd √2.5, t_{0.975,4} = 2.7764451
	// (standard t table), half-width 2.7764451·√2.5/√5 = 1.9632432.
	e := MeanCI([]float64{1, 2, 3, 4, 5})
	if !(math.Abs(e.Value-3) <= 1e-12) || !(math.Abs((e.Hi-e.Lo)/2-1.9632432) <= 1e-6) || e.Seeds != 5 {
		t.Fatalf("MeanCI = %+v, want 3 ± 1.9632432", e)
	}
	if e := MeanCI([]float64{2}); e.Value != 2 || e.HasCI() {
		t.Fatalf("one seed: %+v, want value 2 and no interval", e)
	}
	if e := MeanCI([]float64{math.NaN()}); e.Valid() {
		t.Fatalf("only NaN: %+v, want no value", e)
	}
}

func TestWilson(t *testing.T) {
	// Reference values from the closed form (Wilson 1927) evaluated by hand:
	// k=5, n=10: centre (5+1.9207)/(13.8415) = 0.5, half-width
	// 1.96/13.8415·√(2.5+0.9604) = 0.263414 → [0.236586, 0.763414].
	e := Wilson(5, 10)
	if !(math.Abs(e.Lo-0.236593) <= 1e-5) || !(math.Abs(e.Hi-0.763407) <= 1e-5) {
		t.Fatalf("Wilson(5,10) = [%v, %v]", e.Lo, e.Hi)
	}
	// k=0, n=10: lower end 0, upper z²/(n+z²) = 3.8415/13.8415 = 0.277533.
	e = Wilson(0, 10)
	if e.Lo != 0 || !(math.Abs(e.Hi-0.277533) <= 1e-5) {
		t.Fatalf("Wilson(0,10) = [%v, %v]", e.Lo, e.Hi)
	}
	if e := Wilson(0, 0); e.Valid() && !math.IsNaN(e.Value) {
		t.Fatalf("Wilson(0,0) = %+v, want NaN", e)
	}
}

func runToy(t *testing.T, cfg Config) *Result {
	t.Helper()
	r, err := Run(context.Background(), toyCoin, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunDeterministicAcrossWorkersAndShards(t *testing.T) {
	cfg := toyCoin.Config(true)
	cfg.Workers = 1
	a := runToy(t, cfg)
	cfg.Workers = 4
	b := runToy(t, cfg)
	if !reflect.DeepEqual(a.Records, b.Records) {
		t.Fatal("records differ between 1 and 4 workers")
	}
	var parts []*Result
	for i := 0; i < 4; i++ {
		c := cfg
		c.Shard = Shard{i, 4}
		parts = append(parts, runToy(t, c))
	}
	m, err := Merge(parts[2], parts[0], parts[3], parts[1])
	if err != nil {
		t.Fatal(err)
	}
	if !m.Complete() || !reflect.DeepEqual(m.Records, a.Records) {
		t.Fatal("merged shards differ from the whole run")
	}
	if !sameTables(m, a) || !reflect.DeepEqual(m.Verdicts, a.Verdicts) || len(a.Verdicts) != 1 {
		t.Fatalf("merged tables or verdicts differ: %v vs %v", m.Verdicts, a.Verdicts)
	}
	if _, err := Merge(parts[0], parts[0]); err == nil {
		t.Fatal("merging a shard twice succeeded")
	}
	other := toyCoin.Config(false)
	other.Shard = Shard{1, 4}
	if _, err := Merge(parts[0], runToy(t, other)); err == nil {
		t.Fatal("merging different configurations succeeded")
	}
}

func TestPooledRatesCoverTruth(t *testing.T) {
	cfg := toyCoin.Config(false)
	r := runToy(t, cfg)
	tb := r.Table("heads")
	for _, p := range []float64{0.25, 0.5, 0.75} {
		e, ok := tb.Get("heads", "p="+ftoa(p))
		// 10000 flips: the Wilson interval has half-width about 0.009; a
		// miss of the true p has probability 5% per row, but the seeds are
		// fixed, so this test is deterministic.
		if !ok || !e.Contains(p) || e.N != int64(cfg.Seeds*cfg.Int("flips")) {
			t.Fatalf("p=%v: %+v does not cover the truth", p, e)
		}
		m, _ := tb.Get("mean", "p="+ftoa(p))
		if !m.Contains(p) || m.Seeds != cfg.Seeds {
			t.Fatalf("p=%v: mean %+v does not cover the truth", p, m)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	cfg := toyCoin.Config(true)
	for _, bad := range []struct {
		name string
		v    float64
	}{{"flips", 0}, {"flips", 1.5}, {"flips", math.NaN()}, {"nope", 1}} {
		c := toyCoin.Config(true)
		if err := toyCoin.Set(&c, bad.name, bad.v); err == nil {
			t.Errorf("Set(%s=%v) accepted", bad.name, bad.v)
		} else if !strings.Contains(err.Error(), bad.name) {
			t.Errorf("error %q does not name %s", err, bad.name)
		}
	}
	cfg.Seeds = 0
	if _, err := Run(context.Background(), toyCoin, cfg, nil); err == nil {
		t.Fatal("Run accepted 0 seeds")
	}
	for _, s := range []string{"1/1", "2/2", "-1/3", "a/b", "3", "1/0"} {
		if _, err := ParseShard(s); err == nil {
			t.Errorf("ParseShard(%q) accepted", s)
		}
	}
	if s, err := ParseShard("2/5"); err != nil || s != (Shard{2, 5}) {
		t.Errorf("ParseShard(2/5) = %v, %v", s, err)
	}
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Run(ctx, toyCoin, toyCoin.Config(true), nil)
	if r != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v, %v", r, err)
	}
}

func TestWriteReadResult(t *testing.T) {
	dir := t.TempDir()
	r := runToy(t, toyCoin.Config(true))
	if err := WriteResult(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"records.json", "summary.json", "heads.csv", "heads.md", "heads.svg", "README.md"} {
		if st, err := os.Stat(filepath.Join(dir, "test-coin", f)); err != nil || st.Size() == 0 {
			t.Fatalf("missing output %s: %v", f, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "test-coin", "heads.svg"))
	if !strings.Contains(string(svg), "@font-face") {
		t.Error("SVG does not embed its fonts")
	}
	back, err := ReadResult(filepath.Join(dir, "test-coin"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameTables(back, r) || !reflect.DeepEqual(back.Verdicts, r.Verdicts) {
		t.Fatal("tables read back differ")
	}
	// Overwrite with a different result: the directory is replaced whole
	// and no staging directory is left behind.
	c := toyCoin.Config(false)
	r2 := runToy(t, c)
	if err := WriteResult(dir, r2); err != nil {
		t.Fatal(err)
	}
	back, err = ReadResult(filepath.Join(dir, "test-coin"))
	if err != nil || back.Config.Quick {
		t.Fatalf("second write not visible: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("output dir holds %d entries, want only test-coin", len(ents))
	}
}

func TestWriteResultUnwritable(t *testing.T) {
	dir := t.TempDir()
	r := runToy(t, toyCoin.Config(true))
	if err := WriteResult(dir, r); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	r2 := runToy(t, toyCoin.Config(false))
	var err error
	if os.Geteuid() == 0 {
		// root ignores the directory's permissions: a zero file-size
		// limit makes the writes fail instead.
		restore := limitFileSize(t)
		err = WriteResult(dir, r2)
		restore()
	} else {
		err = WriteResult(dir, r2)
	}
	if err == nil {
		t.Fatal("write into a read-only directory succeeded")
	}
	back, err := ReadResult(filepath.Join(dir, "test-coin"))
	if err != nil || !back.Config.Quick {
		t.Fatalf("previous result damaged: %v", err)
	}
}

// sameTables compares pooled tables through their JSON form (NaN-safe).
func sameTables(a, b *Result) bool {
	ja, err1 := json.Marshal(a.Tables)
	jb, err2 := json.Marshal(b.Tables)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
