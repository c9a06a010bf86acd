package remote

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/nn"
	"github.com/softdiff/softdiff/soft"
)

// The live tests talk to the reference server (serve/server.py) serving
// the checkpoints of testdata under their directory names:
//
//	/usr/bin/python3 serve/server.py --checkpoint remote/testdata/oip-tiny \
//	    --checkpoint remote/testdata/oip-tiny-bf16 --port 8000 &
//	SOFTDIFF_OIP_URL=http://127.0.0.1:8000 go test ./remote -run Live
//
// .ci/run does this on a free loopback port.

// liveTol is the largest |remote − in-process| accepted on a belief: the
// server computes in PyTorch, the in-process model in Go.
const liveTol = 1e-4

var liveModels = []string{"oip-tiny", "oip-tiny-bf16"}

func liveURL(t *testing.T) string {
	u := os.Getenv("SOFTDIFF_OIP_URL")
	if u == "" {
		t.Skip("SOFTDIFF_OIP_URL is not set: the live tests need serve/server.py (see live_test.go; .ci/run starts it)")
	}
	return u
}

func liveDial(t *testing.T, name string, opts Options) *Model {
	t.Helper()
	m, err := Dial(context.Background(), liveURL(t), name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parityEvidence returns the evidence rows of a checkpoint's parity
// fixture (every kind of row: one-hot, MASK, soft at several SNRs, hybrid,
// uniform, unnormalised), one soft.Dense per sequence.
func parityEvidence(t *testing.T, dir string) []*soft.Dense {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, nn.ParityFile))
	if err != nil {
		t.Fatal(err)
	}
	st, err := nn.ParseSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	ev := st.Tensors["evidence"]
	N, L, K := ev.Shape[0], ev.Shape[1], ev.Shape[2]
	out := make([]*soft.Dense, N)
	for n := range out {
		out[n] = &soft.Dense{L: L, K: K, Data: ev.Data[n*L*K : (n+1)*L*K]}
	}
	return out
}

// maxDiff returns max |a − b| over the entries, +Inf if either holds NaN.
func maxDiff(a, b *soft.Dense) float64 {
	worst := 0.0
	for j := range a.Data {
		d := math.Abs(float64(a.Data[j]) - float64(b.Data[j]))
		if !(d <= worst) {
			worst = d
			if math.IsNaN(d) {
				return math.Inf(1)
			}
		}
	}
	return worst
}

// TestLiveBeliefs: the served model gives the in-process nn beliefs to
// 1e-4, for every encoding of evidence and beliefs, one sequence or a batch
// the server merges.
func TestLiveBeliefs(t *testing.T) {
	liveURL(t)
	for _, name := range liveModels {
		dir := filepath.Join("testdata", name)
		local := loadModel(t, dir)
		K, mask := local.Config().VocabSize, int32(local.Config().MaskTokenID)
		L := local.Config().MaxPositions
		rng := rand.New(rand.NewPCG(21, 22))
		evs := parityEvidence(t, dir)
		for _, kinds := range []string{"hm", "hmy", "hmysu"} {
			evs = append(evs, testEvidence(rng, L, K, mask, kinds))
		}
		cases := []struct {
			name string
			opts Options
		}{
			{"auto", Options{}},
			{"dense", Options{DenseEvidence: true}},
			{"json", Options{JSON: true}},
			{"logits", Options{Logits: true}},
			{"topk-all", Options{TopK: K - 1}},
			{"topk-3", Options{TopK: 3}},
			{"merged", Options{MaxBatch: 1, Concurrency: 8}},
		}
		for _, c := range cases {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				m := liveDial(t, name, c.opts)
				dst, ts := make([]*soft.Dense, len(evs)), make([]float64, len(evs))
				for b := range dst {
					dst[b], ts[b] = soft.NewDense(evs[b].L, K), 0.5
				}
				if err := m.DenoiseBatch(dst, evs, ts); err != nil {
					t.Fatal(err)
				}
				worst := 0.0
				for b, ev := range evs {
					want := inProcess(t, local, ev)
					if c.opts.TopK > 0 {
						for i := 0; i < ev.L; i++ {
							copy(want.Row(i), topkReading(want.Row(i), c.opts.TopK, mask))
						}
					}
					d := maxDiff(dst[b], want)
					if !(d <= liveTol) {
						t.Fatalf("sequence %d: max |remote − in-process| = %.3g > %g", b, d, liveTol)
					}
					worst = max(worst, d)
				}
				t.Logf("%d sequences, max |remote − in-process| = %.3g", len(evs), worst)
			})
		}
	}
}

// TestLiveGenerate: decode.Generate over the network gives the in-process
// run's tokens at the same seeds (beliefs agree to about 1e-6, so a
// sampled token could differ only where a uniform draw falls within that
// of a boundary; none does at these seeds).
func TestLiveGenerate(t *testing.T) {
	liveURL(t)
	for _, name := range liveModels {
		local := loadModel(t, filepath.Join("testdata", name))
		v := vocabOf(t, local)
		L := local.Config().MaxPositions
		checkGenerate(t, liveDial(t, name, Options{}), local, v, L-L%8, allAlgs, 2)
		checkGenerate(t, liveDial(t, name, Options{TopK: 4}), local, v, L-L%8, argmaxAlgs, 2)
	}
}

// TestLivePLL: the batched pseudo-log-likelihood equals decode.PLL over the
// in-process model.
func TestLivePLL(t *testing.T) {
	liveURL(t)
	for _, name := range liveModels {
		local := loadModel(t, filepath.Join("testdata", name))
		v := vocabOf(t, local)
		ref, err := decode.NewPLL(local, v)
		if err != nil {
			t.Fatal(err)
		}
		p, err := liveDial(t, name, Options{MaxBatch: 4}).PLL()
		if err != nil {
			t.Fatal(err)
		}
		L := local.Config().MaxPositions
		x := randomTokens(rand.New(rand.NewPCG(23, 24)), L, v.Size(), int32(local.Config().MaskTokenID))
		comparePLL(t, p, ref, x, liveTol*float64(L))
	}
}

// TestLiveServerErrors: the server's own checks answer with errors the
// client reports (an unknown model; a request the server refuses).
func TestLiveServerErrors(t *testing.T) {
	u := liveURL(t)
	if _, err := Dial(context.Background(), u, "no-such-model", Options{Retries: -1}); err == nil {
		t.Error("unknown model accepted")
	} else {
		errContains(t, err, "HTTP 404", "unknown model")
	}
}
