#!/usr/bin/env python3
"""numpy float32 references for the oracle HMM benchmark.

Reads the model and evidence written by `hmmbench -dump DIR` (oracle/cmd/
hmmbench), computes the token posteriors of the scaled forward-backward
pass with per-position likelihoods lik = evidence[:, :, :V] +
evidence[:, :, MASK], and times three numpy versions:

  stock   the first reference (3-D batched matmuls, fresh arrays every step,
          a pass over B·L·V for the normaliser); kept for history.
  dense   the fastest dense rewrite: 2-D GEMMs on (B·L)×V views, every
          buffer preallocated and written with out=, the normaliser
          Σ_v lik(v)·q(v) = Σ_s w(s)·b(s) from the S-length product instead
          of a pass over V.
  masked  structure-aware, for evidence whose rows are one-hot commits or
          all-MASK (what the Go side exploits): O(S) emission lookups, the
          posterior of a committed row is its one-hot, and only the MASK
          rows take the (rows×S)·(S×V) GEMM, normalised by Σ_s w(s)·Σ_v B(s,v).

The fair baseline is "masked" on masked evidence and "dense" otherwise. Each
version is checked against a float64 evaluation of the same recursions
(the largest L1 distance Σ_v |p(v) − p64(v)| over the B·L positions), as is Go's output (posterior.f32).

    python3 bench/hmm.py DIR [HMMBENCH EVIDENCE]

With HMMBENCH (the built hmmbench program) and its evidence kind, Go's
timing is re-taken between numpy's rounds (REPS rounds, default 5; Go best
of 3 per round) so that both sides see the same machine load, and the
table's ratio is Go against the fair baseline. Threads: numpy's BLAS uses
OPENBLAS_NUM_THREADS (bench/hmm.sh sets it to the CPUs Go uses; its
elementwise operations are single-threaded); Go runs DenoiseBatch on
GOMAXPROCS goroutines.
"""
import os
import re
import subprocess
import sys
import time

import numpy as np


def load(d, name, shape):
    return np.fromfile(f"{d}/{name}", dtype="<f4").reshape(shape)


def stock(init, trans, emit, ev):
    B, L, K = ev.shape
    V = K - 1
    lik = ev[:, :, :V] + ev[:, :, V:]  # (B, L, V), MASK is the last id
    b = lik @ emit.T  # (B, L, S)
    S = init.shape[0]
    alpha = np.empty((B, L, S), np.float32)
    pred = np.empty((B, L, S), np.float32)
    c = np.empty((B, L), np.float32)
    pred[:, 0] = init
    for i in range(L):
        if i > 0:
            pred[:, i] = alpha[:, i - 1] @ trans
        a = pred[:, i] * b[:, i]
        c[:, i] = a.sum(-1)
        alpha[:, i] = a / c[:, i, None]
    beta = np.empty((B, L, S), np.float32)
    beta[:, L - 1] = 1
    for i in range(L - 2, -1, -1):
        beta[:, i] = ((b[:, i + 1] * beta[:, i + 1]) @ trans.T) / c[:, i + 1, None]
    post = lik * ((pred * beta) @ emit)  # (B, L, V)
    post /= post.sum(-1, keepdims=True)
    return post


class Recursions:
    """Preallocated forward-backward over position-major (L, B, S) buffers."""

    def __init__(self, B, L, S, dtype):
        self.pred = np.empty((L, B, S), dtype)
        self.alpha = np.empty((L, B, S), dtype)
        self.beta = np.empty((L, B, S), dtype)
        self.c = np.empty((L, B, 1), dtype)
        self.u = np.empty((B, S), dtype)

    def run(self, init, trans, transT, b):
        """b: (L, B, S) emission likelihoods. Fills pred, alpha, beta, c."""
        L = b.shape[0]
        pred, alpha, beta, c, u = self.pred, self.alpha, self.beta, self.c, self.u
        pred[0] = init
        for i in range(L):
            if i > 0:
                np.matmul(alpha[i - 1], trans, out=pred[i])
            np.multiply(pred[i], b[i], out=alpha[i])
            np.sum(alpha[i], axis=-1, keepdims=True, out=c[i])
            np.divide(alpha[i], c[i], out=alpha[i])
        beta[L - 1] = 1
        for i in range(L - 2, -1, -1):
            np.multiply(b[i + 1], beta[i + 1], out=u)
            np.divide(u, c[i + 1], out=u)
            np.matmul(u, transT, out=beta[i])


class Dense:
    """The dense rewrite; buffers allocated once for the shapes."""

    def __init__(self, B, L, S, V, dtype=np.float32):
        self.lik = np.empty((L, B, V), dtype)
        self.b = np.empty((L, B, S), dtype)
        self.w = np.empty((L, B, S), dtype)
        self.z = np.empty((L, B, 1), dtype)
        self.post = np.empty((L, B, V), dtype)
        self.rec = Recursions(B, L, S, dtype)

    def __call__(self, init, trans, transT, emit, emitT, evT):
        """evT: evidence position-major (L, B, K). Returns post (L, B, V)."""
        L, B, K = evT.shape
        V = K - 1
        S = init.shape[0]
        lik2, post2 = self.lik.reshape(L * B, V), self.post.reshape(L * B, V)
        np.add(evT[:, :, :V], evT[:, :, V:], out=self.lik)
        np.matmul(lik2, emitT, out=self.b.reshape(L * B, S))
        r = self.rec
        r.run(init, trans, transT, self.b)
        np.multiply(r.pred, r.beta, out=self.w)
        # Σ_v lik(v)·q(v) = Σ_s w(s)·b(s): no pass over V for the normaliser.
        np.sum(np.multiply(self.w, self.b, out=r.alpha), axis=-1, keepdims=True, out=self.z)
        np.divide(self.w, self.z, out=self.w)
        np.matmul(self.w.reshape(L * B, S), emit, out=post2)
        np.multiply(post2, lik2, out=post2)
        return self.post


class Masked:
    """Structure-aware numpy for one-hot / all-MASK evidence."""

    def __init__(self, B, L, S, V):
        self.b = np.empty((L, B, S), np.float32)
        self.post = np.empty((L, B, V), np.float32)
        self.rec = Recursions(B, L, S, np.float32)

    def __call__(self, init, trans, transT, emit, emitT, emitSum, tok, ismask):
        """tok: (L, B) committed token (any value on MASK rows); ismask: (L, B)."""
        L, B = tok.shape
        S = init.shape[0]
        b = self.b
        b[...] = emitT[tok]  # one-hot rows: b(s) = B(s, t)
        b[ismask] = emitSum  # MASK rows: b(s) = Σ_v B(s, v)
        r = self.rec
        r.run(init, trans, transT, b)
        w = r.pred[ismask] * r.beta[ismask]  # (nmask, S)
        w /= (w @ emitSum)[:, None]
        post = self.post
        post.fill(0)
        post[ismask] = w @ emit
        committed = ~ismask
        li, bi = np.nonzero(committed)
        post[li, bi, tok[committed]] = 1
        return post


def reference64(init, trans, emit, evT):
    L, B, K = evT.shape
    V, S = K - 1, init.shape[0]
    d = Dense(B, L, S, V, np.float64)
    e = emit.astype(np.float64)
    return d(init.astype(np.float64), trans.astype(np.float64), trans.T.astype(np.float64).copy(), e,
             e.T.copy(), evT.astype(np.float64))


def l1err(p, ref):
    return float(np.abs(p - ref).sum(-1).max())


def go_ms(gobin, kind):
    out = subprocess.run([gobin, "-evidence", kind, "-reps", "3"], capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"min ([0-9.]+) ms", out)[1])


def main():
    d = sys.argv[1]
    gobin = sys.argv[2] if len(sys.argv) > 3 else None
    kind = sys.argv[3] if len(sys.argv) > 3 else None
    reps = int(os.environ.get("REPS", "5"))
    S, V, L, B = map(int, open(f"{d}/shape.txt").read().split())
    K = V + 1
    init = load(d, "init.f32", (S,))
    trans = load(d, "trans.f32", (S, S))
    emit = load(d, "emit.f32", (S, V))
    ev = load(d, "evidence.f32", (B, L, K))
    gopost = load(d, "posterior.f32", (B, L, K))[:, :, :V].transpose(1, 0, 2)  # (L, B, V)
    transT = np.ascontiguousarray(trans.T)
    emitT = np.ascontiguousarray(emit.T)
    emitSum = emit.sum(-1)
    evT = np.ascontiguousarray(ev.transpose(1, 0, 2))  # position-major, as Go's batch loop reads it
    ref = reference64(init, trans, emit, evT)

    tok = np.argmax(evT[:, :, :V], axis=-1)
    ismask = evT[:, :, V] == 1
    structured = bool(np.all(np.where(ismask[:, :, None], evT[:, :, :V] == 0,
                                      evT[:, :, :V] == (np.arange(V) == tok[:, :, None]))))
    dense = Dense(B, L, S, V)
    masked = Masked(B, L, S, V)
    runs = {
        "stock": lambda: stock(init, trans, emit, ev).transpose(1, 0, 2),
        "dense": lambda: dense(init, trans, transT, emit, emitT, evT),
    }
    if structured:
        runs["masked"] = lambda: masked(init, trans, transT, emit, emitT, emitSum, tok, ismask)
    fair = "masked" if structured else "dense"
    best = {k: float("inf") for k in runs}
    err = {}
    gobest = float("inf")
    for name, f in runs.items():  # warm-up and accuracy
        err[name] = l1err(f(), ref)
    for _ in range(reps):
        for name, f in runs.items():
            t0 = time.perf_counter()
            f()
            best[name] = min(best[name], 1e3 * (time.perf_counter() - t0))
        if gobin:
            gobest = min(gobest, go_ms(gobin, kind))
    goerr = l1err(gopost, ref)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={threads}; S={S} V={V} L={L} B={B}; "
          f"evidence {'one-hot/MASK rows' if structured else 'dense rows'}; best of {reps} rounds; "
          f"error = max over positions of Σ_v |p(v) - p_float64(v)|")
    print()
    print("| side | time (ms) | max L1 error | Go speed-up |")
    print("|---|---:|---:|---:|")
    gt = gobest if gobin else None
    if gt is not None:
        print(f"| Go (hmmbench, alternating) | {gt:.1f} | {goerr:.1e} | |")
    else:
        print(f"| Go (from DIR) | – | {goerr:.1e} | |")
    for name in runs:
        tag = " (fair)" if name == fair else (" (history)" if name == "stock" else "")
        ratio = f"{best[name] / gt:.2f}x" if gt else "–"
        print(f"| numpy {name}{tag} | {best[name]:.1f} | {err[name]:.1e} | {ratio} |")
    for name, e in list(err.items()) + [("go", goerr)]:
        if not e <= 1e-3:
            sys.exit(f"{name} posteriors disagree with the float64 reference ({e:.2e})")


if __name__ == "__main__":
    main()
