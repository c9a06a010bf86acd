package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/softdiff/softdiff/internal/simdgemm"
	"github.com/softdiff/softdiff/soft"
)

// workspace holds the buffers of one call, grown to the largest call seen.
type workspace struct {
	gemm    simdgemm.Context
	rows    int            // row capacity
	z       []float32      // rows×K: embedding weights, later the logits
	info    []rowInfo      // rows: what the evidence skip needs
	h, a, o []float32      // rows×d: residual stream, normed input, attention output
	qkv     []float32      // rows×3d
	ff      []float32      // rows×f
	sc      []float32      // maxLen×maxLen attention scores
	one     [1]*soft.Dense // Denoise's batch of one
	oneDst  [1]*soft.Dense
}

func (ws *workspace) ensure(m *Model, rows, maxLen int) {
	ws.gemm.Workers = m.workers
	if rows > ws.rows {
		ws.rows = rows
		ws.z = make([]float32, rows*m.K)
		ws.info = make([]rowInfo, rows)
		ws.h = make([]float32, rows*m.d)
		ws.a = make([]float32, rows*m.d)
		ws.o = make([]float32, rows*m.d)
		ws.qkv = make([]float32, rows*3*m.d)
		ws.ff = make([]float32, rows*m.f)
	}
	if need := maxLen * maxLen; need > len(ws.sc) {
		ws.sc = make([]float32, need)
	}
}

// checkBatch validates the shapes of a batch and returns its total rows and
// longest sequence. dst may be nil (Logits).
func (m *Model) checkBatch(dst, ev []*soft.Dense) (rows, maxLen int, err error) {
	if len(ev) == 0 {
		return 0, 0, errors.New("nn: empty batch")
	}
	if dst != nil && len(dst) != len(ev) {
		return 0, 0, fmt.Errorf("nn: %d destinations for %d sequences", len(dst), len(ev))
	}
	for b, e := range ev {
		if e == nil {
			return 0, 0, fmt.Errorf("nn: sequence %d: nil evidence", b)
		}
		if e.K != m.K || e.L < 1 || e.L > m.cfg.MaxPositions || len(e.Data) != e.L*e.K {
			return 0, 0, fmt.Errorf("nn: sequence %d: evidence is %d×%d (%d values), the model takes 1…%d positions × %d states",
				b, e.L, e.K, len(e.Data), m.cfg.MaxPositions, m.K)
		}
		if dst != nil {
			d := dst[b]
			if d == nil || d.L != e.L || d.K != e.K || len(d.Data) != len(e.Data) {
				return 0, 0, fmt.Errorf("nn: sequence %d: dst does not have the evidence's shape %d×%d", b, e.L, e.K)
			}
		}
		rows += e.L
		maxLen = max(maxLen, e.L)
	}
	return rows, maxLen, nil
}

// Denoise writes into dst the network's beliefs given the evidence (one
// sequence of L ≤ MaxPositions rows over the model's K states; see the
// package documentation). t is ignored: the exact posterior is a function
// of the evidence alone, and so is the network. An error names the
// position of a row that is not a likelihood (negative or non-finite
// entries, no token with positive likelihood) or of non-finite logits.
func (m *Model) Denoise(dst, ev *soft.Dense, t float64) error {
	ws := m.pool.get()
	defer m.pool.put(ws)
	ws.one[0], ws.oneDst[0] = ev, dst
	defer func() { ws.one[0], ws.oneDst[0] = nil, nil }()
	if err := m.forward(ws, ws.oneDst[:], ws.one[:]); err != nil {
		return err
	}
	return m.beliefs(ws, dst, 0, 0)
}

// DenoiseBatch denoises B sequences in one pass: the rows of all sequences
// go through the dense layers together, attention runs within each
// sequence. The beliefs of a sequence are bit-identical to Denoise's,
// whatever the batch. t is ignored. Errors name the sequence and position.
func (m *Model) DenoiseBatch(dst, ev []*soft.Dense, t []float64) error {
	if len(t) != len(ev) {
		return fmt.Errorf("nn: %d times for %d sequences", len(t), len(ev))
	}
	ws := m.pool.get()
	defer m.pool.put(ws)
	if err := m.forward(ws, dst, ev); err != nil {
		return err
	}
	row := 0
	for b, d := range dst {
		if err := m.beliefs(ws, d, row, b); err != nil {
			return err
		}
		row += d.L
	}
	return nil
}

// Logits writes into dst (L×K values) the network's output logits for the
// evidence: the head's logits plus, with the evidence skip, log ℓ̂; −Inf in
// the MASK column and where the evidence excludes a token. The beliefs are
// their softmax. It panics if len(dst) ≠ L·K; evidence errors are as for
// Denoise. It does not count as a function evaluation.
func (m *Model) Logits(dst []float32, ev *soft.Dense) error {
	ws := m.pool.get()
	defer m.pool.put(ws)
	ws.one[0] = ev
	defer func() { ws.one[0] = nil }()
	if err := m.forward(ws, nil, ws.one[:]); err != nil {
		return err
	}
	if len(dst) != ev.L*m.K {
		panic(fmt.Sprintf("nn: Logits: len(dst) = %d, want %d×%d", len(dst), ev.L, m.K))
	}
	copy(dst, ws.z[:ev.L*m.K])
	return nil
}

// LogitsBatch is Logits for B sequences in one pass: dst[b] receives the
// L_b×K logits of ev[b], bit-identical to Logits on ev[b] alone. It panics
// if len(dst) ≠ len(ev) or a dst[b] has the wrong length.
func (m *Model) LogitsBatch(dst [][]float32, ev []*soft.Dense) error {
	if len(dst) != len(ev) {
		panic(fmt.Sprintf("nn: LogitsBatch: %d destinations for %d sequences", len(dst), len(ev)))
	}
	ws := m.pool.get()
	defer m.pool.put(ws)
	if err := m.forward(ws, nil, ev); err != nil {
		return err
	}
	row := 0
	for b, e := range ev {
		n := e.L * m.K
		if len(dst[b]) != n {
			panic(fmt.Sprintf("nn: LogitsBatch: len(dst[%d]) = %d, want %d×%d", b, len(dst[b]), e.L, m.K))
		}
		copy(dst[b], ws.z[row*m.K:row*m.K+n])
		row += e.L
	}
	return nil
}

// beliefs writes the softmax of the logits of rows [row, row+dst.L) into dst.
func (m *Model) beliefs(ws *workspace, dst *soft.Dense, row, b int) error {
	K := m.K
	for i := 0; i < dst.L; i++ {
		z := ws.z[(row+i)*K : (row+i+1)*K]
		if _, err := soft.Softmax(dst.Data[i*K:(i+1)*K], z); err != nil {
			return fmt.Errorf("nn: sequence %d, position %d: network logits: %w", b, i, err)
		}
	}
	m.nfe.Add(1)
	return nil
}

// forward computes the logits of every row of the batch into ws.z.
func (m *Model) forward(ws *workspace, dst, ev []*soft.Dense) error {
	rows, maxLen, err := m.checkBatch(dst, ev)
	if err != nil {
		return err
	}
	ws.ensure(m, rows, maxLen)
	if err := m.embed(ws, ev, rows); err != nil {
		return err
	}
	K, d, f := m.K, m.d, m.f
	z, h := ws.z[:rows*K], ws.h[:rows*d]
	eps := m.cfg.LayerNormEps
	a, o, qkv, ff := ws.a[:rows*d], ws.o[:rows*d], ws.qkv[:rows*3*d], ws.ff[:rows*f]
	for li := range m.layers {
		ly := &m.layers[li]
		layerNorm(a, h, d, ly.ln1W, ly.ln1B, eps)
		m.linear(ws, qkv, a, rows, ly.qkvP, ly.qkvB)
		m.attention(ws, o, qkv, ev)
		ws.gemm.SgemmPacked(false, rows, 1, o, d, ly.outP, 1, h, d)
		addBias(h, ly.outB)
		layerNorm(a, h, d, ly.ln2W, ly.ln2B, eps)
		m.linear(ws, ff, a, rows, ly.fc1P, ly.fc1B)
		for r := 0; r < rows; r++ { // row by row: the vector/tail split must not depend on the batch
			gelu(ff[r*f : (r+1)*f])
		}
		ws.gemm.SgemmPacked(false, rows, 1, ff, f, ly.fc2P, 1, h, d)
		addBias(h, ly.fc2B)
	}
	layerNorm(a, h, d, m.lnfW, m.lnfB, eps)
	m.linear(ws, z, a, rows, m.headP, m.headB)
	r := 0
	negInf := float32(math.Inf(-1))
	for _, e := range ev {
		for i := 0; i < e.L; i++ {
			zr := z[r*K : (r+1)*K]
			if m.cfg.EvidenceSkip {
				addLogLikelihood(zr, e.Data[i*K:(i+1)*K], m.mask, ws.info[r])
			}
			zr[m.mask] = negInf
			r++
		}
	}
	return nil
}

// embed writes the input of every row into ws.h: the canonical evidence
// weights (kept in ws.z, with what the skip needs in ws.info) times the embedding table,
// plus the position embedding.
func (m *Model) embed(ws *workspace, ev []*soft.Dense, rows int) error {
	K, d := m.K, m.d
	z, h := ws.z[:rows*K], ws.h[:rows*d]
	r := 0
	for b, e := range ev {
		for i := 0; i < e.L; i++ {
			info, err := embedWeights(z[r*K:(r+1)*K], e.Data[i*K:(i+1)*K], m.mask)
			if err != nil {
				return fmt.Errorf("nn: sequence %d, position %d: evidence %v", b, i, err)
			}
			ws.info[r] = info
			r++
		}
	}
	ws.gemm.SgemmPacked(false, rows, 1, z, K, m.embP, 0, h, d)
	r = 0
	for _, e := range ev {
		for i := 0; i < e.L; i++ {
			addTo(h[r*d:(r+1)*d], m.pos[i*d:(i+1)*d])
			r++
		}
	}
	return nil
}

// linear writes y = x·Wᵀ + b for x (rows×in) and W (out×in, PyTorch's
// layout), with Wᵀ packed in wp (in×out).
func (m *Model) linear(ws *workspace, y, x []float32, rows int, wp *simdgemm.PackedB, b []float32) {
	in, out := wp.Dims()
	ws.gemm.SgemmPacked(false, rows, 1, x, in, wp, 0, y, out)
	addBias(y, b)
}

// attention writes the multi-head self-attention output (before the
// output projection) of every sequence into o, from the packed q|k|v rows.
func (m *Model) attention(ws *workspace, o, qkv []float32, ev []*soft.Dense) {
	d, H := m.d, m.heads
	dh := d / H
	scale := float32(1 / math.Sqrt(float64(dh)))
	r := 0
	for _, e := range ev {
		L := e.L
		q := qkv[r*3*d:]
		sc := ws.sc[:L*L]
		for hd := 0; hd < H; hd++ {
			ws.gemm.Sgemm(false, true, L, L, dh, scale, q[hd*dh:], 3*d, q[d+hd*dh:], 3*d, 0, sc, L)
			for i := 0; i < L; i++ {
				row := sc[i*L : (i+1)*L]
				soft.Softmax(row, row) // finite scores: cannot fail
			}
			ws.gemm.Sgemm(false, false, L, dh, L, 1, sc, L, q[2*d+hd*dh:], 3*d, 0, o[r*d+hd*dh:], d)
		}
		r += L
	}
}

// layerNorm writes dst = (src − mean)/sqrt(var + eps)·w + b row by row
// (rows of width d, biased variance, float64 moments).
func layerNorm(dst, src []float32, d int, w, b []float32, eps float64) {
	for r := 0; r+d <= len(src); r += d {
		x, y := src[r:r+d], dst[r:r+d]
		var s float64
		for _, v := range x {
			s += float64(v)
		}
		mean := s / float64(d)
		var q float64
		for _, v := range x {
			c := float64(v) - mean
			q += c * c
		}
		inv := 1 / math.Sqrt(q/float64(d)+eps)
		for j, v := range x {
			y[j] = float32((float64(v)-mean)*inv)*w[j] + b[j]
		}
	}
}

// gelu applies x·Φ(x) = ½x(1 + erf(x/√2)) in place, with erf32 (eight
// lanes at a time in the simd build on AVX2+FMA CPUs).
func gelu(x []float32) { geluVec(x) }

// geluGo is gelu in Go.
func geluGo(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + erf32(v*(1/math.Sqrt2)))
	}
}

// Coefficients of erf(x) ≈ x·P(x²)/Q(x²) on [0, 4]: a rational least-squares
// fit with Lawson reweighting towards minimax (train/fit_erf.py reproduces
// them), maximum error 1.5e-9 in exact arithmetic and 3.4e-7 evaluated in
// float32 (measured on 200001 points against scipy's erf). Beyond 4,
// 1 − erf(x) < 1.6e-8 and the result is ±1.
const (
	erfP0, erfP1, erfP2, erfP3 = 1.1283791821171971, 0.18471032813784732, 0.054332610996103856, 0.0038395304513141374
	erfP4, erfP5, erfP6        = 0.0003826929843720546, 4.780559803609079e-06, -1.3666885154911095e-08
	erfQ1, erfQ2, erfQ3        = 0.4970288117327567, 0.11382631511592965, 0.01545352123765507
	erfQ4, erfQ5               = 0.0013095803176871564, 6.40094634583309e-05
)

// erf32 is the error function in float32 arithmetic (absolute error below
// 4e-7), odd, and exactly ±1 beyond |x| = 4. NaN gives NaN.
func erf32(x float32) float32 {
	a := abs32(x)
	if a >= 4 {
		if x < 0 {
			return -1
		}
		return 1
	}
	s := a * a
	p := ((((((erfP6*s+erfP5)*s+erfP4)*s+erfP3)*s+erfP2)*s+erfP1)*s + erfP0)
	q := (((((erfQ5*s+erfQ4)*s+erfQ3)*s+erfQ2)*s+erfQ1)*s + 1)
	r := min(a*p/q, 1)
	if x < 0 {
		return -r
	}
	return r
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// addBias adds b to every row of y (rows of width len(b)).
func addBias(y, b []float32) {
	n := len(b)
	for r := 0; r+n <= len(y); r += n {
		addTo(y[r:r+n], b)
	}
}

func addTo(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}
