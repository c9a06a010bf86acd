"""Unit tests of the training code (CPU, a few seconds):

  /usr/bin/python3 -m unittest discover -s train -p 'test_*.py'
"""

import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model as M  # noqa: E402
import objectives as O  # noqa: E402
import safetensors_io as ST  # noqa: E402
import train as T  # noqa: E402


class EvidenceInputs(unittest.TestCase):
    def test_by_hand(self):
        # K = 4, MASK id 3: ℓ = (0.6, 0.3, 0.1), ℓmin 0.1, D = 0.8 (as in Go's TestEmbedWeights).
        w, logl = M.evidence_inputs(torch.tensor([[0.6, 0.3, 0.1, 0.0]]), 3)
        np.testing.assert_allclose(w[0].numpy(), [0.625, 0.25, 0, 0.125], atol=1e-12)
        np.testing.assert_allclose(logl[0, :3].numpy(), np.log([0.6, 0.3, 0.1]), atol=1e-12)
        w, _ = M.evidence_inputs(torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]), 3)
        self.assertTrue(torch.equal(w, torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]], dtype=w.dtype)))

    def test_bad_rows(self):
        for row in ([0.0, 0.0, 0.0, 0.0], [-1.0, 1.0, 0.0, 0.0], [math.nan, 0.0, 0.0, 1.0]):
            with self.assertRaises(ValueError):
                M.evidence_inputs(torch.tensor([row]), 3)


class Objectives(unittest.TestCase):
    K, mask = 9, 2

    def x0(self, B=64, L=10):
        g = torch.Generator().manual_seed(3)
        tok = torch.tensor([v for v in range(self.K) if v != self.mask])
        return tok[torch.randint(len(tok), (B, L), generator=g)]

    def test_mdlm(self):
        b = O.Batcher(self.K, self.mask)
        x0 = self.x0()
        w, logl, weight, norm = b.batch("mdlm", x0, torch.Generator().manual_seed(1))
        masked = weight > 0
        self.assertTrue(torch.equal(w.argmax(-1)[masked], torch.full_like(x0[masked], self.mask)))
        self.assertTrue(torch.equal(w.argmax(-1)[~masked], x0[~masked]))
        self.assertTrue(torch.equal(w.sum(-1), torch.ones_like(w.sum(-1))))
        clean = logl[~masked]
        self.assertTrue(torch.equal(clean.argmax(-1), x0[~masked]))
        self.assertEqual(int(torch.isinf(clean).sum()), clean.numel() - clean.shape[0])
        self.assertEqual(norm, x0.numel())
        self.assertTrue((weight[masked] >= 1).all())  # 1/t with t ≤ 1

    def test_soft_matches_inference_path(self):
        """The training inputs from λ equal what inference computes from the row softmax(λ)."""
        b = O.Batcher(self.K, self.mask, snr_min=0.5, snr_max=50)
        x0 = self.x0(8, 6)
        w, logl, weight, _ = b.batch("soft", x0, torch.Generator().manual_seed(2))
        self.assertTrue(torch.equal(weight, torch.ones_like(weight)))
        tok = [v for v in range(self.K) if v != self.mask]
        row = torch.zeros_like(w)
        row[..., tok] = torch.softmax(logl[..., tok], -1)  # softmax(log_softmax(λ)) = softmax(λ)
        w2, logl2 = M.evidence_inputs(row, self.mask)
        np.testing.assert_allclose(w.numpy(), w2.numpy(), atol=1e-6)
        fin = torch.isfinite(logl2)
        np.testing.assert_allclose(logl[fin].numpy(), logl2[fin].numpy(), atol=1e-4)

    def test_mix_weights(self):
        b = O.Batcher(self.K, self.mask)
        x0 = self.x0(256, 10)
        w, logl, weight, norm = b.batch("mix", x0, torch.Generator().manual_seed(4))
        tok = [v for v in range(self.K) if v != self.mask]
        clean = torch.isinf(logl[..., tok]).any(-1)  # soft rows have finite log ℓ̂ everywhere
        self.assertTrue(torch.equal(w.argmax(-1)[clean], x0[clean]))
        self.assertTrue(torch.equal(weight > 0, ~clean))
        self.assertAlmostEqual(float(norm), float((~clean).sum()))
        # all three kinds occur
        masked = w[..., self.mask] == 1
        self.assertTrue(masked.any() and clean.any() and (~masked & ~clean).any())


class Safetensors(unittest.TestCase):
    def test_round_trip(self):
        a = {"w": np.array([[1.0, -2.5], [3.25, 1e-3]], dtype=np.float32), "s": np.array(7.0, dtype=np.float32)}
        with tempfile.TemporaryDirectory() as d:
            for dt in ("F32", "F16", "BF16"):
                p = os.path.join(d, dt)
                ST.write(p, a, dtype=dt, metadata={"k": "v"})
                with open(p, "rb") as f:
                    self.assertEqual(int.from_bytes(f.read(8), "little") % 8, 0)
                b, meta = ST.read(p)
                self.assertEqual(meta, {"k": "v"})
                tol = {"F32": 0, "F16": 1e-3, "BF16": 1e-2}[dt]
                for k in a:
                    self.assertEqual(b[k].shape, a[k].shape)
                    np.testing.assert_allclose(b[k], a[k], rtol=tol)

    def test_bf16_rounding(self):
        # Spacing at 1 is 2⁻⁷: 1 + 2⁻⁸ ties to 1, 1 + 3·2⁻⁸ to 1 + 2⁻⁶ (as Go's floatToBF16).
        bits = ST._to_bf16_bits(np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.0], dtype=np.float32))
        self.assertEqual(list(bits), [0x3F80, 0x3F82, 0xC000])


class Export(unittest.TestCase):
    def test_checkpoint(self):
        torch.manual_seed(0)
        cfg = M.make_config(7, 6, 5, hidden=8, layers=1, heads=2, tokens=list("abcdef") + ["[MASK]"])
        net = M.Denoiser(cfg)
        x0 = np.random.default_rng(0).integers(0, 6, size=(2, 5))
        with tempfile.TemporaryDirectory() as d:
            rounded = T.export_checkpoint(d, cfg, net, "F16", x0, 5, "t")
            w, _ = ST.read(os.path.join(d, "model.safetensors"))
            self.assertEqual(list(w.keys()), M.tensor_names(cfg))
            fix, meta = ST.read(os.path.join(d, "parity.safetensors"))
            z = rounded.logits_from_evidence(torch.from_numpy(fix["evidence"])).detach().numpy()
            np.testing.assert_array_equal(z, fix["logits"])
            self.assertTrue(np.isneginf(fix["logits"][..., 6]).all())
            # a one-hot row's logits are −inf off its token (the skip)
            ev = fix["evidence"]
            onehot = ((ev != 0).sum(-1) == 1) & (ev.argmax(-1) != 6)
            lg = fix["logits"][onehot]
            self.assertTrue((np.isfinite(lg).sum(-1) == 1).all())


if __name__ == "__main__":
    unittest.main()
