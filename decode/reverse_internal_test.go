package decode

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/softdiff/softdiff/kernels"
	"github.com/softdiff/softdiff/oracle"
	"github.com/softdiff/softdiff/soft"
)

// The tests of this file check one reverse step of KernelReverse and
// KernelCTMC against the forward process computed by enumeration, on a
// random HMM small enough to enumerate (4 tokens + MASK, length 3: 64
// sequences x_0, 125 noisy states x_t). The references are built from the
// dense transition matrices (Transition on one-hot rows, checked against
// closed forms and brute-force Bayes in package kernels) and the HMM's
// exact log-probabilities, never from the samplers' code.

// revBed is the enumerable testbed with one kernel.
type revBed struct {
	h    *oracle.HMM
	name string
	k    CTMCKernel
	fs   kernels.ForwardSampler
	K, L int
	p0   map[int]float64 // x_0 index → p(x_0) (index: base-K digits, position 0 first)
}

func revHMM(t *testing.T) *oracle.HMM {
	h, err := oracle.RandomHMM(rand.New(rand.NewPCG(7, 7)), 3, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// revKernels returns the five kernels over the HMM's vocabulary (MASK = 4).
func revKernels(t *testing.T) []struct {
	name string
	k    CTMCKernel
} {
	mask := int32(4)
	sch := kernels.LogLinear{}
	ab, err1 := kernels.NewAbsorbing(5, mask, sch)
	un, err2 := kernels.NewUniform(5, mask, sch)
	ia, err3 := kernels.NewInfoAbsorbing(5, mask, []float64{1, 2.5, 0.5, 1.5, 1}, sch)
	// A path graph 0–1–2–3 (the kNN graph of points on a line, k = 1).
	adj, err4 := kernels.NewKNNAdjacency([]int32{1, 0, 1, 2}, 4, 1)
	var gr *kernels.Graph
	var err5 error
	if err4 == nil {
		gr, err5 = kernels.NewGraph(adj, mask, sch, kernels.GraphOptions{Scale: 3, MaskRate: 0.5})
	}
	hi, err6 := kernels.NewHierarchical(&kernels.Hierarchy{N: 4, Labels: [][]int32{{0, 0, 1, 1}}}, mask, nil, sch)
	for _, err := range []error{err1, err2, err3, err4, err5, err6} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return []struct {
		name string
		k    CTMCKernel
	}{{"absorbing", ab}, {"uniform", un}, {"info-absorbing", ia}, {"graph", gr}, {"hierarchical", hi}}
}

func newRevBed(t *testing.T, h *oracle.HMM, name string, k CTMCKernel) *revBed {
	b := &revBed{h: h, name: name, k: k, fs: k.(kernels.ForwardSampler), K: h.Vocab().Size(), L: h.Len(), p0: map[int]float64{}}
	var mass float64
	x := make([]int32, b.L)
	for idx := 0; idx < pow(b.K, b.L); idx++ {
		b.decodeIdx(x, idx)
		lp, err := h.LogProb(x)
		if err != nil {
			t.Fatal(err)
		}
		if !math.IsInf(lp, -1) {
			b.p0[idx] = math.Exp(lp)
			mass += math.Exp(lp)
		}
	}
	if !(math.Abs(mass-1) <= 1e-9) {
		t.Fatalf("enumerated mass %v", mass)
	}
	return b
}

func pow(a, b int) int {
	r := 1
	for i := 0; i < b; i++ {
		r *= a
	}
	return r
}

func (b *revBed) decodeIdx(x []int32, idx int) {
	for i := range x {
		x[i] = int32(idx % b.K)
		idx /= b.K
	}
}

func (b *revBed) index(x []int32) int {
	idx := 0
	for i := len(x) - 1; i >= 0; i-- {
		idx = idx*b.K + int(x[i])
	}
	return idx
}

// dense returns Q(s,t) as K×K float64, row = from.
func (b *revBed) dense(s, t float64) [][]float64 {
	id := soft.NewDense(b.K, b.K)
	for i := 0; i < b.K; i++ {
		id.Data[i*b.K+i] = 1
	}
	out := soft.NewDense(b.K, b.K)
	b.k.Transition(out, id, s, t)
	q := make([][]float64, b.K)
	for i := range q {
		q[i] = make([]float64, b.K)
		for j := range q[i] {
			q[i][j] = float64(out.Data[i*b.K+j])
		}
	}
	return q
}

// forward returns the joint law of x_t over all K^L noisy sequences:
// p_t(y) = Σ_{x0} p(x0) Π_i Q̄(0,t)[x0_i, y_i].
func (b *revBed) forward(t float64) []float64 {
	q := b.dense(0, t)
	n := pow(b.K, b.L)
	out := make([]float64, n)
	x, y := make([]int32, b.L), make([]int32, b.L)
	for ix := 0; ix < n; ix++ {
		p, ok := b.p0[ix]
		if !ok {
			continue
		}
		b.decodeIdx(x, ix)
		for iy := 0; iy < n; iy++ {
			b.decodeIdx(y, iy)
			pr := p
			for i := range x {
				pr *= q[x[i]][y[i]]
			}
			out[iy] += pr
		}
	}
	return out
}

// conditional returns p(x_s | x_t = xt) over all noisy sequences:
// p_s(x_s)·Π_i Q(s,t)[x_s,i, xt_i] / p_t(xt).
func (b *revBed) conditional(xt []int32, s, t float64) []float64 {
	ps := b.forward(s)
	q := b.dense(s, t)
	y := make([]int32, b.L)
	var z float64
	out := make([]float64, len(ps))
	for iy := range ps {
		b.decodeIdx(y, iy)
		p := ps[iy]
		for i := range y {
			p *= q[y[i]][xt[i]]
		}
		out[iy] = p
		z += p
	}
	for i := range out {
		out[i] /= z
	}
	return out
}

// marginals returns the per-position marginals (L×K) of a joint law.
func (b *revBed) marginals(joint []float64) [][]float64 {
	m := make([][]float64, b.L)
	for i := range m {
		m[i] = make([]float64, b.K)
	}
	y := make([]int32, b.L)
	for iy, p := range joint {
		b.decodeIdx(y, iy)
		for i := range y {
			m[i][y[i]] += p
		}
	}
	return m
}

// drawX0 draws an exact sample of the HMM and then x_t from the kernel's
// forward sampler.
func (b *revBed) drawXt(xt []int32, t float64, rng *rand.Rand) {
	x0 := make([]int32, b.L)
	b.h.Sample(x0, rng)
	b.fs.Sample(xt, x0, t, rng)
}

// stepper starts alg on a fresh run of the HMM with the given number of
// steps and returns its noisy state.
func (b *revBed) stepper(t *testing.T, alg Algorithm, rng *rand.Rand, steps int) (Stepper, *noisy) {
	r, err := newRun(context.Background(), b.h.Denoise, b.h.Vocab(), b.L, Options{Steps: steps, Rand: rng, NoEntropy: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := alg.Start(r)
	if err != nil {
		t.Fatal(err)
	}
	switch s := st.(type) {
	case *reverseRun:
		return st, s.noisy
	case *ctmcRun:
		return st, s.noisy
	}
	t.Fatalf("%T is not a kernel sampler", st)
	return nil, nil
}

// chiSq returns Pearson's statistic of counts against probabilities p over
// the cells with p > 0 and its degrees of freedom; a count in a cell of
// probability 0 gives +Inf.
func chiSq(counts []int, p []float64, n int) (float64, int) {
	var x2 float64
	df := -1
	for c, pc := range p {
		if pc <= 0 {
			if counts[c] > 0 {
				return math.Inf(1), df
			}
			continue
		}
		e := float64(n) * pc
		d := float64(counts[c]) - e
		x2 += d * d / e
		df++
	}
	return x2, df
}

// chiOK reports whether x2 lies below the 1 − 1e-4 quantile of χ²(df); with
// a single cell (df 0) every count is in it (chiSq gives +Inf otherwise).
func chiOK(x2 float64, df int) bool {
	if df <= 0 {
		return x2 == 0
	}
	return x2 <= distuv.ChiSquared{K: float64(df)}.Quantile(1-1e-4)
}

// TestReverseStepForwardMarginal: x_t drawn from the exact forward law at
// t, one parallel reverse step to s with the exact oracle gives each
// position the exact forward marginal at s (χ² per position, level 1e-4,
// fixed seed); the sequential step gives the exact joint law of x_s (χ²
// over the 125 noisy sequences).
func TestReverseStepForwardMarginal(t *testing.T) {
	h := revHMM(t)
	const n = 12000
	const tt, s = 0.7, 0.35
	for _, kc := range revKernels(t) {
		b := newRevBed(t, h, kc.name, kc.k)
		ps := b.forward(s)
		msum := b.marginals(ps)
		for _, seq := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(11, 12))
			st, nz := b.stepper(t, KernelReverse{Kernel: kc.k, Sequential: seq}, rng, 2)
			nz.t = []float64{tt, s, 0}
			joint := make([]int, len(ps))
			pos := make([][]int, b.L)
			for i := range pos {
				pos[i] = make([]int, b.K)
			}
			for j := 0; j < n; j++ {
				b.drawXt(nz.xt, tt, rng)
				if _, err := st.Step(0); err != nil {
					t.Fatalf("%s: %v", kc.name, err)
				}
				joint[b.index(nz.xt)]++
				for i, x := range nz.xt {
					pos[i][x]++
				}
			}
			if seq {
				if x2, df := chiSq(joint, ps, n); !chiOK(x2, df) {
					t.Errorf("%s sequential: joint of x_s: χ² = %.1f on %d df", kc.name, x2, df)
				}
				continue
			}
			for i := range pos {
				if x2, df := chiSq(pos[i], msum[i], n); !chiOK(x2, df) {
					t.Errorf("%s parallel: position %d marginal of x_s: χ² = %.1f on %d df (counts %v, want %v)", kc.name, i, x2, df, pos[i], msum[i])
				}
			}
		}
	}
}

// TestReverseChapmanKolmogorov: from one fixed x_t, one exact (sequential)
// step t → s and two half steps t → u → s draw x_s from the same law, the
// exact conditional p(x_s | x_t) (χ² each); one parallel step matches its
// per-position marginals.
func TestReverseChapmanKolmogorov(t *testing.T) {
	h := revHMM(t)
	const n = 12000
	const tt, u, s = 0.8, 0.5, 0.2
	for _, kc := range revKernels(t) {
		b := newRevBed(t, h, kc.name, kc.k)
		// A fixed x_t of positive probability: the first draw.
		xt := make([]int32, b.L)
		b.drawXt(xt, tt, rand.New(rand.NewPCG(3, uint64(len(kc.name)))))
		want := b.conditional(xt, s, tt)
		for _, c := range []struct {
			label string
			seq   bool
			grid  []float64
		}{{"one step", true, []float64{tt, s, 0}}, {"two half steps", true, []float64{tt, u, s, 0}}, {"parallel", false, []float64{tt, s, 0}}} {
			rng := rand.New(rand.NewPCG(21, 22))
			st, nz := b.stepper(t, KernelReverse{Kernel: kc.k, Sequential: c.seq}, rng, len(c.grid)-1)
			nz.t = c.grid
			joint := make([]int, len(want))
			for j := 0; j < n; j++ {
				copy(nz.xt, xt)
				for k := 0; k+2 < len(c.grid); k++ {
					if _, err := st.Step(k); err != nil {
						t.Fatalf("%s %s: %v", kc.name, c.label, err)
					}
				}
				joint[b.index(nz.xt)]++
			}
			if c.seq {
				if x2, df := chiSq(joint, want, n); !chiOK(x2, df) {
					t.Errorf("%s %s from x_t = %v: χ² = %.1f on %d df", kc.name, c.label, xt, x2, df)
				}
				continue
			}
			wm := b.marginals(want)
			got := make([][]int, b.L)
			for i := range got {
				got[i] = make([]int, b.K)
			}
			y := make([]int32, b.L)
			for iy, c := range joint {
				b.decodeIdx(y, iy)
				for i := range y {
					got[i][y[i]] += c
				}
			}
			for i := range got {
				if x2, df := chiSq(got[i], wm[i], n); !chiOK(x2, df) {
					t.Errorf("%s parallel from x_t = %v, position %d: χ² = %.1f on %d df", kc.name, xt, i, x2, df)
				}
			}
		}
	}
}

// TestCTMCRatesOnePosition: for a single position the reverse rates have a
// closed form, R̂(x → y) = R(y → x)·p_t(y)/p_t(x) with p_t = p_0·Q̄(0,t)
// (from the dense matrix), which the sampler's jump weights must equal:
// its one-step law from x is compared exactly (stay and jump
// probabilities), for each kernel and both rules.
func TestCTMCRatesOnePosition(t *testing.T) {
	v, err := soft.NewVocab([]string{"a", "b", "c", "d", "[MASK]"}, soft.VocabOptions{Mask: "[MASK]"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := oracle.NewCorpus(v, [][]int32{{0}, {1}, {2}, {3}}, []float64{0.1, 0.2, 0.3, 0.4})
	if err != nil {
		t.Fatal(err)
	}
	p0 := []float64{0.1, 0.2, 0.3, 0.4, 0}
	const tt, s = 0.6, 0.55
	for _, kc := range revKernels(t) {
		b := &revBed{name: kc.name, k: kc.k, K: 5, L: 1}
		q := b.dense(0, tt)
		pt := make([]float64, 5)
		for x0, p := range p0 {
			for y := range pt {
				pt[y] += p * q[x0][y]
			}
		}
		rate := make([]float32, 5)
		for _, rule := range []CTMCRule{CTMCTauLeap, CTMCEuler} {
			r, err := newRun(context.Background(), c.Denoise, v, 1, Options{Steps: 2, Rand: rand.New(rand.NewPCG(1, 1))})
			if err != nil {
				t.Fatal(err)
			}
			st, err := KernelCTMC{Kernel: kc.k, Rule: rule}.Start(r)
			if err != nil {
				t.Fatal(err)
			}
			cr := st.(*ctmcRun)
			cr.t = []float64{tt, s, 0}
			for x := int32(0); x < 5; x++ {
				if !(pt[x] > 1e-9) {
					continue
				}
				kc.k.RatesInto(rate, x, s, tt)
				var total float64
				lam := make([]float64, 5)
				for y := range lam {
					lam[y] = float64(rate[y]) * pt[y] / pt[x]
					total += lam[y]
				}
				pj := math.Min(total, 1)
				if rule == CTMCTauLeap {
					pj = 1 - math.Exp(-total)
				}
				// The law of one step from x, by drawing many.
				const n = 20000
				counts := make([]int, 5)
				for j := 0; j < n; j++ {
					cr.xt[0] = x
					if _, err := cr.Step(0); err != nil {
						t.Fatal(err)
					}
					counts[cr.xt[0]]++
				}
				want := make([]float64, 5)
				for y := range want {
					if int32(y) == x {
						want[y] = 1 - pj
					} else if total > 0 {
						want[y] = pj * lam[y] / total
					}
				}
				if x2, df := chiSq(counts, want, n); !chiOK(x2, df) {
					t.Errorf("%s %v from %d: χ² = %.1f on %d df (counts %v, want %v)", kc.name, rule, x, x2, df, counts, want)
				}
			}
		}
	}
}

// TestKernelReverseInfoEvidence: with the information-aware kernel a masked
// position's evidence is 1 − α_t^{w_v}, not flat (the difference from
// KernelAncestral).
func TestKernelReverseInfoEvidence(t *testing.T) {
	h := revHMM(t)
	k, err := kernels.NewInfoAbsorbing(5, 4, []float64{1, 2, 1, 1, 1}, kernels.Linear{})
	if err != nil {
		t.Fatal(err)
	}
	b := &revBed{h: h, K: 5, L: 3}
	_, nz := b.stepper(t, KernelReverse{Kernel: k}, rand.New(rand.NewPCG(1, 2)), 2)
	for f := range nz.xt {
		nz.xt[f] = 4
	}
	if err := nz.evidence(0.5); err != nil {
		t.Fatal(err)
	}
	// Linear: α(0.5) = 0.5; 1 − 0.5 = 0.5 for rate 1, 1 − 0.25 = 0.75 for
	// rate 2; scaled to maximum 1: 2/3 and 1.
	want := []float64{2.0 / 3, 1, 2.0 / 3, 2.0 / 3, 0}
	got := nz.r.Evidence(0)
	for v := range want {
		if !(math.Abs(float64(got[v])-want[v]) <= 1e-6) {
			t.Errorf("evidence[%d] = %v, want %v", v, got[v], want[v])
		}
	}
}

// TestKernelEvidenceIsWhatTheSamplerSends: the rows KernelEvidence writes
// are the evidence rows the sampler hands the denoiser, for every kernel.
func TestKernelEvidenceIsWhatTheSamplerSends(t *testing.T) {
	h := revHMM(t)
	rng := rand.New(rand.NewPCG(4, 4))
	for _, kc := range revKernels(t) {
		b := newRevBed(t, h, kc.name, kc.k)
		_, nz := b.stepper(t, KernelReverse{Kernel: kc.k}, rng, 2)
		b.drawXt(nz.xt, 0.6, rng)
		if err := nz.evidence(0.6); err != nil {
			t.Fatal(err)
		}
		dst := soft.NewDense(b.L, b.K)
		if err := KernelEvidence(dst, kc.k, nz.xt, 0.6, 4); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < b.L; i++ {
			for v, x := range dst.Row(i) {
				if got := nz.r.Evidence(i)[v]; got != x {
					t.Fatalf("%s position %d token %d: sampler %v, KernelEvidence %v", kc.name, i, v, got, x)
				}
			}
		}
	}
}
