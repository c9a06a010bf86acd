#!/usr/bin/python3
"""The server's compute outside the network's forward, for a top-k request,
before and after topk_posterior, in one run:

  nice -n 19 /usr/bin/python3 serve/bench_nonforward.py --vocab 32768 --len 64 --batches 1,8 --top-k 64

A random softdiff denoiser (--hidden, --layers; MASK the last state) on
--device, hard sparse evidence as the Go client sends it (one listed state
per position, every other position MASK), top-k outputs alone. For each
batch size B, --reps timed calls of each path after one warm-up; the
median of compute − forward (the forward as the adapter times it), and of
building the answer's body (JSON head + binary tensors, as send_result
does). "before" is the compute of commit e02aa3d (float32 posterior logits
with the skip, torch.logsumexp, torch.topk, one host copy per output),
kept here verbatim; "after" is server.compute. The two answers are
checked to agree before timing (probabilities and residuals to --tol;
the same ids for a float32 model, where ties are rare).

On the GPU, the isolated figure for the H200 (the shape of bench_gpu.sh
but one layer):

  python3 serve/bench_nonforward.py --device cuda --dtype bfloat16 --vocab 126464 --len 256 \
      --hidden 2048 --layers 1 --batches 1,8,64 --top-k 64
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import adapters as A  # noqa: E402
import evidence as EV  # noqa: E402
import server as S  # noqa: E402


def compute_before(model, ins, tok, names, top_k):
    """server.compute as of commit e02aa3d (the top-k branch)."""
    dev = model.device
    if len(ins) == 1:
        inp = EV.Dense(torch.from_numpy(ins[0]).to(dev), model.mask, model.pdt)
    else:
        ids, vals, res = (torch.from_numpy(a).to(dev) for a in ins)
        inp = EV.Sparse(ids, vals, res, model.K, model.mask, model.pdt)
    with torch.no_grad():
        z, fwd = model.logits(inp)
        lse = torch.logsumexp(z, -1)
        bad_row = ~torch.isfinite(lse)
        if bool(bad_row.any()):
            raise S.ModelError("bad logits")
        out = {}
        if top_k:
            v, i = torch.topk(z, top_k, dim=-1)
            p = torch.exp(v - lse[..., None])
            pos = p > 0
            out["topk_ids"] = torch.where(pos, i, torch.full_like(i, -1)).int()
            out["topk_probs"] = torch.where(pos, p, torch.zeros_like(p))
            out["topk_residual"] = (1 - out["topk_probs"].double().sum(-1)).clamp(min=0).float()
        res = {}
        for n in names:
            a = out[n].cpu().numpy()
            res[n] = a.astype(S.DTYPES[S.OUTPUTS[n][0]], copy=False)
    return res, fwd


def body(res, names):
    """The answer's bytes as Handler.send_result builds them."""
    outs, blobs = [], []
    for n in names:
        a = np.ascontiguousarray(res[n])
        outs.append({"name": n, "datatype": S.OUTPUTS[n][0], "shape": list(a.shape),
                     "parameters": {"binary_data_size": a.nbytes}})
        blobs.append(memoryview(a).cast("B"))
    head = json.dumps({"model_name": "random", "model_version": "1", "outputs": outs,
                       "parameters": {"softdiff_forward_ms": 1.0, "softdiff_compute_ms": 2.0, "softdiff_batch": 1}}).encode()
    return [head] + blobs


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=32768)
    ap.add_argument("--len", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--top-k", type=int, default=64)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--tol", type=float, default=1e-5, help="agreement of the two answers' probabilities")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    K, mask = a.vocab, a.vocab - 1
    spec = dict(vocab=K, mask=mask, length=a.len, hidden=a.hidden, layers=a.layers,
                heads=max(2, a.hidden // 128), intermediate=2 * a.hidden)
    model = A.SoftdiffAdapter.random(spec, dev, getattr(torch, a.dtype), 0)
    names = list(S.TOPK)
    print("K = %d, L = %d, top-k %d, d = %d, %d layer(s), %s %s, %d torch threads; ms, median of %d"
          % (K, a.len, a.top_k, a.hidden, a.layers, dev, a.dtype, torch.get_num_threads(), a.reps))
    print("| path | B | forward | non-forward | body | out KiB |")
    print("|---|--:|--:|--:|--:|--:|")
    g = np.random.default_rng(0)
    for B in [int(x) for x in a.batches.split(",")]:
        ids = g.integers(0, K - 1, size=(B, a.len, 1)).astype(np.int32)
        ids[:, 1::2] = mask
        ins = (ids, np.ones((B, a.len, 1), np.float32), np.zeros((B, a.len), np.float32))
        r0, _ = compute_before(model, ins, None, names, a.top_k)
        r1, _ = S.compute(model, ins, None, names, a.top_k)
        x, y = np.sort(r0["topk_ids"], -1), np.sort(r1["topk_ids"], -1)
        other = int((x != y).any(-1).sum())  # rows whose k-th place is a tie (bfloat16 logits) may list other ids
        p0 = np.sort(r0["topk_probs"], -1)
        p1 = np.sort(r1["topk_probs"], -1)
        dp = float(np.abs(p0 - p1).max())
        dr = float(np.abs(r0["topk_residual"] - r1["topk_residual"]).max())
        if not (dp < a.tol and dr < a.tol) or (a.dtype == "float32" and other):
            raise SystemExit("B = %d: before and after disagree: probabilities by %g, residuals by %g, %d rows list other ids"
                             % (B, dp, dr, other))
        for label, fn in (("before", compute_before), ("after", S.compute)):
            nf, fw, bd = [], [], []
            for _ in range(a.reps):
                sync(dev)
                t0 = time.perf_counter()
                res, f = fn(model, ins, None, names, a.top_k)
                sync(dev)
                t1 = time.perf_counter()
                chunks = body(res, names)
                t2 = time.perf_counter()
                nf.append((t1 - t0) * 1e3 - f)
                fw.append(f)
                bd.append((t2 - t1) * 1e3)
            kib = sum(len(c) for c in chunks) / 1024
            print("| %s | %d | %.2f | %.2f | %.3f | %.0f |" % (label, B, statistics.median(fw), statistics.median(nf),
                                                               statistics.median(bd), kib), flush=True)


if __name__ == "__main__":
    main()
