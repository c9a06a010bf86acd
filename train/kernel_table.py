"""Kernel tables written by `softdiff export-kernel` (format softdiff-kernel-table/1).

A safetensors file with two float32 tensors and string metadata:

  times       [T]        t_j = j/T, j = 1..T (strictly increasing in (0, 1])
  transition  [T, K, K]  transition[j, v, x] = P(x_{t_j} = x | x_0 = v)

metadata: format, testbed, kernel, states (K), mask (the MASK id), times (T),
grid, neighbours. Row v of transition[j] is the forward marginal from x_0 = v
(x_t is drawn from it); column x is the likelihood row ℓ(v) of an observed
x_t = x, which a denoiser reads after decode.KernelEvidence's two steps: the
MASK entry set to 0 and the row scaled to maximum 1 (evidence_rows below).
The tables are the Go kernels' own values; nothing here re-implements a
kernel.
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as ST  # noqa: E402

FORMAT = "softdiff-kernel-table/1"


class KernelTable:
    def __init__(self, path, vocab_size=None, mask=None, row_tol=1e-4):
        """Read and validate a table; vocab_size and mask, when given, must match."""
        try:
            tensors, meta = ST.read(path)
        except Exception as e:  # noqa: BLE001
            raise ValueError("%s: not a readable safetensors file: %s" % (path, e))
        if meta.get("format") != FORMAT:
            raise ValueError("%s: format %r, want %r" % (path, meta.get("format"), FORMAT))
        for name in ("times", "transition"):
            if name not in tensors:
                raise ValueError("%s: tensor %r missing" % (path, name))
        times, tr = tensors["times"].astype(np.float64), tensors["transition"]
        try:
            K, M, T = int(meta["states"]), int(meta["mask"]), int(meta["times"])
        except (KeyError, ValueError) as e:
            raise ValueError("%s: metadata states/mask/times: %s" % (path, e))
        if times.shape != (T,) or tr.shape != (T, K, K):
            raise ValueError("%s: times %s and transition %s do not match T = %d, K = %d" % (path, times.shape, tr.shape, T, K))
        if not (0 <= M < K):
            raise ValueError("%s: mask %d outside [0, %d)" % (path, M, K))
        if vocab_size is not None and K != vocab_size:
            raise ValueError("%s: %d states, the data has %d" % (path, K, vocab_size))
        if mask is not None and M != mask:
            raise ValueError("%s: MASK id %d, the data has %d" % (path, M, mask))
        if not (np.all(times > 0) and np.all(times <= 1) and np.all(np.diff(times) > 0)):
            raise ValueError("%s: times must increase strictly within (0, 1]" % path)
        if not np.isfinite(tr).all() or (tr < 0).any():
            raise ValueError("%s: transition has a negative or non-finite entry" % path)
        tok = np.array([v for v in range(K) if v != M])
        sums = tr[:, tok, :].sum(-1, dtype=np.float64)
        bad = np.abs(sums - 1) > row_tol
        if bad.any():
            j, v = np.argwhere(bad)[0]
            raise ValueError("%s: row x_0 = %d at t = %g sums to %.6f, not 1" % (path, tok[v], times[j], sums[j, v]))
        self.path, self.meta = path, meta
        self.K, self.mask, self.T = K, M, T
        self.kernel, self.testbed = meta.get("kernel", ""), meta.get("testbed", "")
        self.times = times
        self.transition = torch.from_numpy(np.ascontiguousarray(tr))  # [T, K, K] float32
        self.tok = torch.from_numpy(tok)

    def to(self, dev):
        self.transition, self.tok = self.transition.to(dev), self.tok.to(dev)
        return self

    def sample(self, x0, j, g):
        """x_t for clean tokens x0 [B, L] at time indices j [B, L]: row x0 of transition[j]."""
        rows = self.transition[j, x0]  # [B, L, K]
        flat = rows.reshape(-1, self.K)
        return torch.multinomial(flat, 1, generator=g).view(x0.shape)

    def evidence_rows(self, xt, j):
        """The evidence rows decode.KernelEvidence writes for x_t [B, L] at time indices j:
        column x_t of transition[j] (ℓ(v) = P(x_t | x_0 = v)), MASK entry 0, scaled to
        maximum 1, in float32."""
        T, K = self.T, self.K
        # transition[j, :, x] for every (b, i): gather along the last axis.
        cols = self.transition.permute(0, 2, 1)[j, xt]  # [B, L, K]: cols[.., v] = P(x | v)
        cols = cols.clone()
        cols[..., self.mask] = 0
        mx = cols.max(-1, keepdim=True).values
        if (mx <= 0).any():
            raise ValueError("%s: a state x_t with likelihood 0 under every token" % self.path)
        return cols * (1.0 / mx)
