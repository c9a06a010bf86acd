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
// (the normaliser of the evidence skip), and the row's kind. Sums run in float64 in index
// order. The error (without the row's place, which the caller adds) reports
// a negative, NaN or infinite entry, or a row with no positive likelihood.
func embedWeights(w, e []float32, mask int) (info rowInfo, err error) {
	m := float64(e[mask])
	lmin, lmax := math.Inf(1), 0.0
	var z float64
	pos, tok := 0, int32(-1)
	for v, x := range e {
		f := float64(x)
		if !(f >= 0) || math.IsInf(f, 1) {
			return rowInfo{}, fmt.Errorf("entry %d is %v (want finite and ≥ 0)", v, x)
		}
		if v == mask {
			continue
		}
		l := f + m
		z += l
		lmin, lmax = min(lmin, l), max(lmax, l)
		if l > 0 {
			pos++
			tok = int32(v)
		}
	}
	if !(z > 0) {
		return rowInfo{}, fmt.Errorf("no token has positive likelihood")
	}
	info = rowInfo{logZ: math.Log(z), kind: rowGeneral, tok: tok}
	switch {
	case pos == 1:
		info.kind = rowToken
	case lmin == lmax:
		info.kind = rowFlat
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
	return info, nil
}

// rowInfo is what the evidence skip needs of a row besides the row itself.
type rowInfo struct {
	logZ float64 // log Σ_v ℓ(v)
	kind uint8   // rowGeneral, rowToken (one token has ℓ > 0) or rowFlat (ℓ constant)
	tok  int32   // the token of a rowToken row
}

const (
	rowGeneral uint8 = iota
	rowToken
	rowFlat
)

// addLogLikelihood adds log ℓ̂(v) = log ℓ(v) − log Z to the token logits z
// of row e in float64 (−Inf where ℓ(v) = 0), for the evidence skip. It
// leaves z[mask] alone. A row with one token of positive likelihood adds 0
// there and −Inf elsewhere, a flat row −log V everywhere, without a
// logarithm per token.
func addLogLikelihood(z, e []float32, mask int, info rowInfo) {
	switch info.kind {
	case rowToken:
		negInf := float32(math.Inf(-1))
		for v := range z {
			if v != mask && int32(v) != info.tok {
				z[v] = negInf
			}
		}
		return
	case rowFlat:
		c := -math.Log(float64(len(e) - 1))
		for v := range z {
			if v != mask {
				z[v] = float32(float64(z[v]) + c)
			}
		}
		return
	}
	m := float64(e[mask])
	for v, x := range e {
		if v != mask {
			z[v] = float32(float64(z[v]) + math.Log(float64(x)+m) - info.logZ)
		}
	}
}
