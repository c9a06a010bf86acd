#!/usr/bin/python3
"""Write the untrained checkpoints of nn/testdata (Go's forward and loader tests).

  /usr/bin/python3 train/make_testdata.py nn/testdata

Weights are random (normal, std 0.3; layer-norm gains 1 + 0.2·N(0, 1)) so
that logits are of order one and the parity test is not trivially met. Two
models cover the options: learned positions with a tied head and the skip,
stored as F32; sinusoidal positions, a separate head, no skip, stored as
BF16. The vocabulary has its MASK id in the middle (id 4 of 11).
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import train as T  # noqa: E402

TOKENS = ["a", "b", "c", "d", "[MASK]", "e", "f", "g", "h", "i", "j"]


def build(out, name, seed, dtype, **kw):
    torch.manual_seed(seed)
    cfg = M.make_config(len(TOKENS), 4, 12, tokens=TOKENS, objective="mix", testbed="none (untrained test model)", **kw)
    net = M.Denoiser(cfg)
    with torch.no_grad():
        for n, p in net.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    rng = np.random.default_rng(seed)
    tok = np.array([v for v in range(len(TOKENS)) if v != 4])
    x0 = rng.choice(tok, size=(3, 12))
    d = os.path.join(out, name)
    T.export_checkpoint(d, cfg, net, dtype, x0, seed, name)
    T.write_config(d, cfg)


def main():
    out = sys.argv[1]
    build(out, "tiny-learned", 1, "F32", hidden=16, layers=2, heads=2, intermediate=24)
    build(out, "tiny-sinusoidal", 2, "BF16", hidden=12, layers=1, heads=3, intermediate=20,
          position="sinusoidal", tied=False, skip=False)


if __name__ == "__main__":
    main()
