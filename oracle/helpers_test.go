package oracle_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/softdiff/softdiff/soft"
	"pgregory.net/rapid"
)

// enumerate calls fn for every sequence of length L over toks (fn must not
// keep x).
func enumerate(L int, toks []int32, fn func(x []int32)) {
	x := make([]int32, L)
	idx := make([]int, L)
	for i := range x {
		x[i] = toks[0]
	}
	for {
		fn(x)
		i := L - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(toks) {
				x[i] = toks[idx[i]]
				break
			}
			idx[i] = 0
			x[i] = toks[0]
		}
		if i < 0 {
			return
		}
	}
}

func dataToks(v *soft.Vocab) []int32 {
	var ids []int32
	for id := int32(0); int(id) < v.Size(); id++ {
		if id != v.Mask() {
			ids = append(ids, id)
		}
	}
	return ids
}

// bruteMarginals computes, by enumeration of every length-L sequence, the
// posterior marginals Σ_x p(x) Π_i lik_i(x_i) [x_i = v] / Z and log Z, with
// lik_i(v) = e_i(v) + e_i(MASK) read straight from the evidence; p is given
// as a probability function.
func bruteMarginals(p func(x []int32) float64, ev *soft.Dense, v *soft.Vocab) ([]float64, float64) {
	L, K := ev.L, ev.K
	mask := v.Mask()
	marg := make([]float64, L*K)
	z := 0.0
	enumerate(L, dataToks(v), func(x []int32) {
		w := p(x)
		for i, id := range x {
			e := ev.Row(i)
			l := float64(e[id])
			if mask >= 0 {
				l += float64(e[mask])
			}
			w *= l
		}
		if w == 0 {
			return
		}
		z += w
		for i, id := range x {
			marg[i*K+int(id)] += w
		}
	})
	if z > 0 {
		for j := range marg {
			marg[j] /= z
		}
	}
	return marg, math.Log(z)
}

// drawEvidence draws an L×K evidence state whose rows are, at random,
// one-hot, all-MASK, uniform, soft with MASK mass, or soft with zeros
// (so contradictions occur).
func drawEvidence(t *rapid.T, L, K int, mask int32) *soft.Dense {
	d := soft.NewDense(L, K)
	for i := 0; i < L; i++ {
		row := d.Row(i)
		switch rapid.IntRange(0, 4).Draw(t, "kind") {
		case 0:
			row[rapid.IntRange(0, K-1).Draw(t, "hot")] = 1
		case 1:
			if mask >= 0 {
				row[mask] = 1
			} else {
				for v := range row {
					row[v] = 1 / float32(K)
				}
			}
		case 2:
			for v := range row {
				row[v] = 1 / float32(K)
			}
		default:
			for v := range row {
				if rapid.IntRange(0, 3).Draw(t, "zero") > 0 {
					row[v] = float32(rapid.Float64Range(0.01, 1).Draw(t, "w"))
				}
			}
		}
	}
	return d
}

// within reports |got−want| ≤ tol, false for NaN.
func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// chiSquare draws n samples with draw and compares the counts of each
// distinct sequence with the exact probabilities prob over all sequences of
// positive probability (enumerated by the caller as keys). It fails when
// the statistic exceeds the 0.9999 quantile bound df + 4.5·√(2df) + 10,
// a conservative bound valid for the df used here (Wilson–Hilferty gives
// the 0.9999 quantile below df + 3.72·√(2df) + 3 for df ≥ 1).
func chiSquare(t *testing.T, n int, probs map[string]float64, key func(x []int32) string, L int, draw func(x []int32)) {
	t.Helper()
	counts := map[string]int{}
	x := make([]int32, L)
	for k := 0; k < n; k++ {
		draw(x)
		s := key(x)
		if _, ok := probs[s]; !ok {
			t.Fatalf("sample %v has probability zero", x)
		}
		counts[s]++
	}
	stat := 0.0
	for s, p := range probs {
		e := p * float64(n)
		d := float64(counts[s]) - e
		stat += d * d / e
	}
	df := float64(len(probs) - 1)
	bound := df + 4.5*math.Sqrt(2*df) + 10
	if !(stat <= bound) {
		t.Fatalf("chi-square %v over %v categories exceeds %v", stat, len(probs), bound)
	}
}

func keyOf(x []int32) string {
	b := make([]byte, len(x))
	for i, id := range x {
		b[i] = byte(id)
	}
	return string(b)
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// must returns v and panics on err: for testbeds a test builds from valid
// arguments.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
