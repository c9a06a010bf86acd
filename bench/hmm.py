#!/usr/bin/env python3
"""numpy float32 reference for the oracle HMM benchmark.

Reads the model and evidence written by `go run ./oracle/cmd/hmmbench -dump DIR`,
runs the same computation (scaled forward-backward with per-position
likelihoods lik = evidence[:, :, :V] + evidence[:, :, MASK], token posteriors
lik * ((pred * beta) @ emit), normalised) vectorised over the batch, times it,
and checks the posteriors against Go's.

    python3 bench/hmm.py DIR [reps]
"""
import sys
import time

import numpy as np


def load(d, name, shape):
    return np.fromfile(f"{d}/{name}", dtype="<f4").reshape(shape)


def posteriors(init, trans, emit, ev):
    B, L, K = ev.shape
    V = K - 1
    lik = ev[:, :, :V] + ev[:, :, V:]            # (B, L, V), MASK is the last id
    b = lik @ emit.T                              # (B, L, S)
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
    post = lik * ((pred * beta) @ emit)           # (B, L, V)
    post /= post.sum(-1, keepdims=True)
    return post


def main():
    d = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    S, V, L, B = map(int, open(f"{d}/shape.txt").read().split())
    K = V + 1
    init = load(d, "init.f32", (S,))
    trans = load(d, "trans.f32", (S, S))
    emit = load(d, "emit.f32", (S, V))
    ev = load(d, "evidence.f32", (B, L, K))
    want = load(d, "posterior.f32", (B, L, K))
    post = posteriors(init, trans, emit, ev)      # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        post = posteriors(init, trans, emit, ev)
        times.append(time.perf_counter() - t0)
    times.sort()
    err = float(np.abs(post - want[:, :, :V]).max())
    print(f"numpy {np.__version__}: S={S} V={V} L={L} B={B}: min {1e3 * times[0]:.2f} ms, "
          f"median {1e3 * times[len(times) // 2]:.2f} ms over {reps} runs; max |numpy - go| = {err:.2e}")
    if not err <= 1e-3:
        sys.exit("numpy and Go posteriors disagree")


if __name__ == "__main__":
    main()
