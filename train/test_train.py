"""Unit tests of the training code (CPU, a few seconds):

  /usr/bin/python3 -m unittest discover -s train -p 'test_*.py'
"""

import json
import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_table as KT  # noqa: E402
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


HERE = os.path.dirname(os.path.abspath(__file__))


def write_table(path, transition, mask, fmt=KT.FORMAT):
    T, K, _ = transition.shape
    times = np.arange(1, T + 1, dtype=np.float32) / T
    ST.write(path, {"times": times, "transition": transition.astype(np.float32)}, dtype="F32",
             metadata={"format": fmt, "testbed": "hand", "kernel": "hand", "states": K, "mask": mask, "times": T})


class KernelObjective(unittest.TestCase):
    # K = 3: tokens 0, 1 and MASK 2; one time (t = 1). Rows are P(x_t | x_0):
    #   x_0 = 0: (0.5, 0.2, 0.3), x_0 = 1: (0.1, 0.6, 0.3), MASK: (0, 0, 1).
    tr = np.array([[[0.5, 0.2, 0.3], [0.1, 0.6, 0.3], [0.0, 0.0, 1.0]]])

    def table(self, d, tr=None, **kw):
        p = os.path.join(d, "k.safetensors")
        write_table(p, self.tr if tr is None else tr, 2, **kw)
        return KT.KernelTable(p, 3, 2)

    def test_rows_by_hand(self):
        with tempfile.TemporaryDirectory() as d:
            tab = self.table(d)
            xt = torch.tensor([[0, 1, 2]])
            j = torch.zeros(1, 3, dtype=torch.long)
            ev = tab.evidence_rows(xt, j)
            # x_t = 0: ℓ = (0.5, 0.1), MASK entry 0, scaled to max 1 → (1, 0.2, 0);
            # x_t = 1: ℓ = (0.2, 0.6) → (1/3, 1, 0); x_t = MASK: ℓ = (0.3, 0.3) → (1, 1, 0).
            want = [[1, 0.2, 0], [1 / 3, 1, 0], [1, 1, 0]]
            np.testing.assert_allclose(ev[0].numpy(), want, atol=1e-6)
            # Network inputs of x_t = 0: ℓmin = 0.2, D = 0.8 + 0.2 = 1 → w = (0.8, 0, 0.2);
            # log ℓ̂ = log(1/1.2), log(0.2/1.2).
            b = O.Batcher(3, 2, kernel=tab)
            w, logl = M.evidence_inputs(ev, 2, check=False)
            np.testing.assert_allclose(w[0, 0].numpy(), [0.8, 0, 0.2], atol=1e-6)
            np.testing.assert_allclose(logl[0, 0, :2].numpy(), np.log([1 / 1.2, 0.2 / 1.2]), atol=1e-6)
            self.assertTrue(torch.equal(w[0, 2], torch.tensor([0.0, 0.0, 1.0], dtype=w.dtype)))  # constant ℓ: the MASK embedding
            # The objective's batch: weights 1 everywhere, x_t drawn from row x_0 of the table.
            x0 = torch.zeros(4000, 1, dtype=torch.long)
            xt, ev2, w2, _ = b.kernel_inputs(x0, torch.zeros(4000, 1, dtype=torch.long), torch.Generator().manual_seed(5))
            freq = torch.bincount(xt.view(-1), minlength=3).double() / 4000
            # binomial sd ≤ √(0.25/4000) = 0.008: 4 sd
            self.assertTrue(float((freq - torch.tensor([0.5, 0.2, 0.3], dtype=torch.float64)).abs().max()) < 0.032, freq)
            _, _, weight, norm = b.batch("kernel", torch.tensor([[0, 1], [1, 0]]), torch.Generator().manual_seed(1))
            self.assertTrue(torch.equal(weight, torch.ones(2, 2)) and norm == 4.0)

    def test_validation(self):
        with tempfile.TemporaryDirectory() as d:
            bad = self.tr.copy()
            bad[0, 0, 0] = 0.7  # row sums to 1.2
            with self.assertRaises(ValueError):
                self.table(d, bad)
            with self.assertRaises(ValueError):
                self.table(d, fmt="other/1")
            neg = self.tr.copy()
            neg[0, 1, 0], neg[0, 1, 1] = -0.1, 0.8
            with self.assertRaises(ValueError):
                self.table(d, neg)
            p = os.path.join(d, "k.safetensors")
            write_table(p, self.tr, 2)
            with self.assertRaises(ValueError):
                KT.KernelTable(p, 4, 2)  # the data's vocabulary differs
            with self.assertRaises(ValueError):
                O.Batcher(3, 2).batch("kernel", torch.zeros(1, 1, dtype=torch.long), torch.Generator())

    def test_matches_go(self):
        """The table Go wrote (experiments.TestKernelTableFixture keeps it current) gives,
        through evidence_rows, the rows decode.KernelEvidence writes in Go."""
        tab = KT.KernelTable(os.path.join(HERE, "testdata", "kernel-table.safetensors"))
        with open(os.path.join(HERE, "testdata", "kernel-table.json")) as f:
            fx = json.load(f)
        self.assertEqual((tab.K, tab.mask), (fx["states"], fx["mask"]))
        for c in fx["cases"]:
            row = tab.evidence_rows(torch.tensor([[c["xt"]]]), torch.tensor([[c["j"]]]))[0, 0].numpy()
            np.testing.assert_allclose(row, c["row"], atol=1e-6, rtol=0)


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
