"""The softdiff denoiser in PyTorch: the same architecture as Go's package nn.

A bidirectional pre-norm transformer over evidence rows. Inputs are given as

  w:    [B, L, K] canonical evidence weights (see canonical_weights), the
        mixture weights of the input embedding, MASK column included;
  logl: [B, L, K] log ℓ̂, the log of the normalised evidence likelihood over
        the tokens (any value in the MASK column), added to the output
        logits when the model has the evidence skip.

forward() returns logits [B, L, K] with −inf in the MASK column. The tensor
names of state_dict() are those Go's nn.Config.Names lists.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_TYPE = "softdiff-denoiser"


def sinusoidal(n, d):
    """The n×d table of Vaswani et al.: sin at even j, cos at odd j, in float64."""
    p = torch.arange(n, dtype=torch.float64)[:, None]
    j = torch.arange(d)
    omega = torch.pow(torch.tensor(10000.0, dtype=torch.float64), -(2 * (j // 2)).double() / d)
    a = p * omega[None, :]
    t = torch.where(j % 2 == 0, torch.sin(a), torch.cos(a))
    return t.float()


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x):
        B, L, d = x.shape
        H = self.heads
        dh = d // H
        q, k, v = self.qkv(x).split(d, dim=-1)
        q = q.view(B, L, H, dh).transpose(1, 2)
        k = k.view(B, L, H, dh).transpose(1, 2)
        v = v.view(B, L, H, dh).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        o = torch.matmul(torch.softmax(s, dim=-1), v)
        return self.out(o.transpose(1, 2).reshape(B, L, d))


class MLP(nn.Module):
    def __init__(self, d, f):
        super().__init__()
        self.fc1 = nn.Linear(d, f)
        self.fc2 = nn.Linear(f, d)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.attn_norm = nn.LayerNorm(d, eps=eps)
        self.attn = Attention(d, cfg["num_attention_heads"])
        self.mlp_norm = nn.LayerNorm(d, eps=eps)
        self.mlp = MLP(d, cfg["intermediate_size"])

    def forward(self, h):
        h = h + self.attn(self.attn_norm(h))
        return h + self.mlp(self.mlp_norm(h))


class Head(nn.Module):
    """Output head: bias always, weight only when not tied to the embedding."""

    def __init__(self, K, d, tied):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(K))
        if not tied:
            self.weight = nn.Parameter(torch.empty(K, d))
            nn.init.normal_(self.weight, std=0.02)


class Denoiser(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        K, d = cfg["vocab_size"], cfg["hidden_size"]
        self.K, self.mask = K, cfg["mask_token_id"]
        self.skip = bool(cfg["evidence_skip"])
        self.tied = bool(cfg["tie_word_embeddings"])
        self.embed_tokens = nn.Embedding(K, d)
        nn.init.normal_(self.embed_tokens.weight, std=0.02)
        if cfg["position_embedding_type"] == "learned":
            self.embed_positions = nn.Embedding(cfg["max_position_embeddings"], d)
            nn.init.normal_(self.embed_positions.weight, std=0.02)
        else:
            self.register_buffer("pos_table", sinusoidal(cfg["max_position_embeddings"], d), persistent=False)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.final_norm = nn.LayerNorm(d, eps=cfg["layer_norm_eps"])
        self.lm_head = Head(K, d, self.tied)
        mask_col = torch.zeros(K, dtype=torch.bool)
        mask_col[self.mask] = True
        self.register_buffer("mask_col", mask_col, persistent=False)

    def positions(self, L):
        if hasattr(self, "embed_positions"):
            return self.embed_positions.weight[:L]
        return self.pos_table[:L]

    def context_logits(self, w):
        """The network's logits before the skip and the MASK column (float32)."""
        L = w.shape[1]
        h = torch.matmul(w, self.embed_tokens.weight) + self.positions(L)
        for blk in self.layers:
            h = blk(h)
        h = self.final_norm(h)
        U = self.embed_tokens.weight if self.tied else self.lm_head.weight
        return torch.matmul(h, U.t()) + self.lm_head.bias

    def forward(self, w, logl=None):
        # float32 from here on, also under bf16 autocast: log ℓ̂ needs the precision.
        z = self.context_logits(w).float()
        if self.skip:
            z = z + logl.float()
        return z.masked_fill(self.mask_col, float("-inf"))

    def logits_from_evidence(self, ev):
        """Logits for raw evidence rows [B, L, K] exactly as Go computes them:
        weights and log ℓ̂ in float64, the skip added in float64."""
        w, logl = evidence_inputs(ev, self.mask)
        z = self.context_logits(w.float()).double()
        if self.skip:
            z = z + logl
        return z.float().masked_fill(self.mask_col, float("-inf"))


def evidence_inputs(ev, mask, dtype=torch.float64, check=True):
    """Canonical weights and log ℓ̂ (in dtype, float64 by default) of evidence rows ev [..., K].

    ℓ(v) = ev[v] + ev[mask] over tokens v; ℓmin = min ℓ;
    w(MASK) = ℓmin/D, w(v) = (ℓ(v) − ℓmin)/D, D = Σ_v (ℓ(v) − ℓmin) + ℓmin;
    log ℓ̂(v) = log ℓ(v) − log Σ_u ℓ(u) (−inf where ℓ(v) = 0), 0 at MASK.
    """
    ev = ev.to(dtype)
    K = ev.shape[-1]
    tok = torch.ones(K, dtype=torch.bool)
    tok[mask] = False
    m = ev[..., mask:mask + 1]
    lik = ev[..., tok] + m
    if check and ((lik.sum(-1) <= 0).any() or not torch.isfinite(ev).all() or (ev < 0).any()):
        raise ValueError("evidence rows must be finite, ≥ 0, with a positive likelihood")
    lmin = lik.min(-1, keepdim=True).values
    D = (lik - lmin).sum(-1, keepdim=True) + lmin
    w = torch.zeros_like(ev)
    w[..., tok] = (lik - lmin) / D
    w[..., mask] = (lmin / D)[..., 0]
    logl = torch.zeros_like(ev)
    logl[..., tok] = torch.log(lik) - torch.log(lik.sum(-1, keepdim=True))
    return w, logl


def weights_from_lik(lhat):
    """Canonical weights from a normalised likelihood over tokens lhat [..., V]
    (float32 training path); returns (token weights [..., V], MASK weight [..., 1])."""
    lmin = lhat.min(-1, keepdim=True).values
    D = (lhat - lmin).sum(-1, keepdim=True) + lmin
    return (lhat - lmin) / D, lmin / D


def make_config(vocab_size, mask_token_id, length, hidden=64, layers=4, heads=4, intermediate=None,
                position="learned", tied=True, skip=True, tokens=None, objective=None, testbed=None):
    cfg = {
        "model_type": MODEL_TYPE,
        "vocab_size": vocab_size,
        "mask_token_id": mask_token_id,
        "max_position_embeddings": length,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate or 4 * hidden,
        "hidden_act": "gelu",
        "layer_norm_eps": 1e-5,
        "position_embedding_type": position,
        "tie_word_embeddings": tied,
        "evidence_skip": skip,
    }
    if tokens is not None:
        cfg["tokens"] = list(tokens)
    if objective is not None:
        cfg["objective"] = objective
    if testbed is not None:
        cfg["testbed"] = testbed
    return cfg


def tensor_names(cfg):
    """The checkpoint's tensor names in Go's order (nn.Config.Names)."""
    names = ["embed_tokens.weight"]
    if cfg["position_embedding_type"] == "learned":
        names.append("embed_positions.weight")
    for l in range(cfg["num_hidden_layers"]):
        p = "layers.%d." % l
        names += [p + s for s in ("attn_norm.weight", "attn_norm.bias", "attn.qkv.weight", "attn.qkv.bias",
                                  "attn.out.weight", "attn.out.bias", "mlp_norm.weight", "mlp_norm.bias",
                                  "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias")]
    names += ["final_norm.weight", "final_norm.bias"]
    if not cfg["tie_word_embeddings"]:
        names.append("lm_head.weight")
    names.append("lm_head.bias")
    return names
