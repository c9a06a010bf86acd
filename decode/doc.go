// Package decode generates sequences from a denoiser: the hard samplers the
// field uses (MDLM, LLaDA, Dream, Fast-dLLM, ReMDM, EB, CART order, the
// ancestral sampler of any absorbing kernel), the reverse processes of any
// kernel, graded ones included (KernelReverse, KernelCTMC), soft and hybrid
// samplers that delay commitment (SoftSL, LRD, Hybrid), and final decoders
// that choose the whole sequence jointly (Beam, MAP, Viterbi,
// ImportanceResample, MBR).
//
// # Extension points
//
// The engine is a loop with five seams, each a small interface defined here
// on the consumer side; everything built in goes through them, so code
// outside this package can replace any part:
//
//	Denoiser, BatchDenoiser   evidence → beliefs (the model; one sequence or B)
//	        │                 Batched, Unbatched adapt; package oracle's exact models implement both
//	        ▼
//	Generate, GenerateBatch   the one entry point: Options, Result, the step loop
//	        │
//	        ├── Algorithm ──Start(*Run)──▶ Stepper ──Step(k)──▶ Run's methods
//	        │     a sampler    (validate, allocate)   (one step)    Denoise, Beliefs, Entropy, Argmax,
//	        │                                                       Token, SetToken, Evidence, Rand, NFE
//	        ├── Grid          where the steps lie in time (GridUniform, GridGeometric, GridInfo, TimesGrid)
//	        │
//	        └── FinalDecoder  the end state (FinalState) and a JointScorer → the whole sequence
//	                          (Options.Final, or called on Result.Final)
//
// A sampler is any value with Name and Start. Start validates its settings
// against the run and allocates its buffers; the returned Stepper advances
// the run one step at a time through the exported methods of Run: ask the
// denoiser for beliefs given the current evidence at time t (Denoise), read
// the beliefs with the entropies and argmax the run's check computed, read
// and change identities (SetToken commits, changes or re-masks) and write
// soft evidence rows (Evidence), draw from the run's random stream (Rand),
// read the NFE and the step. Package draw holds the shared drawing and
// ranking helpers (tempered sampling, Gumbel variates, top-p, top-k by a
// key, sorting by a key, a fast entropy), and package hybrid the
// log-evidence state of the soft samplers; Blocks splits a run into
// semi-autoregressive blocks. The built-in samplers use only these: a
// sampler written in another package can do whatever they do (ExampleAlgorithm shows
// one; examples/l2r is one that the experiments and the command line run).
//
// # Options read by samplers
//
// Options.Steps is a sampler's step budget, Options.BlockLen the length of
// the semi-autoregressive blocks, counted in free positions (a prompt's
// fixed positions are skipped, not counted), and Options.NoEntropy drops
// the per-step entropy statistic; each sampler's doc says how it reads the
// three. Every sampler draws its random choices from the run's stream in a
// documented order, so a seed fixes the output at any GOMAXPROCS, any
// Options.Workers and, with GenerateBatch, any batch size.
//
// # Ties
//
// Every confidence-ranked rule (LLaDA's low-confidence and random
// remasking, Dream's maskgit_plus, topk_margin and entropy orders,
// Fast-dLLM's threshold and factor rules, EB's entropy order, LRD's
// lowest-entropy commit, CART's weight order after its random tie-break)
// breaks ties between equal keys in favour of the smaller position
// (draw.TopK, draw.Sort); argmax over tokens breaks ties to the smaller
// token id (soft.Argmax).
//
// # Errors and panics
//
// Outside data gives an error that names what and where, never a panic:
// beliefs a denoiser returns (checked on every call), settings of a sampler
// or decoder (an enum value out of range, a negative or NaN parameter),
// Options, prompts, a FinalState built by the caller, a scorer's answers.
// Only a caller's own buffers of the wrong shape panic (for example a
// destination slice of the wrong length handed to a draw helper), and a
// sampler's own misuse of Run (SetToken on a fixed position or with an id
// outside the vocabulary); each such panic is documented where it can
// happen.
//
// The exact testbeds of package oracle satisfy Denoiser, BatchDenoiser and
// JointScorer without importing this package; docs/decode.md gives the math
// and docs/extending.md a walk through the seams.
package decode
