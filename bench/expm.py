#!/usr/bin/env python3
"""Time scipy.sparse.linalg.expm_multiply against softdiff's graph kernel.

Reads what `go run ./kernels/internal/expmbench -out DIR` wrote (the kNN
graph as CSR arrays, 64 one-hot rows, the tight Go reference at each tau and
the Go timings), applies exp(tau R), R = A - diag(A 1), to the rows with
scipy, and prints one table: time and relative Frobenius error of each side
against the reference. Uses Debian's /usr/bin/python3 with python3-scipy,
installed with apt-get when missing.

Usage: bench/expm.py [DIR [EXPMBENCH]]   (default DIR bench/out/expm)

With EXPMBENCH (the built expmbench program) the Go timings are re-taken
here, alternating with scipy's runs (REPS rounds, default 5; Go best of 3
per round), so that both sides see the same machine load; without it the
timings in DIR/go.json are used.

Fair comparison (the table's last column): equal threads and matched
tolerance. scipy's sparse products run on one thread, so Go runs with one
worker (-workers 1; a second Go column shows its 2-worker time). scipy is
run at Go's series tolerance (1e-10) through the routine expm_multiply
calls, _expm_multiply_simple_core, with its own parameter selection
(_fragment_3_1 on the lazy 1-norm estimates, at that tol); the timing
includes the norm estimates, and Go's includes NewGraph (degrees, the
spectral bound, scaled weights). traceA is passed on both scipy paths (a
user knows trace R = −Σ A). "scipy default" is the public expm_multiply at
its default (double-precision) tolerance, the earlier baseline, kept for
history.
"""
import json
import os
import subprocess
import sys
import time

try:
    import numpy as np
    import scipy
    import scipy.sparse as sp
    from scipy.sparse.linalg import expm_multiply
    from scipy.sparse.linalg import _expm_multiply as _em
except ImportError:
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "python3-scipy", "python3-numpy"], check=True,
                   stdout=subprocess.DEVNULL)
    os.execv(sys.executable, [sys.executable] + sys.argv)

d = sys.argv[1] if len(sys.argv) > 1 else "bench/out/expm"
go = json.load(open(os.path.join(d, "go.json")))
indptr = np.load(os.path.join(d, "indptr.npy"))
indices = np.load(os.path.join(d, "indices.npy"))
weights = np.load(os.path.join(d, "weights.npy"))
rows = np.load(os.path.join(d, "rows.npy"))
n = indptr.size - 1
A = sp.csr_matrix((weights, indices, indptr), shape=(n, n))
R = (A - sp.diags(np.asarray(A.sum(axis=1)).ravel())).tocsr()
B = np.ascontiguousarray(rows.T)  # columns = rows (R is symmetric)


def relerr(x, ref):
    return float(np.linalg.norm(x - ref) / np.linalg.norm(ref))


print(f"graph: N={n}, D={go['D']}, k={go['K']}, {A.nnz} directed edges, max degree {go['max_degree']:.4f}, "
      f"spectral half-width {go['half_width']:.4f}; "
      f"{rows.shape[0]} one-hot rows; kNN build {go['knn_seconds']:.1f} s (Go, GOMAXPROCS={go['GOMAXPROCS']}, {go['AVX']})")
gobin = sys.argv[2] if len(sys.argv) > 2 else None
TOL = 1e-10
traceA = float(R.diagonal().sum())
print(f"numpy {np.__version__}, scipy {scipy.__version__}; reference: Go Chebyshev series at tol 1e-16; "
      + ("Go and scipy runs alternate" if gobin else "Go times from go.json")
      + f"; Go series tol {TOL:g}, scipy tol {TOL:g} (fair) and default 2^-53; errors are relative Frobenius")
print()


def scipy_tol(A, B, t, tol):
    """expm_multiply's own algorithm at tolerance tol (scipy 1.10 internals)."""
    n = A.shape[0]
    ident = sp.identity(n, dtype=A.dtype, format="csr")
    mu = traceA / n
    A2 = A - mu * ident
    norm_info = _em.LazyOperatorNormInfo(t * A2, A_1_norm=None, ell=2)
    m_star, s = _em._fragment_3_1(norm_info, B.shape[1], tol, ell=2)
    return _em._expm_multiply_simple_core(A2, B, t, mu, m_star, s, tol, False)


def go_run(tau, workers):
    out = subprocess.run([gobin, "-load", "-out", d, "-taus", f"{tau:g}", "-reps", "3", "-workers", str(workers)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


print("| tau | Go terms | Go 1 worker (s) | Go 2 workers (s) | Go rel. err | scipy tol 1e-10, 1 thread (s) | "
      "scipy rel. err | scipy default (s) | scipy default rel. err | Go 1 worker vs scipy tol 1e-10 | "
      "Go 2 workers vs scipy default (history) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in go["Results"]:
    tau = r["tau"]
    ref = np.load(os.path.join(d, f"ref_tau{tau:g}.npy")).T
    best, bestd = float("inf"), float("inf")
    g1 = g2 = None
    for _ in range(int(os.environ.get("REPS", "5"))):
        t0 = time.perf_counter()
        Y = scipy_tol(R, B, tau, TOL)
        best = min(best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        Yd = expm_multiply(tau * R, B, traceA=tau * traceA)
        bestd = min(bestd, time.perf_counter() - t0)
        if gobin:
            a, b = go_run(tau, 1), go_run(tau, 2)
            g1 = a if g1 is None or a["seconds"] < g1["seconds"] else g1
            g2 = b if g2 is None or b["seconds"] < g2["seconds"] else g2
    if g1 is None:  # no binary: go.json (GOMAXPROCS workers, graph built outside the timing)
        g1 = g2 = r
    e, ed = relerr(Y, ref), relerr(Yd, ref)
    print(f"| {tau:g} | {g1['terms']} | {g1['seconds']:.4f} | {g2['seconds']:.4f} | {g1['rel_err']:.1e} | "
          f"{best:.4f} | {e:.1e} | {bestd:.4f} | {ed:.1e} | {best / g1['seconds']:.1f}x | "
          f"{bestd / g2['seconds']:.1f}x |", flush=True)
