"""Training objectives: batches of (inputs, targets, loss weights) from clean sequences.

Every objective turns clean token sequences x0 [B, L] into network inputs
(canonical evidence weights w [B, L, K] and log ℓ̂ logl [B, L, K]) and per-
position loss weights; the loss is Σ weight·CE(logits, x0) / norm.

  mdlm  masked diffusion, MDLM's weighted ELBO with the linear schedule
        α_t = 1 − t: each position is masked with probability t,
        t ~ U(0, 1] stratified over the batch, loss weight 1/t on masked
        positions, norm B·L (the negative ELBO per token).
  soft  the Gaussian channel of stochastic localisation: every position is
        observed as λ = s·onehot(x0) + √s·ε over the tokens, ε ~ N(0, I);
        the evidence row is softmax(λ) (what SoftSL hands the denoiser),
        s = s_seq·2^u with s_seq log-uniform on [snr_min, snr_max] per
        sequence and u ~ U(−1, 1) per position; weight 1, norm B·L.
  kernel  the forward process of a structured kernel (a table written by
        `softdiff export-kernel`, kernel_table.py): per sequence a time t_j
        uniform on the table's grid, x_t ~ P_{t_j}(· | x0) at every position,
        the evidence row of x_t its likelihood ℓ(v) = P_{t_j}(x_t | x0 = v)
        (MASK entry 0, scaled to maximum 1: decode.KernelEvidence's row),
        weight 1, norm B·L.
  mix   per sequence one of four kinds (equally likely): a Dirichlet(1,1,1)
        mix of masked / soft / clean positions, masking only (rate t), soft
        only, soft + clean (rate t); weight 1 on masked and soft positions,
        norm their count.
"""

import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402

OBJECTIVES = ("mdlm", "soft", "mix", "kernel")


class Batcher:
    def __init__(self, K, mask, snr_min=0.03, snr_max=100.0, kernel=None):
        """kernel: a kernel_table.KernelTable (needed by the kernel objective)."""
        self.K, self.mask = K, mask
        self.kernel = kernel
        if kernel is not None and (kernel.K != K or kernel.mask != mask):
            raise ValueError("kernel table has %d states, MASK %d; the data %d, %d" % (kernel.K, kernel.mask, K, mask))
        self.tok = torch.tensor([v for v in range(K) if v != mask])
        pos = torch.full((K,), -1, dtype=torch.long)
        pos[self.tok] = torch.arange(K - 1)
        self.tok_pos = pos  # state id -> index among the tokens
        self.snr_min, self.snr_max = snr_min, snr_max

    def to(self, dev):
        self.tok, self.tok_pos = self.tok.to(dev), self.tok_pos.to(dev)
        if self.kernel is not None:
            self.kernel.to(dev)
        return self

    def kernel_inputs(self, x0, j, g):
        """x_t drawn from the kernel at time indices j [B, L], its evidence rows,
        and the network inputs (canonical weights, log ℓ̂) computed from the rows
        in float64 as Go's nn does."""
        xt = self.kernel.sample(x0, j, g)
        ev = self.kernel.evidence_rows(xt, j)
        w, logl = M.evidence_inputs(ev, self.mask, check=False)
        return xt, ev, w.float(), logl.float()

    def _full(self, part, fill=0.0):
        """Embed a [..., V] token tensor into [..., K] (MASK column = fill)."""
        out = torch.full(part.shape[:-1] + (self.K,), fill, dtype=part.dtype, device=part.device)
        out[..., self.tok] = part
        return out

    def _snr(self, B, L, g):
        lo, hi = math.log(self.snr_min), math.log(self.snr_max)
        dev = self.tok.device
        s = torch.exp(lo + (hi - lo) * torch.rand(B, 1, generator=g, device=dev))
        return s * torch.pow(2.0, 2 * torch.rand(B, L, generator=g, device=dev) - 1)

    def _soft(self, x0, s, g):
        """Canonical weights and log ℓ̂ of channel evidence at SNR s [B, L]."""
        V = self.K - 1
        eps = torch.randn(x0.shape + (V,), generator=g, device=x0.device)
        onehot = torch.nn.functional.one_hot(self.tok_pos[x0], V).float()
        lam = s[..., None] * onehot + torch.sqrt(s)[..., None] * eps
        lhat = torch.softmax(lam, -1)
        lmin = lhat.min(-1, keepdim=True).values
        D = (lhat - lmin).sum(-1, keepdim=True) + lmin
        w = self._full((lhat - lmin) / D)
        w[..., self.mask] = (lmin / D)[..., 0]
        return w, self._full(torch.log_softmax(lam, -1))

    def _hard(self, x0, masked):
        K = self.K
        ids = torch.where(masked, torch.full_like(x0, self.mask), x0)
        w = torch.nn.functional.one_hot(ids, K).float()
        clean = torch.nn.functional.one_hot(x0, K).float()
        logl_clean = torch.where(clean > 0, torch.zeros_like(clean), torch.full_like(clean, float("-inf")))
        logl = torch.where(masked[..., None], torch.zeros_like(clean), logl_clean)
        return w, logl

    def batch(self, objective, x0, g):
        B, L = x0.shape
        dev = x0.device
        if objective == "mdlm":
            t = (torch.rand(1, generator=g, device=dev) + torch.arange(B, device=dev) / B) % 1.0
            t = t.clamp_min(1e-3)[:, None]
            masked = torch.rand(B, L, generator=g, device=dev) < t
            w, logl = self._hard(x0, masked)
            return w, logl, masked.float() / t, float(B * L)
        if objective == "soft":
            w, logl = self._soft(x0, self._snr(B, L, g), g)
            return w, logl, torch.ones(B, L, device=dev), float(B * L)
        if objective == "mix":
            kind = torch.randint(4, (B, 1), generator=g, device=dev)
            d = -torch.log(torch.rand(B, 3, generator=g, device=dev))
            d = d / d.sum(-1, keepdim=True)  # Dirichlet(1, 1, 1)
            t = torch.rand(B, 1, generator=g, device=dev)
            zero = torch.zeros_like(t)
            pm = torch.where(kind == 0, d[:, :1], torch.where(kind == 1, t, zero))
            ps = torch.where(kind == 0, d[:, 1:2], torch.where(kind == 2, torch.ones_like(t), torch.where(kind == 3, t, zero)))
            u = torch.rand(B, L, generator=g, device=dev)
            masked, soft = u < pm, (u >= pm) & (u < pm + ps)
            wh, lh = self._hard(x0, masked)
            ws, ls = self._soft(x0, self._snr(B, L, g), g)
            w = torch.where(soft[..., None], ws, wh)
            logl = torch.where(soft[..., None], ls, lh)
            weight = (masked | soft).float()
            return w, logl, weight, weight.sum().clamp_min(1.0)
        if objective == "kernel":
            if self.kernel is None:
                raise ValueError("objective kernel needs a kernel table (--kernel FILE)")
            j = torch.randint(self.kernel.T, (B, 1), generator=g, device=dev).expand(B, L)
            _, _, w, logl = self.kernel_inputs(x0, j, g)
            return w, logl, torch.ones(B, L, device=dev), float(B * L)
        raise ValueError("unknown objective %r (want one of %s)" % (objective, ", ".join(OBJECTIVES)))
