#!/usr/bin/python3
"""Where the server's compute of a top-k request goes, on a GPU: for B = 1
and 8 hard sparse rows (the Go client's form: one listed state a position,
every other position MASK), L = 256, top-k 64, a random softdiff denoiser
of LLaDA-8B's width (d = 4096, K = 126 464, MASK 126 336, GELU MLP 18 432)
with LAYERS layers (default 2: the fixed costs do not depend on depth):

  python3 serve/profile_compute.py [LAYERS]

prints server.compute's wall time and the forward as its CUDA events time
it (their difference is the compute outside the forward), the same steps
one at a time with a synchronisation after each (host checks, uploads,
the input's tensors, forward, top-k post-processing, copy to the host),
torch.profiler's table of one call by GPU time, and the post-processing's
pieces alone. Needs a CUDA device.
"""
import os, sys, time, statistics
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np, torch
import server as S, adapters as A, evidence as EV
dev = torch.device("cuda")
spec = dict(vocab=126464, mask=126336, length=256, hidden=4096, layers=int(sys.argv[1]) if len(sys.argv) > 1 else 2, heads=32, intermediate=18432)
m = A.SoftdiffAdapter.random(spec, dev, torch.bfloat16, 0)
names = list(S.TOPK)
g = np.random.default_rng(0)
def ins_for(B):
    ids = g.integers(0, 126000, size=(B, 256, 1)).astype(np.int32); ids[:, 1::2] = 126336
    return (ids, np.ones((B, 256, 1), np.float32), np.zeros((B, 256), np.float32))
def sync(): torch.cuda.synchronize()
for B in (1, 8):
    ins = ins_for(B)
    for _ in range(3): S.compute(m, ins, None, names, 64)
    T, F = [], []
    for _ in range(10):
        sync(); t0 = time.perf_counter(); _, f = S.compute(m, ins, None, names, 64); t1 = time.perf_counter()
        T.append((t1 - t0) * 1e3); F.append(f)
    print("B=%d compute %.2f fwd %.2f non-fwd %.2f ms" % (B, statistics.median(T), statistics.median(F), statistics.median(T) - statistics.median(F)))
    # phases, synchronised
    with torch.no_grad():
        ph = {}
        for _ in range(5):
            sync(); t = [time.perf_counter()]
            EV.check_sparse(*ins, m.K); hard = EV.hard_sparse(*ins, m.mask); t.append(time.perf_counter())
            hd = torch.from_numpy(hard).to(dev); vv = torch.from_numpy(ins[1].max(-1)).to(dev); sync(); t.append(time.perf_counter())
            inp = EV.Sparse.plain_hard(hd, vv, m.K, m.mask, m.pdt); sync(); t.append(time.perf_counter())
            zr, sw = m.raw_logits(inp); sync(); t.append(time.perf_counter())
            i, p, r, lse = S.topk_posterior(zr, m.mask, 64, m.pdt, inp.skip_parts()); sync(); t.append(time.perf_counter())
            out = S.to_host((i, p, r, (~torch.isfinite(lse)).int())); t.append(time.perf_counter())
            for n, (a, b) in zip(("host-check", "h2d", "sparse", "forward", "post", "to_host"), zip(t, t[1:])):
                ph.setdefault(n, []).append((b - a) * 1e3)
        print("  phases (synced) " + "  ".join("%s %.3f" % (n, statistics.median(v)) for n, v in ph.items()))
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        S.compute(m, ins, None, names, 64)
    ka = prof.key_averages()
    nk = sum(e.count for e in ka if e.device_type is not None and str(e.device_type).endswith("CUDA"))
    print("  kernels/launch events:", sum(e.count for e in ka if e.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC")), " syncs:", sum(e.count for e in ka if "Synchronize" in e.key), " memcpy:", sum(e.count for e in ka if "Memcpy" in e.key))
    print(ka.table(sort_by="self_cuda_time_total", row_limit=25))
    # post-processing pieces, synchronised, 10 reps each
    with torch.no_grad():
        inp = EV.Sparse.plain_hard(torch.from_numpy(EV.hard_sparse(*ins, m.mask)).to(dev), torch.from_numpy(ins[1].max(-1)).to(dev), m.K, m.mask, m.pdt)
        zr, _ = m.raw_logits(inp)
        import fasttopk as FT
        z2 = zr.reshape(-1, m.K).contiguous()
        def tm(f):
            f(); sync(); t0 = time.perf_counter()
            for _ in range(10): f()
            sync(); return (time.perf_counter() - t0) * 100
        print("  pieces ms: chunkmax_lse %.3f  topk_lse %.3f  topk_posterior %.3f  to_host %.3f" % (
            tm(lambda: FT.chunkmax_lse(z2)), tm(lambda: FT.topk_lse(z2, 64)),
            tm(lambda: S.topk_posterior(zr.clone(), m.mask, 64, m.pdt, inp.skip_parts())),
            tm(lambda: S.to_host((torch.zeros(B, 256, 64, dtype=torch.int32, device=dev), torch.zeros(B, 256, 64, device=dev), torch.zeros(B, 256, device=dev), torch.zeros(B, 256, dtype=torch.int32, device=dev))))))
        print("  clone alone %.3f" % tm(lambda: zr.clone()))
