package experiments

import (
	"math"
	"sort"
)

// SeqKey returns a map key for a token sequence.
func SeqKey(x []int32) string {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		u := uint32(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return string(b)
}

// SampleStats accumulates the sample-based metrics of a set of generated
// sequences against an exact model. Add each sample with its exact log
// probability under the true distribution (−Inf for an invalid one).
type SampleStats struct {
	N       int64
	Invalid int64
	sumNLL  float64 // over valid samples
	counts  map[string]int64
	logp    map[string]float64
	Repeats int64 // adjacent equal pairs
	Pairs   int64 // adjacent pairs
}

// NewSampleStats returns an empty accumulator.
func NewSampleStats() *SampleStats {
	return &SampleStats{counts: map[string]int64{}, logp: map[string]float64{}}
}

// Add records sample x with its true log-probability lp. Adjacent repeats
// are counted over pairs of positions neither of which is skip (pass
// soft.NoToken to count every pair; pass the EOS id to ignore padding).
func (s *SampleStats) Add(x []int32, lp float64, skip int32) {
	s.N++
	k := SeqKey(x)
	s.counts[k]++
	s.logp[k] = lp
	if math.IsInf(lp, -1) {
		s.Invalid++
	} else {
		s.sumNLL -= lp
	}
	for i := 0; i+1 < len(x); i++ {
		if x[i] == skip || x[i+1] == skip {
			continue
		}
		s.Pairs++
		if x[i] == x[i+1] {
			s.Repeats++
		}
	}
}

// TV returns the total variation distance between the empirical distribution
// of the samples and the true one, from the samples and their exact
// probabilities alone:
//
//	TV = ½(Σ_{x seen} |p̂(x) − p(x)| + 1 − Σ_{x seen} p(x)),
//
// since every unseen x contributes |0 − p(x)| and those p(x) sum to
// 1 − Σ_{seen} p(x). It is biased upward by sampling noise (compare it with
// the same statistic of exact samples of the same size). The sum runs over
// the sequences in sorted key order, so equal samples give equal bits.
func (s *SampleStats) TV() float64 {
	if s.N == 0 {
		return math.NaN()
	}
	keys := make([]string, 0, len(s.counts))
	for k := range s.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys) // a fixed order of summation
	var diff, seen float64
	for _, k := range keys {
		c := s.counts[k]
		p := math.Exp(s.logp[k])
		diff += math.Abs(float64(c)/float64(s.N) - p)
		seen += p
	}
	return 0.5 * (diff + math.Max(0, 1-seen))
}

// NLL returns the mean −log p_true(x) over valid samples (NaN if none).
func (s *SampleStats) NLL() float64 {
	v := s.N - s.Invalid
	if v == 0 {
		return math.NaN()
	}
	return s.sumNLL / float64(v)
}

// Distinct returns the number of distinct samples over the number of
// samples.
func (s *SampleStats) Distinct() float64 {
	if s.N == 0 {
		return math.NaN()
	}
	return float64(len(s.counts)) / float64(s.N)
}

// UnigramKL returns KL(p̂_gen ‖ u_data) in nats between the token frequencies
// of the samples (positions equal to skip excluded) and the data's unigram
// distribution u; u is floored at 1e-12 so a token the data never uses gives
// a large finite value.
func UnigramKL(samples [][]int32, u []float64, skip int32) float64 {
	counts := make([]float64, len(u))
	var n float64
	for _, x := range samples {
		for _, v := range x {
			if v == skip {
				continue
			}
			counts[v]++
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	var kl float64
	for v, c := range counts {
		if c == 0 {
			continue
		}
		p := c / n
		kl += p * math.Log(p/math.Max(u[v], 1e-12))
	}
	return math.Max(0, kl)
}
