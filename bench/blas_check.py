#!/usr/bin/python3
"""Exit 0 when the reference Python has what the baselines need and numpy
runs on OpenBLAS; else say what is missing and exit 1.

  /usr/bin/python3 bench/blas_check.py          # numpy, scipy, torch
  /usr/bin/python3 bench/blas_check.py numpy    # numpy alone

Debian's numpy calls whatever libblas.so.3 the alternatives system points
at; on a fresh machine that is the reference BLAS (package libblas3), whose
sgemm ran at 3–6 GFLOP/s against OpenBLAS's 70–90 on the development VM
(bench/run.sh gemm, 3 December 2026). A baseline on it is not a fair one,
so the bench scripts refuse to run on it.
"""

import importlib
import sys

need = sys.argv[1:] or ["numpy", "scipy", "torch"]
missing = []
for m in need + ["threadpoolctl"]:
    try:
        importlib.import_module(m)
    except Exception as e:  # noqa: BLE001 - any import failure is "missing"
        missing.append("%s (%s)" % (m, e))
if missing:
    print("blas_check: missing " + ", ".join(missing))
    sys.exit(1)

import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402

np.ones((2, 2)) @ np.ones((2, 2))  # load the BLAS
apis = [(i.get("internal_api"), i.get("filepath"), i.get("version")) for i in threadpoolctl.threadpool_info()
        if i.get("user_api") == "blas"]
if not any(a == "openblas" for a, _, _ in apis):
    print("blas_check: numpy's BLAS is not OpenBLAS: %s (install libopenblas0-pthread)" % (apis or "unknown"))
    sys.exit(1)
print("blas_check: numpy %s on %s" % (np.__version__, "; ".join("%s %s %s" % a for a in apis)))
