#!/usr/bin/python3
"""Fit the coefficients of nn's float32 erf (erf32 in nn/forward.go).

erf(x) ≈ x·P(x²)/Q(x²) on [0, 4], P of degree 6 and Q of degree 5 in x²
(Q(0) = 1): linearised (Sanathanan–Koerner) least squares on Chebyshev and
uniform nodes, then Lawson reweighting towards the minimax error. Prints,
for several degree pairs, the error in float64 and evaluated by Horner's
rule in float32, and the (6, 5) coefficients.

  /usr/bin/python3 train/fit_erf.py
"""
import numpy as np
from scipy.special import erf
# erf(x) ≈ x·P(x²)/Q(x²) on [0, X]; Sanathanan–Koerner iterations then Lawson-like reweighting (minimax).
X = 4.0
x = np.cos(np.linspace(0, np.pi, 20000)) * X / 2 + X / 2  # Chebyshev-like nodes on [0, X]
x = np.unique(np.concatenate([x, np.linspace(0, X, 20000)]))
y = erf(x)
s = x * x
def fit(np_, nq, iters=60):
    w = np.ones_like(x)
    q = np.ones_like(x)
    lw = np.ones_like(x)
    for it in range(iters):
        # minimise Σ lw·w²(x P(s) − y Q(s))², Q0 = 1
        A = np.concatenate([x[:, None] * s[:, None] ** np.arange(np_ + 1), -(y[:, None] * s[:, None] ** np.arange(1, nq + 1))], axis=1)
        W = (lw / q)[:, None]
        c, *_ = np.linalg.lstsq(A * W, y * lw / q, rcond=None)
        p, qq = c[:np_ + 1], np.concatenate([[1], c[np_ + 1:]])
        q = np.polyval(qq[::-1], s)
        err = x * np.polyval(p[::-1], s) / q - y
        lw = lw * (np.abs(err) / np.abs(err).max()) ** 0.5 + 1e-12 if it > 20 else lw
    return p, qq, np.abs(err).max()
for np_, nq in [(4, 4), (5, 4), (5, 5), (6, 5), (6, 6)]:
    p, q, e = fit(np_, nq)
    # evaluate in float32 Horner
    xf = np.linspace(0, X, 200001).astype(np.float32)
    sf = xf * xf
    P = np.float32(p[-1]) * np.ones_like(sf)
    for c in p[-2::-1]:
        P = P * sf + np.float32(c)
    Q = np.float32(q[-1]) * np.ones_like(sf)
    for c in q[-2::-1]:
        Q = Q * sf + np.float32(c)
    r = np.minimum(xf * P / Q, np.float32(1))
    e32 = np.abs(r.astype(np.float64) - erf(xf.astype(np.float64))).max()
    print(np_, nq, "f64 err %.3g  f32 err %.3g" % (e, e32))
    if (np_, nq) == (6, 5):
        print(repr(p.tolist()), repr(q.tolist()))
