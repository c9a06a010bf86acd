package experiments

import (
	"bytes"
	"context"
	"testing"

	"github.com/softdiff/softdiff/experiments/lab"
)

// TestRecordsBitReproducible runs quality-vs-nfe (whose TV sums over a map
// of sequences) twice at a tiny size, with one worker and with four, and
// requires records.json to be equal byte for byte: every sum in a fixed
// order, randomness only from the unit's seed; its agreement-PCFG rows run
// the learned denoisers (a cachedNet per unit) and their pseudo-likelihood
// scorers.
func TestRecordsBitReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment twice")
	}
	cfg := qualityVsNFE.Config(true)
	cfg.Params["samples"] = 40
	cfg.Params["max-factor"] = 2
	cfg.Params["learned-samples"] = 2 // the network rows (agreement PCFG) too, small
	sameRecordsAtWorkers(t, qualityVsNFE, cfg)
}

// sameRecordsAtWorkers runs e with cfg (one seed) at 1 and at 4 workers and
// fails unless the two records.json files are non-empty and byte-equal.
func sameRecordsAtWorkers(t *testing.T, e *lab.Experiment, cfg lab.Config) {
	t.Helper()
	var out [2][]byte
	for i, workers := range []int{1, 4} {
		cfg.Seeds, cfg.Workers = 1, workers
		r, err := lab.Run(context.Background(), e, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Elapsed = 0 // the wall time, the one field that may differ
		files, err := lab.Files(r)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = files[lab.RecordsFile]
	}
	if len(out[0]) == 0 || !bytes.Equal(out[0], out[1]) {
		t.Fatalf("%s: records.json differs between 1 and 4 workers (%d and %d bytes):\n%s", e.Name, len(out[0]), len(out[1]), firstDiff(out[0], out[1]))
	}
}

func firstDiff(a, b []byte) string {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			lo := max(0, i-300)
			return string(a[lo:min(len(a), i+100)]) + "\n----\n" + string(b[lo:min(len(b), i+100)])
		}
	}
	return ""
}
