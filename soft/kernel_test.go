package soft

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestExp32 compares the float32 polynomial with math.Exp in float64 over
// [−87, 0] on a fine grid plus random points: the bound 4e-7 relative is
// the Taylor truncation (< 8e-9) plus about six float32 roundings.
func TestExp32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(z float32) {
		got, want := float64(exp32(z)), math.Exp(float64(z))
		if !(math.Abs(got-want) <= 4e-7*want) {
			t.Fatalf("exp32(%g) = %g, want %g (rel %g)", z, got, want, math.Abs(got-want)/want)
		}
	}
	for z := float32(0); z >= expCutoff; z -= 0.001 {
		check(z)
	}
	for range 100000 {
		check(float32(-87 * rng.Float64()))
	}
	if exp32(0) != 1 {
		t.Fatalf("exp32(0) = %g, want exactly 1", exp32(0))
	}
	for _, z := range []float32{-87.5, -1e30, float32(math.Inf(-1)), float32(math.NaN())} {
		if e := exp32(z); e != 0 {
			t.Fatalf("exp32(%g) = %g, want 0", z, e)
		}
	}
}

func relClose(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

// TestKernelsAgree runs the active kernels (avx2 in a GOEXPERIMENT=simd
// build on an AVX2 machine) against the Go kernels on odd lengths, so the
// vector bodies and the scalar tails are both exercised. Agreement must be
// within 1e-5 relative (docs/soft.md's bound); under a plain build both sides
// are the Go kernels and the test checks that they are deterministic.
func TestKernelsAgree(t *testing.T) {
	t.Logf("active kernels: %s (GOARCH %s)", Backend(), runtime.GOARCH)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 127, 128, 129, 1000, 4099, 32768} {
		logits := make([]float32, n)
		for i := range logits {
			logits[i] = float32(10 * rng.NormFloat64())
			if rng.IntN(50) == 0 {
				logits[i] = float32(math.Inf(-1))
			}
		}
		logits[rng.IntN(n)] = 25 // at least one finite logit
		mg, errg := maxLogitGo(logits)
		mk, errk := kern.maxLogit(logits)
		if errg != nil || errk != nil || mg != mk {
			t.Fatalf("n=%d: max %g/%v vs %g/%v", n, mg, errg, mk, errk)
		}
		dg := make([]float32, n)
		dk := make([]float32, n)
		sg, tg := expSumGo(dg, logits, mg)
		sk, tk := kern.expSum(dk, logits, mk)
		if !relClose(sk, sg, 1e-5, 0) || !relClose(tk, tg, 1e-5, 1e-12) {
			t.Fatalf("n=%d: sums (%g, %g) vs Go (%g, %g)", n, sk, tk, sg, tg)
		}
		for i := range dg {
			if !relClose(float64(dk[i]), float64(dg[i]), 1e-5, 1e-30) {
				t.Fatalf("n=%d: e[%d] = %g vs Go %g", n, i, dk[i], dg[i])
			}
		}
		// The pipelined variant: same exponentials, and the max of the next
		// row (here the logits reversed, with a NaN in every other case).
		next := slices.Clone(logits)
		slices.Reverse(next)
		if n%2 == 1 {
			next[n/2] = nan
		}
		dp := make([]float32, n)
		sp, tp, nm, nerr := kern.expSumMax(dp, logits, mk, next)
		wm, werr := maxLogitGo(next)
		if sp != sk || tp != tk || !slices.Equal(dp, dk) || nm != wm || nerr != werr {
			t.Fatalf("n=%d: expSumMax (%g, %g, %g, %v) vs expSum+max (%g, %g, %g, %v)", n, sp, tp, nm, nerr, sk, tk, wm, werr)
		}
		kern.scale(dk, dg, 0.25)
		scaleGo(dg, dg, 0.25)
		for i := range dg {
			if dk[i] != dg[i] {
				t.Fatalf("n=%d: scale[%d] = %g vs Go %g", n, i, dk[i], dg[i])
			}
		}
		b := make([]float32, n)
		for i := range b {
			b[i] = rng.Float32()
		}
		mixGo(dg, dk, b, 0.3, 0.7)
		kern.mix(dk, dk, b, 0.3, 0.7)
		for i := range dg {
			if !relClose(float64(dk[i]), float64(dg[i]), 1e-6, 1e-30) {
				t.Fatalf("n=%d: mix[%d] = %g vs Go %g", n, i, dk[i], dg[i])
			}
		}
	}
}

// TestKernelsErrors checks that both kernel sets reject NaN and +Inf
// anywhere (vector body and tail) and report an all −Inf row.
func TestKernelsErrors(t *testing.T) {
	for _, k := range []kernels{goKernels, kern} {
		for _, n := range []int{1, 8, 19, 40} {
			for pos := 0; pos < n; pos++ {
				for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
					l := make([]float32, n)
					l[pos] = bad
					if _, err := k.maxLogit(l); err != ErrNonFinite {
						t.Fatalf("%s n=%d pos=%d %g: err %v", k.name, n, pos, bad, err)
					}
				}
			}
			l := make([]float32, n)
			for i := range l {
				l[i] = float32(math.Inf(-1))
			}
			if _, err := k.maxLogit(l); err != ErrNoSupport {
				t.Fatalf("%s n=%d all -Inf: err %v", k.name, n, err)
			}
		}
	}
}

// TestSoftmaxAgainstFloat64 compares SoftmaxEntropy (active kernels) with a
// float64 reference computed in this test with math.Exp.
func TestSoftmaxAgainstFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 3, 64, 1001, 32768} {
		for _, scale := range []float64{0.01, 1, 30} {
			l := make([]float32, n)
			for i := range l {
				l[i] = float32(scale * rng.NormFloat64())
			}
			m := math.Inf(-1)
			for _, x := range l {
				m = math.Max(m, float64(x))
			}
			var s float64
			for _, x := range l {
				s += math.Exp(float64(x) - m)
			}
			var h float64
			p := make([]float32, n)
			logZ, err := Softmax(p, l)
			if err != nil {
				t.Fatal(err)
			}
			if want := m + math.Log(s); !relClose(logZ, want, 1e-6, 1e-6) {
				t.Fatalf("n=%d: logZ %g, want %g", n, logZ, want)
			}
			for i, x := range l {
				want := math.Exp(float64(x)-m) / s
				if want > 0 {
					h -= want * math.Log(want)
				}
				// float32 z = x − max carries an absolute rounding error up to
				// |z|·2⁻²⁴, which e^z turns into that relative error.
				z := math.Abs(float64(x) - m)
				if !relClose(float64(p[i]), want, 1e-6+z*6e-8, 1e-37) {
					t.Fatalf("n=%d scale=%g: p[%d] = %g, want %g", n, scale, i, p[i], want)
				}
			}
			got, err := SoftmaxEntropy(p, l)
			if err != nil || !relClose(got, h, 1e-5, 1e-6) {
				t.Fatalf("n=%d scale=%g: entropy %g (%v), want %g", n, scale, got, err, h)
			}
		}
	}
}

// TestWholeOpBothKernels runs SoftmaxEntropyRows and MixRows with the Go
// kernels and with the active ones (avx2 under GOEXPERIMENT=simd on an
// AVX2 machine) and requires agreement within 1e-5 relative, docs/soft.md's
// bound for the two paths. Not parallel: it swaps the package's kernel
// table and restores it.
func TestWholeOpBothKernels(t *testing.T) {
	active := kern
	defer func() { kern = active }()
	rng := rand.New(rand.NewPCG(17, 18))
	const L, K = 70, 1003
	logits := make([]float32, L*K)
	for i := range logits {
		logits[i] = float32(6 * rng.NormFloat64())
	}
	run := func(k kernels) (*Dense, []float64, *Dense) {
		kern = k
		d := NewDense(L, K)
		h := make([]float64, L)
		if err := SoftmaxEntropyRows(d, h, logits, 2); err != nil {
			t.Fatal(err)
		}
		m := NewDense(L, K)
		MixRows(m, d, Uniform(L, K), 0.4, 2)
		return d, h, m
	}
	dg, hg, mg := run(goKernels)
	da, ha, ma := run(active)
	for i := range hg {
		if !relClose(ha[i], hg[i], 1e-5, 0) {
			t.Fatalf("%s: row %d entropy %g vs Go %g", active.name, i, ha[i], hg[i])
		}
	}
	for i := range dg.Data {
		if !relClose(float64(da.Data[i]), float64(dg.Data[i]), 1e-5, 1e-37) ||
			!relClose(float64(ma.Data[i]), float64(mg.Data[i]), 1e-5, 1e-37) {
			t.Fatalf("%s: entry %d: p %g vs Go %g, mix %g vs Go %g", active.name, i,
				da.Data[i], dg.Data[i], ma.Data[i], mg.Data[i])
		}
	}
}

// TestNextAboveAndTopK checks the vector skip of TopK against the Go kernel
// at every start and several thresholds (NaN entries never count as above),
// and TopK on long rows with ties against a brute-force sort in this test.
func TestNextAboveAndTopK(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	p := make([]float32, 203)
	for i := range p {
		p[i] = float32(rng.IntN(50)) / 50
	}
	p[77] = nan
	for _, thr := range []float32{-1, 0, 0.5, 0.97, 0.98, 2} {
		for j := 0; j <= len(p); j++ {
			if g, k := nextAboveGo(p, j, thr), kern.nextAbove(p, j, thr); g != k {
				t.Fatalf("nextAbove(j=%d, t=%g): %s %d, Go %d", j, thr, kern.name, k, g)
			}
		}
	}
	for _, n := range []int{17, 1000, 5003} {
		q := make([]float32, n)
		for i := range q {
			q[i] = float32(rng.IntN(300)) / 300 // many ties
		}
		order := make([]int32, n)
		for i := range order {
			order[i] = int32(i)
		}
		slices.SortStableFunc(order, func(a, b int32) int {
			switch {
			case q[a] > q[b]:
				return -1
			case q[a] < q[b]:
				return 1
			}
			return 0
		})
		for _, k := range []int{1, 5, min(64, n), n} {
			ids := make([]int32, k)
			vals := make([]float32, k)
			TopK(ids, vals, q)
			if !slices.Equal(ids, order[:k]) {
				t.Fatalf("n=%d k=%d: TopK ids differ from the stable sort", n, k)
			}
		}
	}
}
