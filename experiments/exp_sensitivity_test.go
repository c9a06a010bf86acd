package experiments

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/softdiff/softdiff/degrade"
	"github.com/softdiff/softdiff/experiments/lab"
)

// sensOnly is degraded-sensitivity restricted to the units whose key starts
// with prefix (one comparison).
func sensOnly(prefix string) *lab.Experiment {
	e := *degradedSensitivity
	e.Units = func(cfg lab.Config) ([]lab.Unit, error) {
		us, err := sensUnits(cfg)
		if err != nil {
			return nil, err
		}
		var out []lab.Unit
		for _, u := range us {
			if strings.HasPrefix(u.Key, prefix) {
				out = append(out, u)
			}
		}
		return out, nil
	}
	return &e
}

// The verdict the quick run shows as stable: on the agreement corpus at 2
// NFE under the degraded oracle, the best hard sampler (LLaDA-lowconf in the
// quick run) has a lower invalid rate than the best soft one at every setting
// of the sweep (quick run: 0.55 [0.52, 0.58] against 0.84 [0.82, 0.86] at
// the default; the closest pair is w_max = 0.9, 0.93 [0.92, 0.95] against
// 0.97 [0.95, 0.98]). What would flip it: a soft sampler whose invalid rate
// at 2 NFE under model error reaches the best hard rule's interval at some
// setting (the smallest margin is at w_max = 0.9, where the collapse leaves
// both near 1), or a hard rule that stops committing the agreeing token
// first.
func TestClaimSensitivityTrapAgreementStable(t *testing.T) {
	e := sensOnly("trap-agreement/")
	cfg := e.Config(true)
	r, err := lab.Run(context.Background(), e, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab := r.Table("sensitivity")
	c := sensComparisons[1]
	if c.name != "trap-agreement" {
		t.Fatalf("comparison 1 is %s", c.name)
	}
	for _, st := range sensSettings(cfg) {
		if st.param == sensReference {
			continue // the exact oracle: not a setting of the degraded one
		}
		v := sensJudge(tab, c, "invalid", st.label)
		if v.word != "hard better" {
			t.Errorf("%s: %s (soft %s %v [%v, %v], hard %s %v [%v, %v]), want hard better", st.label, v.word,
				v.softName, v.soft.Value, v.soft.Lo, v.soft.Hi, v.hardName, v.hard.Value, v.hard.Lo, v.hard.Hi)
		}
	}
	found := false
	for _, s := range r.Verdicts {
		if strings.HasPrefix(s, "Stable across settings? trap-agreement") {
			found = true
			if !strings.Contains(s, "yes (hard better at every setting of the degraded oracle)") {
				t.Errorf("stability verdict %q", s)
			}
		}
	}
	if !found {
		t.Errorf("no stability verdict for trap-agreement in %q", r.Verdicts)
	}
}

// The sweep is the default, the exact oracle (reference), and each
// parameter moved down and up, with the noise seed set exactly where there
// is noise.
func TestSensSettings(t *testing.T) {
	cfg := degradedSensitivity.Config(false)
	ss := sensSettings(cfg)
	want := []degrade.Options{
		{Collapse: 0.5, Range: 2}, {},
		{Collapse: 0.25, Range: 2}, {Collapse: 0.9, Range: 2},
		{Collapse: 0.5, Range: 1}, {Collapse: 0.5, Range: 4},
		{Collapse: 0.5, Range: 2, Noise: 0.5, Seed: 1}, {Collapse: 0.5, Range: 2, Noise: 1, Seed: 1},
	}
	if len(ss) != len(want) {
		t.Fatalf("%d settings, want %d", len(ss), len(want))
	}
	for i, s := range ss {
		if (i == 1) != (s.param == sensReference) {
			t.Errorf("setting %d (%s): parameter %s", i, s.label, s.param)
		}
		if s.o != want[i] {
			t.Errorf("setting %d (%s): %+v, want %+v", i, s.label, s.o, want[i])
		}
	}
}

// absEstimate folds an interval at 0: by hand, |x| for x in [−0.3, 0.1]
// lies in [0, 0.3]; for x in [−0.5, −0.2] in [0.2, 0.5]; [0.1, 0.4] stays.
func TestAbsEstimate(t *testing.T) {
	for _, tc := range []struct{ v, lo, hi, wv, wlo, whi float64 }{
		{-0.1, -0.3, 0.1, 0.1, 0, 0.3},
		{-0.35, -0.5, -0.2, 0.35, 0.2, 0.5},
		{0.25, 0.1, 0.4, 0.25, 0.1, 0.4},
	} {
		g := absEstimate(lab.Estimate{Kind: lab.Mean, Value: tc.v, Lo: tc.lo, Hi: tc.hi, Seeds: 3})
		if !(math.Abs(g.Value-tc.wv) < 1e-12 && math.Abs(g.Lo-tc.wlo) < 1e-12 && math.Abs(g.Hi-tc.whi) < 1e-12) {
			t.Errorf("|[%v, %v]| = %v [%v, %v], want %v [%v, %v]", tc.lo, tc.hi, g.Value, g.Lo, g.Hi, tc.wv, tc.wlo, tc.whi)
		}
	}
}

// records.json of degraded-sensitivity is the same byte for byte at one
// worker and at four (the noise settings included).
func TestSensitivityRecordsReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment twice")
	}
	cfg := degradedSensitivity.Config(true)
	cfg.Params["samples"] = 20
	cfg.Params["collapse-samples"] = 10
	sameRecordsAtWorkers(t, degradedSensitivity, cfg)
}
