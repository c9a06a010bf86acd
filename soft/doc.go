// Package soft holds softdiff's state: per-position probability
// distributions over a vocabulary, dense (L×K float32) and top-k sparse, and
// the row numerics every other package builds on.
//
// A row is a probability distribution over the K states of a Vocab (MASK
// included when the vocabulary has one). Read as evidence, a one-hot row is
// hard evidence, a uniform or all-MASK row is none; read as a belief, a row is
// a posterior marginal. See docs/soft.md for the semantics and tolerances.
//
// Conventions, in the manner of gonum:
//
//   - Storage is float32; every sum that runs over the vocabulary accumulates
//     in float64.
//   - Numeric functions take the destination first and write into
//     caller-owned buffers; they do not allocate.
//   - Data from outside is checked and gets an error naming the row, the
//     column and the fault: FromProbs, FromLogits, FromTokens,
//     SparseFromData, NewVocab, ReadVocab and Validate never panic. The
//     buffer constructors NewDense, Uniform, AllMask and NewSparse take the
//     caller's own shapes (and AllMask the column it sets) and panic on a bad
//     one, as do length mismatches between a caller's own buffers: those are
//     programmer errors, documented on each function.
//   - Randomness comes only from an explicit *rand.Rand (math/rand/v2, PCG).
//     Parallel work is split into fixed blocks of rows whose random streams
//     derive from (seed, block index), so output does not depend on
//     GOMAXPROCS.
package soft
