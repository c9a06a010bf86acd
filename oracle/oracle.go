// Package oracle holds data distributions with exact answers: a finite
// weighted corpus, hidden Markov models and fixed-length probabilistic
// context-free grammars. Each computes exact posterior marginals under soft
// (virtual) evidence, the exact log-probability of a sequence, and exact
// samples, so experiments can separate sampler error from model error.
//
// Every testbed implements Model. Its Denoise method satisfies
// decode.Denoiser and its LogProb method decode.JointScorer; this package
// imports soft only.
//
// Evidence semantics (see docs/oracles.md). Row i of an evidence state is a
// likelihood over the K = Vocab().Size() states of the vocabulary, MASK
// included: with MASK mass m and token mass π(v) the likelihood of token v at
// position i is π(v) + m. A one-hot row is hard evidence, an all-MASK or a
// uniform row is no evidence, rows need not be normalised (only ratios
// matter). Beliefs written by Denoise are the posterior marginals
// p(x_i = v | evidence) ∝ Σ_x p(x) Π_j lik_j(x_j) restricted to x_i = v; they
// never carry MASK mass. Evidence of probability zero under the model gives
// an error that begins "contradictory evidence at positions", never NaN.
//
// Errors: every constructor and reader (NewCorpus, ReadCorpus, NewHMM,
// ReadHMM, LoadHMM, KJV, NewPCFG, ParseGrammar, RandomHMM, Sticky,
// AgreementHMM, BracketHMM, AgreementPCFG, FitHMM, TextVocab, EncodeText)
// returns an error naming the fault for any argument or file it rejects;
// none of them panics. Methods panic only when the caller's own buffer has
// the wrong length (documented on each); evidence, sequences and token ids
// from outside get errors.
package oracle

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/softdiff/softdiff/soft"
)

// Model is what every testbed offers.
type Model interface {
	// Vocab returns the vocabulary: data tokens plus a MASK token (plus EOS
	// if the testbed uses one).
	Vocab() *soft.Vocab
	// Len returns the fixed sequence length L.
	Len() int
	// Denoise writes into dst (L×K) the exact posterior marginals given the
	// evidence (L×K). t is ignored by exact oracles. One call is one NFE.
	Denoise(dst, evidence *soft.Dense, t float64) error
	// LogProb returns the exact log p(x); −Inf with a nil error for an
	// impossible x; an error for a wrong length or ids out of range.
	LogProb(x []int32) (float64, error)
	// Sample writes an exact sample into dst; len(dst) must be Len() (it
	// panics otherwise).
	Sample(dst []int32, rng *rand.Rand)
	// NFE returns the number of Denoise calls so far.
	NFE() int64
}

// ErrContradictory is wrapped by every error reporting evidence of
// probability zero under the model; test with errors.Is.
var ErrContradictory = errors.New("contradictory evidence")

// contradictory returns the error for zero-probability evidence. positions
// are the positions whose evidence excludes at least one token; when there
// are none (which cannot happen for a model with nonempty support) the
// message says so.
func contradictory(pos []int) error {
	var b strings.Builder
	for i, p := range pos {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 16 {
			fmt.Fprintf(&b, "... (%d in all)", len(pos))
			break
		}
		fmt.Fprint(&b, p)
	}
	return fmt.Errorf("%w at positions [%s]: the evidence has probability zero under the model", ErrContradictory, b.String())
}

// checkShapes validates dst and evidence against an L×K model.
func checkShapes(dst, ev *soft.Dense, L, K int) error {
	if ev == nil || dst == nil {
		return errors.New("oracle: nil dst or evidence")
	}
	if ev.L != L || ev.K != K {
		return fmt.Errorf("oracle: evidence is %d×%d, model wants %d×%d (length × vocabulary)", ev.L, ev.K, L, K)
	}
	if dst.L != L || dst.K != K {
		return fmt.Errorf("oracle: dst is %d×%d, model wants %d×%d (length × vocabulary)", dst.L, dst.K, L, K)
	}
	if len(ev.Data) != L*K || len(dst.Data) != L*K {
		return fmt.Errorf("oracle: evidence or dst data length does not match %d×%d", L, K)
	}
	return nil
}

// checkEvidence validates the shape of an evidence state.
func checkEvidence(ev *soft.Dense, L, K int) error {
	if ev == nil {
		return errors.New("oracle: nil evidence")
	}
	if ev.L != L || ev.K != K || len(ev.Data) != L*K {
		return fmt.Errorf("oracle: evidence is %d×%d, model wants %d×%d (length × vocabulary)", ev.L, ev.K, L, K)
	}
	return nil
}

// likRow converts evidence row e (width K) into likelihoods lik[v] = e[v] +
// e[mask] for data tokens, lik[mask] = 0, scaled so the largest entry is 1.
// It returns log of the scale removed (so the unscaled likelihood is
// lik·exp(logScale)) and an error for negative or non-finite entries. A row
// with no positive likelihood returns logScale = −Inf.
func likRow(lik []float64, e []float32, mask int32, pos int) (logScale float64, err error) {
	m := 0.0
	if mask >= 0 {
		m = float64(e[mask])
	}
	mx := 0.0
	for v, x := range e {
		f := float64(x)
		if !(f >= 0) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("oracle: evidence row %d col %d is %v (want finite and ≥ 0)", pos, v, x)
		}
		if int32(v) == mask {
			lik[v] = 0
			continue
		}
		l := f + m
		lik[v] = l
		if l > mx {
			mx = l
		}
	}
	if mx == 0 {
		return math.Inf(-1), nil
	}
	inv := 1 / mx
	for v := range lik {
		lik[v] *= inv
	}
	return math.Log(mx), nil
}

// exclusive returns the positions whose likelihood rows exclude at least
// one data token (lik L×K, already computed by likRow).
func exclusive(lik []float64, L, K int, mask int32) []int {
	var pos []int
	for i := 0; i < L; i++ {
		for v, l := range lik[i*K : (i+1)*K] {
			if int32(v) != mask && l == 0 {
				pos = append(pos, i)
				break
			}
		}
	}
	return pos
}

// checkSeq validates a token sequence against length L and vocabulary size K.
func checkSeq(x []int32, L, K int) error {
	if len(x) != L {
		return fmt.Errorf("oracle: sequence has length %d, model wants %d", len(x), L)
	}
	for i, id := range x {
		if id < 0 || int(id) >= K {
			return fmt.Errorf("oracle: position %d holds id %d, outside [0, %d)", i, id, K)
		}
	}
	return nil
}

// sampleCat draws an index from the unnormalised nonnegative weights p
// (sum total > 0).
func sampleCat(rng *rand.Rand, p []float64, total float64) int {
	u := rng.Float64() * total
	last := -1
	for i, w := range p {
		if w <= 0 {
			continue
		}
		last = i
		u -= w
		if u < 0 {
			return i
		}
	}
	return last
}

// to32 writes float64 probabilities into a float32 row.
func to32(dst []float32, src []float64) {
	for i, x := range src {
		dst[i] = float32(x)
	}
}
