#!/usr/bin/python3
"""PyTorch CPU reference timings for the Go forward of package nn (bench/nn.sh).

For each checkpoint directory given, load its weights (train/model.py, the
architecture the Go forward matches to 1e-4), tile the first sequence of its
parity fixture B times (the Go benchmark's inputs), and time the whole
denoiser call in float32 — evidence to canonical weights and log ℓ̂, the
transformer, the skip, softmax — under torch.inference_mode at the given
thread count. Also times a float32 n×n×n matmul (the machine's
matrix-multiply rate for that library). Prints lines
  impl=torch model=<name> B=<B> threads=<t> seconds=<median>
  impl=torch matmul n=<n> threads=<t> gflops=<rate>
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
import model as M  # noqa: E402
import safetensors_io as ST  # noqa: E402

REPS = 15


def load(dirname):
    import json
    with open(os.path.join(dirname, "config.json")) as f:
        cfg = json.load(f)
    cfg.pop("training", None)
    net = M.Denoiser(cfg)
    w, _ = ST.read(os.path.join(dirname, "model.safetensors"))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()}, strict=True)
    net.eval()
    fix, _ = ST.read(os.path.join(dirname, "parity.safetensors"))
    return net, cfg, torch.from_numpy(fix["evidence"][0])


def denoise(net, ev, mask):
    w, logl = M.evidence_inputs(ev, mask, dtype=torch.float32, check=False)
    return torch.softmax(net(w, logl), -1)


def timeit(f):
    f()
    ts = []
    for _ in range(REPS):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    threads = int(os.environ.get("THREADS", "1"))
    torch.set_num_threads(threads)
    with torch.inference_mode():
        for n in (256, 512, 1024):
            a, b = torch.randn(n, n), torch.randn(n, n)
            s = timeit(lambda: torch.matmul(a, b.t()))
            print("impl=torch matmul n=%d threads=%d gflops=%.2f" % (n, threads, 2 * n ** 3 / s / 1e9), flush=True)
        for d in sys.argv[1:]:
            net, cfg, ev0 = load(d)
            mask = cfg["mask_token_id"]
            for B in (1, 32):
                ev = ev0.unsqueeze(0).repeat(B, 1, 1)
                s = timeit(lambda: denoise(net, ev, mask))
                print("impl=torch model=%s B=%d threads=%d seconds=%.6g" % (os.path.basename(d.rstrip("/")), B, threads, s), flush=True)


if __name__ == "__main__":
    main()
