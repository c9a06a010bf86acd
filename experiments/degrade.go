package experiments

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

// DegradeOptions sets the error of a Degraded denoiser. The zero value is no
// error at all (Degraded then returns its inner denoiser's beliefs exactly);
// DefaultDegrade is the setting the experiments use.
type DegradeOptions struct {
	// Collapse is the largest weight w_max ∈ [0, 1] of the unigram
	// distribution in a tempered belief.
	Collapse float64
	// Range ℓ > 0 (positions) sets how fast the tempering grows with the
	// distance d to the nearest hard evidence: w(d) = w_max·(1 − e^{−d/ℓ}).
	// Zero means 2.
	Range float64
	// Noise σ ≥ 0 is the standard deviation of the log-normal noise on each
	// belief entry: p_v ← p_v·e^{σ z_v} renormalised, z_v ~ N(0, 1). The noise
	// is a deterministic function of (Seed, evidence, t), like the error of a
	// fixed network, so equal inputs get equal beliefs.
	Noise float64
	// Seed seeds the noise.
	Seed uint64
	// Hard δ ∈ [0, 1): a row counts as hard evidence for the distance d when
	// its normalised likelihood puts at least 1 − δ on one token (so the
	// localised evidence of a soft sampler counts, not only one-hot rows).
	// Zero means exactly one-hot rows only.
	Hard float64
	// Soften ε ∈ (0, 1) is used only when the inner denoiser rejects the
	// evidence (zero probability under it, which an erring sampler can reach):
	// the evidence is retried with every row mixed with ε of MASK, i.e. each
	// likelihood π(v) becomes (1−ε)π(v) + ε. Zero means 1e-3.
	Soften float64
}

// DefaultDegrade is the degraded oracle of the experiments: far from hard
// evidence half of the belief collapses to the unigram distribution; next to
// it the weight is w_max·(1 − e^{−1/2}) ≈ 0.20; no noise.
var DefaultDegrade = DegradeOptions{Collapse: 0.5, Range: 2, Hard: 0.01}

// NoisyDegrade adds log-normal noise of σ = 0.5 to DefaultDegrade.
var NoisyDegrade = DegradeOptions{Collapse: 0.5, Range: 2, Hard: 0.01, Noise: 0.5, Seed: 1}

// Degraded wraps an exact denoiser with a controlled model error, a model of
// frequency collapse: the belief at a position tempered towards the unigram
// distribution u of the data, more strongly the farther the position lies
// from the nearest hard (one-hot, non-MASK) evidence row:
//
//	b'_i = (1 − w_i)·b_i + w_i·u,  w_i = w_max·(1 − exp(−d_i/ℓ)),
//
// where d_i is the distance |i − j| to the nearest hard row j (0 at a hard
// row; L when no row is hard). A row is hard when its normalised likelihood
// puts at least 1 − δ on one token (DegradeOptions.Hard; δ = 0: one-hot rows
// only), so evidence a soft sampler has localised counts as context too. Optional
// log-normal noise of level σ then perturbs every belief of an unobserved
// position. Positions with hard evidence always get the one-hot belief of
// their token, as in the SUBS parameterisation of masked diffusion models.
//
// The arithmetic mixture puts mass on tokens the exact posterior rules out,
// so a sampler driven by Degraded makes the errors a real network makes; when
// such a commit makes the evidence impossible under the exact model, the
// evidence is softened (DegradeOptions.Soften) so beliefs stay defined.
// Every output is checked to be a distribution.
//
// Degraded is safe for concurrent use and counts its calls (NFE).
type Degraded struct {
	inner decode.Denoiser
	uni   []float32
	mask  int32
	o     DegradeOptions
	nfe   atomic.Int64
	pool  sync.Pool
}

type degScratch struct {
	dist []int
	ev   *soft.Dense
	pcg  *rand.PCG
	rng  *rand.Rand
}

// NewDegraded wraps inner. unigram is the data's token distribution over the
// vocabulary's K states (no MASK mass, summing to 1); mask is the MASK id
// (soft.NoToken if none).
func NewDegraded(inner decode.Denoiser, unigram []float64, mask int32, o DegradeOptions) (*Degraded, error) {
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
	case !(o.Hard >= 0 && o.Hard < 1):
		return nil, fmt.Errorf("degraded oracle: Hard = %v outside [0, 1)", o.Hard)
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
	return &Degraded{inner: inner, uni: u, mask: mask, o: o}, nil
}

// NFE returns the number of Denoise calls so far.
func (d *Degraded) NFE() int64 { return d.nfe.Load() }

// Weight returns the unigram weight w(dist) = w_max·(1 − e^{−dist/ℓ}).
func (d *Degraded) Weight(dist int) float64 {
	if dist <= 0 {
		return 0
	}
	return d.o.Collapse * (1 - math.Exp(-float64(dist)/d.o.Range))
}

// hardToken returns the token of a one-hot (non-MASK) evidence row, or
// NoToken.
func (d *Degraded) hardToken(row []float32) int32 {
	a := soft.Argmax(row)
	if a == d.mask || row[a] < 1-1e-6 {
		return soft.NoToken
	}
	return a
}

// localised reports whether a row's normalised likelihood π(v) + m over the
// tokens puts at least 1 − δ on one token.
func (d *Degraded) localised(row []float32) bool {
	if d.hardToken(row) != soft.NoToken {
		return true
	}
	if d.o.Hard == 0 {
		return false
	}
	var m float64
	if d.mask != soft.NoToken {
		m = float64(row[d.mask])
	}
	var best, sum float64
	for v, x := range row {
		if int32(v) == d.mask {
			continue
		}
		l := float64(x) + m
		sum += l
		if l > best {
			best = l
		}
	}
	return sum > 0 && best >= (1-d.o.Hard)*sum
}

// Denoise writes the degraded beliefs for evidence into dst.
func (d *Degraded) Denoise(dst, evidence *soft.Dense, t float64) error {
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
	if cap(s.dist) < L {
		s.dist = make([]int, L)
	}
	dist := s.dist[:L]
	// Two sweeps give the distance to the nearest hard row.
	last := -1
	for i := 0; i < L; i++ {
		if d.localised(evidence.Row(i)) {
			last = i
		}
		dist[i] = L
		if last >= 0 {
			dist[i] = i - last
		}
	}
	last = -1
	for i := L - 1; i >= 0; i-- {
		if dist[i] == 0 {
			last = i
		}
		if last >= 0 && last-i < dist[i] {
			dist[i] = last - i
		}
	}
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
		row := dst.Row(i)
		if dist[i] == 0 {
			if tok := d.hardToken(evidence.Row(i)); tok != soft.NoToken {
				clear(row)
				row[tok] = 1
			}
			continue
		}
		w := float32(d.Weight(dist[i]))
		for v := range row {
			row[v] = (1-w)*row[v] + w*d.uni[v]
		}
		if d.o.Noise > 0 {
			s.pcg.Seed(h, uint64(i))
			var sum float64
			for v := range row {
				z := s.rng.NormFloat64()
				x := float64(row[v]) * math.Exp(d.o.Noise*z)
				row[v] = float32(x)
				sum += x
			}
			if sum > 0 {
				for v := range row {
					row[v] = float32(float64(row[v]) / sum)
				}
			}
		}
	}
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("degraded oracle: output is not a distribution: %w", err)
	}
	return nil
}

// hash digests (Seed, t, evidence) with FNV-1a over their 32-bit words,
// without allocating.
func (d *Degraded) hash(ev *soft.Dense, t float64) uint64 {
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
