package decode

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// testHMM is a small HMMScorer whose LogProb is the forward algorithm
// written out directly: p(x) = Σ_h init(h_0)E(h_0,x_0) Π T(h_{i−1},h_i)E(h_i,x_i).
type testHMM struct {
	S           int
	init, trans []float64
	emit        []float64
}

func (h testHMM) States() int                           { return h.S }
func (h testHMM) Params() (init, trans, emit []float64) { return h.init, h.trans, h.emit }
func (h testHMM) LogProb(x []int32) (float64, error) {
	K := len(h.emit) / h.S
	a := make([]float64, h.S)
	for s := range a {
		a[s] = h.init[s] * h.emit[s*K+int(x[0])]
	}
	for _, v := range x[1:] {
		b := make([]float64, h.S)
		for s2 := range b {
			for s, as := range a {
				b[s2] += as * h.trans[s*h.S+s2]
			}
			b[s2] *= h.emit[s2*K+int(v)]
		}
		a = b
	}
	var z float64
	for _, as := range a {
		z += as
	}
	return math.Log(z), nil
}

// plainScorer hides the HMM methods, so MAP enumerates.
type plainScorer struct{ sc JointScorer }

func (p plainScorer) LogProb(x []int32) (float64, error) { return p.sc.LogProb(x) }

// errAfter is a context whose Err is nil for the first n calls and then
// context.Canceled.
type errAfter struct {
	context.Context
	n, calls int
}

func (c *errAfter) Err() error {
	c.calls++
	if c.calls > c.n {
		return context.Canceled
	}
	return nil
}

// mkLattice builds a lattice with the given candidates, log-beliefs and
// log-likelihoods (nil: 0) per position.
func mkLattice(ids [][]int32, logB, logL [][]float64) *Lattice {
	L, kmax := len(ids), 0
	for _, c := range ids {
		kmax = max(kmax, len(c))
	}
	lat := &Lattice{L: L, Kmax: kmax, IDs: make([]int32, L*kmax), LogB: make([]float64, L*kmax), N: make([]int, L)}
	if logL != nil {
		lat.LogL = make([]float64, L*kmax)
	}
	for i, c := range ids {
		lat.N[i] = len(c)
		for j, v := range c {
			lat.IDs[i*kmax+j] = v
			if logB != nil {
				lat.LogB[i*kmax+j] = logB[i][j]
			}
			if logL != nil {
				lat.LogL[i*kmax+j] = logL[i][j]
			}
		}
	}
	return lat
}

// bruteMAP enumerates the lattice: max over x of log p(x) + w·Σ log b + Σ log ℓ.
func bruteMAP(sc JointScorer, lat *Lattice, w float64) (best float64, arg []int32) {
	best = math.Inf(-1)
	x := make([]int32, lat.L)
	var rec func(i int, b, l float64)
	rec = func(i int, b, l float64) {
		if i == lat.L {
			lp, _ := sc.LogProb(x)
			if o := lp + w*b + l; o > best {
				best, arg = o, append([]int32(nil), x...)
			}
			return
		}
		for j := 0; j < lat.N[i]; j++ {
			x[i] = lat.IDs[i*lat.Kmax+j]
			ll := 0.0
			if lat.LogL != nil {
				ll = lat.LogL[i*lat.Kmax+j]
			}
			rec(i+1, b+lat.LogB[i*lat.Kmax+j], l+ll)
		}
	}
	rec(0, 0, 0)
	return best, arg
}

func mapHMM() testHMM {
	return testHMM{S: 2,
		init:  []float64{0.7, 0.3},
		trans: []float64{0.8, 0.2, 0.35, 0.65},
		emit: []float64{
			0.5, 0.2, 0.2, 0.1,
			0.05, 0.15, 0.3, 0.5,
		}}
}

func mapLattice() *Lattice {
	return mkLattice(
		[][]int32{{0, 3}, {1, 2, 3}, {2}, {0, 3, 1}, {3, 2}},
		[][]float64{{-0.2, -1.7}, {-0.5, -1.2, -2}, {0}, {-0.3, -1.5, -2.6}, {-0.9, -0.5}},
		[][]float64{{-0.1, -0.4}, {-1, -0.2, -0.3}, {0}, {-0.6, -0.05, -0.8}, {-0.3, -1.1}})
}

// TestMAPMatchesBruteForce: A* (HMM) and enumeration agree with brute force
// on a 5-position lattice with S = 2 hidden states, for several belief
// weights (negative ones make ω > 1, where only the backward bound, not the
// prefix probability, bounds completions).
func TestMAPMatchesBruteForce(t *testing.T) {
	h := mapHMM()
	lat := mapLattice()
	for _, w := range []float64{0, 1, 2.5, -1.5} {
		want, arg := bruteMAP(h, lat, w)
		for name, f := range map[string]func() (Decoded, error){
			"astar": func() (Decoded, error) { return astarMAP(context.Background(), h, lat, w, 1000) },
			"enum":  func() (Decoded, error) { return enumMAP(context.Background(), plainScorer{h}, lat, w, 1000) },
		} {
			d, err := f()
			if err != nil {
				t.Fatal(name, err)
			}
			if !(math.Abs(d.Score-want) <= 1e-9) {
				t.Fatalf("%s w=%v: score %v, want %v", name, w, d.Score, want)
			}
			for i := range arg {
				if d.Tokens[i] != arg[i] {
					t.Fatalf("%s w=%v: tokens %v, want %v", name, w, d.Tokens, arg)
				}
			}
		}
		d, _ := enumMAP(context.Background(), plainScorer{h}, lat, w, 1000)
		if d.Evals != 2*3*1*3*2 {
			t.Fatalf("enum evals %d, want 36", d.Evals)
		}
	}
}

// TestMAPAstarExactBound: with one hidden state the backward bound is exact
// (U_i = Π_{i'>i} max_v E(v)·ω(v)), so with a unique optimum and distinct
// scores A* pops exactly the L nodes of the optimal path.
func TestMAPAstarExactBound(t *testing.T) {
	h := testHMM{S: 1, init: []float64{1}, trans: []float64{1}, emit: []float64{0.4, 0.3, 0.2, 0.1}}
	lat := mkLattice(
		[][]int32{{0, 1, 2}, {2, 3, 0}, {1, 3}, {0, 2, 3}},
		[][]float64{{-1.1, -0.2, -0.7}, {-0.3, -0.9, -2}, {-0.4, -0.1}, {-1.3, -0.6, -0.2}},
		[][]float64{{-0.5, -0.9, -0.1}, {-0.2, -0.05, -1.5}, {-0.7, -0.3}, {-0.1, -0.4, -0.9}})
	for _, w := range []float64{0, 1, 3} {
		want, arg := bruteMAP(h, lat, w)
		d, err := astarMAP(context.Background(), h, lat, w, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if !(math.Abs(d.Score-want) <= 1e-9) || d.Evals != 4 {
			t.Fatalf("w=%v: score %v evals %d, want %v (%v) in 4", w, d.Score, d.Evals, want, arg)
		}
	}
}

// TestMAPAstarTies: an (unnormalised) model where every node has priority
// exactly 0: ties go to the deeper node, so A* goes straight down (L pops);
// the node limit is reached when the node count reaches MaxNodes.
func TestMAPAstarTies(t *testing.T) {
	h := testHMM{S: 1, init: []float64{1}, trans: []float64{1}, emit: []float64{1, 1, 1}}
	lat := mkLattice([][]int32{{0, 1, 2}, {0, 1, 2}, {0, 1, 2}, {0, 1, 2}}, nil, nil)
	d, err := astarMAP(context.Background(), h, lat, 0, 1000)
	if err != nil || d.Score != 0 || d.Evals != 4 {
		t.Fatalf("%+v %v, want score 0 in 4 pops", d, err)
	}
	// the limit is checked at pops 1..3 (pop 4 is complete) with 3, 6, 9
	// nodes stored
	if _, err := astarMAP(context.Background(), h, lat, 0, 9); !errors.Is(err, ErrSearchLimit) {
		t.Fatalf("MaxNodes 9: err %v", err)
	}
	if _, err := astarMAP(context.Background(), h, lat, 0, 10); err != nil {
		t.Fatalf("MaxNodes 10: err %v", err)
	}
}

// TestMAPAstarAllZero: when the last position's emissions are all zero,
// every prefix of length < L (4+16+64+256+1024 = 1364 of them) is expanded
// and the result is the top-1 candidates with Score −Inf; a context that
// fails at its second check stops it (checks at pops 0 and 1024).
func TestMAPAstarAllZero(t *testing.T) {
	h := testHMM{S: 1, init: []float64{1}, trans: []float64{1}, emit: []float64{0.25, 0.25, 0.25, 0.25, 0}}
	c := []int32{0, 1, 2, 3}
	lat := mkLattice([][]int32{c, c, c, c, c, {4}}, nil, nil)
	d, err := astarMAP(context.Background(), h, lat, 0, 1_000_000)
	if err != nil || !math.IsInf(d.Score, -1) || d.Evals != 1364 || d.Tokens[5] != 4 || d.Tokens[0] != 0 {
		t.Fatalf("%v %v %v", d.Score, d.Evals, err)
	}
	if _, err := astarMAP(&errAfter{Context: context.Background(), n: 1}, h, lat, 0, 1_000_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("context failing at pop 1024: err %v", err)
	}
}

// TestMAPContextAndLimits: a cancelled context stops a one-node search (A*)
// and a one-configuration enumeration; a context failing at its second
// check stops an enumeration of 4^6 = 4096 configurations (checks at 0,
// 1024, …); the enumeration limit counts configurations, MaxNodes equal to
// their number is allowed; candidates outside the HMM's tokens are errors.
func TestMAPContextAndLimits(t *testing.T) {
	h := mapHMM()
	one := mkLattice([][]int32{{2}}, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := astarMAP(ctx, h, one, 0, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("astar: err %v", err)
	}
	if _, err := enumMAP(ctx, plainScorer{h}, one, 0, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("enum: err %v", err)
	}
	c := []int32{0, 1, 2, 3}
	big := mkLattice([][]int32{c, c, c, c, c, c}, nil, nil)
	if _, err := enumMAP(&errAfter{Context: context.Background(), n: 1}, plainScorer{h}, big, 0, 1_000_000); !errors.Is(err, context.Canceled) {
		t.Fatalf("enum, context failing at 1024: err %v", err)
	}
	lat := mapLattice() // 36 configurations
	if _, err := enumMAP(context.Background(), plainScorer{h}, lat, 0, 35); !errors.Is(err, ErrSearchLimit) {
		t.Fatalf("enum limit 35: err %v", err)
	}
	if _, err := enumMAP(context.Background(), plainScorer{h}, lat, 0, 36); err != nil {
		t.Fatalf("enum limit 36: err %v", err)
	}
	for _, v := range []int32{4, 5} { // K = 4
		bad := mkLattice([][]int32{{0, 1}, {2, v}}, nil, nil)
		if _, err := astarMAP(context.Background(), h, bad, 0, 100); err == nil {
			t.Fatalf("candidate %d accepted", v)
		}
	}
}

// TestMAPAstarEvalsS2: with S = 2 the bound
// U_{L−1} = 1, U_i(h) = Σ_h' T(h,h')·max_v E(h',v)·ω_{i+1}(v)·U_{i+1}(h'),
// computed here unnormalised, gives each prefix the priority
// log Σ_h α(h)·U_{d−1}(h); A* pops, besides the optimal complete node, exactly
// the prefixes of the optimal sequence and the prefixes whose priority (and
// every ancestor's) exceeds the optimum.
func TestMAPAstarEvalsS2(t *testing.T) {
	h := mapHMM()
	lat := mapLattice()
	K := 4
	for _, w := range []float64{0, 1, 2.5, -1.5} {
		om := func(i, j int) float64 {
			return math.Exp(lat.LogL[i*lat.Kmax+j] + w*lat.LogB[i*lat.Kmax+j])
		}
		U := make([][]float64, lat.L)
		U[lat.L-1] = []float64{1, 1}
		for i := lat.L - 2; i >= 0; i-- {
			U[i] = make([]float64, 2)
			for a := 0; a < 2; a++ {
				for b := 0; b < 2; b++ {
					best := 0.0
					for j := 0; j < lat.N[i+1]; j++ {
						best = max(best, h.emit[b*K+int(lat.IDs[(i+1)*lat.Kmax+j])]*om(i+1, j))
					}
					U[i][a] += h.trans[a*2+b] * best * U[i+1][b]
				}
			}
		}
		opt, arg := bruteMAP(h, lat, w)
		want := 1
		var rec func(d int, alpha []float64, onPath bool)
		rec = func(d int, alpha []float64, onPath bool) { // alpha: forward vector of a prefix of length d
			if d == lat.L {
				return
			}
			for j := 0; j < lat.N[d]; j++ {
				v := int(lat.IDs[d*lat.Kmax+j])
				nx := make([]float64, 2)
				for b := 0; b < 2; b++ {
					if d == 0 {
						nx[b] = h.init[b]
					} else {
						nx[b] = alpha[0]*h.trans[b] + alpha[1]*h.trans[2+b]
					}
					nx[b] *= h.emit[b*K+v] * om(d, j)
				}
				if d+1 == lat.L {
					continue
				}
				path := onPath && int32(v) == arg[d]
				if p := math.Log(nx[0]*U[d][0] + nx[1]*U[d][1]); path || p > opt+1e-9 {
					want++
					rec(d+1, nx, path)
				}
			}
		}
		rec(0, nil, true)
		d, err := astarMAP(context.Background(), h, lat, w, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if d.Evals != want {
			t.Fatalf("w=%v: evals %d, want %d", w, d.Evals, want)
		}
	}
}

// TestMAPInvalidValues: enumerating MAP returns an error for a scorer
// value of +Inf or NaN (−Inf is probability zero), and MAP for a
// BeliefWeight that is not finite.
func TestMAPInvalidValues(t *testing.T) {
	ctx := context.Background()
	s := mutState(t, 2, []float32{0.6, 0.4, 0})
	for _, bad := range []float64{math.Inf(1), math.NaN()} {
		if _, err := (MAP{}).Decode(ctx, s, table1{0, bad}, nil); err == nil || !strings.Contains(err.Error(), "not a log-probability") {
			t.Fatalf("scorer value %v: err %v", bad, err)
		}
	}
	if d, err := (MAP{}).Decode(ctx, s, table1{math.Log(0.25), math.Inf(-1)}, nil); err != nil || d.Tokens[0] != 0 {
		t.Fatalf("scorer value −Inf: %+v %v", d, err)
	}
	for _, w := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := (MAP{BeliefWeight: w}).Decode(ctx, s, table1{0, 0}, nil); err == nil {
			t.Fatalf("BeliefWeight %v accepted", w)
		}
	}
}
