// Package degrade is a controlled model of model error: Oracle wraps any
// exact denoiser (a testbed of package oracle, or any decode.Denoiser) and
// pulls its beliefs towards the data's unigram distribution where a
// position's context holds little evidence, the frequency collapse a real
// network shows far from context. It stands beside the exact testbeds
// (package oracle) and the learned networks (package nn) as the third kind of
// model the experiments run.
//
// The collapse weight is continuous in the evidence: a row's strength is
// s = 1 − H(ℓ̂)/log K′, a position's context c_i = max_j s_j·e^{−|i−j|/ℓ}, and
// the weight w_i = w_max·(1 − c_i) (Options). Only the context part of the
// belief is tempered; the position's own evidence stays a factor, so strong
// evidence is never overridden. docs/experiments.md gives the derivation.
//
// Errors: New rejects a nil denoiser, options outside their ranges and a
// unigram distribution that is not one; Denoise returns an error on shapes
// that do not match and passes the inner denoiser's errors on.
package degrade
