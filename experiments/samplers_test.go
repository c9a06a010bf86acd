package experiments

import (
	"strings"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/experiments/lab"
)

// TestSamplerRegistry: names come from the algorithms (one set of names),
// a misspelt name is an error rather than a silently shorter list, every
// experiment's grid resolves its samplers, and registration rejects
// duplicates.
func TestSamplerRegistry(t *testing.T) {
	want := []string{"MDLM", "LLaDA-random", "LLaDA-lowconf", "Dream-entropy", "ReMDM-cap", "Fast-dLLM", "EB",
		"SL-uniform", "SL-geometric", "SL-geometric-entropyrate", "SL-info", "LRD", "Hybrid-commit", "Hybrid-gibbs"}
	got := Samplers()
	if len(got) < len(want) {
		t.Fatalf("%d samplers registered, want at least %d", len(got), len(want))
	}
	for i, n := range want {
		if got[i].Name != n {
			t.Fatalf("sampler %d is %q, want %q", i, got[i].Name, n)
		}
		if got[i].Alg != nil && got[i].Alg.Name() != n {
			t.Fatalf("sampler %q has algorithm name %q", n, got[i].Alg.Name())
		}
	}
	if _, err := samplersNamed("MDLM", "SL-unifrom"); err == nil || !strings.Contains(err.Error(), "SL-unifrom") {
		t.Fatalf("misspelt name: err %v", err)
	}
	for _, e := range lab.All() {
		if _, err := e.Units(e.Config(true)); err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate registration accepted")
		}
	}()
	RegisterSampler(Sampler{Family: FamilyHard, Alg: decode.MDLM{}})
}
