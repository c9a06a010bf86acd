"""Evidence rows as network inputs, from dense or top-k sparse tensors.

An evidence row e over the K states (MASK included) is the likelihood
ℓ(v) = e(v) + e(MASK) over the V = K − 1 tokens. A network reads it through

  * the canonical weights w (the row with likelihood ∝ ℓ and the most MASK
    mass): w(MASK) = ℓmin/D, w(v) = (ℓ(v) − ℓmin)/D, with ℓmin = min_v ℓ(v),
    Z = Σ_v ℓ(v) and D = Z − V·ℓmin + ℓmin; the input embedding is Σ_s w(s)·E_s;
  * log ℓ̂(v) = log ℓ(v) − log Z, added to the output logits by the evidence
    skip (−inf where ℓ(v) = 0).

These are the formulas of train/model.py's evidence_inputs (and of Go's
package nn), computed here for two encodings of a batch [B, L] of rows:

  Dense:  ev [B, L, K].
  Sparse: ids [B, L, k] (int; −1 marks an unused slot, whose value must be
          0), vals [B, L, k], resid [B, L]: e(ids[j]) = vals[j], and each of
          the n_u = K − (used slots) states not listed holds resid / n_u.

Both are validated first; a bad row raises EvidenceError naming the
sequence and position. Sparse rows that arrive as NumPy arrays are
validated on the host by check_sparse (same checks, same messages), so a
GPU server needs no device synchronisation before the forward pass. Arithmetic runs in the dtype the caller gives
(float64 on the CPU for parity with Go, float32 on a GPU).
"""

import torch


class EvidenceError(ValueError):
    """Evidence that is not a batch of likelihood rows."""


def _first(*checks):
    """Raise EvidenceError for the first check (bad [B, L], what) that has a
    True, at its first True. One device synchronisation for all of them
    when every row is good."""
    if not bool(torch.stack([bad.any() for bad, _ in checks]).any()):
        return
    for bad, what in checks:
        if bool(bad.any()):
            b, i = [int(x) for x in bad.nonzero()[0]]
            raise EvidenceError("sequence %d, position %d: %s" % (b, i, what))


SPARSE_CHECKS = (
    "evidence id outside [-1, %d)",
    "evidence value is NaN or infinite",
    "evidence value is negative",
    "unused slot (id -1) with a nonzero value",
    "evidence id listed twice",
    "positive residual with every state listed",
    "no token has positive likelihood (the row is all zero)",
)


def check_sparse(ids, vals, resid, K):
    """Validate a sparse batch given as NumPy arrays (ids int [B, L, k],
    vals and resid float [B, L, k] and [B, L]) on the host: the checks of
    Sparse, in its order and with its messages (the first check that fails
    anywhere, at its first row in sequence-major order). Raises
    EvidenceError; returns None."""
    import numpy as np

    if ids.ndim != 3 or vals.shape != ids.shape or resid.shape != ids.shape[:2]:
        raise EvidenceError("sparse evidence shapes %s, %s, %s: want [B, L, k], [B, L, k], [B, L]"
                            % (list(ids.shape), list(vals.shape), list(resid.shape)))
    with np.errstate(invalid="ignore"):
        used = ids >= 0
        srt = np.sort(ids, -1)
        n_un = K - used.sum(-1)
        checks = (
            lambda: ((ids < -1) | (ids >= K)).any(-1),
            lambda: ~np.isfinite(vals).all(-1) | ~np.isfinite(resid),
            lambda: (vals < 0).any(-1) | (resid < 0),
            lambda: ((~used) & (vals != 0)).any(-1),
            lambda: ((srt[..., 1:] == srt[..., :-1]) & (srt[..., 1:] >= 0)).any(-1),
            lambda: (n_un == 0) & (resid > 0),
            lambda: ~((vals > 0).any(-1) | (resid > 0)),
        )
        for c, what in zip(checks, SPARSE_CHECKS):
            bad = c()
            if bad.any():
                b, i = (int(x) for x in np.argwhere(bad)[0])
                raise EvidenceError("sequence %d, position %d: %s" % (b, i, what % K if c is checks[0] else what))


def hard_sparse(ids, vals, resid, mask):
    """Token ids [B, L] (int64, MASK for MASK rows) when every row of a
    validated NumPy sparse batch has the plain hard form — one used slot
    with a positive value, every other slot −1, residual 0 — else None.
    Such a row is a one-hot token row (its id not MASK) or the MASK row (its
    id MASK: every token has likelihood e(MASK)), which is what
    Sparse.hard_ids computes for it; rows of other forms are left to
    Sparse.hard_ids."""
    import numpy as np

    used = ids >= 0
    if not ((used.sum(-1) == 1).all() and (resid == 0).all() and ((vals > 0) == used).all()):
        return None
    return np.where(used, ids, 0).max(-1).astype(np.int64)


class Dense:
    """A batch of dense evidence rows ev [B, L, K]."""

    def __init__(self, ev, mask, dtype):
        if ev.dim() != 3:
            raise EvidenceError("evidence has %d dimensions, want 3 [B, L, K]" % ev.dim())
        self.B, self.L, self.K = ev.shape
        self.mask = mask
        _first((~torch.isfinite(ev).all(-1), "evidence entry is NaN or infinite"),
               ((ev < 0).any(-1), "evidence entry is negative"),
               (~(ev > 0).any(-1), "no token has positive likelihood (the row is all zero)"))
        ev = ev.to(dtype)
        m = ev[..., mask]
        et = ev.clone()
        et[..., mask] = 0
        V = self.K - 1
        Z = et.sum(-1) + V * m
        et[..., mask] = float("inf")
        lmin = et.amin(-1) + m
        et[..., mask] = 0
        D = Z - V * lmin + lmin
        lik = et + m[..., None]
        self.w = (lik - lmin[..., None]) / D[..., None]
        self.w[..., mask] = lmin / D
        self.logl = torch.log(lik) - torch.log(Z)[..., None]
        self.logl[..., mask] = 0
        self._ev = ev

    def embed(self, E):
        """Σ_s w(s)·E_s [B, L, d] in E's dtype."""
        return torch.matmul(self.w.to(E.dtype), E)

    def add_skip(self, z):
        """z + log ℓ̂ (z float32 [B, L, K]), in the weights' dtype, returned as float32."""
        return (z.to(self.logl.dtype) + self.logl).float()

    def hard_ids(self):
        """Token ids [B, L] (MASK for rows without information) if every row
        is hard evidence (its canonical weights one-hot), else None."""
        top, ids = self.w.max(-1)
        if bool((top == 1).all()):
            return ids
        return None


class Sparse:
    """A batch of top-k evidence rows (ids, vals [B, L, k], resid [B, L])."""

    def __init__(self, ids, vals, resid, K, mask, dtype, checked=False, hard=None):
        """checked: the rows passed check_sparse already (no device
        synchronisation here); hard: their hard_sparse token ids as a
        tensor, if known (hard_ids returns them)."""
        if ids.dim() != 3 or vals.shape != ids.shape or resid.shape != ids.shape[:2]:
            raise EvidenceError("sparse evidence shapes %s, %s, %s: want [B, L, k], [B, L, k], [B, L]"
                                % (list(ids.shape), list(vals.shape), list(resid.shape)))
        self.B, self.L, self.k = ids.shape
        self.K, self.mask = K, mask
        self._plain = False
        ids = ids.long()
        used = ids >= 0
        n_used = used.sum(-1)
        n_un = K - n_used
        self._hard = hard
        if not checked:
            srt = torch.sort(ids, -1).values
            c = SPARSE_CHECKS
            _first((((ids < -1) | (ids >= K)).any(-1), c[0] % K),
                   (~torch.isfinite(vals).all(-1) | ~torch.isfinite(resid), c[1]),
                   ((vals < 0).any(-1) | (resid < 0), c[2]),
                   (((~used) & (vals != 0)).any(-1), c[3]),
                   (((srt[..., 1:] == srt[..., :-1]) & (srt[..., 1:] >= 0)).any(-1), c[4]),
                   ((n_un == 0) & (resid > 0), c[5]),
                   (~((vals > 0).any(-1) | (resid > 0)), c[6]))

        vals, resid = vals.to(dtype), resid.to(dtype)
        r_u = torch.where(n_un > 0, resid / n_un.clamp(min=1).to(dtype), torch.zeros_like(resid))
        is_mask = ids == mask
        mask_listed = is_mask.any(-1)
        m = torch.where(mask_listed, (vals * is_mask).sum(-1), r_u)
        tok = used & ~is_mask
        lik = vals + m[..., None]                        # ℓ of the listed tokens (where tok)
        n_un_tok = n_un - (~mask_listed).long()          # tokens not listed
        lik_u = r_u + m                                  # ℓ of each of them
        lmin = torch.where(tok, lik, torch.full_like(lik, float("inf"))).amin(-1)
        lmin = torch.where(n_un_tok > 0, torch.minimum(lmin, lik_u), lmin)
        Z = torch.where(tok, lik, torch.zeros_like(lik)).sum(-1) + n_un_tok.to(dtype) * lik_u
        V = K - 1
        D = Z - V * lmin + lmin
        self.w_listed = torch.where(tok, (lik - lmin[..., None]) / D[..., None], torch.zeros_like(lik))
        self.w_u = torch.where(n_un_tok > 0, (lik_u - lmin) / D, torch.zeros_like(D))
        self.w_mask = lmin / D
        logZ = torch.log(Z)
        self.logl_listed = torch.log(lik) - logZ[..., None]
        self.logl_u = torch.log(lik_u) - logZ
        self.tok = tok
        self.ids = ids
        self.n_un_tok = n_un_tok

    @classmethod
    def plain_hard(cls, hard, vals, K, mask, dtype):
        """A batch of rows in hard_sparse's plain hard form, from their token
        ids hard [B, L] (int64, MASK for MASK rows) and their one value vals
        [B, L] (> 0), on one device: the few tensors that embed, add_skip,
        skip_parts and hard_ids read, built with a handful of kernels
        instead of the general constructor's forty. The values are the
        general constructor's for such rows: a token row's log ℓ̂ is 0 at
        its token and −inf elsewhere (log val − log val, log 0 − log val);
        a MASK row's is log val − log((K − 1)·val) at every token, the same
        float operations."""
        self = cls.__new__(cls)
        self.B, self.L = hard.shape
        self.k, self.K, self.mask = 1, K, mask
        self._plain, self._hard = True, hard
        vals = vals.to(dtype)
        self.ids = hard[..., None]
        self.tok = self.ids != mask
        self.logl_listed = torch.zeros_like(vals)[..., None]
        lu = torch.log(vals) - torch.log(vals * float(K - 1))
        self.logl_u = torch.where(self.tok[..., 0], torch.full_like(lu, float("-inf")), lu)
        return self

    def embed(self, E, S_tok):
        """Σ_s w(s)·E_s [B, L, d] in E's dtype, where S_tok = Σ_{v ≠ MASK} E_v
        (in the weights' dtype): w_u·S_tok + w(MASK)·E_MASK +
        Σ_listed tokens (w(v) − w_u)·E_v. A batch made by Sparse.plain_hard
        gathers its rows' embeddings, E[id], which is that sum exactly for
        such rows (weight 1 on one state, 0 elsewhere)."""
        if self._plain:
            return E[self._hard]
        dt = self.w_mask.dtype
        c = torch.where(self.tok, self.w_listed - self.w_u[..., None], torch.zeros_like(self.w_listed))
        G = E[self.ids.clamp(min=0)].to(dt)              # [B, L, k, d]
        h = torch.einsum("blk,blkd->bld", c, G)
        h = h + self.w_u[..., None] * S_tok.to(dt) + self.w_mask[..., None] * E[self.mask].to(dt)
        return h.to(E.dtype)

    def add_skip(self, z):
        """z + log ℓ̂ (z float32 [B, L, K], overwritten), returned as
        float32: the unlisted tokens' constant everywhere, the listed
        tokens' own values at their ids (the MASK column is left to the
        caller)."""
        zd = z.to(self.logl_u.dtype)  # z itself when the dtypes agree: updated in place
        idx = torch.where(self.tok, self.ids, torch.full_like(self.ids, self.mask))
        val = zd.gather(-1, idx) + self.logl_listed
        zd += self.logl_u[..., None]
        # Slots that are not listed tokens all point at the MASK column, which
        # the caller overwrites; the listed tokens' ids are distinct.
        zd.scatter_(-1, idx, val)
        return zd.float()

    def skip_parts(self):
        """The evidence skip in parts, for adding it to a few logits only:
        (idx [B, L, k] int64, tok [B, L, k] bool, logl_idx [B, L, k],
        logl_u [B, L]). Slot j of a listed token has tok true, idx = its id
        and logl_idx = its log ℓ̂; the other slots have tok false and idx =
        MASK (logl_idx is meaningless there). Every token not listed has
        log ℓ̂ = logl_u."""
        idx = torch.where(self.tok, self.ids, torch.full_like(self.ids, self.mask))
        return idx, self.tok, self.logl_listed, self.logl_u

    def hard_ids(self):
        """Token ids [B, L] (MASK for rows without information) if every row
        is hard evidence (its canonical weights one-hot), else None."""
        if self._hard is not None:
            return self._hard
        is_mask_row = self.w_mask == 1
        one = (self.w_listed == 1) & self.tok
        tok_row = (one.sum(-1) == 1) & ((self.w_u == 0) | (self.n_un_tok == 0))
        if not bool((is_mask_row | tok_row).all()):
            return None
        tid = self.ids.gather(-1, one.long().argmax(-1, keepdim=True))[..., 0]
        return torch.where(is_mask_row, torch.full_like(tid, self.mask), tid)


def token_sum(E, mask, dtype):
    """Σ_{v ≠ MASK} E_v in dtype (the sparse embedding's constant)."""
    Ed = E.to(dtype)
    return Ed.sum(0) - Ed[mask]
