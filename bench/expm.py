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
print(f"numpy {np.__version__}, scipy {scipy.__version__}; reference: Go Chebyshev series at tol 1e-16; "
      + ("Go and scipy runs alternate" if len(sys.argv) > 2 else "Go times from go.json"))
print()
print("| tau | Go terms | Go time (s) | Go rel. err | scipy time (s) | scipy rel. err | speed-up |")
print("|---:|---:|---:|---:|---:|---:|---:|")
gobin = sys.argv[2] if len(sys.argv) > 2 else None
for r in go["Results"]:
    tau = r["tau"]
    ref = np.load(os.path.join(d, f"ref_tau{tau:g}.npy")).T
    best = float("inf")
    gobest = None
    for _ in range(int(os.environ.get("REPS", "5"))):
        t0 = time.perf_counter()
        Y = expm_multiply(tau * R, B)
        best = min(best, time.perf_counter() - t0)
        if gobin:
            out = subprocess.run([gobin, "-load", "-out", d, "-taus", f"{tau:g}", "-reps", "3"],
                                 check=True, capture_output=True, text=True).stdout
            g = json.loads(out.strip().splitlines()[-1])
            if gobest is None or g["seconds"] < gobest["seconds"]:
                gobest = g
    if gobest is not None:
        r = gobest
    e = relerr(Y, ref)
    print(f"| {tau:g} | {r['terms']} | {r['seconds']:.4f} | {r['rel_err']:.1e} | {best:.4f} | {e:.1e} | "
          f"{best / r['seconds']:.1f}x |")
