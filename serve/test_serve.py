#!/usr/bin/python3
"""Tests of the reference server: /usr/bin/python3 serve/test_serve.py

Evidence formulas against train/model.py, the sparse encoding against the
dense one, the checkpoint adapter against the parity fixture that training
wrote, the Hugging Face adapter's evidence mapping against a fake
transformers module, and the protocol end to end over loopback HTTP.
"""

import json
import os
import struct
import sys
import threading
import types
import unittest
import urllib.error
import urllib.request

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import adapters as A  # noqa: E402
import evidence as EV  # noqa: E402
import fasttopk as FT  # noqa: E402
import server as S  # noqa: E402

M = A.M
ST = A.ST
TINY = os.path.join(HERE, "..", "remote", "testdata", "oip-tiny")
TINY16 = os.path.join(HERE, "..", "remote", "testdata", "oip-tiny-bf16")
F64 = torch.float64


def load_cfg(path):
    with open(os.path.join(path, "config.json")) as f:
        return json.load(f)


def parity(path):
    t, _ = ST.read(os.path.join(path, "parity.safetensors"))
    return torch.from_numpy(t["evidence"]), torch.from_numpy(t["logits"])


def random_sparse(g, B, L, K, k, mask):
    """Random sparse rows: distinct ids (some −1 slots), MASK listed in some
    rows, positive residual in some; and their dense reading, by hand."""
    ids = np.full((B, L, k), -1, dtype=np.int32)
    vals = np.zeros((B, L, k), dtype=np.float32)
    res = np.zeros((B, L), dtype=np.float32)
    dense = np.zeros((B, L, K), dtype=np.float64)
    for b in range(B):
        for i in range(L):
            used = g.integers(1, k + 1)
            pick = g.choice(K, size=used, replace=False)
            if (b + i) % 3 == 0 and mask not in pick:
                pick[0] = mask
            ids[b, i, :used] = pick
            vals[b, i, :used] = g.exponential(size=used).astype(np.float32)
            if (b + i) % 2 == 0:
                res[b, i] = np.float32(g.exponential())
            un = [s for s in range(K) if s not in pick]
            dense[b, i, un] = float(res[b, i]) / len(un)
            dense[b, i, pick] = vals[b, i, :used]
    return ids, vals, res, dense


class EvidenceTest(unittest.TestCase):
    def test_dense_matches_model(self):
        for path in (TINY, TINY16):
            cfg = load_cfg(path)
            ev, _ = parity(path)
            w, logl = M.evidence_inputs(ev, cfg["mask_token_id"])
            d = EV.Dense(ev, cfg["mask_token_id"], F64)
            self.assertLess(float((d.w - w).abs().max()), 1e-12)
            fin = torch.isfinite(logl)
            self.assertTrue(bool((torch.isfinite(d.logl) == fin).all()))
            self.assertLess(float((d.logl[fin] - logl[fin]).abs().max()), 1e-12)

    def test_sparse_matches_dense(self):
        g = np.random.default_rng(1)
        K, mask, d = 13, 4, 6
        ids, vals, res, dense = random_sparse(g, 3, 7, K, 4, mask)
        sp = EV.Sparse(torch.from_numpy(ids), torch.from_numpy(vals), torch.from_numpy(res), K, mask, F64)
        dn = EV.Dense(torch.from_numpy(dense), mask, F64)
        E = torch.randn(K, d, dtype=F64)
        self.assertLess(float((sp.embed(E, EV.token_sum(E, mask, F64)) - dn.embed(E)).abs().max()), 1e-12)
        z = torch.randn(3, 7, K, dtype=torch.float32)
        a, b = sp.add_skip(z), dn.add_skip(z)
        a[..., mask] = b[..., mask] = 0
        self.assertTrue(bool((torch.isfinite(a) == torch.isfinite(b)).all()))
        fin = torch.isfinite(b)
        self.assertLess(float((a[fin] - b[fin]).abs().max()), 1e-6)

    def test_hard_ids(self):
        K, mask = 6, 2
        # one-hot token 5; MASK; scaled one-hot; uniform (no information: MASK)
        ev = torch.tensor([[[0, 0, 0, 0, 0, 1], [0, 0, 1, 0, 0, 0], [0, 3, 0, 0, 0, 0], [1, 1, 0, 1, 1, 1]]], dtype=torch.float32)
        self.assertEqual(EV.Dense(ev, mask, F64).hard_ids().tolist(), [[5, 2, 1, 2]])
        ids = torch.tensor([[[5, -1], [2, -1], [1, -1], [0, 3]]], dtype=torch.int32)
        vals = torch.tensor([[[1, 0], [1, 0], [3, 0], [1, 1]]], dtype=torch.float32)
        res = torch.tensor([[0, 0, 0, 4]], dtype=torch.float32)  # last row: every token 1, MASK 1
        self.assertEqual(EV.Sparse(ids, vals, res, K, mask, F64).hard_ids().tolist(), [[5, 2, 1, 2]])
        ev[0, 1, 3] = 0.5  # MASK mass and a token: soft
        self.assertIsNone(EV.Dense(ev, mask, F64).hard_ids())

    def test_errors(self):
        K, mask = 5, 0
        ok = torch.zeros(2, 3, K)
        ok[..., 1] = 1

        def bad_dense(edit, msg):
            e = ok.clone()
            edit(e)
            with self.assertRaisesRegex(EV.EvidenceError, msg):
                EV.Dense(e, mask, F64)

        bad_dense(lambda e: e.__setitem__((1, 2, 3), float("nan")), "sequence 1, position 2: evidence entry is NaN")
        bad_dense(lambda e: e.__setitem__((0, 1, 3), -1.0), "sequence 0, position 1: evidence entry is negative")
        bad_dense(lambda e: e.__setitem__((1, 0), 0.0), "sequence 1, position 0: no token has positive likelihood")
        ids = torch.tensor([[[1, -1], [2, 3]]], dtype=torch.int32)
        vals = torch.tensor([[[1, 0], [1, 1]]], dtype=torch.float32)
        res = torch.zeros(1, 2)

        def bad_sparse(i, v, r, msg):
            with self.assertRaisesRegex(EV.EvidenceError, msg):
                EV.Sparse(i, v, r, K, mask, F64)

        bad_sparse(torch.tensor([[[1, -1], [3, 3]]], dtype=torch.int32), vals, res, "position 1: evidence id listed twice")
        bad_sparse(torch.tensor([[[1, -1], [2, 5]]], dtype=torch.int32), vals, res, "position 1: evidence id outside")
        bad_sparse(ids, torch.tensor([[[1, 2], [1, 1]]], dtype=torch.float32), res, "position 0: unused slot")
        bad_sparse(ids, vals, torch.tensor([[0.0, -1.0]]), "position 1: evidence value is negative")
        full = torch.tensor([[[0, 1, 2, 3, 4]]], dtype=torch.int32)
        bad_sparse(full, torch.ones(1, 1, 5), torch.ones(1, 1), "positive residual with every state listed")
        bad_sparse(ids, torch.zeros(1, 2, 2), res, "position 0: no token has positive likelihood")

    def test_check_sparse_host(self):
        """check_sparse (NumPy, on the host) raises Sparse's own error, with
        the same text, on every fault and on rows with several faults (the
        first check in Sparse's order wins, at its first row); and accepts
        what Sparse accepts."""
        K, mask = 5, 0
        g = np.random.default_rng(3)
        cases = []
        base_i = np.array([[[1, -1], [2, 3], [4, -1]], [[3, 1], [2, -1], [1, 4]]], dtype=np.int32)
        base_v = np.array([[[1, 0], [1, 1], [2, 0]], [[1, 1], [3, 0], [1, 1]]], dtype=np.float32)
        base_r = np.zeros((2, 3), dtype=np.float32)
        cases.append((base_i, base_v, base_r))
        for _ in range(300):
            i, v, r = base_i.copy(), base_v.copy(), base_r.copy()
            for _ in range(g.integers(1, 4)):  # one to three random faults
                b, p, j = g.integers(2), g.integers(3), g.integers(2)
                kind = g.integers(9)
                if kind == 0:
                    i[b, p, j] = g.choice([-2, K, K + 3])
                elif kind == 1:
                    v[b, p, j] = g.choice([np.nan, np.inf, -np.inf])
                elif kind == 2:
                    r[b, p] = g.choice([np.nan, np.inf, -1.0])
                elif kind == 3:
                    v[b, p, j] = -1.0
                elif kind == 4:
                    i[b, p, j], v[b, p, j] = -1, 2.0
                elif kind == 5:
                    i[b, p, 1] = i[b, p, 0] = 3
                elif kind == 6:
                    v[b, p] = 0
                    r[b, p] = 0
                elif kind == 7:
                    r[b, p] = 0.5  # legal: a positive residual
                else:
                    i[b, p] = [-1, mask]  # legal: MASK listed
                    v[b, p] = [0, 1]
            cases.append((i, v, r))
        full = np.arange(K, dtype=np.int32).reshape(1, 1, K)
        cases.append((full, np.ones((1, 1, K), np.float32), np.ones((1, 1), np.float32)))
        checked = 0
        for i, v, r in cases:
            want = None
            try:
                EV.Sparse(torch.from_numpy(i), torch.from_numpy(v), torch.from_numpy(r), K, mask, F64)
            except EV.EvidenceError as e:
                want = str(e)
            got = None
            try:
                EV.check_sparse(i, v, r, K)
            except EV.EvidenceError as e:
                got = str(e)
            self.assertEqual(got, want, "ids %s vals %s resid %s" % (i.tolist(), v.tolist(), r.tolist()))
            checked += want is not None
        self.assertGreater(checked, 200)  # most cases are faults

    def test_plain_hard_is_general(self):
        """Sparse.plain_hard gives, bit for bit, what the general
        constructor gives for the same plain hard rows (token rows and MASK
        rows, values 1 and others): the embedding, the skip's parts, the
        skip added to logits and the hard ids; in float64 and float32."""
        g = np.random.default_rng(4)
        K, mask, d = 23, 5, 7
        ids = g.integers(0, K, size=(3, 9, 1)).astype(np.int32)
        ids[:, ::3] = mask
        vals = np.where(g.random((3, 9, 1)) < 0.5, 1.0, g.exponential(size=(3, 9, 1))).astype(np.float32)
        res = np.zeros((3, 9), np.float32)
        hard = EV.hard_sparse(ids, vals, res, mask)
        self.assertIsNotNone(hard)
        E = torch.randn(K, d, dtype=torch.float32)
        for dt in (F64, torch.float32):
            gen = EV.Sparse(torch.from_numpy(ids), torch.from_numpy(vals), torch.from_numpy(res), K, mask, dt)
            fast = EV.Sparse.plain_hard(torch.from_numpy(hard), torch.from_numpy(vals.max(-1)), K, mask, dt)
            S_tok = EV.token_sum(E, mask, dt)
            self.assertTrue(torch.equal(fast.embed(E, S_tok), gen.embed(E, S_tok)))
            for a, b in zip(fast.skip_parts(), gen.skip_parts()):
                self.assertTrue(torch.equal(a[gen.tok] if a.dim() == 3 and a.dtype != torch.bool else a,
                                            b[gen.tok] if b.dim() == 3 and b.dtype != torch.bool else b))
            z = torch.randn(3, 9, K)
            za, zb = fast.add_skip(z.clone()), gen.add_skip(z.clone())
            za[..., mask] = zb[..., mask] = 0
            self.assertTrue(torch.equal(za, zb))
            self.assertEqual(fast.hard_ids().tolist(), gen.hard_ids().tolist())

    def test_hard_sparse_host(self):
        """hard_sparse reads plain hard rows (one used slot, residual 0) as
        Sparse.hard_ids does, and leaves every other form to it."""
        K, mask = 6, 2
        ids = np.array([[[5, -1], [-1, 2], [1, -1]]], dtype=np.int32)
        vals = np.array([[[1, 0], [0, 1], [3, 0]]], dtype=np.float32)
        res = np.zeros((1, 3), dtype=np.float32)
        got = EV.hard_sparse(ids, vals, res, mask)
        self.assertEqual(got.tolist(), [[5, 2, 1]])
        sp = EV.Sparse(torch.from_numpy(ids), torch.from_numpy(vals), torch.from_numpy(res), K, mask, F64)
        self.assertEqual(sp.hard_ids().tolist(), got.tolist())
        # Other forms (hard or not): None, and the torch rule decides.
        for i, v, r in (([[[0, 3]]], [[[1, 1]]], [[0.0]]),      # two tokens: soft
                        ([[[0, -1]]], [[[1, 0]]], [[4.0]]),     # one token and a residual: soft
                        ([[[0, 1]]], [[[1, 0]]], [[0.0]])):     # a listed zero: hard, not the plain form
            i, v, r = np.array(i, np.int32), np.array(v, np.float32), np.array(r, np.float32)
            self.assertIsNone(EV.hard_sparse(i, v, r, mask))
        # hard= is what hard_ids returns
        sp = EV.Sparse(torch.from_numpy(ids), torch.from_numpy(vals), torch.from_numpy(res), K, mask, F64,
                       checked=True, hard=torch.tensor([[0, 0, 0]]))
        self.assertEqual(sp.hard_ids().tolist(), [[0, 0, 0]])


def check_topk(tc, p, ids, probs, res, k, tol):
    """ids, probs, res [B, L, k] against the float64 posterior p [B, L, K]:
    the k most probable tokens (those of positive probability), their
    probabilities non-increasing, −1 and 0 in the other slots, the residual
    1 − Σ. Differences are checked with assertLess, which NaN fails."""
    B, L, _ = p.shape
    for b in range(B):
        for i in range(L):
            row = p[b, i]
            order = np.argsort(-row, kind="stable")[:k]
            listed = [int(v) for v in order if row[v] > 0]
            got = [int(x) for x in ids[b, i] if x >= 0]
            tc.assertEqual(sorted(got), sorted(listed), (b, i))
            tc.assertTrue(np.all(probs[b, i][ids[b, i] < 0] == 0))
            tc.assertTrue(np.all(np.diff(probs[b, i]) <= 0))
            err = np.abs(probs[b, i][ids[b, i] >= 0] - row[got]).max() if got else 0.0
            tc.assertLess(err, tol)
            tc.assertLess(abs(float(res[b, i]) - (1 - row[listed].sum())), tol)


def np_posterior(z, logl, mask):
    """log p (float64, NumPy): z + log ℓ̂ with MASK at −inf, minus its
    log-normaliser (max + log Σ exp(· − max)); and the normaliser."""
    a = z.astype(np.float64) + logl
    a[..., mask] = -np.inf
    mx = a.max(-1, keepdims=True)
    lse = mx[..., 0] + np.log(np.exp(a - mx).sum(-1))
    return a - lse[..., None], lse


class TopKTest(unittest.TestCase):
    def dense_logl(self, dense, mask):
        """log ℓ̂ of dense evidence rows, by the formula of evidence.py's
        docstring (ℓ(v) = e(v) + e(MASK), over Z = Σ_v ℓ(v)), in NumPy."""
        lik = dense + dense[..., mask:mask + 1]
        lik[..., mask] = 0
        with np.errstate(divide="ignore"):
            return np.log(lik) - np.log(lik.sum(-1, keepdims=True))

    def test_sparse_skip(self):
        g = np.random.default_rng(3)
        B, L, K, mask, k = 3, 7, 50, 4, 6
        ids, vals, res, dense = random_sparse(g, B, L, K, 4, mask)
        ids[1, 2], vals[1, 2], res[1, 2] = [9, -1, -1, -1], [2.5, 0, 0, 0], 0  # hard: token 9
        dense[1, 2] = 0
        dense[1, 2, 9] = 2.5
        sp = EV.Sparse(torch.from_numpy(ids), torch.from_numpy(vals), torch.from_numpy(res), K, mask, F64)
        for dt in (torch.float32, torch.bfloat16):
            z = (torch.randn(B, L, K, generator=torch.Generator().manual_seed(4)) * 3).to(dt)
            zn = z.double().numpy()
            lp, lse_ref = np_posterior(zn, self.dense_logl(dense, mask), mask)
            i, p, r, lse = S.topk_posterior(z.clone(), mask, k, F64, sp.skip_parts())
            self.assertLess(float(np.abs(lse.numpy() - lse_ref).max()), 1e-6)  # float32 terms z − max
            check_topk(self, np.exp(lp), i.numpy(), p.numpy(), r.numpy(), k, 1e-7)
            self.assertEqual(i[1, 2].tolist(), [9] + [-1] * (k - 1))
            self.assertEqual(i.dtype, torch.int32)
            self.assertEqual(p.dtype, torch.float32)

    def test_no_skip_float32_normaliser(self):
        """pdt float32 (as on a GPU): the normaliser of 20000 logits to
        float32 accuracy; −inf logits get probability 0 and id −1."""
        g = torch.Generator().manual_seed(6)
        B, L, K, mask, k = 2, 3, 20000, 19999, 8
        z = torch.randn(B, L, K, generator=g) * 4
        z[0, 1, :K - 3] = float("-inf")  # two tokens left (MASK is the last state)
        lp, lse_ref = np_posterior(z.numpy(), 0.0, mask)
        i, p, r, lse = S.topk_posterior(z.clone(), mask, k, torch.float32)
        self.assertLess(float(np.abs(lse.double().numpy() - lse_ref).max()), 1e-5)
        check_topk(self, np.exp(lp), i.numpy(), p.numpy(), r.numpy(), k, 1e-6)
        self.assertEqual(sorted(i[0, 1].tolist()), [-1] * (k - 2) + [K - 3, K - 2])

    def test_bad_logits(self):
        K, mask = 12, 0
        ids = torch.tensor([[[3, -1], [5, 6]]], dtype=torch.int32)
        vals = torch.tensor([[[1, 0], [1, 2]]], dtype=torch.float32)
        res = torch.tensor([[1.0, 0.5]])
        sp = EV.Sparse(ids, vals, res, K, mask, F64)
        for pos, val in ((7, float("nan")), (7, float("inf")), (5, float("nan")), (mask, None)):
            z = torch.zeros(1, 2, K)
            if val is None:
                z[0, 1] = float("-inf")  # every logit −inf
            else:
                z[0, 1, pos] = val
            _, _, _, lse = S.topk_posterior(z, mask, 3, F64, sp.skip_parts())
            self.assertTrue(bool(torch.isfinite(lse[0, 0])))
            with self.assertRaisesRegex(S.ModelError, "sequence 0, position 1: the model's logits"):
                S.check_normaliser(lse)
            with self.assertRaisesRegex(S.ModelError, "sequence 0, position 1: the model's logits"):
                S.check_bad_rows((~torch.isfinite(lse)).int().numpy())  # the GPU path's host check
        z = torch.zeros(1, 2, K)
        z[0, 0, mask] = float("nan")  # the MASK column is ignored
        S.check_normaliser(S.topk_posterior(z, mask, 3, F64, sp.skip_parts())[3])

    def test_row_sum(self):
        e = torch.rand(2, 1000, generator=torch.Generator().manual_seed(7))
        want = e.double().numpy().sum(-1)
        for c in (1, 7, 256, 1000, 4096):
            self.assertLess(float(np.abs(S.row_sum(e, c).numpy() / want - 1).max()), 1e-6)  # float32 partial sums


def fast_paths():
    """(device, use_triton) pairs to test fasttopk on: the PyTorch path on
    the CPU always, and the Triton kernel where a CUDA device and Triton
    are present (the GPU machine)."""
    out = [(torch.device("cpu"), False)]
    if torch.cuda.is_available():
        out.append((torch.device("cuda"), False))
        if FT.triton_ok(torch.device("cuda")):
            out.append((torch.device("cuda"), True))
    return out


class FastTopKTest(unittest.TestCase):
    """fasttopk.topk_lse against an independent reference: NumPy's sort of
    each row in float64 (the k largest values as a multiset; the returned
    ids must point at those values and be distinct) and log Σ exp in
    float64 with the maximum subtracted."""

    def check(self, z, k, use_triton, lse_tol):
        v, i, lse = FT.topk_lse(z, k, use_triton)
        zn = z.double().cpu().numpy()
        vn, i_n, lse_n = v.double().cpu().numpy(), i.cpu().numpy(), lse.double().cpu().numpy()
        self.assertEqual(v.dtype, z.dtype)
        self.assertEqual(tuple(i.shape), (z.shape[0], k))
        for r in range(zn.shape[0]):
            if np.isnan(zn[r]).any():  # a rejected row: only its normaliser matters
                self.assertFalse(np.isfinite(lse_n[r]), "row %d: lse %r" % (r, lse_n[r]))
                continue
            want = -np.sort(-zn[r])[:k]
            np.testing.assert_array_equal(vn[r], want)  # exact: the same entries, non-increasing
            self.assertEqual(len(set(i_n[r].tolist())), k, "row %d: repeated ids" % r)
            np.testing.assert_array_equal(zn[r, i_n[r]], vn[r])  # each id holds its value
            fin = zn[r][np.isfinite(zn[r])]
            if np.isposinf(zn[r]).any() or fin.size == 0:
                self.assertFalse(np.isfinite(lse_n[r]), "row %d: lse %r" % (r, lse_n[r]))
                continue
            mx = fin.max()
            ref = mx + np.log(np.exp(fin - mx).sum())
            self.assertLessEqual(abs(lse_n[r] - ref), lse_tol * max(1.0, abs(ref)), "row %d" % r)

    def rows(self, K, dtype, device, seed):
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(9, K, generator=g) * 3
        z[1] = torch.round(z[1])  # many ties, also at the k-th value
        z[2, K - 3:] = 50  # the top values in the tail (or the last chunk)
        z[3, ::128] = 20  # one large entry in every chunk: each chunk's maximum ties
        z[4] = float("-inf")
        z[4, 7] = 1.5  # one finite entry
        z[5, K // 2] = float("nan")
        z[6, 3] = float("inf")
        z[7] = float("-inf")  # no finite entry
        z[8] = 0  # all tied
        return z.to(dtype).to(device)

    def test_chunked_against_sort(self):
        for dev, tri in fast_paths():
            for K in (128 * 40, 128 * 40 + 37, 126464 // 8):
                for dt in (torch.float32, torch.bfloat16):
                    with self.subTest(device=str(dev), triton=tri, K=K, dtype=str(dt)):
                        z = self.rows(K, dt, dev, K)
                        # float32 terms (and float32 sums in the kernel): 1e-6 relative
                        self.check(z, 8, tri, 1e-6)

    def test_small_rows_take_topk(self):
        """Fewer than k full chunks, or k·C ≥ K: torch.topk over the row."""
        for dev, tri in fast_paths():
            for K, k in ((300, 5), (128 * 6, 6), (128 * 8, 8)):
                with self.subTest(device=str(dev), triton=tri, K=K, k=k):
                    self.check(self.rows(K, torch.float32, dev, 3), k, tri, 1e-6)

    def test_row_sum_tail(self):
        """row_sum's float64 result equals NumPy's to float32-partial accuracy."""
        e = torch.rand(3, 128 * 5 + 3, generator=torch.Generator().manual_seed(8))
        want = e.double().numpy().sum(-1)
        self.assertLess(float(np.abs(FT.row_sum(e).numpy() / want - 1).max()), 1e-6)


class AdapterTest(unittest.TestCase):
    def test_checkpoint_parity(self):
        """The adapter's logits are the training framework's (the parity
        fixture, which Go's nn matches to 1e-4), from dense and sparse
        evidence."""
        for path in (TINY, TINY16):
            ad = A.SoftdiffAdapter.load(path, torch.device("cpu"), torch.float32)
            ev, want = parity(path)
            z, fwd = ad.logits(EV.Dense(ev, ad.mask, F64))
            self.assertGreater(fwd, 0)
            fin = torch.isfinite(want)
            self.assertTrue(bool((torch.isfinite(z) == fin).all()))
            self.assertLess(float((z[fin] - want[fin]).abs().max()), 1e-5)
            # the same rows as K-wide sparse rows (every state listed)
            N, L, K = ev.shape
            ids = torch.arange(K, dtype=torch.int32).expand(N, L, K).contiguous()
            zs, _ = ad.logits(EV.Sparse(ids, ev, torch.zeros(N, L), K, ad.mask, F64))
            self.assertLess(float((zs[fin] - want[fin]).abs().max()), 1e-5)

    def test_context_from_hidden(self):
        net = M.Denoiser(load_cfg(TINY))
        w = torch.softmax(torch.randn(2, 5, net.K), -1)
        h = torch.matmul(w, net.embed_tokens.weight) + net.positions(5)
        with torch.no_grad():
            self.assertTrue(torch.equal(A.context_from_hidden(net, h), net.context_logits(w)))

    def test_hf_adapter(self):
        K, mask, d = 9, 8, 4
        calls = []

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                torch.manual_seed(3)
                self.emb = torch.nn.Embedding(K, d)
                self.out = torch.nn.Linear(d, K)

            def get_input_embeddings(self):
                return self.emb

            def forward(self, input_ids=None, inputs_embeds=None):
                calls.append("ids" if input_ids is not None else "embeds")
                h = self.emb(input_ids) if input_ids is not None else inputs_embeds
                return types.SimpleNamespace(logits=self.out(h))

        net = Net()

        def from_pretrained(path, trust_remote_code=False, **kw):
            if "dtype" in kw:
                raise TypeError("old transformers: no dtype")
            self.assertTrue(trust_remote_code)
            self.assertIs(kw["torch_dtype"], torch.float32)
            return net

        tf = types.SimpleNamespace(
            AutoConfig=types.SimpleNamespace(from_pretrained=lambda p, **kw: types.SimpleNamespace(
                vocab_size=K, mask_token_id=mask, max_position_embeddings=16)),
            AutoModel=types.SimpleNamespace(from_pretrained=from_pretrained))
        ad = A.HFAdapter("/nowhere", torch.device("cpu"), torch.float32, transformers=tf)
        self.assertEqual((ad.K, ad.mask, ad.max_len), (K, mask, 16))
        # hard evidence: token ids with the MASK id
        ev = torch.zeros(1, 3, K)
        ev[0, 0, 2] = ev[0, 1, mask] = ev[0, 2, 5] = 1
        z, _ = ad.logits(EV.Dense(ev, mask, F64))
        self.assertEqual(calls, ["ids"])
        with torch.no_grad():
            want = net.out(net.emb(torch.tensor([[2, mask, 5]])))
        p = torch.softmax(z, -1)
        self.assertEqual(float(p[0, 1, mask]), 0.0)
        self.assertEqual(float(p[0, 0, 2]), 1.0)  # the likelihood makes a committed row one-hot
        wl = want[0, 1].clone()
        wl[mask] = float("-inf")
        self.assertLess(float((p[0, 1] - torch.softmax(wl, -1)).abs().max()), 1e-6)
        # a soft row: every row enters as the likelihood-weighted embedding
        ev[0, 1, 3] = 0.5
        z, _ = ad.logits(EV.Dense(ev, mask, F64))
        self.assertEqual(calls, ["ids", "embeds"])
        w, logl = M.evidence_inputs(ev, mask)
        with torch.no_grad():
            zz = net.out(torch.matmul(w.float(), net.emb.weight)).double() + logl
        zz[..., mask] = float("-inf")
        self.assertLess(float((torch.softmax(z, -1) - torch.softmax(zz, -1)).abs().max()), 1e-6)
        # the same rows as sparse evidence through the raw logits and topk_posterior (the server's top-k path)
        sp = EV.Sparse(torch.tensor([[[2, -1], [mask, 3], [5, -1]]], dtype=torch.int32),
                       torch.tensor([[[1, 0], [1, 0.5], [1, 0]]]), torch.zeros(1, 3), K, mask, F64)
        zr, _ = ad.raw_logits(sp)
        i, p, r, _ = S.topk_posterior(zr, mask, 3, F64, sp.skip_parts())
        check_topk(self, torch.softmax(zz, -1).numpy(), i.numpy(), p.numpy(), r.numpy(), 3, 1e-6)
        # Dream's shift: output i − 1 predicts position i
        ad.shift, ad.likelihood = True, False
        z, _ = ad.logits(EV.Dense(ev[:, :1].expand(1, 3, K).contiguous(), mask, F64))
        self.assertTrue(torch.equal(z[0, 1], z[0, 0]))


# ---------------------------------------------------------------- protocol


def binary_request(inputs, outputs, params=None):
    """An infer request with binary inputs [(name, dtype, array)], built here
    independently of the server."""
    head = {"inputs": [], "outputs": [{"name": n, "parameters": {"binary_data": True}} for n in outputs]}
    if params:
        head["parameters"] = params
    blobs = []
    for name, dt, a in inputs:
        b = np.ascontiguousarray(a, dtype="<f4" if dt == "FP32" else "<i4").tobytes()
        head["inputs"].append({"name": name, "datatype": dt, "shape": list(np.shape(a)),
                               "parameters": {"binary_data_size": len(b)}})
        blobs.append(b)
    h = json.dumps(head).encode()
    return h + b"".join(blobs), len(h)


def parse_answer(body, hl):
    head = json.loads(body[:hl] if hl else body)
    off, out = hl or len(body), {}
    for o in head["outputs"]:
        dt = "<f4" if o["datatype"] == "FP32" else "<i4"
        if "parameters" in o and "binary_data_size" in o["parameters"]:
            n = o["parameters"]["binary_data_size"]
            out[o["name"]] = np.frombuffer(body[off:off + n], dtype=dt).reshape(o["shape"])
            off += n
        else:
            out[o["name"]] = np.array(o["data"], dtype=dt).reshape(o["shape"])
    return head, out


class NaNModel:
    """A model whose logits at sequence 0, position 1 are NaN."""
    K, mask, max_len, platform = 5, 0, 4, "test"
    device, pdt = torch.device("cpu"), F64

    skip = False

    def raw_logits(self, inp):
        z = torch.zeros(inp.B, inp.L, self.K)
        z[0, 1, 3] = float("nan")
        return z, 0.0

    def logits(self, inp):
        z, fwd = self.raw_logits(inp)
        z[..., self.mask] = float("-inf")
        return z, fwd


class ProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ad = A.SoftdiffAdapter.load(TINY, torch.device("cpu"), torch.float32)
        cls.srv, cls.url = cls.start(S.Batcher(8, 0.2, 64))
        cls.start_worker(cls.srv)

    @classmethod
    def start(cls, batcher):
        srv = S.ThreadingHTTPServer(("127.0.0.1", 0), S.Handler)
        srv.daemon_threads = True
        srv.models, srv.batcher, srv.verbose, srv.max_body = {"tiny": cls.ad, "nan": NaNModel()}, batcher, False, 1 << 30
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        return srv, "http://127.0.0.1:%d" % srv.server_address[1]

    @staticmethod
    def start_worker(srv):
        threading.Thread(target=S.worker, args=(srv.batcher, srv.models), daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.shutdown()
        cls.srv.server_close()

    def post(self, path, body, hl=None):
        h = {"Inference-Header-Content-Length": str(hl)} if hl is not None else {}
        req = urllib.request.Request(self.url + path, data=body, headers=h)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, r.read(), r.headers.get("Inference-Header-Content-Length")
        except urllib.error.HTTPError as e:
            with e:
                return e.code, e.read(), None

    def get(self, path):
        with urllib.request.urlopen(self.url + path) as r:
            return json.loads(r.read())

    def reference(self, ev):
        with torch.no_grad():
            z = self.ad.net.logits_from_evidence(torch.from_numpy(ev)).double()
        return torch.softmax(z, -1).numpy(), torch.log_softmax(z, -1).numpy()

    def test_outputs(self):
        ev, _ = parity(TINY)
        ev = ev.numpy()
        B, L, K = ev.shape
        tok = np.random.default_rng(2).integers(0, K, size=(B, L)).astype(np.int32)
        tok[tok == 7] = 8
        body, hl = binary_request([("evidence", "FP32", ev), ("t", "FP32", np.full(B, 0.5)), ("token_ids", "INT32", tok)],
                                  ["beliefs", "logits", "topk_ids", "topk_probs", "topk_residual", "token_logprob"], {"top_k": 4})
        st, ans, ahl = self.post("/v2/models/tiny/infer", body, hl)
        self.assertEqual(st, 200, ans)
        head, out = parse_answer(ans, int(ahl))
        p, lp = self.reference(ev)
        self.assertLess(np.abs(out["beliefs"] - p).max(), 1e-6)
        self.assertTrue(np.all(out["beliefs"][..., 7] == 0))
        want = np.take_along_axis(lp, tok[..., None].astype(np.int64), -1)[..., 0]
        got = out["token_logprob"]
        fin = np.isfinite(want)
        self.assertTrue(np.all(np.isfinite(got) == fin) and np.all(got[~fin] == -np.inf))
        self.assertLess(np.abs(got[fin] - want[fin]).max(), 1e-5)
        ids, probs, res = out["topk_ids"], out["topk_probs"], out["topk_residual"]
        for b in range(B):
            for i in range(L):
                row = p[b, i]
                order = np.argsort(-row, kind="stable")[:4]
                listed = [v for v in order if row[v] > 0]
                self.assertEqual(sorted(int(x) for x in ids[b, i] if x >= 0), sorted(int(v) for v in listed))
                self.assertLess(abs(float(res[b, i]) - (1 - sum(row[listed]))), 1e-6)
                self.assertTrue(np.all(probs[b, i][ids[b, i] < 0] == 0))
        self.assertEqual(head["parameters"]["softdiff_batch"], B)

    def test_topk_fast_path(self):
        """Top-k alone with sparse evidence (hard, MASK and soft rows) takes
        topk_posterior on the raw logits; its answer against the float64
        softmax of train/model.py's logits of the same rows read densely."""
        g = np.random.default_rng(5)
        B, L, K, mask = 3, 6, 40, 7
        ids, vals, res, dense = random_sparse(g, B, L, K, 3, mask)
        ids[0, :, :] = -1
        vals[0, :, :] = 0
        res[0, :] = 0
        ids[0, :, 0] = [5, mask, 12, mask, 30, 1]  # hard rows: committed tokens and MASK
        vals[0, :, 0] = 1
        dense[0] = 0
        dense[0, np.arange(L), ids[0, :, 0]] = 1
        body, hl = binary_request([("evidence_ids", "INT32", ids), ("evidence_values", "FP32", vals),
                                   ("evidence_residual", "FP32", res), ("t", "FP32", np.full(B, 0.5))], S.TOPK, {"top_k": 5})
        st, ans, ahl = self.post("/v2/models/tiny/infer", body, hl)
        self.assertEqual(st, 200, ans)
        _, out = parse_answer(ans, int(ahl))
        p, _ = self.reference(dense.astype(np.float32))
        check_topk(self, p, out["topk_ids"], out["topk_probs"], out["topk_residual"], 5, 1e-5)
        self.assertEqual(out["topk_ids"][0, 0].tolist(), [5, -1, -1, -1, -1])  # a committed token: one-hot
        self.assertEqual(float(out["topk_probs"][0, 0, 0]), 1.0)

    def test_sparse_and_json(self):
        ev = np.zeros((2, 5, 40), dtype=np.float32)
        ev[:, :, 7] = 1
        ev[0, 2, 7], ev[0, 2, 3] = 0, 1
        ids = np.full((2, 5, 1), 7, dtype=np.int32)
        ids[0, 2, 0] = 3
        req = {"inputs": [
            {"name": "evidence_ids", "datatype": "INT32", "shape": [2, 5, 1], "data": ids.ravel().tolist()},
            {"name": "evidence_values", "datatype": "FP32", "shape": [2, 5, 1], "data": [1.0] * 10},
            {"name": "evidence_residual", "datatype": "FP32", "shape": [2, 5], "data": [[0.0] * 5] * 2},
            {"name": "t", "datatype": "FP32", "shape": [2], "data": [0.5, 1.0]}]}
        st, ans, _ = self.post("/v2/models/tiny/infer", json.dumps(req).encode())
        self.assertEqual(st, 200, ans)
        _, out = parse_answer(ans, None)
        self.assertLess(np.abs(out["beliefs"] - self.reference(ev)[0]).max(), 1e-6)

    def test_errors(self):
        ev = np.zeros((1, 3, 40), dtype=np.float32)
        ev[..., 7] = 1
        t = ("t", "FP32", np.array([0.5]))
        cases = [
            (binary_request([("evidence", "INT32", ev.astype(np.int32)), t], ["beliefs"]), 400, "datatype"),
            (binary_request([("evidense", "FP32", ev), t], ["beliefs"]), 400, "unknown input"),
            (binary_request([("evidence", "FP32", ev)], ["beliefs"]), 400, "\"t\" is required"),
            (binary_request([("evidence", "FP32", ev[..., :39]), t], ["beliefs"]), 400, "want [1, L, 40]"),
            (binary_request([("evidence", "FP32", np.zeros((1, 17, 40))), t], ["beliefs"]), 400, "outside 1…16"),
            (binary_request([("evidence", "FP32", ev), t], ["topk_ids", "topk_probs", "topk_residual"]), 400, "top_k"),
            (binary_request([("evidence", "FP32", ev), t], ["topk_ids"], {"top_k": 2}), 400, "together"),
            (binary_request([("evidence", "FP32", ev), t], ["token_logprob"]), 400, "needs input token_ids"),
            (binary_request([("evidence", "FP32", ev * -1), t], ["beliefs"]), 400, "sequence 0, position 0: evidence entry is negative"),
        ]
        for (body, hl), status, msg in cases:
            st, ans, _ = self.post("/v2/models/tiny/infer", body, hl)
            self.assertEqual(st, status, ans)
            self.assertIn(msg, json.loads(ans)["error"])
        body, hl = binary_request([("evidence", "FP32", ev), t], ["beliefs"])
        st, ans, _ = self.post("/v2/models/tiny/infer", body + b"xx", hl)
        self.assertEqual(st, 400)
        self.assertIn("after the tensors", json.loads(ans)["error"])
        st, ans, _ = self.post("/v2/models/tiny/infer", body[:-4], hl)
        self.assertEqual(st, 400)
        req = {"inputs": [{"name": "evidence", "datatype": "FP32", "shape": [1, 3, 40], "data": ev.ravel().tolist()},
                          {"name": "t", "datatype": "FP32", "shape": [1], "data": [0.5]}], "outputs": [{"name": "logits"}]}
        st, ans, _ = self.post("/v2/models/tiny/infer", json.dumps(req).encode())
        self.assertEqual(st, 400)
        self.assertIn("binary data only", json.loads(ans)["error"])
        st, ans, _ = self.post("/v2/models/nope/infer", body, hl)
        self.assertEqual(st, 404)
        ev5 = np.zeros((2, 3, 5), dtype=np.float32)
        ev5[..., 0] = 1
        body, hl = binary_request([("evidence", "FP32", ev5), ("t", "FP32", np.full(2, 0.5))], ["beliefs"])
        st, ans, _ = self.post("/v2/models/nan/infer", body, hl)
        self.assertEqual(st, 500)
        self.assertIn("sequence 0, position 1: the model's logits are NaN", json.loads(ans)["error"])
        # the top-k fast path (raw logits) checks the normaliser too
        body, hl = binary_request([("evidence", "FP32", ev5), ("t", "FP32", np.full(2, 0.5))], S.TOPK, {"top_k": 2})
        st, ans, _ = self.post("/v2/models/nan/infer", body, hl)
        self.assertEqual(st, 500)
        self.assertIn("sequence 0, position 1: the model's logits are NaN", json.loads(ans)["error"])

    def test_metadata(self):
        md = self.get("/v2/models/tiny")
        self.assertEqual(md["parameters"], {"softdiff_protocol": S.PROTOCOL, "vocab_size": 40, "mask_token_id": 7,
                                            "max_length": 16, "max_batch": 8})
        self.assertIn({"name": "evidence", "datatype": "FP32", "shape": [-1, -1, 40]}, md["inputs"])
        self.assertEqual(self.get("/v2/models/tiny/versions/1/ready")["ready"], True)

    def test_merging(self):
        """Queued requests of one signature are merged into forwards of at
        most max_batch sequences, and each gets its own sequences' beliefs.
        (The worker starts once all six are queued.)"""
        srv, url = self.start(S.Batcher(5, 0.0, 64))
        g = np.random.default_rng(5)
        evs = [g.exponential(size=(2, 6, 40)).astype(np.float32) for _ in range(6)]
        res = [None] * len(evs)

        def one(j):
            body, hl = binary_request([("evidence", "FP32", evs[j]), ("t", "FP32", np.full(2, 0.5))], ["beliefs"])
            req = urllib.request.Request(url + "/v2/models/tiny/infer", data=body,
                                         headers={"Inference-Header-Content-Length": str(hl)})
            with urllib.request.urlopen(req) as r:
                res[j] = r.read(), r.headers.get("Inference-Header-Content-Length")

        ts = [threading.Thread(target=one, args=(j,)) for j in range(len(evs))]
        for t in ts:
            t.start()
        for _ in range(1000):
            with srv.batcher.cv:
                if len(srv.batcher.queue) == len(evs):
                    break
            threading.Event().wait(0.01)
        self.start_worker(srv)
        for t in ts:
            t.join()
        srv.shutdown()
        srv.server_close()
        batches = []
        for j, (ans, hl) in enumerate(res):
            head, out = parse_answer(ans, int(hl))
            batches.append(head["parameters"]["softdiff_batch"])
            self.assertLess(np.abs(out["beliefs"] - self.reference(evs[j])[0]).max(), 1e-6)
        self.assertEqual(sorted(batches), [4, 4, 4, 4, 4, 4])  # 2 + 2 (a third would exceed 5), three times

    def test_batcher_signatures(self):
        b = S.Batcher(4, 0.0, 100)

        def job(sig, B):
            return S.Job(sig, B, (), None, [], {}, 0, None)

        for sig, B in [("a", 1), ("b", 1), ("a", 2), ("a", 2), ("b", 3)]:
            b.submit(job(sig, B))
        self.assertEqual([(j.sig, j.B) for j in b.take()], [("a", 1), ("a", 2)])
        self.assertEqual([(j.sig, j.B) for j in b.take()], [("b", 1), ("b", 3)])
        self.assertEqual([(j.sig, j.B) for j in b.take()], [("a", 2)])
        b = S.Batcher(4, 0.0, 3)
        b.submit(job("a", 2))
        with self.assertRaises(S.HTTPError) as e:
            b.submit(job("a", 2))
        self.assertEqual(e.exception.status, 503)


@unittest.skipUnless(torch.cuda.is_available(), "no CUDA device")
class CudaComputeTest(unittest.TestCase):
    """server.compute on a GPU, where the top-k path runs without a device
    synchronisation until the answer is copied to the host: the same answer
    as on the CPU, the forward timed by CUDA events, and the host-side
    evidence and normaliser checks still answering with the row at fault."""

    def test_gpu_matches_cpu(self):
        cpu = A.SoftdiffAdapter.load(TINY, torch.device("cpu"), torch.float32)
        gpu = A.SoftdiffAdapter.load(TINY, torch.device("cuda"), torch.float32)
        g = np.random.default_rng(11)
        B, L, K, mask = 3, 16, cpu.K, cpu.mask
        for soft_rows in (False, True):
            if soft_rows:
                ids, vals, res, _ = random_sparse(g, B, L, K, 3, mask)
            else:  # hard rows as the Go client sends them (the hard_sparse form)
                ids = g.integers(0, K, size=(B, L, 1)).astype(np.int32)
                ids[ids == mask] = 0
                ids[:, ::2] = mask
                vals, res = np.ones((B, L, 1), np.float32), np.zeros((B, L), np.float32)
            want, _ = S.compute(cpu, (ids, vals, res), None, list(S.TOPK), 5)
            got, fwd = S.compute(gpu, (ids, vals, res), None, list(S.TOPK), 5)
            self.assertGreater(fwd, 0)
            self.assertLess(np.abs(got["topk_probs"] - want["topk_probs"]).max(), 1e-4)
            self.assertLess(np.abs(got["topk_residual"] - want["topk_residual"]).max(), 1e-4)
            # the same ids where the probabilities are not nearly tied
            same = (np.abs(np.diff(want["topk_probs"], axis=-1)) > 1e-3).all(-1)
            self.assertTrue(np.array_equal(got["topk_ids"][same], want["topk_ids"][same]))

    def test_gpu_errors(self):
        gpu = A.SoftdiffAdapter.load(TINY, torch.device("cuda"), torch.float32)
        ids = np.full((1, 4, 1), 3, np.int32)
        vals = np.ones((1, 4, 1), np.float32)
        vals[0, 2, 0] = np.nan
        with self.assertRaisesRegex(EV.EvidenceError, "sequence 0, position 2: evidence value is NaN"):
            S.compute(gpu, (ids, vals, np.zeros((1, 4), np.float32)), None, list(S.TOPK), 2)

        class NaNGPU:
            K, mask, max_len, skip = 12, 0, 8, False
            device, pdt = torch.device("cuda"), torch.float32

            def raw_logits(self, inp):
                z = torch.zeros(inp.B, inp.L, self.K, device="cuda")
                z[0, 3, 5] = float("nan")
                return z, A.Stopwatch(self.device).stop()

        with self.assertRaisesRegex(S.ModelError, "sequence 0, position 3: the model's logits"):
            S.compute(NaNGPU(), (np.full((1, 4, 1), 2, np.int32), np.ones((1, 4, 1), np.float32),
                                 np.zeros((1, 4), np.float32)), None, list(S.TOPK), 2)


if __name__ == "__main__":
    unittest.main()
