"""Single-thread numpy (OpenBLAS) sgemm against softdiff's Sgemm on the
shapes of BenchmarkSgemm (internal/simdgemm/sgemm_bench_test.go).

numpy: C = A·op(B), float32, C preallocated (np.matmul(a, b, out=c); op(B) =
Bᵀ is a transposed view, so BLAS gets trans='T'), each round enough products
for ~0.1 s. Go: the simdgemm test binary given as the first argument, one
worker, run for the same shape right after numpy's round (REPS rounds,
default 5, alternating so that both sides see the same machine load). The
best time of each side is reported as GFLOP/s = 2·m·n·k / time, with the
ratio, as a Markdown table; then the BLAS library and kernel that
threadpoolctl reports. Run with OPENBLAS_NUM_THREADS=1 and without
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (bench/run.sh gemm does).

Usage: bench/gemm.py SIMDGEMM_TEST_BINARY
"""
import os
import re
import subprocess
import sys
import time

import numpy as np

SHAPES = [  # name, tB, m, n, k: keep in step with benchShapes
    ("hmm-emit", False, 16384, 64, 1000),
    ("hmm-post", False, 16384, 1000, 64),
    ("attn-qk", True, 64, 64, 64),
    ("proj-64", False, 2048, 64, 64),
    ("proj-128", False, 2048, 128, 128),
    ("proj-256", False, 2048, 256, 256),
    ("proj-512", False, 2048, 512, 512),
    ("mlp-up", False, 2048, 1024, 256),
    ("mlp-down", False, 2048, 256, 1024),
    ("head-1000", True, 2048, 1000, 256),
    ("head-3000", True, 2048, 3000, 128),
    ("small-32", False, 32, 256, 256),
]

REPS = int(os.environ.get("REPS", "5"))
gobin = os.path.abspath(sys.argv[1])


def go_seconds(name):
    out = subprocess.run([gobin, "-test.run", "^$", "-test.bench", f"^BenchmarkSgemm$/^{name}_/^workers=1$",
                          "-test.benchtime", "0.1s"], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(gobin)).stdout
    m = re.search(r"\s([0-9.]+) ns/op", out)
    return float(m[1]) * 1e-9


rng = np.random.default_rng(1)
print("| shape | m | n | k | op(B) | Go 1 thread GFLOP/s | numpy/OpenBLAS 1 thread GFLOP/s | Go / OpenBLAS |")
print("|---|---:|---:|---:|---|---:|---:|---:|")
for name, tb, m, n, k in SHAPES:
    a = rng.standard_normal((m, k), dtype=np.float32)
    if tb:
        b = rng.standard_normal((n, k), dtype=np.float32).T
    else:
        b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    flops = 2.0 * m * n * k
    inner = max(1, int(0.1 * 50e9 / flops))
    best, gbest = float("inf"), float("inf")
    for _ in range(REPS):
        t0 = time.perf_counter()
        for _ in range(inner):
            np.matmul(a, b, out=c)
        best = min(best, (time.perf_counter() - t0) / inner)
        gbest = min(gbest, go_seconds(name))
    print(f"| {name} | {m} | {n} | {k} | {'Bᵀ' if tb else 'B'} | {flops / gbest / 1e9:.1f} | "
          f"{flops / best / 1e9:.1f} | {best / gbest:.2f} |", flush=True)
print()
print(f"load after: {open('/proc/loadavg').read().split()[:3]}")
try:
    import threadpoolctl

    for info in threadpoolctl.threadpool_info():
        if info.get("user_api") == "blas":
            print(f"# blas: {info.get('internal_api')} {info.get('version')} kernel={info.get('architecture')} threads={info.get('num_threads')}")
except ImportError:
    print("# blas: threadpoolctl not installed, kernel unknown")
