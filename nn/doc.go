// Package nn runs learned denoisers: bidirectional transformers trained (by
// the PyTorch code in train/) on sequences drawn from softdiff's exact
// testbeds, so that every belief they give can be compared with the exact
// posterior under the same evidence.
//
// A Model implements decode.Denoiser and decode.BatchDenoiser. Its input is
// evidence in the contract of those interfaces: row i of an L×K state is
// virtual evidence about position i over the K states, MASK included, read
// as the likelihood ℓ_i(v) = π_i(v) + m_i (token mass π, MASK mass m), so
// rows equal up to scale are the same input. The network sees
//
//   - an input embedding Σ_k w_i(k)·E_k, the mixture of the embedding
//     table E (MASK row included) under the canonical row w_i: of all rows
//     with likelihood ∝ ℓ_i, the one with the most MASK mass. A one-hot
//     row enters as exactly that token's embedding, an all-MASK (or
//     uniform) row as exactly the MASK embedding;
//   - a position embedding (learned or sinusoidal), pre-norm blocks of
//     multi-head self-attention and a GELU MLP, a final layer norm and an
//     output head over the K states (tied to E or separate);
//   - with the evidence skip, log ℓ̂_i(v) = log ℓ_i(v) − log Σ_u ℓ_i(u)
//     added to the output logits, so that the network learns only the
//     context term of p(x_i | e) ∝ ℓ_i(x_i)·p(x_i | e_−i). The skip makes
//     a one-hot row's belief exactly one-hot and leaves an all-MASK row's
//     logits unchanged.
//
// The beliefs are the softmax of the logits over the tokens (never MASK).
// The diffusion time is ignored: the exact posterior given the evidence does
// not depend on it, under masking or under the Gaussian channel of
// stochastic localisation. docs/models.md gives the formulas and the
// training objectives.
//
// Checkpoints follow the model hubs' conventions: a directory with
// config.json (Config) and model.safetensors (F32, or F16/BF16 widened on
// load). ParseSafetensors and WriteSafetensors read and write the format.
// The checkpoints shipped with softdiff are compiled into the binary and
// open with Shipped.
package nn
