package experiments

import (
	"bytes"
	"context"
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
			var out [2][]byte
			for i, workers := range []int{1, 4} {
				cfg := e.Config(true)
				cfg.Seeds, cfg.Workers = 1, workers
				for _, p := range e.Params {
					if p.Int {
						cfg.Params[p.Name] = p.Min
					}
				}
				r, err := lab.Run(context.Background(), e, cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				r.Elapsed = 0
				files, err := lab.Files(r)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = files[lab.RecordsFile]
			}
			if len(out[0]) == 0 || !bytes.Equal(out[0], out[1]) {
				t.Fatalf("records.json differs between 1 and 4 workers (%d and %d bytes):\n%s", len(out[0]), len(out[1]), firstDiff(out[0], out[1]))
			}
			t.Logf("%s: %v", e.Name, time.Since(start).Round(time.Millisecond))
		})
	}
}
