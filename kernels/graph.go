package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/softdiff/softdiff/soft"
)

// GraphOptions configures a Graph kernel. Zero fields take the defaults.
type GraphOptions struct {
	// Scale maps schedule time to CTMC time: τ(s,t) = Scale·(σ(t) − σ(s)),
	// σ = −log α. Default 1.
	Scale float64
	// MaskRate is the rate, in units of σ, at which a token jumps to the
	// MASK state (when the kernel has one): P(masked by t) = 1 − e^{−MaskRate·σ(t)}.
	// Default 1.
	MaskRate float64
	// Tol bounds the truncation of the Chebyshev series, relative to the
	// 2-norm of each row. Default DefaultExpmTol.
	Tol float64
	// Workers for the parallel sparse products (≤ 0: GOMAXPROCS).
	Workers int
}

// DefaultExpmTol is the default series tolerance of the Graph kernel.
const DefaultExpmTol = 1e-10

// Graph is the graph CTMC kernel: tokens jump along the edges of a symmetric
// weighted graph A (a kNN graph of embeddings, NewKNNAdjacency) with
// generator R = A − diag(A·1), so Q(s,t) = exp(τ R) with
// τ = Scale·(σ(t) − σ(s)). Tokens therefore drift to neighbours first. With
// a MASK state, each token also jumps to MASK at rate MaskRate (in σ units),
// independently: the token block of Q is e^{−MaskRate Δσ}·exp(τR).
//
// exp(τR) is never formed: its action on blocks of rows is a Chebyshev
// series in X = (R + hI)/h, where [−2h, 0] contains the spectrum of R (h is
// half the smaller of Gershgorin's 2·max degree and a degree-scaled
// Gershgorin bound; see
// SpectralHalfWidth), with coefficients 2e^{−τh}I_k(τh) (modified Bessel
// functions), in float64 by Clenshaw's recurrence, truncated at
// tolerance Tol. About √(2τh·log(1/Tol)) sparse products are needed.
//
// Prior: MASK one-hot, or (no MASK) uniform over tokens, the stationary law
// of a connected symmetric graph, reached at the spectral-gap rate (a
// disconnected graph without MASK never reaches it; see Connected).
type Graph struct {
	adj   *Adjacency
	k     int   // states
	mask  int32 // or NoToken
	sched Schedule
	opt   GraphOptions
	h     float64   // max degree
	hw    float64   // half-width of the spectral interval [−2hw, 0] ⊇ spec(R)
	w     []float64 // A_ij / h
	g     []float64 // (h − d_i)/h
	deg   []float64
	// comp and csize (the connected component of each node and the
	// components' sizes) are computed on first use (compOnce): only τ = ∞
	// and Connected need them, and the search is a fixed cost of NewGraph
	// that finite-τ callers would otherwise pay.
	compOnce sync.Once
	comp     []int32
	csize    []float64

	// Scratch panels live on a free list owned by the kernel rather than
	// in a sync.Pool: a pool is emptied by every GC, and re-allocating
	// (and page-faulting) megabytes per call costs more than a short
	// series. The list holds at most one entry per concurrent caller.
	mu   sync.Mutex
	free []*graphScratch
}

// NewGraph returns the graph kernel on adjacency adj (validated) with an
// optional MASK state: mask = soft.NoToken for none, otherwise the MASK's
// state index in [0, adj.N], the other states mapping to graph nodes in
// order. s nil means LogLinear{}.
func NewGraph(adj *Adjacency, mask int32, s Schedule, opt GraphOptions) (*Graph, error) {
	if err := adj.Validate(); err != nil {
		return nil, err
	}
	k := adj.N
	if mask != soft.NoToken {
		if mask < 0 || int(mask) > adj.N {
			return nil, fmt.Errorf("kernels: NewGraph: mask %d outside [0, %d]", mask, adj.N)
		}
		k++
	}
	if s == nil {
		s = LogLinear{}
	}
	if opt.Scale == 0 {
		opt.Scale = 1
	}
	if opt.MaskRate == 0 {
		opt.MaskRate = 1
	}
	if opt.Tol == 0 {
		opt.Tol = DefaultExpmTol
	}
	if !(opt.Scale > 0) || !(opt.MaskRate > 0) || !(opt.Tol > 0) || math.IsInf(opt.Scale, 0) || math.IsInf(opt.MaskRate, 0) {
		return nil, fmt.Errorf("kernels: NewGraph: Scale, MaskRate and Tol must be positive (Scale and MaskRate finite), got %+v", opt)
	}
	g := &Graph{adj: adj, k: k, mask: mask, sched: s, opt: opt}
	g.deg = make([]float64, adj.N)
	for i := 0; i < adj.N; i++ {
		for p := adj.Indptr[i]; p < adj.Indptr[i+1]; p++ {
			g.deg[i] += adj.Weights[p]
		}
		g.h = math.Max(g.h, g.deg[i])
	}
	g.hw = g.spectralHalfWidth()
	g.w = make([]float64, len(adj.Weights))
	g.g = make([]float64, adj.N)
	if g.hw > 0 {
		for p, x := range adj.Weights {
			g.w[p] = x / g.hw
		}
		for i, d := range g.deg {
			g.g[i] = (g.hw - d) / g.hw
		}
	}
	return g, nil
}

// spectralHalfWidth returns B/2 for a rigorous bound B ≥ λ_max(−R) of the
// Laplacian −R = D − A: the smaller of Gershgorin's 2·max degree and
// Gershgorin applied to the similar matrix S⁻¹(D − A)S with S = diag(√d):
// max_i (d_i + Σ_j a_ij √(d_j/d_i)), which is smaller when the
// largest-degree nodes (kNN hubs) have ordinary neighbours.
func (g *Graph) spectralHalfWidth() float64 {
	adj := g.adj
	// √d once per node, not once per edge (the same values).
	sq := make([]float64, adj.N)
	for i, d := range g.deg {
		sq[i] = math.Sqrt(d)
	}
	var scaled float64
	for i := 0; i < adj.N; i++ {
		if g.deg[i] == 0 {
			continue
		}
		var r float64
		for p := adj.Indptr[i]; p < adj.Indptr[i+1]; p++ {
			r += adj.Weights[p] * sq[adj.Indices[p]]
		}
		scaled = math.Max(scaled, g.deg[i]+r/sq[i])
	}
	return math.Min(2*g.h, scaled) / 2
}

// components labels the connected components (for τ = ∞) once; every
// reader of comp or csize calls it first.
func (g *Graph) components() { g.compOnce.Do(g.labelComponents) }

func (g *Graph) labelComponents() {
	n := g.adj.N
	g.comp = make([]int32, n)
	for i := range g.comp {
		g.comp[i] = -1
	}
	var stack []int32
	nc := int32(0)
	for s := 0; s < n; s++ {
		if g.comp[s] >= 0 {
			continue
		}
		g.comp[s] = nc
		stack = append(stack[:0], int32(s))
		size := 0.0
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			size++
			for p := g.adj.Indptr[i]; p < g.adj.Indptr[i+1]; p++ {
				if j := g.adj.Indices[p]; g.comp[j] < 0 && g.adj.Weights[p] > 0 {
					g.comp[j] = nc
					stack = append(stack, j)
				}
			}
		}
		g.csize = append(g.csize, size)
		nc++
	}
}

// Connected reports whether the graph has a single connected component
// (only then is the uniform Prior the limit of the chain without MASK).
func (g *Graph) Connected() bool {
	g.components()
	return len(g.csize) == 1
}

// States implements Kernel.
func (g *Graph) States() int { return g.k }

// Nodes returns the number of graph nodes (token states).
func (g *Graph) Nodes() int { return g.adj.N }

// MaxDegree returns the largest weighted degree.
func (g *Graph) MaxDegree() float64 { return g.h }

// SpectralHalfWidth returns h with spec(R) ⊆ [−2h, 0], the scale of the
// Chebyshev series (z = τh).
func (g *Graph) SpectralHalfWidth() float64 { return g.hw }

// Tau returns the CTMC time τ(s,t) = Scale·(σ(t) − σ(s)) and the MASK
// survival e^{−MaskRate(σ(t) − σ(s))} (1 without MASK).
func (g *Graph) Tau(s, t float64) (tau, keep float64) {
	r := alphaRatio(g.sched, s, t) // e^{−Δσ}
	if r <= 0 {
		if g.mask == soft.NoToken {
			return math.Inf(1), 1
		}
		return math.Inf(1), 0
	}
	ds := -math.Log(r)
	keep = 1
	if g.mask != soft.NoToken {
		keep = math.Exp(-g.opt.MaskRate * ds)
	}
	return g.opt.Scale * ds, keep
}

// panel is the number of rows a Chebyshev recurrence carries at once: node-
// major panels of 16 float64 (two cache lines per node), so that a panel of
// a 32768-node graph (4 MiB) stays in cache while the sparse rows stream.
const panel = 16

type graphScratch struct {
	a, b, c []float64 // Chebyshev panels (node-major)
	rows    []float64 // row-major staging for Transition and Posterior
	coef    []float64
}

func (g *Graph) scratch() *graphScratch {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := len(g.free); n > 0 {
		sc := g.free[n-1]
		g.free = g.free[:n-1]
		return sc
	}
	return &graphScratch{}
}

func (g *Graph) release(sc *graphScratch) {
	g.mu.Lock()
	g.free = append(g.free, sc)
	g.mu.Unlock()
}

// rowScratch returns a float64 buffer of n·rows entries from the free list.
func (g *Graph) rowScratch(size int) *graphScratch {
	sc := g.scratch()
	if cap(sc.rows) < size {
		sc.rows = make([]float64, size)
	}
	sc.rows = sc.rows[:size]
	return sc
}

// Action writes dst = src·exp(τR) for rows×N row-major float64 blocks
// (N = Nodes()), with series tolerance tol (≤ 0: the kernel's Tol), and
// returns the number of series terms used. Since R is symmetric this is
// also exp(τR)·v for each row v. Panels of 8 rows run in parallel on the
// kernel's workers; the output does not depend on the number of workers.
// dst may equal src. It panics on wrong lengths or a negative or NaN τ;
// τ = +Inf gives the limit (each row's mass spread evenly over each
// connected component).
func (g *Graph) Action(dst, src []float64, rows int, tau, tol float64) int {
	n := g.adj.N
	if len(dst) != rows*n || len(src) != rows*n {
		panic(fmt.Sprintf("kernels: Graph.Action: lengths %d, %d, want rows·N = %d·%d", len(dst), len(src), rows, n))
	}
	if !(tau >= 0) {
		panic(fmt.Sprintf("kernels: Graph.Action: τ = %v", tau))
	}
	if tol <= 0 {
		tol = g.opt.Tol
	}
	if math.IsInf(tau, 1) {
		// The limit: the average over each connected component.
		g.components()
		sums := make([]float64, len(g.csize))
		for r := 0; r < rows; r++ {
			clear(sums)
			for i, x := range src[r*n : (r+1)*n] {
				sums[g.comp[i]] += x
			}
			for i := 0; i < n; i++ {
				c := g.comp[i]
				dst[r*n+i] = sums[c] / g.csize[c]
			}
		}
		return 0
	}
	if tau == 0 || g.hw == 0 {
		copy(dst, src)
		return 1
	}
	cs := g.scratch()
	defer g.release(cs)
	c := chebExpCoeffs(cs.coef, tau*g.hw, tol)
	cs.coef = c
	workers := g.opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers == 1 || rows <= panel {
		// In the calling goroutine, without the parallel path's closure
		// (no allocation per call).
		for lo := 0; lo < rows; lo += panel {
			g.panelAction(dst, src, lo, min(rows, lo+panel), c, cs)
		}
		return len(c)
	}
	soft.ForBlocks(rows, panel, g.opt.Workers, func(_, lo, hi int) {
		sc := g.scratch()
		defer g.release(sc)
		g.panelAction(dst, src, lo, hi, c, sc)
	})
	return len(c)
}

// panelAction runs the Chebyshev recurrence for rows [lo, hi) (≤ panel).
func (g *Graph) panelAction(dst, src []float64, lo, hi int, c []float64, sc *graphScratch) {
	n := g.adj.N
	if len(sc.a) != n*panel {
		sc.a, sc.b, sc.c = make([]float64, n*panel), make([]float64, n*panel), make([]float64, n*panel)
	}
	v, b1, b2 := sc.a, sc.b, sc.c
	m := hi - lo
	// Transpose the rows into the node-major panel, tileNodes nodes at a
	// time, so that each row is read in whole cache lines.
	for i0 := 0; i0 < n; i0 += tileNodes {
		t := min(tileNodes, n-i0)
		for r := 0; r < m; r++ {
			row := src[(lo+r)*n+i0 : (lo+r)*n+i0+t]
			for q, x := range row {
				v[(i0+q)*panel+r] = x
			}
		}
		for q := 0; q < t; q++ {
			clear(v[(i0+q)*panel+m : (i0+q+1)*panel])
		}
	}
	// Clenshaw's recurrence for Σ_k c_k T_k(X)·v: b_N = c_N v,
	// b_k = c_k v + 2X b_{k+1} − b_{k+2} (k = N−1..1), result
	// c_0 v + X b_1 − b_2. One sparse product per term, like the forward
	// three-term recurrence, but no separate accumulator to stream.
	// b_{N+1} = 0 is not stored: the first step (k = N−1) skips the
	// subtraction of it (x − (+0) = x, also for x = −0), and the last step
	// writes the result straight into dst's rows.
	N := len(c) - 1
	if N == 0 {
		clear(b2)
		g.clenshawOut(dst, lo, m, b2, b2, v, c[0], 0)
		return
	}
	for j := range b1 {
		b1[j] = c[N] * v[j]
	}
	if N == 1 {
		clear(b2)
	}
	for k := N - 1; k >= 1; k-- {
		g.clenshaw(b2, b1, v, c[k], 2, k == N-1) // b_k over b_{k+2}
		b1, b2 = b2, b1
	}
	g.clenshawOut(dst, lo, m, b2, b1, v, c[0], 1)
}

// tileNodes is the number of nodes per tile of the panel transpositions
// (8 float64: one cache line of each row).
const tileNodes = 8

// clenshaw computes, on node-major panels, old ← c·v + s·X·b − old
// (element-wise in place, so old's node i is read before it is written);
// with first, old ← c·v + s·X·b (old's contents are not read: b_{N+1} = 0).
func (g *Graph) clenshaw(old, b, v []float64, c, s float64, first bool) {
	adj := g.adj
	for i := 0; i < adj.N; i++ {
		var y [panel]float64
		g.xRow(&y, b, i)
		oi := (*[panel]float64)(old[i*panel:])
		vi := (*[panel]float64)(v[i*panel:])
		if first {
			for r := range y {
				oi[r] = c*vi[r] + s*y[r]
			}
			continue
		}
		for r := range y {
			oi[r] = c*vi[r] + s*y[r] - oi[r]
		}
	}
}

// xRow sets y to node i's panel row of (X·b)·h = g_i·b_i + Σ_j w_ij·b_j,
// i.e. of X·b (the weights are already divided by h).
func (g *Graph) xRow(y *[panel]float64, b []float64, i int) {
	adj := g.adj
	gi := g.g[i]
	bi := (*[panel]float64)(b[i*panel:])
	for r := range y {
		y[r] = gi * bi[r]
	}
	lo, hi := adj.Indptr[i], adj.Indptr[i+1]
	spmvPanel(y, b, adj.Indices[lo:hi], g.w[lo:hi])
}

// clenshawOut is the last Clenshaw step, c·v + s·X·b − old, written
// straight into rows [lo, lo+m) of the row-major dst (tileNodes nodes at a
// time, so that each row is written in whole cache lines). s = 0 gives
// c·v − old with no sparse product (a one-term series, old zero).
func (g *Graph) clenshawOut(dst []float64, lo, m int, old, b, v []float64, c, s float64) {
	n := g.adj.N
	var tile [tileNodes][panel]float64
	for i0 := 0; i0 < n; i0 += tileNodes {
		t := min(tileNodes, n-i0)
		for q := 0; q < t; q++ {
			i := i0 + q
			y := &tile[q]
			oi := (*[panel]float64)(old[i*panel:])
			vi := (*[panel]float64)(v[i*panel:])
			if s == 0 {
				for r := range y {
					y[r] = c*vi[r] - oi[r]
				}
				continue
			}
			g.xRow(y, b, i)
			for r := range y {
				y[r] = c*vi[r] + s*y[r] - oi[r]
			}
		}
		for r := 0; r < m; r++ {
			row := dst[(lo+r)*n+i0 : (lo+r)*n+i0+t]
			for q := range row {
				row[q] = tile[q][r]
			}
		}
	}
}

// node maps a state to its graph node (−1 for MASK).
func (g *Graph) node(v int) int {
	if g.mask == soft.NoToken || v < int(g.mask) {
		return v
	}
	if v == int(g.mask) {
		return -1
	}
	return v - 1
}

// Marginal implements Kernel.
func (g *Graph) Marginal(dst, src *soft.Dense, t float64) { g.Transition(dst, src, 0, t) }

// Transition implements Kernel. Rows are processed in blocks of at most
// soft.BlockRows.
func (g *Graph) Transition(dst, src *soft.Dense, s, t float64) {
	checkPair("Graph.Transition", g.k, dst, src)
	tau, keep := g.Tau(s, t)
	n := g.adj.N
	bs := g.rowScratch(min(src.L, soft.BlockRows) * n)
	defer g.release(bs)
	for lo := 0; lo < src.L; lo += soft.BlockRows {
		hi := min(src.L, lo+soft.BlockRows)
		rows := hi - lo
		buf := bs.rows[:rows*n]
		for r := 0; r < rows; r++ {
			row := src.Row(lo + r)
			for v, x := range row {
				if i := g.node(v); i >= 0 {
					buf[r*n+i] = float64(x)
				}
			}
		}
		g.Action(buf, buf, rows, tau, 0)
		for r := 0; r < rows; r++ {
			in, o := src.Row(lo+r), dst.Row(lo+r)
			pm, tok := g.maskSplit(in)
			for v := range o {
				if i := g.node(v); i >= 0 {
					x := keep * buf[r*n+i]
					if x < 0 {
						x = 0 // series rounding below Tol
					}
					o[v] = float32(x)
				}
			}
			if g.mask != soft.NoToken {
				o[g.mask] = float32(pm + (1-keep)*tok)
			}
		}
	}
}

// Prior implements Kernel.
func (g *Graph) Prior(dst []float32) {
	checkLen("Graph.Prior", len(dst), g.k)
	clear(dst)
	if g.mask != soft.NoToken {
		dst[g.mask] = 1
		return
	}
	u := float32(1 / float64(g.adj.N))
	for v := range dst {
		dst[v] = u
	}
}

// Posterior implements Posteriorer (one series per factor; R is symmetric,
// so Q(s,t)·xt uses the same action as xt·Q).
func (g *Graph) Posterior(dst, xt, x0 []float32, s, t float64) error {
	tau, keep := g.Tau(s, t)
	tau0, keep0 := g.Tau(0, s)
	n := g.adj.N
	bs := g.rowScratch(n)
	defer g.release(bs)
	act := func(out []float64, in []float32, tau, keep float64, back bool) {
		buf := bs.rows[:n]
		for v, x := range in {
			if i := g.node(v); i >= 0 {
				buf[i] = float64(x)
			}
		}
		g.Action(buf, buf, 1, tau, 0)
		pm, tok := g.maskSplit(in)
		for v := range out {
			if i := g.node(v); i >= 0 {
				x := keep * math.Max(buf[i], 0)
				if back {
					x += (1 - keep) * pm // Q(s,t)[v, MASK]·xt[MASK]
				}
				out[v] = x
			}
		}
		if g.mask != soft.NoToken {
			if back {
				out[g.mask] = pm
			} else {
				out[g.mask] = pm + (1-keep)*tok
			}
		}
	}
	return posteriorRows(dst, xt, x0, g.k,
		func(out []float64, in []float32) { act(out, in, tau, keep, true) },
		func(out []float64, in []float32) { act(out, in, tau0, keep0, false) })
}

// Sample implements ForwardSampler by simulating the chain exactly
// (Gillespie): exponential holding times with rate d_i·Scale·σ', jumps to
// neighbour j with probability A_ij/d_i, over CTMC time τ(0,t); the MASK
// clock is independent.
func (g *Graph) Sample(dst, x0 []int32, t float64, rng *rand.Rand) {
	checkLen("Graph.Sample", len(dst), len(x0))
	tau, keep := g.Tau(0, t)
	adj := g.adj
	for p, x := range x0 {
		v := int(x)
		if v < 0 || v >= g.k {
			panic(fmt.Sprintf("kernels: Graph.Sample: x0[%d] = %d outside [0, %d)", p, x, g.k))
		}
		if int32(v) == g.mask {
			dst[p] = x
			continue
		}
		if g.mask != soft.NoToken && rng.Float64() >= keep {
			dst[p] = g.mask
			continue
		}
		i := g.node(v)
		if math.IsInf(tau, 1) {
			// Uniform within the component: rejection from all nodes.
			g.components()
			c := g.comp[i]
			for {
				if j := rng.IntN(adj.N); g.comp[j] == c {
					i = j
					break
				}
			}
		}
		left := tau
		for g.deg[i] > 0 && !math.IsInf(tau, 1) {
			left -= rng.ExpFloat64() / g.deg[i]
			if left < 0 {
				break
			}
			u := rng.Float64() * g.deg[i]
			lo, hi := adj.Indptr[i], adj.Indptr[i+1]
			j := int(adj.Indices[hi-1])
			for q := lo; q < hi; q++ {
				u -= adj.Weights[q]
				if u < 0 {
					j = int(adj.Indices[q])
					break
				}
			}
			i = j
		}
		if g.mask != soft.NoToken && i >= int(g.mask) {
			i++
		}
		dst[p] = int32(i)
	}
}

// maskSplit returns the MASK mass of row in and the float64 sum of its token
// entries; both are 0 when the graph has no MASK state.
func (g *Graph) maskSplit(in []float32) (pm, tok float64) {
	if g.mask == soft.NoToken {
		return 0, 0
	}
	for v, x := range in {
		if int32(v) != g.mask {
			tok += float64(x)
		}
	}
	return float64(in[g.mask]), tok
}
