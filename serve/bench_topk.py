#!/usr/bin/python3
"""The top-k answer's pieces over one logits matrix, timed alone:

  python3 serve/bench_topk.py --device cuda --dtype bfloat16 --vocab 126464 --rows 256,2048,16384 --top-k 64

For R rows of K random logits (N(0, 3²), in --dtype), the median of --reps
synchronised calls after two warm-ups, in ms, of

  torch.topk       torch.topk(z, k) over the whole row
  old              the path before fasttopk: torch.topk, then z − max in
                   float32, its exp and row_sum (serve.server as of 684ebd6^)
  chunk+torch      fasttopk.topk_lse with the PyTorch chunk maxima and
                   float32 terms (the path without Triton)
  chunk+triton     fasttopk.topk_lse with the Triton kernel (CUDA only)
  triton kernel    the kernel alone (chunk maxima and normaliser)
  read once        z.amax(-1): one read of the logits, a floor for any pass

and the answers of the fast paths against the old one (the same top-k
values; normalisers within 1e-6 relative) before timing. GB/s is the
logits' bytes over the time.
"""

import argparse
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fasttopk as FT  # noqa: E402


def old_path(z, k):
    v, i = torch.topk(z, k, dim=-1)
    m = v[:, 0].float()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    e = z.float().sub_(m[:, None]) if z.dtype != torch.float32 else z.sub(m[:, None])
    lse = m.double() + torch.log(FT.row_sum(e.exp_()))
    return v, i, lse


def timeit(fn, dev, reps):
    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    for _ in range(2):
        fn()
    sync()
    ts = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--vocab", type=int, default=126464)
    ap.add_argument("--rows", default="256,2048")
    ap.add_argument("--top-k", type=int, default=64)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    dev, dt, K, k = torch.device(a.device), getattr(torch, a.dtype), a.vocab, a.top_k
    tri = FT.triton_ok(dev)
    print("device %s, dtype %s, K %d, k %d, Triton %s, torch %s" % (
        dev, a.dtype, K, k, FT.triton.__version__ if tri else "absent", torch.__version__))
    if dev.type == "cuda":
        print("gpu:", torch.cuda.get_device_name(dev))
    print()
    print("| rows | bytes MB | path | ms | GB/s |")
    print("|--:|--:|---|--:|--:|")
    with torch.no_grad():
        for R in [int(x) for x in a.rows.split(",")]:
            g = torch.Generator(device=dev).manual_seed(R)
            z = (torch.randn(R, K, generator=g, device=dev) * 3).to(dt)
            v0, _, l0 = old_path(z, k)
            paths = [("chunk+torch", lambda: FT.topk_lse(z, k, False))]
            if tri:
                paths.append(("chunk+triton", lambda: FT.topk_lse(z, k, True)))
            for name, fn in paths:
                v, i, lse = fn()
                if not torch.equal(v, v0):
                    raise SystemExit("%s: top-k values differ from the old path at R = %d" % (name, R))
                rel = float(((lse.double() - l0) / l0.abs().clamp(min=1)).abs().max())
                if not rel <= 1e-6:
                    raise SystemExit("%s: normaliser off by %.3g relative at R = %d" % (name, rel, R))
            mb = z.numel() * z.element_size() / 1e6
            rows = [("torch.topk", lambda: torch.topk(z, k, dim=-1)),
                    ("old", lambda: old_path(z, k)),
                    ("chunk+torch", lambda: FT.topk_lse(z, k, False))]
            if tri:
                rows += [("chunk+triton", lambda: FT.topk_lse(z, k, True)),
                         ("triton kernel", lambda: FT.chunkmax_lse(z, True))]
            rows.append(("read once", lambda: z.amax(-1)))
            for name, fn in rows:
                ms = timeit(fn, dev, a.reps)
                print("| %d | %.0f | %s | %.3f | %.0f |" % (R, mb, name, ms, mb / ms))
            del z


if __name__ == "__main__":
    main()
