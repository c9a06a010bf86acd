#!/usr/bin/python3
"""A reference server for softdiff's remote denoiser: the Open Inference
Protocol (KServe v2) over HTTP/JSON with the binary tensor extension, the
tensors of docs/remote.md.

  /usr/bin/python3 serve/server.py --checkpoint data/models/kjv-hmm-32-mix --port 8000
  /usr/bin/python3 serve/server.py --hf /models/LLaDA-8B-Instruct --name llada --device cuda --dtype bfloat16
  /usr/bin/python3 serve/server.py --random vocab=126464,mask=126336,length=256,hidden=2048,layers=16,heads=16,intermediate=8192 \
      --name rand1b --device cuda --dtype bfloat16

--checkpoint and --hf take DIR or NAME=DIR and may be repeated (the name
defaults to the directory's base name). With --port 0 the system picks a
free port; --port-file receives it once every model is loaded. Requests
for the same model, length and output kind that arrive while one is
being received are merged into one forward pass of at most --max-batch
sequences (waiting at most --batch-window-ms for them). Standard library
and PyTorch only.
"""

import argparse
import collections
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import adapters as A  # noqa: E402
import evidence as EV  # noqa: E402
import fasttopk as FT  # noqa: E402

PROTOCOL = "softdiff-denoiser/1"
DTYPES = {"FP32": np.dtype("<f4"), "INT32": np.dtype("<i4")}
# name: (datatype, rank)
INPUTS = {
    "evidence": ("FP32", 3),
    "evidence_ids": ("INT32", 3),
    "evidence_values": ("FP32", 3),
    "evidence_residual": ("FP32", 2),
    "t": ("FP32", 1),
    "token_ids": ("INT32", 2),
}
OUTPUTS = {
    "beliefs": ("FP32", 3),
    "logits": ("FP32", 3),
    "topk_ids": ("INT32", 3),
    "topk_probs": ("FP32", 3),
    "topk_residual": ("FP32", 2),
    "token_logprob": ("FP32", 2),
}
TOPK = ("topk_ids", "topk_probs", "topk_residual")
BINARY_ONLY = ("logits", "token_logprob")  # may hold −inf, which JSON cannot


class HTTPError(Exception):
    def __init__(self, status, msg, retry_after=None):
        super().__init__(msg)
        self.status, self.msg, self.retry_after = status, msg, retry_after


def bad(msg):
    return HTTPError(400, msg)


# ---------------------------------------------------------------- requests


def parse_infer(body, header_len, model):
    """Parse an infer request body into a Job (everything but the compute).
    Raises HTTPError(400) naming what is wrong."""
    if header_len is None:
        header_len = len(body)
    if not 0 < header_len <= len(body):
        raise bad("Inference-Header-Content-Length %d outside the body of %d bytes" % (header_len, len(body)))
    try:
        req = json.loads(bytes(body[:header_len]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise bad("request JSON: %s" % e)
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), list):
        raise bad("request JSON must be an object with an \"inputs\" array")
    off = header_len
    tensors = {}
    for j, inp in enumerate(req["inputs"]):
        if not isinstance(inp, dict):
            raise bad("inputs[%d] is not an object" % j)
        name = inp.get("name")
        if name not in INPUTS:
            raise bad("inputs[%d]: unknown input %r (inputs: %s)" % (j, name, ", ".join(INPUTS)))
        if name in tensors:
            raise bad("input %r given twice" % name)
        want_dt, rank = INPUTS[name]
        if inp.get("datatype") != want_dt:
            raise bad("input %r has datatype %r, want %s" % (name, inp.get("datatype"), want_dt))
        shape = inp.get("shape")
        if (not isinstance(shape, list) or len(shape) != rank
                or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)):
            raise bad("input %r has shape %r, want %d non-negative integers" % (name, shape, rank))
        n = int(np.prod(shape, dtype=np.int64))
        dt = DTYPES[want_dt]
        params = inp.get("parameters") or {}
        size = params.get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size != n * dt.itemsize:
                raise bad("input %r: binary_data_size %r, shape %s needs %d bytes" % (name, size, shape, n * dt.itemsize))
            if off + size > len(body):
                raise bad("input %r: binary data ends at byte %d of a %d-byte body" % (name, off + size, len(body)))
            arr = np.frombuffer(body, dtype=dt, count=n, offset=off)
            off += size
        else:
            data = inp.get("data")
            if data is None:
                raise bad("input %r has neither data nor binary_data_size" % name)
            try:
                arr = np.asarray(data, dtype=np.float64).ravel()
            except (TypeError, ValueError):
                raise bad("input %r: data is not an array of numbers" % name)
            if arr.size != n:
                raise bad("input %r: %d values for shape %s" % (name, arr.size, shape))
            if want_dt == "INT32":
                if not (np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2 ** 31)):
                    raise bad("input %r: data are not INT32 values" % name)
            arr = arr.astype(dt)
        tensors[name] = arr.reshape(shape)
    if off != len(body):
        raise bad("the body has %d bytes after the tensors' binary data" % (len(body) - off))
    return make_job(req, tensors, model)


def make_job(req, tensors, model):
    K, mask = model.K, model.mask
    if "t" not in tensors:
        raise bad("input \"t\" is required")
    t = tensors["t"]
    B = t.shape[0]
    if B < 1:
        raise bad("empty batch (t has 0 entries)")
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t > 1):
        raise bad("t must lie in [0, 1]")
    dense = "evidence" in tensors
    sparse = [n for n in ("evidence_ids", "evidence_values", "evidence_residual") if n in tensors]
    if dense == bool(sparse):
        raise bad("give either \"evidence\" or all of evidence_ids, evidence_values, evidence_residual")
    if dense:
        ev = tensors["evidence"]
        if ev.shape[0] != B or ev.shape[2] != K:
            raise bad("evidence has shape %s, want [%d, L, %d]" % (list(ev.shape), B, K))
        L, kin = ev.shape[1], 0
        ins = (ev,)
    else:
        if len(sparse) != 3:
            raise bad("sparse evidence needs all of evidence_ids, evidence_values, evidence_residual")
        ids, vals, res = tensors["evidence_ids"], tensors["evidence_values"], tensors["evidence_residual"]
        if ids.shape[0] != B or vals.shape != ids.shape or res.shape != ids.shape[:2] or ids.shape[2] < 1:
            raise bad("sparse evidence shapes %s, %s, %s: want [%d, L, k], [%d, L, k], [%d, L] with k >= 1"
                      % (list(ids.shape), list(vals.shape), list(res.shape), B, B, B))
        L, kin = ids.shape[1], ids.shape[2]
        ins = (ids, vals, res)
    if not 1 <= L <= model.max_len:
        raise bad("length %d outside 1…%d (the model's positions)" % (L, model.max_len))
    params = req.get("parameters") or {}
    bin_all = params.get("binary_data_output") is True
    outs = req.get("outputs")
    if outs is None:
        outs = [{"name": "beliefs"}]
    if not isinstance(outs, list) or not outs:
        raise bad("\"outputs\" must be a non-empty array")
    names, binary = [], {}
    for o in outs:
        name = o.get("name") if isinstance(o, dict) else None
        if name not in OUTPUTS:
            raise bad("unknown output %r (outputs: %s)" % (name, ", ".join(OUTPUTS)))
        if name in binary:
            raise bad("output %r requested twice" % name)
        b = (o.get("parameters") or {}).get("binary_data", bin_all)
        if name in BINARY_ONLY and b is not True:
            raise bad("output %r may hold -inf and is sent as binary data only (set binary_data)" % name)
        names.append(name)
        binary[name] = b is True
    has_topk = [n for n in TOPK if n in binary]
    top_k = 0
    if has_topk:
        if len(has_topk) != 3:
            raise bad("request topk_ids, topk_probs and topk_residual together")
        top_k = params.get("top_k")
        if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= K - 1:
            raise bad("parameter top_k = %r, want an integer in 1…%d" % (top_k, K - 1))
    tok = None
    if "token_logprob" in binary:
        tok = tensors.get("token_ids")
        if tok is None or tok.shape != (B, L):
            raise bad("output token_logprob needs input token_ids of shape [%d, %d]" % (B, L))
        if np.any(tok < 0) or np.any(tok >= K):
            raise bad("token_ids outside [0, %d)" % K)
    elif "token_ids" in tensors:
        raise bad("input token_ids is only read for output token_logprob")
    sig = (id(model), L, kin, tuple(names), top_k)
    return Job(sig, B, ins, tok, names, binary, top_k, req.get("id"))


class Job:
    def __init__(self, sig, B, ins, tok, names, binary, top_k, rid):
        self.sig, self.B, self.ins, self.tok = sig, B, ins, tok
        self.names, self.binary, self.top_k, self.id = names, binary, top_k, rid
        self.done = threading.Event()
        self.result = None  # {name: np.ndarray}
        self.error = None  # HTTPError
        self.stats = {}


# ---------------------------------------------------------------- compute


def compute(model, ins, tok, names, top_k):
    """Run the model on one batch; return ({name: np.ndarray}, forward_ms).

    A request for the top-k outputs alone, with sparse evidence or a model
    without evidence skip, takes the fast path: topk_posterior on the
    network's own logits, one copy of the results to the host. Every other
    request materialises the float32 posterior logits."""
    dev = model.device
    if len(ins) == 1:
        inp = EV.Dense(torch.from_numpy(ins[0]).to(dev), model.mask, model.pdt)
    else:
        # validated on the host (small arrays), so nothing waits for the GPU
        EV.check_sparse(*ins, model.K)
        hard = EV.hard_sparse(*ins, model.mask)
        if hard is not None:  # the Go client's hard rows: a few kernels
            v = ins[1].max(-1)  # each row's one positive value
            inp = EV.Sparse.plain_hard(torch.from_numpy(hard).to(dev), torch.from_numpy(v).to(dev),
                                       model.K, model.mask, model.pdt)
        else:
            ids, vals, res = (torch.from_numpy(a).to(dev) for a in ins)
            inp = EV.Sparse(ids, vals, res, model.K, model.mask, model.pdt, checked=True)
    with torch.no_grad():
        skip = getattr(model, "skip", True)
        if (top_k and len(names) == len(TOPK) and hasattr(model, "raw_logits")
                and (not skip or isinstance(inp, EV.Sparse))):
            # No synchronisation until the answer is on the host: the
            # post-processing is queued while the forward runs, and the
            # normaliser's check travels with the answer.
            zr, fwd = model.raw_logits(inp)
            parts = inp.skip_parts() if skip else None
            i, p, r, lse = topk_posterior(zr, model.mask, top_k, model.pdt, parts)
            hi, hp, hr, hbad = to_host((i, p, r, (~torch.isfinite(lse)).int()))
            check_bad_rows(hbad)
            return {"topk_ids": hi, "topk_probs": hp, "topk_residual": hr}, A.forward_ms(fwd)
        z, fwd = model.logits(inp)
        # log Σ exp z is finite exactly when the row has no NaN, no +inf and
        # some finite logit: one pass checks the model's output.
        lse = torch.logsumexp(z, -1)
        check_normaliser(lse)
        out = {}
        for n in names:
            if n == "beliefs":
                out[n] = torch.softmax(z, -1)
            elif n == "logits":
                out[n] = z
            elif n == "token_logprob":
                t = torch.from_numpy(tok).to(dev).long()
                out[n] = z.gather(-1, t[..., None])[..., 0] - lse
        if top_k:
            # on a copy when z is itself an output (topk_posterior overwrites it)
            zt = z.clone() if "logits" in names else z
            out["topk_ids"], out["topk_probs"], out["topk_residual"], _ = topk_posterior(zt, model.mask, top_k, model.pdt)
        res = {}
        for n in names:
            a = out[n].cpu().numpy()
            res[n] = a.astype(DTYPES[OUTPUTS[n][0]], copy=False)
    return res, A.forward_ms(fwd)


def check_normaliser(lse):
    """Raise ModelError at the first row whose log-normaliser lse [B, L] is
    not finite: NaN, +inf or only −inf among the row's logits."""
    bad_row = ~torch.isfinite(lse)
    if bool(bad_row.any()):
        b, i = [int(x) for x in bad_row.nonzero()[0]]
        raise ModelError("sequence %d, position %d: the model's logits are NaN, +inf or all -inf" % (b, i))


def check_bad_rows(bad):
    """check_normaliser on the host: bad [B, L] is nonzero where the row's
    log-normaliser is not finite."""
    if bad.any():
        b, i = (int(x) for x in np.argwhere(bad)[0])
        raise ModelError("sequence %d, position %d: the model's logits are NaN, +inf or all -inf" % (b, i))


def topk_posterior(z, mask, k, pdt, skip=None):
    """The k most probable tokens of each row of softmax(z + s) over the
    tokens (MASK excluded), without materialising the posterior.

    z [B, L, K] is the network's logits in any float dtype and is
    overwritten; s is 0 (skip None) or a sparse batch's evidence skip given
    by its parts (Sparse.skip_parts: idx, tok, logl_idx, logl_u; s =
    logl_idx at the listed tokens, logl_u elsewhere). The listed tokens' logits are
    gathered and their entries of z, and MASK's, set to −inf; then the top
    k of the unlisted tokens and their normaliser log Σ exp z by
    fasttopk.topk_lse (in z's dtype: bfloat16 halves the bytes read and
    ranks as float32 would; on a CUDA device with Triton one kernel reads
    the logits once for the chunk maxima and a float32 online log-sum-exp,
    elsewhere float32 terms z − max with float64 partial sums), and the
    unlisted top k merged with the listed tokens in pdt. Returns ids int32 [B, L, k] (−1
    where the probability is 0), probs float32 [B, L, k] (non-increasing),
    residual float32 [B, L] (1 − Σ probs, the sum in float64, at least 0)
    and the log-normaliser lse [B, L] in pdt, not finite where the row's
    logits are NaN, +inf or all −inf (the caller's check)."""
    neg = float("-inf")
    if skip is not None:
        idx, tok, logl_idx, logl_u = skip
        listed = z.gather(-1, idx).to(pdt) + logl_idx
        listed = torch.where(tok, listed, torch.full_like(listed, neg))
        z.scatter_(-1, idx, neg)
    z[..., mask] = neg
    B, L, K = z.shape
    # the top k and the normaliser of the unlisted tokens (fasttopk: chunk
    # maxima and the float32 log-sum-exp in one pass, top k over k chunks)
    v, i, lse = FT.topk_lse(z.reshape(B * L, K), k)
    v, i, lse = v.view(B, L, k).to(pdt), i.view(B, L, k), lse.view(B, L).to(pdt)
    if skip is not None:
        lse = torch.logaddexp(lse + logl_u, torch.logsumexp(listed, -1))
        cand = torch.cat([v + logl_u[..., None], listed], -1)
        v, j = torch.topk(cand, k, dim=-1)
        i = torch.cat([i, idx], -1).gather(-1, j)
    p = torch.exp(v - lse[..., None])
    pos = p > 0
    ids = torch.where(pos, i, torch.full_like(i, -1)).int()
    probs = torch.where(pos, p, torch.zeros_like(p)).float()
    res = (1 - probs.double().sum(-1)).clamp(min=0).float()
    return ids, probs, res, lse


row_sum = FT.row_sum  # kept here for callers of server.row_sum


def to_host(ts):
    """NumPy copies of 4-byte tensors ts on the host: on a GPU one
    device-to-host copy of all of them (packed as int32 bits) into pinned
    memory from PyTorch's caching host allocator; on the CPU the tensors
    themselves."""
    if ts[0].device.type == "cpu":
        return tuple(t.contiguous().numpy() for t in ts)
    flat = torch.cat([t.reshape(-1).view(torch.int32) for t in ts])
    host = torch.empty(flat.shape, dtype=torch.int32, pin_memory=True)
    host.copy_(flat, non_blocking=True)
    torch.cuda.current_stream(flat.device).synchronize()
    out, off, a = [], 0, host.numpy()
    for t in ts:
        n = t.numel()
        out.append(a[off:off + n].view(DTYPES["FP32"] if t.dtype == torch.float32 else DTYPES["INT32"]).reshape(t.shape))
        off += n
    return tuple(out)


class ModelError(Exception):
    pass


class Batcher:
    """Merges queued jobs of one signature into batches of at most max_batch
    sequences, waiting up to window seconds while requests are still being
    received."""

    def __init__(self, max_batch, window, max_queue):
        self.max_batch, self.window, self.max_queue = max_batch, window, max_queue
        self.cv = threading.Condition()
        self.queue = collections.deque()
        self.queued = 0
        self.arriving = 0

    def begin(self):
        with self.cv:
            self.arriving += 1

    def end(self):
        with self.cv:
            self.arriving -= 1
            self.cv.notify_all()

    def submit(self, job):
        with self.cv:
            if self.queue and self.queued + job.B > self.max_queue:
                raise HTTPError(503, "server busy: %d sequences queued" % self.queued, retry_after=1)
            self.queue.append(job)
            self.queued += job.B
            self.cv.notify_all()

    def take(self):
        with self.cv:
            while not self.queue:
                self.cv.wait()
            first = self.queue.popleft()
            group, n = [first], first.B
            deadline = time.monotonic() + self.window
            while n < self.max_batch:
                for j in list(self.queue):
                    if j.sig == first.sig and n + j.B <= self.max_batch:
                        self.queue.remove(j)
                        group.append(j)
                        n += j.B
                left = deadline - time.monotonic()
                if n >= self.max_batch or self.arriving == 0 or left <= 0:
                    break
                self.cv.wait(left)
            self.queued -= n
            return group


def worker(batcher, models):
    while True:
        group = batcher.take()
        run_group(group)


def run_group(group):
    model = group[0].model
    t0 = time.perf_counter()
    try:
        if len(group) == 1:
            ins, tok = group[0].ins, group[0].tok
        else:
            ins = tuple(np.concatenate([j.ins[a] for j in group]) for a in range(len(group[0].ins)))
            tok = np.concatenate([j.tok for j in group]) if group[0].tok is not None else None
        res, fwd = compute(model, ins, tok, group[0].names, group[0].top_k)
    except (EV.EvidenceError, ModelError) as e:
        if len(group) > 1:  # find the request at fault, with its own sequence numbers
            for j in group:
                run_group([j])
            return
        status = 400 if isinstance(e, EV.EvidenceError) else 500
        group[0].error = HTTPError(status, str(e))
        group[0].done.set()
        return
    except Exception as e:  # noqa: BLE001 — a failed forward answers 500, never a wrong belief
        for j in group:
            j.error = HTTPError(500, "%s: %s" % (type(e).__name__, e))
            j.done.set()
        return
    ms = (time.perf_counter() - t0) * 1e3
    b = 0
    for j in group:
        j.result = {n: a[b:b + j.B] for n, a in res.items()}
        j.stats = {"softdiff_forward_ms": round(fwd, 4), "softdiff_compute_ms": round(ms, 4),
                   "softdiff_batch": sum(x.B for x in group)}
        b += j.B
        j.done.set()


# ---------------------------------------------------------------- HTTP


def metadata(name, model, max_batch):
    K = model.K

    def t(n, spec):
        dt, rank = spec
        shape = [-1] * rank
        if n in ("evidence", "beliefs", "logits"):
            shape[-1] = K
        return {"name": n, "datatype": dt, "shape": shape}

    return {"name": name, "versions": ["1"], "platform": model.platform,
            "inputs": [t(n, s) for n, s in INPUTS.items()],
            "outputs": [t(n, s) for n, s in OUTPUTS.items()],
            "parameters": {"softdiff_protocol": PROTOCOL, "vocab_size": K, "mask_token_id": model.mask,
                           "max_length": model.max_len, "max_batch": max_batch}}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "softdiff-serve/1"
    # Small answers are written in two pieces (headers, body): without
    # TCP_NODELAY the second waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("serve: " + fmt % args + "\n")

    def send_json(self, status, obj, extra=None):
        b = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def send_error_json(self, e):
        extra = {"Retry-After": str(e.retry_after)} if e.retry_after else None
        self.send_json(e.status, {"error": e.msg}, extra)

    def route(self):
        """(model name or None, rest of the path) of a /v2/models/NAME[/versions/V]/... path."""
        p = self.path.split("?", 1)[0].rstrip("/")
        parts = p.split("/")
        if len(parts) < 4 or parts[1] != "v2" or parts[2] != "models":
            return None, None
        name, rest = parts[3], parts[4:]
        if len(rest) >= 2 and rest[0] == "versions":
            if rest[1] != "1":
                raise HTTPError(404, "model %r has no version %r (versions: 1)" % (name, rest[1]))
            rest = rest[2:]
        if name not in self.server.models:
            raise HTTPError(404, "unknown model %r (served: %s)" % (name, ", ".join(self.server.models)))
        return name, "/".join(rest)

    def do_GET(self):
        try:
            p = self.path.split("?", 1)[0].rstrip("/")
            if p == "/v2/health/live":
                return self.send_json(200, {"live": True})
            if p == "/v2/health/ready":
                return self.send_json(200, {"ready": True})
            if p == "/v2":
                return self.send_json(200, {"name": "softdiff-serve", "version": "1", "extensions": ["binary_tensor_data"]})
            name, rest = self.route()
            if name is None:
                raise HTTPError(404, "no such endpoint %s" % self.path)
            if rest == "":
                return self.send_json(200, metadata(name, self.server.models[name], self.server.batcher.max_batch))
            if rest == "ready":
                return self.send_json(200, {"name": name, "ready": True})
            raise HTTPError(404, "no such endpoint %s" % self.path)
        except HTTPError as e:
            self.send_error_json(e)

    def do_POST(self):
        b = self.server.batcher
        b.begin()
        ended = False
        try:
            name, rest = self.route()
            if name is None or rest != "infer":
                raise HTTPError(404, "no such endpoint %s" % self.path)
            n = self.headers.get("Content-Length")
            if n is None or not n.isdigit():
                raise HTTPError(411, "Content-Length is required")
            n = int(n)
            if n > self.server.max_body:
                raise HTTPError(413, "body of %d bytes exceeds the limit of %d" % (n, self.server.max_body))
            body = bytearray(n)
            mv, got = memoryview(body), 0
            while got < n:
                r = self.rfile.readinto(mv[got:])
                if not r:
                    self.close_connection = True
                    return
                got += r
            hl = self.headers.get("Inference-Header-Content-Length")
            if hl is not None and not hl.strip().isdigit():
                raise bad("Inference-Header-Content-Length %r is not a byte count" % hl)
            model = self.server.models[name]
            job = parse_infer(body, int(hl) if hl is not None else None, model)
            job.model = model
            b.submit(job)
            b.end()
            ended = True
            job.done.wait()
            if job.error is not None:
                raise job.error
            self.send_result(name, job)
        except HTTPError as e:
            self.send_error_json(e)
        finally:
            if not ended:
                b.end()

    def send_result(self, name, job):
        outs, blobs = [], []
        for n in job.names:
            a = np.ascontiguousarray(job.result[n])
            o = {"name": n, "datatype": OUTPUTS[n][0], "shape": list(a.shape)}
            if job.binary[n]:
                o["parameters"] = {"binary_data_size": a.nbytes}
                blobs.append(a)
            else:
                o["data"] = a.ravel().tolist()
            outs.append(o)
        resp = {"model_name": name, "model_version": "1", "outputs": outs, "parameters": job.stats}
        if job.id is not None:
            resp["id"] = job.id
        head = json.dumps(resp).encode()
        hdr = ["HTTP/1.1 200 OK", "Server: " + self.version_string(), "Date: " + self.date_time_string()]
        if blobs:
            hdr += ["Content-Type: application/octet-stream", "Inference-Header-Content-Length: %d" % len(head)]
        else:
            hdr.append("Content-Type: application/json")
        hdr.append("Content-Length: %d" % (len(head) + sum(a.nbytes for a in blobs)))
        self.log_request(200, len(head))
        # the status line, headers, JSON and tensors in one system call (or
        # a few: sendmsg may take part of them)
        send_parts(self.connection, [("\r\n".join(hdr) + "\r\n\r\n").encode("latin-1"), head]
                   + [memoryview(a).cast("B") for a in blobs])


def send_parts(sock, parts):
    """Send the byte buffers parts, in order, with sendmsg until all is sent."""
    parts = [memoryview(p) for p in parts if len(p)]
    while parts:
        n = sock.sendmsg(parts)
        while parts and n >= len(parts[0]):
            n -= len(parts[0])
            parts.pop(0)
        if n:
            parts[0] = parts[0][n:]


def named(spec):
    if "=" in spec:
        n, p = spec.split("=", 1)
        return n, p
    return os.path.basename(os.path.normpath(spec)), spec


def parse_random(spec):
    out = {}
    for kv in spec.split(","):
        k, _, v = kv.partition("=")
        out[k.strip()] = int(v)
    need = ("vocab", "mask", "length", "hidden", "layers", "heads", "intermediate")
    miss = [k for k in need if k not in out]
    if miss:
        raise SystemExit("--random: missing %s" % ", ".join(miss))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", action="append", default=[], help="softdiff checkpoint DIR or NAME=DIR")
    ap.add_argument("--hf", action="append", default=[], help="Hugging Face model DIR or NAME=DIR")
    ap.add_argument("--random", help="random softdiff denoiser: vocab=,mask=,length=,hidden=,layers=,heads=,intermediate=")
    ap.add_argument("--name", default="random", help="name of the --random model")
    ap.add_argument("--seed", type=int, default=0, help="seed of the --random weights")
    ap.add_argument("--mask-id", type=int, help="MASK id of the --hf models (default: their config's mask_token_id)")
    ap.add_argument("--shift-logits", action="store_true", help="--hf models predict position i at output i-1 (Dream)")
    ap.add_argument("--no-likelihood", action="store_true",
                    help="--hf models: do not multiply the beliefs by the evidence likelihood")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000, help="0: any free port")
    ap.add_argument("--port-file", help="write the bound port here once ready")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    ap.add_argument("--max-batch", type=int, default=64, help="sequences per merged forward pass")
    ap.add_argument("--batch-window-ms", type=float, default=2.0)
    ap.add_argument("--max-queue", type=int, default=4096, help="queued sequences before answering 503")
    ap.add_argument("--max-body-mb", type=int, default=16384)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    dtype = getattr(torch, a.dtype)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    models = {}
    for spec in a.checkpoint:
        n, p = named(spec)
        models[n] = A.SoftdiffAdapter.load(p, dev, dtype)
    for spec in a.hf:
        n, p = named(spec)
        models[n] = A.HFAdapter(p, dev, dtype, mask_id=a.mask_id, shift=a.shift_logits, likelihood=not a.no_likelihood)
    if a.random:
        models[a.name] = A.SoftdiffAdapter.random(parse_random(a.random), dev, dtype, a.seed)
        print("serve: %s: %.3g parameters" % (a.name, models[a.name].num_params()), flush=True)
    if not models:
        raise SystemExit("nothing to serve: give --checkpoint, --hf or --random")
    batcher = Batcher(a.max_batch, a.batch_window_ms / 1e3, a.max_queue)
    srv = ThreadingHTTPServer((a.host, a.port), Handler)
    srv.daemon_threads = True
    srv.models, srv.batcher, srv.verbose = models, batcher, a.verbose
    srv.max_body = a.max_body_mb << 20
    threading.Thread(target=worker, args=(batcher, models), daemon=True).start()
    port = srv.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, a.port_file)
    print("serve: %s on http://%s:%d (%s, %s)" % (", ".join(models), a.host, port, dev, a.dtype), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
