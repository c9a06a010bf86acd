package decode

import "github.com/softdiff/softdiff/soft"

// Denoiser turns evidence into beliefs. Each row of evidence is virtual
// evidence about one position over the K states of the vocabulary (MASK
// included): a one-hot row is hard evidence, an all-MASK or uniform row is
// none, and a row with MASK mass m and token mass π(v) is the likelihood
// π(v) + m. Denoise writes into dst, of the same shape, each position's
// posterior marginal over tokens given all the evidence (and the model's
// prior); dst never carries MASK mass. t ∈ [0, 1] is the diffusion time, which
// exact oracles ignore and learned or degraded models may use.
//
// One call is one function evaluation (NFE). Implementations must be safe for
// concurrent use and must return an error, never NaN, for evidence of zero
// probability under the model or of the wrong shape.
type Denoiser interface {
	Denoise(dst, evidence *soft.Dense, t float64) error
}

// BatchDenoiser is a Denoiser for B sequences per call, the shape a learned
// model runs at: DenoiseBatch(dst, evidence, t) writes into dst[b] what
// Denoise(dst[b], evidence[b], t[b]) would, for every b, with the same
// contract per sequence (shapes, errors, no MASK mass in the beliefs). The
// three slices have equal length B ≥ 1 (anything else is an error); the
// sequences of one batch may differ in length but share the vocabulary.
// One call counts as B function evaluations, one per sequence. An error
// names the sequence it concerns ("sequence b: …"); the contents of dst are
// then unspecified. Implementations must be safe for concurrent use, and the
// beliefs of a sequence must not depend on the other sequences of its batch
// or on B: GenerateBatch relies on it for per-sequence output that does not
// depend on the batch. Batched and Unbatched adapt between the two
// interfaces; the exact oracles of package oracle implement both.
type BatchDenoiser interface {
	DenoiseBatch(dst, evidence []*soft.Dense, t []float64) error
}

// JointScorer scores a whole token sequence: its log-probability under the
// model (or a negative energy). A sequence the model gives probability zero
// scores −Inf with a nil error; a sequence of the wrong length or with ids
// out of range is an error. NaN and +Inf are not log-probabilities: Beam,
// MAP (enumerating), ImportanceResample and MBR return an error when they
// get one.
// Implementations must be safe for concurrent use.
type JointScorer interface {
	LogProb(x []int32) (float64, error)
}

// Counter is implemented by denoisers and scorers that count their function
// evaluations.
type Counter interface {
	NFE() int64
}
