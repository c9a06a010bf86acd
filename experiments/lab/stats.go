package lab

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Kind says how a metric is pooled over seeds.
type Kind int

const (
	// Mean is a per-seed scalar; seeds are pooled as a mean with a 95%
	// Student-t confidence interval (none for a single seed).
	Mean Kind = iota
	// Rate is a per-seed count K of N; seeds are pooled by summing the counts
	// and the interval is the 95% Wilson score interval of K/N.
	Rate
	// Exact is a closed-form or otherwise deterministic value, the same for
	// every seed; it is shown without an interval.
	Exact
)

// String returns the kind's name as used in JSON and CSV.
func (k Kind) String() string {
	switch k {
	case Mean:
		return "mean"
	case Rate:
		return "rate"
	case Exact:
		return "exact"
	}
	return "unknown"
}

// Z95 is the standard normal quantile of 0.975, used by the Wilson interval.
const Z95 = 1.959963984540054

// Estimate is a pooled metric: a point value and, when defined, a 95%
// confidence interval [Lo, Hi]. Seeds is the number of seeds pooled and N the
// number of trials for a rate. An estimate with no observations has Seeds 0
// and NaN fields.
type Estimate struct {
	Kind   Kind
	Value  float64
	Lo, Hi float64 // NaN when no interval is defined
	Seeds  int
	K, N   int64 // pooled counts of a Rate
}

// HasCI reports whether the estimate carries a finite interval.
func (e Estimate) HasCI() bool {
	return !math.IsNaN(e.Lo) && !math.IsNaN(e.Hi)
}

// Valid reports whether the estimate has a value at all.
func (e Estimate) Valid() bool {
	if e.Kind == Rate {
		return e.N > 0 && !math.IsNaN(e.Value)
	}
	return e.Seeds > 0 && !math.IsNaN(e.Value)
}

// Below reports whether e is below o with non-overlapping intervals: e.Hi <
// o.Lo. For an Exact estimate the value stands for both ends. It is false when
// either side lacks a value or an interval (a claim needs a CI).
func (e Estimate) Below(o Estimate) bool {
	if !e.Valid() || !o.Valid() {
		return false
	}
	eh, ol := e.Hi, o.Lo
	if e.Kind == Exact {
		eh = e.Value
	}
	if o.Kind == Exact {
		ol = o.Value
	}
	if math.IsNaN(eh) || math.IsNaN(ol) {
		return false
	}
	return eh < ol
}

// Contains reports whether x lies inside e's interval (an Exact estimate
// contains only its value up to 1e-12).
func (e Estimate) Contains(x float64) bool {
	if e.Kind == Exact {
		return math.Abs(e.Value-x) <= 1e-12
	}
	return e.HasCI() && e.Lo <= x && x <= e.Hi
}

// MeanCI pools per-seed values xs into their mean and the 95% Student-t
// confidence interval mean ± t_{0.975,n−1}·s/√n. NaN values are skipped. With
// one value the interval is undefined (NaN); with none the mean is NaN too.
func MeanCI(xs []float64) Estimate {
	var n int
	var sum float64
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		n++
		sum += x
	}
	e := Estimate{Kind: Mean, Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Seeds: n}
	if n == 0 {
		return e
	}
	m := sum / float64(n)
	e.Value = m
	if n < 2 {
		return e
	}
	var ss float64
	for _, x := range xs {
		if math.IsNaN(x) {
			continue
		}
		ss += (x - m) * (x - m)
	}
	sd := math.Sqrt(ss / float64(n-1))
	h := TQuantile975(n-1) * sd / math.Sqrt(float64(n))
	e.Lo, e.Hi = m-h, m+h
	return e
}

// TQuantile975 returns the 0.975 quantile of Student's t distribution with
// dof degrees of freedom (dof ≥ 1).
func TQuantile975(dof int) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(dof)}.Quantile(0.975)
}

// Wilson returns the rate k/n with its 95% Wilson score interval
// (Wilson 1927): centre (k + z²/2)/(n + z²), half-width
// z/(n + z²)·sqrt(k(n−k)/n + z²/4), z = Z95. It is well behaved at k = 0 and
// k = n, unlike the normal approximation. n = 0 gives NaN.
func Wilson(k, n int64) Estimate {
	e := Estimate{Kind: Rate, Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), K: k, N: n}
	if n <= 0 {
		return e
	}
	kf, nf := float64(k), float64(n)
	z2 := Z95 * Z95
	c := (kf + z2/2) / (nf + z2)
	h := Z95 / (nf + z2) * math.Sqrt(kf*(nf-kf)/nf+z2/4)
	e.Value = kf / nf
	e.Lo, e.Hi = math.Max(0, c-h), math.Min(1, c+h)
	return e
}
