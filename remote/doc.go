// Package remote drives a denoiser that runs elsewhere — a learned model on
// a GPU behind a model server — through the Open Inference Protocol
// (KServe v2) over HTTP/JSON with the binary tensor extension.
//
// Dial checks the server's readiness and the model's metadata (tensor
// names, datatypes, shapes, vocabulary size, MASK id) and returns a Model,
// which implements decode.Denoiser, decode.BatchDenoiser and
// decode.Counter; Model.PLL gives a decode.JointScorer (the
// pseudo-log-likelihood, its L masked variants sent as batched requests).
// docs/remote.md specifies the tensors, so that any server can implement
// them; serve/server.py is the reference server (PyTorch).
//
//	m, err := remote.Dial(ctx, "http://gpu:8000", "llada", remote.Options{TopK: 64})
//	res, err := decode.Generate(ctx, m, vocab, 256, decode.LLaDA{}, decode.Options{Seed: 1})
//
// The Denoiser interface has no context: a Model uses the context given to
// Dial (or WithContext) for every request, so cancelling it aborts the
// requests in flight and makes later calls fail at once.
//
// A batch is sent as requests of at most Options.MaxBatch sequences of one
// length, at most Options.Concurrency requests in flight for the Model and
// every Model derived from it. Each attempt has a timeout; transient
// failures (connection refused or reset, a connection dropped before the
// answer, HTTP 429, 502, 503 and 504) are retried a bounded number of
// times with exponential backoff, honouring Retry-After. Everything else is
// an error at once: an *Error naming the operation, URL, HTTP status and
// attempts, wrapping ErrNotReady, ErrMetadata or ErrBadResponse where they
// apply. A response is checked in full before a belief is written: output
// names, datatypes and shapes, finite non-negative probabilities that sum
// to one with no MASK mass, distinct in-range ids; a failed check is an
// error naming the sequence and position, never a silently wrong belief.
//
// Evidence goes out dense (FP32 [B, L, K]) or as exact top-k sparse rows
// (ids, values, residual) whenever every row has few nonzero entries, as
// hard and hybrid states do; Options.EvidenceTopK allows lossy top-k
// evidence for soft states over large vocabularies. Beliefs come back
// dense, as logits, or as the top-k tokens with their residual mass
// (Options.TopK), which is what makes a 126,464-token vocabulary cheap to
// transfer; the residual is read as spread uniformly over the tokens not
// listed.
package remote
