package degrade

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/softdiff/softdiff/decode"
	"github.com/softdiff/softdiff/soft"
)

// Options sets the error of an Oracle. The zero value is no
// error at all (Oracle then returns its inner denoiser's beliefs exactly);
// Default is the setting the experiments use.
type Options struct {
	// Collapse is the largest weight w_max ∈ [0, 1] of the unigram
	// distribution in a position's context belief, reached where no
	// evidence is in range.
	Collapse float64
	// Range ℓ > 0 (positions) sets how fast the context of an evidence row
	// fades with the distance: a row of strength s at distance d supplies
	// context s·e^{−d/ℓ}. Zero means 2.
	Range float64
	// Noise σ ≥ 0 is the standard deviation of the log-normal noise on each
	// entry of the context belief: q_v ← q_v·e^{σ z_v}, z_v ~ N(0, 1). The
	// noise is a deterministic function of (Seed, evidence, t), like the
	// error of a fixed network, so equal inputs get equal beliefs.
	Noise float64
	// Seed seeds the noise.
	Seed uint64
	// Soften ε ∈ (0, 1) is used only when the inner denoiser rejects the
	// evidence (zero probability under it, which an erring sampler can reach):
	// the evidence is retried with every row mixed with ε of MASK, i.e. each
	// likelihood π(v) becomes (1−ε)π(v) + ε. Zero means 1e-3.
	Soften float64
}

// Default is the degraded oracle of the experiments: with no evidence
// in range half of a position's context belief collapses to the unigram
// distribution; next to a committed token the weight is
// w_max·(1 − e^{−1/2}) ≈ 0.20; no noise.
var Default = Options{Collapse: 0.5, Range: 2}

// Noisy adds log-normal noise of σ = 0.5 to Default.
var Noisy = Options{Collapse: 0.5, Range: 2, Noise: 0.5, Seed: 1}

// Oracle wraps an exact denoiser with a controlled model error, a model of
// frequency collapse: the part of a position's belief that comes from its
// context is tempered towards the unigram distribution u of the data, more
// strongly the less evidence lies near it. Every quantity is a continuous
// function of the evidence; there is no threshold.
//
// Write ℓ_j(v) = π_j(v) + π_j(MASK) for the likelihood of evidence row j
// (1 everywhere for a MASK row, an indicator for a committed token) and
// ℓ̂_j = ℓ_j/Σ_v ℓ_j(v) for it normalised over the K' non-MASK tokens. The
// strength of row j is the share of the maximal information it carries,
//
//	s_j = 1 − H(ℓ̂_j)/log K'   (0 for MASK, 1 for a committed token),
//
// the context of position i is the strongest faded neighbour,
//
//	c_i = max_{j ≠ i} s_j·e^{−|i−j|/ℓ}   (0 with no evidence),
//
// and the collapse weight is w_i = w_max·(1 − c_i) (Options: w_max
// Collapse, ℓ Range). With one-hot rows only this is w_max·(1 − e^{−d/ℓ})
// at distance d to the nearest committed token.
//
// The exact belief factorises as b_i(v) ∝ ℓ_i(v)·r_i(v), the position's own
// evidence times what its context says; Oracle reads the context part off
// the belief, r̂_i(v) ∝ b_i(v)/ℓ_i(v) on the tokens with ℓ_i(v) > 0 (0
// elsewhere), tempers only it and puts the own evidence back:
//
//	q_i = (1 − w_i)·r̂_i + w_i·u,   b'_i(v) ∝ ℓ_i(v)·q_i(v).
//
// So a position's own evidence is never overridden: a committed token keeps
// its one-hot belief (as in the SUBS parameterisation of masked diffusion
// models), and a MASK row gets b' = (1 − w)·b + w·u. Optional log-normal
// noise of level σ perturbs q_i before the own evidence is applied.
//
// The arithmetic mixture puts mass on tokens the exact posterior rules out,
// so a sampler driven by Oracle makes the errors a real network makes; when
// such a commit makes the evidence impossible under the exact model, the
// evidence is softened (Options.Soften) so beliefs stay defined.
// Every output is checked to be a distribution.
//
// Oracle is safe for concurrent use and counts its calls (NFE).
type Oracle struct {
	inner decode.Denoiser
	uni   []float32
	mask  int32
	o     Options
	nfe   atomic.Int64
	pool  sync.Pool
}

type degScratch struct {
	w   []float64
	s   []float64
	q   []float64
	ev  *soft.Dense
	pcg *rand.PCG
	rng *rand.Rand
}

// New wraps inner. unigram is the data's token distribution over the
// vocabulary's K states (no MASK mass, summing to 1); mask is the MASK id
// (soft.NoToken if none).
func New(inner decode.Denoiser, unigram []float64, mask int32, o Options) (*Oracle, error) {
	if inner == nil {
		return nil, errors.New("degraded oracle: nil inner denoiser")
	}
	if o.Range == 0 {
		o.Range = 2
	}
	if o.Soften == 0 {
		o.Soften = 1e-3
	}
	switch {
	case !(o.Collapse >= 0 && o.Collapse <= 1):
		return nil, fmt.Errorf("degraded oracle: Collapse = %v outside [0, 1]", o.Collapse)
	case !(o.Range > 0) || math.IsInf(o.Range, 0):
		return nil, fmt.Errorf("degraded oracle: Range = %v must be positive and finite", o.Range)
	case !(o.Noise >= 0) || math.IsInf(o.Noise, 0):
		return nil, fmt.Errorf("degraded oracle: Noise = %v must be non-negative and finite", o.Noise)
	case !(o.Soften > 0 && o.Soften < 1):
		return nil, fmt.Errorf("degraded oracle: Soften = %v outside (0, 1)", o.Soften)
	}
	K := len(unigram)
	if mask != soft.NoToken && (mask < 0 || int(mask) >= K) {
		return nil, fmt.Errorf("degraded oracle: mask id %d outside [0, %d)", mask, K)
	}
	u := make([]float32, K)
	var sum float64
	for v, p := range unigram {
		if !(p >= 0) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("degraded oracle: unigram[%d] = %v is not a probability", v, p)
		}
		if int32(v) == mask && p != 0 {
			return nil, fmt.Errorf("degraded oracle: unigram gives MASK (id %d) mass %v", v, p)
		}
		sum += p
		u[v] = float32(p)
	}
	if math.Abs(sum-1) > 1e-6 {
		return nil, fmt.Errorf("degraded oracle: unigram sums to %v, not 1", sum)
	}
	return &Oracle{inner: inner, uni: u, mask: mask, o: o}, nil
}

// NFE returns the number of Denoise calls so far.
func (d *Oracle) NFE() int64 { return d.nfe.Load() }

// Options returns the options in use (defaults filled in).
func (d *Oracle) Options() Options { return d.o }

// Unigram returns a copy of the unigram distribution the oracle collapses
// towards (as stored: float32 probabilities, widened), one entry per state.
func (d *Oracle) Unigram() []float64 {
	out := make([]float64, len(d.uni))
	for i, x := range d.uni {
		out[i] = float64(x)
	}
	return out
}

// lik returns the likelihood ℓ(v) = π(v) + π(MASK) of token v under an
// evidence row (π(v) when there is no MASK state; 0 for MASK itself).
func (d *Oracle) lik(row []float32, v int) float64 {
	if int32(v) == d.mask {
		return 0
	}
	l := float64(row[v])
	if d.mask != soft.NoToken {
		l += float64(row[d.mask])
	}
	return l
}

// Strength returns s = 1 − H(ℓ̂)/log K' of an evidence row: the share of
// the largest possible information (log K' nats, K' the non-MASK tokens)
// that its normalised likelihood ℓ̂ carries; 0 for a MASK row or a row of
// no likelihood, 1 for a committed token.
func (d *Oracle) Strength(row []float32) float64 {
	kt := len(row)
	if d.mask != soft.NoToken {
		kt--
	}
	if kt <= 1 {
		return 1
	}
	var sum float64
	for v := range row {
		sum += d.lik(row, v)
	}
	if !(sum > 0) {
		return 0
	}
	var h float64
	for v := range row {
		if p := d.lik(row, v) / sum; p > 0 {
			h -= p * math.Log(p)
		}
	}
	return min(1, max(0, 1-h/math.Log(float64(kt))))
}

// weights writes the collapse weight w_i = w_max·(1 − c_i) of every
// position of evidence into w (len(w) = evidence.L; the caller's buffer, so
// a wrong length panics). s is scratch of the same length.
func (d *Oracle) weights(w, s []float64, evidence *soft.Dense) {
	L := evidence.L
	for j := 0; j < L; j++ {
		s[j] = d.Strength(evidence.Row(j))
	}
	f := math.Exp(-1 / d.o.Range)
	// c_i = max(max_{j<i} s_j f^{i−j}, max_{j>i} s_j f^{j−i}) by two sweeps.
	var a float64
	for i := 0; i < L; i++ {
		w[i] = a
		a = max(a, s[i]) * f
	}
	a = 0
	for i := L - 1; i >= 0; i-- {
		w[i] = d.o.Collapse * (1 - max(w[i], a))
		a = max(a, s[i]) * f
	}
}

// Weights returns the collapse weight w_i of every position under evidence.
func (d *Oracle) Weights(evidence *soft.Dense) []float64 {
	w, s := make([]float64, evidence.L), make([]float64, evidence.L)
	d.weights(w, s, evidence)
	return w
}

// Denoise writes the degraded beliefs for evidence into dst.
func (d *Oracle) Denoise(dst, evidence *soft.Dense, t float64) error {
	d.nfe.Add(1)
	if evidence.K != len(d.uni) || dst.L != evidence.L || dst.K != evidence.K {
		return fmt.Errorf("degraded oracle: shapes: evidence %d×%d, dst %d×%d, vocabulary %d", evidence.L, evidence.K, dst.L, dst.K, len(d.uni))
	}
	s, _ := d.pool.Get().(*degScratch)
	if s == nil {
		s = &degScratch{pcg: rand.NewPCG(0, 0)}
		s.rng = rand.New(s.pcg)
	}
	defer d.pool.Put(s)
	L, K := evidence.L, evidence.K
	if cap(s.w) < L {
		s.w, s.s = make([]float64, L), make([]float64, L)
	}
	if cap(s.q) < K {
		s.q = make([]float64, K)
	}
	w, q := s.w[:L], s.q[:K]
	d.weights(w, s.s[:L], evidence)
	if err := d.inner.Denoise(dst, evidence, t); err != nil {
		// Retry with softened evidence: an erring sampler may have committed
		// a configuration the exact model rules out.
		if s.ev == nil || s.ev.L != L || s.ev.K != K {
			s.ev = soft.NewDense(L, K)
		}
		eps := float32(d.o.Soften)
		copy(s.ev.Data, evidence.Data)
		if d.mask == soft.NoToken {
			return fmt.Errorf("degraded oracle: %w (no MASK state to soften evidence with)", err)
		}
		for i := 0; i < L; i++ {
			row := s.ev.Row(i)
			for v := range row {
				row[v] *= 1 - eps
			}
			row[d.mask] += eps
		}
		if err2 := d.inner.Denoise(dst, s.ev, t); err2 != nil {
			return fmt.Errorf("degraded oracle: %w (also with softened evidence: %v)", err, err2)
		}
	}
	var h uint64
	if d.o.Noise > 0 {
		h = d.hash(evidence, t)
	}
	for i := 0; i < L; i++ {
		if w[i] == 0 && d.o.Noise == 0 {
			continue // no error: the inner belief unchanged
		}
		row, ev := dst.Row(i), evidence.Row(i)
		// the context part r̂ ∝ b/ℓ on the support of ℓ
		var rs float64
		for v := range row {
			q[v] = 0
			if l := d.lik(ev, v); l > 0 {
				q[v] = float64(row[v]) / l
				rs += q[v]
			}
		}
		wi := w[i]
		if !(rs > 0) {
			wi = 1 // the context says nothing on the evidence's support
		}
		for v := range q {
			r := 0.0
			if rs > 0 {
				r = q[v] / rs
			}
			q[v] = (1-wi)*r + wi*float64(d.uni[v])
		}
		if d.o.Noise > 0 {
			s.pcg.Seed(h, uint64(i))
			for v := range q {
				q[v] *= math.Exp(d.o.Noise * s.rng.NormFloat64())
			}
		}
		var z float64
		for v := range q {
			q[v] *= d.lik(ev, v)
			z += q[v]
		}
		if !(z > 0) {
			// The tempered context rules out every token the evidence
			// allows (a unigram zero on them): keep the evidence alone.
			for v := range q {
				q[v] = d.lik(ev, v)
				z += q[v]
			}
		}
		for v := range row {
			row[v] = float32(q[v] / z)
		}
	}
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("degraded oracle: output is not a distribution: %w", err)
	}
	return nil
}

// hash digests (Seed, t, evidence) with FNV-1a over their 32-bit words,
// without allocating.
func (d *Oracle) hash(ev *soft.Dense, t float64) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(x uint32) {
		for k := 0; k < 4; k++ {
			h ^= uint64(byte(x >> (8 * k)))
			h *= prime
		}
	}
	mix(uint32(d.o.Seed))
	mix(uint32(d.o.Seed >> 32))
	tb := math.Float64bits(t)
	mix(uint32(tb))
	mix(uint32(tb >> 32))
	for _, x := range ev.Data {
		mix(math.Float32bits(x))
	}
	return h
}
