package experiments

import (
	"testing"
	"time"

	"github.com/softdiff/softdiff/experiments/lab"
)

// parallelSet are the experiments TestParallelUnits runs: two whose
// smallest run takes seconds (joint-decode 0.3 s, quality-vs-nfe 4 s on the
// loaded 2-core development machine; 5.5 s and 18.6 s under -race) and
// between them share the testbed cache (every testbed, the KJV data among
// them), the learned networks and the memoised pseudo-likelihood scorers.
// Left out for their cost under -race at the smallest sizes (about ten
// times these plain times): degraded-sensitivity 1.6 s, kernel-smoothness
// 2.8 s, model-error 6.3 s, graded-generation 6.7 s, frequency-collapse
// 9.5 s, duplication 11 s, marginal-trap 37 s, learned-central 43 s
// (docs/testing.md).
var parallelSet = []string{"joint-decode", "quality-vs-nfe"}

// TestParallelUnits runs each experiment of parallelSet at its smallest
// sizes (each integer parameter at its minimum, one seed) with one worker
// and with four, and requires the two records.json to be equal byte for
// byte. With four workers the units run side by side and share the
// package's caches, so under -race this is the parallel path of those
// experiments; CI runs it there (.ci/run), where the whole package is too
// slow (docs/testing.md).
func TestParallelUnits(t *testing.T) {
	for _, name := range parallelSet {
		e, ok := lab.Lookup(name)
		if !ok {
			t.Fatalf("no experiment %q", name)
		}
		t.Run(e.Name, func(t *testing.T) {
			start := time.Now()
			cfg := e.Config(true)
			for _, p := range e.Params {
				if p.Int {
					cfg.Params[p.Name] = p.Min
				}
			}
			sameRecordsAtWorkers(t, e, cfg)
			t.Logf("%s: %v", e.Name, time.Since(start).Round(time.Millisecond))
		})
	}
}
