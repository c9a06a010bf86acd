"""The top k of each row of a logits matrix and its log-normaliser, in few
passes over the logits.

  topk_lse(z2, k) -> (values, ids, lse)

z2 [R, K] is a contiguous matrix of logits in any float dtype (bfloat16 on
a GPU). values [R, k] (z2's dtype, non-increasing) and ids [R, k] (int64)
are the k largest entries of each row and their columns; lse [R] (float32)
is log Σ_j exp z2[r, j] (float32 from the Triton kernel, float64 from the
PyTorch path), not finite where the row holds NaN or +inf, or
only −inf (the caller's check).

How, for R rows of K entries cut into chunks of C = 128 consecutive
columns (nF = K div C full chunks and a tail of K mod C):

1. one pass over z2 gives each chunk's maximum and, with the running
   maximum of the row, the sum Σ exp(z − max) in float32 (the online
   log-sum-exp); on a CUDA device with Triton this is one kernel reading
   the logits once, elsewhere PyTorch's amax over the chunks and the float32
   terms summed by row_sum;
2. the k full chunks with the largest maxima are gathered (k·C entries a
   row) together with the tail, and one top-k runs over those candidates.

Why the candidates hold the row's top k (ties included): let t be the
k-th largest value of the row. A chunk holding an entry x > t has maximum
≥ x > t, and fewer than k entries exceed t, so fewer than k chunks have a
maximum above t and all of them are among the k chosen; every entry above t
is a candidate. If at least k chunks have a maximum ≥ t, the chosen ones
with maximum exactly t (k − a of them, where a ≤ #{x > t} chunks have a
larger maximum) each hold an entry equal to t, so the candidates hold at
least k − #{x > t} entries equal to t; if fewer than k chunks have a maximum
≥ t, all of them are chosen and every entry ≥ t is a candidate. The tail is
always a candidate. So the k largest candidates are the k largest entries
(as a multiset of values; which of several tied columns is returned is
unspecified, as for torch.topk).

Rows with fewer than k full chunks (small vocabularies) take torch.topk
over the whole row.
"""

import torch

C = 128  # entries per chunk

try:  # Triton comes with PyTorch's CUDA wheels; Debian's CPU torch has none
    import triton
    import triton.language as tl
except Exception:  # pragma: no cover - depends on the machine
    triton = None

if triton is not None:
    @triton.jit
    def _chunkmax_lse_kernel(z_ptr, cm_ptr, lse_ptr, K, nC, stride,
                             CH: tl.constexpr, NCH: tl.constexpr):
        # One program per row: tiles of NCH chunks × CH entries; each
        # chunk's maximum stored, the row's (max, Σ exp(z − max)) carried
        # across tiles in float32.
        row = tl.program_id(0).to(tl.int64)
        base = z_ptr + row * stride
        oc = tl.arange(0, NCH)
        oe = tl.arange(0, CH)
        neg = float("-inf")
        m = tl.full((), neg, tl.float32)
        s = tl.zeros((), tl.float32)
        for t in range(0, tl.cdiv(nC, NCH)):
            ch = t * NCH + oc
            col = ch[:, None] * CH + oe[None, :]
            x = tl.load(base + col, mask=col < K, other=neg).to(tl.float32)
            cmax = tl.max(x, axis=1)
            tl.store(cm_ptr + row * nC + ch, cmax, mask=ch < nC)
            mn = tl.maximum(m, tl.max(cmax, axis=0))
            # exp(m − mn) with m = mn = −inf would be NaN: an all −inf prefix adds 0
            alpha = tl.where(mn == neg, 0.0, tl.exp(m - mn))
            e = tl.where(x == neg, 0.0, tl.exp(x - mn))
            s = s * alpha + tl.sum(tl.sum(e, axis=1), axis=0)
            m = mn
        tl.store(lse_ptr + row, m + tl.log(s))


def row_sum(e, c=256):
    """Σ over the last axis of float32 e [..., K], returned in float64:
    float32 partial sums of c consecutive terms (one pass over e), then
    float64 over the K/c partial sums and the tail, in index order."""
    K = e.shape[-1]
    n = K - K % c
    tot = e[..., :n].reshape(e.shape[:-1] + (n // c, c)).sum(-1).double().sum(-1)
    if n < K:
        tot = tot + e[..., n:].double().sum(-1)
    return tot


def triton_ok(device):
    """Whether the Triton kernel can run on device (CUDA and Triton present)."""
    return triton is not None and device.type == "cuda"


def chunkmax_lse(z2, use_triton=None):
    """(chunk maxima [R, ceil(K/C)] float32, lse [R]) of z2 [R, K]: lse in
    float32 from the Triton kernel, in float64 (float32 terms, float64 sum
    of their partial sums) from the PyTorch path."""
    R, K = z2.shape
    nC = (K + C - 1) // C
    if use_triton is None:
        use_triton = triton_ok(z2.device)
    if use_triton:
        cm = torch.empty((R, nC), dtype=torch.float32, device=z2.device)
        lse = torch.empty((R,), dtype=torch.float32, device=z2.device)
        if R:
            _chunkmax_lse_kernel[(R,)](z2, cm, lse, K, nC, z2.stride(0), CH=C, NCH=32, num_warps=4)
        return cm, lse
    nF = K // C
    parts = []
    if nF:
        parts.append(z2[:, :nF * C].reshape(R, nF, C).amax(-1).float())
    if K % C:
        parts.append(z2[:, nF * C:].amax(-1, keepdim=True).float())
    cm = torch.cat(parts, -1)
    m = cm.amax(-1)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = (z2.float() - m[:, None]).exp_()
    lse = m.double() + torch.log(row_sum(e))
    # a row with NaN or +inf: its sum is NaN or inf, so lse is not finite
    return cm, lse


def topk_lse(z2, k, use_triton=None):
    """(values [R, k] in z2's dtype, ids [R, k] int64, lse [R]) of z2 [R, K]; see the module doc."""
    R, K = z2.shape
    if not z2.is_contiguous():
        z2 = z2.contiguous()
    cm, lse = chunkmax_lse(z2, use_triton)
    nF = K // C
    if nF < k or k * C >= K:
        v, i = torch.topk(z2, k, dim=-1)
        return v, i, lse
    # the k full chunks with the largest maxima (NaN rows are flagged by lse)
    _, cid = torch.topk(cm[:, :nF], k, dim=-1)
    z3 = z2.as_strided((R, nF, C), (z2.stride(0), C, 1))  # the full chunks, a view
    cand = torch.gather(z3, 1, cid[:, :, None].expand(R, k, C)).reshape(R, k * C)
    tail = K - nF * C
    if tail:
        cand = torch.cat([cand, z2[:, nF * C:]], -1)
    v, j = torch.topk(cand, k, dim=-1)
    inchunk = j < k * C
    jc = torch.where(inchunk, j, torch.zeros_like(j))
    ids = cid.gather(1, jc // C) * C + jc % C
    ids = torch.where(inchunk, ids, j - k * C + nF * C)
    return v, ids, lse
