"""Models the server can serve, behind one interface.

An adapter has K (states, MASK included), mask (the MASK id), max_len,
platform (for the model metadata) and

  logits(inputs) -> (z, forward_ms)

where inputs is an evidence.Dense or evidence.Sparse batch and z the
float32 logits [B, L, K] whose softmax over the tokens is the posterior
marginal given the evidence (−inf in the MASK column). forward_ms is the
time of the network's forward pass alone (input embedding to output head;
on a GPU the time between two CUDA events around it). For the top-k
outputs the server calls instead

  raw_logits(inputs) -> (z, stopwatch)

the network's own logits [B, L, K] in its dtype (bfloat16 on a GPU, say),
a fresh tensor the caller may overwrite, without the evidence skip and
without the MASK column set: it adds the skip (when the adapter's skip is
True) and the MASK column itself, to the few logits it keeps. raw_logits
does not synchronise with the device: the forward pass's kernels are only
queued when it returns, and stopwatch.ms() (which waits for the forward's
end event) is read once the answer is on the host, so the server queues
its post-processing while the GPU still runs the forward.

  * SoftdiffAdapter: a softdiff denoiser (train/model.py), loaded from a
    checkpoint directory (config.json + model.safetensors) or built with
    random weights for timing. On the CPU in float32 it gives Go's nn
    forward to rounding (evidence weights and the skip in float64).
  * HFAdapter: a Hugging Face–style masked-diffusion model (LLaDA, Dream or
    one's own) from a local directory, imported lazily through
    transformers. Hard rows (one-hot or MASK) enter as input_ids with the
    MASK id; if any row of a batch is soft, every row enters as the
    likelihood-weighted mixture of the input-embedding rows
    (inputs_embeds), which a model trained on hard masks has never seen:
    an out-of-distribution input, served as such.
"""

import importlib
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import model as M  # noqa: E402
import safetensors_io as ST  # noqa: E402

import evidence as EV  # noqa: E402


def prep_dtype(device):
    """The dtype of evidence arithmetic: float64 on the CPU, float32 on a GPU."""
    return torch.float64 if device.type == "cpu" else torch.float32


class Stopwatch:
    """The time of the work queued between start and stop: two CUDA events
    on a GPU (nothing waits until ms() is read), the wall clock elsewhere
    (where the work has run by the time stop returns)."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"
        if self.cuda:
            self.a = torch.cuda.Event(enable_timing=True)
            self.b = torch.cuda.Event(enable_timing=True)
            self.a.record()
        else:
            self.t0 = time.perf_counter()

    def stop(self):
        if self.cuda:
            self.b.record()
        else:
            self.t1 = time.perf_counter()
        return self

    def ms(self):
        if self.cuda:
            self.b.synchronize()
            return float(self.a.elapsed_time(self.b))
        return (self.t1 - self.t0) * 1e3


def forward_ms(fwd):
    """Milliseconds from an adapter's second result (a number or a Stopwatch)."""
    return fwd.ms() if isinstance(fwd, Stopwatch) else float(fwd)


def context_from_hidden(net, h):
    """The softdiff denoiser's layers after the input embedding: the blocks,
    the final norm and the head, as Denoiser.context_logits runs them
    (test_serve checks the two agree bitwise)."""
    for blk in net.layers:
        h = blk(h)
    h = net.final_norm(h)
    U = net.embed_tokens.weight if net.tied else net.lm_head.weight
    return torch.matmul(h, U.t()) + net.lm_head.bias


class SoftdiffAdapter:
    platform = "softdiff-denoiser"

    def __init__(self, net, device, dtype):
        self.device = device
        self.net = net.to(device=device, dtype=dtype).eval().requires_grad_(False)
        cfg = net.cfg
        self.K, self.mask = cfg["vocab_size"], cfg["mask_token_id"]
        self.max_len = cfg["max_position_embeddings"]
        self.skip = bool(cfg["evidence_skip"])
        self.pdt = prep_dtype(device)
        with torch.no_grad():
            self.S_tok = EV.token_sum(self.net.embed_tokens.weight, self.mask, self.pdt)

    @classmethod
    def load(cls, path, device, dtype):
        with open(os.path.join(path, "config.json")) as f:
            cfg = json.load(f)
        if cfg.get("model_type") != M.MODEL_TYPE:
            raise SystemExit("%s: model_type %r, want %r" % (path, cfg.get("model_type"), M.MODEL_TYPE))
        tensors, _ = ST.read(os.path.join(path, "model.safetensors"))
        net = M.Denoiser(cfg)
        net.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
        return cls(net, device, dtype)

    @classmethod
    def random(cls, spec, device, dtype, seed):
        """A randomly initialised denoiser (module defaults: embeddings and
        head N(0, 0.02²), PyTorch's Linear initialisation) of the sizes in
        spec, a dict with vocab, mask, length, hidden, layers, heads and
        intermediate; built directly on the device where PyTorch can."""
        cfg = M.make_config(spec["vocab"], spec["mask"], spec["length"], hidden=spec["hidden"],
                            layers=spec["layers"], heads=spec["heads"], intermediate=spec["intermediate"])
        torch.manual_seed(seed)
        if device.type != "cpu" and hasattr(torch, "get_default_device"):
            with device:
                net = M.Denoiser(cfg)
        else:
            net = M.Denoiser(cfg)
        return cls(net, device, dtype)

    def num_params(self):
        return sum(p.numel() for p in self.net.parameters())

    def raw_logits(self, inp):
        return self._forward(inp, False)

    def logits(self, inp):
        z, sw = self._forward(inp, True)
        fwd = sw.ms()
        if self.skip:
            z = inp.add_skip(z)
        z[..., self.mask] = float("-inf")
        return z, fwd

    def _forward(self, inp, f32):
        """The network's logits (float32 if f32, else its dtype) and the
        forward's Stopwatch (the float32 conversion included)."""
        net = self.net
        E = net.embed_tokens.weight
        sw = Stopwatch(self.device)
        h = inp.embed(E, self.S_tok) if isinstance(inp, EV.Sparse) else inp.embed(E)
        h = (h.float() + net.positions(inp.L).float()).to(E.dtype)
        z = context_from_hidden(net, h)
        if f32:
            z = z.float()
        return z, sw.stop()


class HFAdapter:
    platform = "pytorch-hf-masked-diffusion"

    def __init__(self, path, device, dtype, mask_id=None, shift=False, likelihood=True, transformers=None):
        tf = transformers if transformers is not None else importlib.import_module("transformers")
        self.device = device
        cfg = tf.AutoConfig.from_pretrained(path, trust_remote_code=True)
        try:
            net = tf.AutoModel.from_pretrained(path, trust_remote_code=True, dtype=dtype)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            net = tf.AutoModel.from_pretrained(path, trust_remote_code=True, torch_dtype=dtype)
        self.net = net.to(device).eval().requires_grad_(False)
        self.mask = mask_id if mask_id is not None else getattr(cfg, "mask_token_id", None)
        if self.mask is None:
            raise SystemExit("%s: the config has no mask_token_id; give --mask-id" % path)
        self.K = int(cfg.vocab_size)
        if not 0 <= self.mask < self.K:
            raise SystemExit("%s: MASK id %d outside the vocabulary of %d" % (path, self.mask, self.K))
        self.max_len = int(getattr(cfg, "max_sequence_length", 0) or getattr(cfg, "max_position_embeddings", 0) or 4096)
        self.shift = shift
        self.likelihood = likelihood
        self.skip = likelihood
        self.pdt = prep_dtype(device)
        emb = self.net.get_input_embeddings() if hasattr(self.net, "get_input_embeddings") else None
        self.E = emb.weight if emb is not None else None
        self.S_tok = None
        if self.E is not None:
            if self.E.shape[0] < self.K:
                raise SystemExit("%s: input embedding has %d rows for %d states" % (path, self.E.shape[0], self.K))
            with torch.no_grad():
                self.S_tok = EV.token_sum(self.E[:self.K], self.mask, self.pdt)

    def raw_logits(self, inp):
        z, fwd = self._forward(inp)
        return z.contiguous(), fwd

    def logits(self, inp):
        z, sw = self._forward(inp)
        fwd = sw.ms()
        z = z.float()
        if self.likelihood:
            z = inp.add_skip(z.contiguous())
        else:
            z = z.clone()
        z[..., self.mask] = float("-inf")
        return z, fwd

    def _forward(self, inp):
        """The network's logits [B, L, K] in its dtype (a view of its
        output, shifted for Dream) and the forward's Stopwatch."""
        ids = inp.hard_ids()
        sw = Stopwatch(self.device)
        if ids is not None:
            out = self.net(input_ids=ids)
        else:
            if self.E is None:
                raise EV.EvidenceError("soft evidence needs the model's input embeddings, which it does not expose")
            E = self.E[:self.K]
            h = inp.embed(E, self.S_tok) if isinstance(inp, EV.Sparse) else inp.embed(E)
            out = self.net(inputs_embeds=h)
        z = out.logits if hasattr(out, "logits") else out[0]
        sw.stop()
        if z.dim() != 3 or z.shape[-1] < self.K or z.shape[:2] != (inp.B, inp.L):
            raise RuntimeError("model returned logits of shape %s for %d×%d×%d" % (list(z.shape), inp.B, inp.L, self.K))
        z = z[..., :self.K]
        if self.shift:  # Dream predicts position i at output i − 1
            z = torch.cat([z[:, :1], z[:, :-1]], dim=1)
        return z, sw
