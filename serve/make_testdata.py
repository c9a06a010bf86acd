#!/usr/bin/python3
"""Write the untrained checkpoints the remote-denoiser tests serve.

  /usr/bin/python3 serve/make_testdata.py remote/testdata

Random weights (normal, std 0.3; layer-norm gains 1 + 0.2·N(0, 1)), so
that logits are of order one and the Go-versus-server comparison is not
trivially met. Exported with train/'s export_checkpoint (config.json,
model.safetensors and the parity fixture). Two models cover the options
the server must honour: oip-tiny (K = 40 with MASK at id 7, learned
positions, tied head, evidence skip, F32) and oip-tiny-bf16 (K = 24 with
MASK last, sinusoidal positions, separate head, no skip, BF16 weights).
"""

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import model as M  # noqa: E402
import train as T  # noqa: E402


def build(out, name, seed, K, mask, L, dtype, **kw):
    tokens = ["w%02d" % v for v in range(K)]
    tokens[mask] = "[MASK]"
    torch.manual_seed(seed)
    cfg = M.make_config(K, mask, L, tokens=tokens, objective="mix", testbed="none (untrained test model)", **kw)
    net = M.Denoiser(cfg)
    with torch.no_grad():
        for n, p in net.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.3 * torch.randn_like(p))
    rng = np.random.default_rng(seed)
    tok = np.array([v for v in range(K) if v != mask])
    x0 = rng.choice(tok, size=(2, L))
    d = os.path.join(out, name)
    T.export_checkpoint(d, cfg, net, dtype, x0, seed, name)
    T.write_config(d, cfg)


def main():
    out = sys.argv[1]
    build(out, "oip-tiny", 11, 40, 7, 16, "F32", hidden=32, layers=2, heads=4, intermediate=48)
    build(out, "oip-tiny-bf16", 12, 24, 23, 10, "BF16", hidden=16, layers=1, heads=2, intermediate=20,
          position="sinusoidal", tied=False, skip=False)


if __name__ == "__main__":
    main()
