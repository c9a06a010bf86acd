package nn

import (
	"fmt"
	"math"
)

// Evidence rows enter the network through their likelihood only. A row e
// over the K states with MASK mass m = e[mask] and token mass π(v) = e[v]
// is the likelihood ℓ(v) = π(v) + m over the V = K − 1 tokens; rows equal
// up to scale are the same evidence. Among all rows with likelihood ∝ ℓ,
// the canonical one carries the most MASK mass:
//
//	w(MASK) = ℓmin / D,   w(v) = (ℓ(v) − ℓmin) / D,   D = Σ_v (ℓ(v) − ℓmin) + ℓmin,
//
// with ℓmin = min_v ℓ(v). Its weights sum to 1; a one-hot row gives w = the
// row itself, an all-MASK or uniform row w = onehot(MASK), and a row whose
// token part has a zero entry (ℓmin = m) the row as written, normalised.
// The input embedding is Σ_k w(k)·E_k (docs/models.md).

// embedWeights validates evidence row e and writes the weights of its
// canonical row into w (both of length K). It returns log Z, Z = Σ_v ℓ(v)
// (the normaliser of the evidence skip). Sums run in float64 in index
// order. The error (without the row's place, which the caller adds) reports
// a negative, NaN or infinite entry, or a row with no positive likelihood.
func embedWeights(w, e []float32, mask int) (logZ float64, err error) {
	m := float64(e[mask])
	lmin := math.Inf(1)
	var z float64
	for v, x := range e {
		f := float64(x)
		if !(f >= 0) || math.IsInf(f, 1) {
			return 0, fmt.Errorf("entry %d is %v (want finite and ≥ 0)", v, x)
		}
		if v == mask {
			continue
		}
		l := f + m
		z += l
		lmin = min(lmin, l)
	}
	if !(z > 0) {
		return 0, fmt.Errorf("no token has positive likelihood")
	}
	var d float64
	for v, x := range e {
		if v != mask {
			d += float64(x) + m - lmin
		}
	}
	d += lmin
	inv := 1 / d
	for v, x := range e {
		if v == mask {
			w[v] = float32(lmin * inv)
		} else {
			w[v] = float32((float64(x) + m - lmin) * inv)
		}
	}
	return math.Log(z), nil
}

// addLogLikelihood adds log ℓ̂(v) = log ℓ(v) − logZ to the token logits z
// of row e in float64 (−Inf where ℓ(v) = 0), for the evidence skip. It
// leaves z[mask] alone.
func addLogLikelihood(z, e []float32, mask int, logZ float64) {
	m := float64(e[mask])
	for v, x := range e {
		if v != mask {
			z[v] = float32(float64(z[v]) + math.Log(float64(x)+m) - logZ)
		}
	}
}
