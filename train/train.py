#!/usr/bin/python3
"""Train a softdiff denoiser on exact samples and export it.

  /usr/bin/python3 train/train.py --data .devstage/kjv-hmm-32.npy --objective mix \
      --name kjv-hmm-32-mix --out data/models --steps 3000 --batch 64

reads the samples `softdiff sample` wrote (FILE.npy and FILE.json), trains
the architecture of model.py under the objective, and writes OUT/NAME/ with
config.json, model.safetensors, parity.safetensors (evidence and this
framework's logits for it, which Go's forward must match) and README.md
(the model card: command, seed, steps, wall time, hardware, losses).
"""

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_table as KT  # noqa: E402
import model as M  # noqa: E402
import objectives as O  # noqa: E402
import safetensors_io as ST  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="samples written by 'softdiff sample' (.npy, with .json beside it)")
    p.add_argument("--objective", required=True, choices=O.OBJECTIVES)
    p.add_argument("--kernel", default="", help="kernel table written by 'softdiff export-kernel' (objective kernel)")
    p.add_argument("--name", required=True, help="checkpoint name (directory under --out)")
    p.add_argument("--out", required=True, help="directory to write OUT/NAME into")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=0, help="MLP width (0: 4·hidden)")
    p.add_argument("--position", choices=("learned", "sinusoidal"), default="learned")
    p.add_argument("--untied", action="store_true", help="separate output head")
    p.add_argument("--no-skip", action="store_true", help="no evidence skip (ablation)")
    p.add_argument("--steps", type=int, default=1000, help="optimiser steps (a cap when --time-limit is set)")
    p.add_argument("--time-limit", type=float, default=0, help="seconds of training; the schedule runs on max(step/steps, time/limit)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--snr-min", type=float, default=0.03)
    p.add_argument("--snr-max", type=float, default=100.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (PyTorch ≥ 2; eager on failure)")
    p.add_argument("--compile-mode", default="default", help="torch.compile mode (default, reduce-overhead, max-autotune, ...)")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast on CUDA")
    p.add_argument("--dtype", choices=("F32", "F16", "BF16"), default="F16", help="stored weight dtype")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--eval-batches", type=int, default=8)
    return p.parse_args(argv)


def load_data(path):
    meta_path = path[:-4] + ".json" if path.endswith(".npy") else path + ".json"
    with open(meta_path) as f:
        meta = json.load(f)
    x = np.load(path)
    if x.ndim != 2 or x.shape[1] != meta["length"]:
        raise SystemExit("%s: shape %s does not match length %d in %s" % (path, x.shape, meta["length"], meta_path))
    if x.min() < 0 or x.max() >= meta["vocab_size"] or (x == meta["mask_token_id"]).any():
        raise SystemExit("%s: token ids outside the vocabulary or MASK in the data" % path)
    return x, meta


def lr_at(progress, step, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def forward(fwd, w, logl, autocast):
    if autocast:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            return fwd(w, logl)
    return fwd(w, logl)


def evaluate(net, batcher, xs, objective, seed, device, batches, bsz):
    """Mean loss of the objective on held-out sequences at fixed seeds."""
    g = torch.Generator(device=device)
    tot, n = 0.0, 0
    with torch.no_grad():
        for b in range(batches):
            g.manual_seed(seed * 1000 + b)
            x0 = xs[b * bsz:(b + 1) * bsz].long()
            if len(x0) == 0:
                break
            w, logl, weight, norm = batcher.batch(objective, x0, g)
            z = net(w, logl)
            ce = F.cross_entropy(z.reshape(-1, z.shape[-1]).float(), x0.reshape(-1), reduction="none").view_as(weight)
            tot += float((weight * ce).sum() / norm)
            n += 1
    return tot / max(n, 1)


def kernel_parity_evidence(x0, table, seed):
    """Kernel evidence rows [N, L, K] (float32) of x_t drawn from the table at
    times spread over its grid: the rows the kernel samplers hand over."""
    g = torch.Generator().manual_seed(seed)
    N, L = x0.shape
    x = torch.from_numpy(np.asarray(x0, dtype=np.int64))
    j = (torch.arange(N * L).view(N, L) * 7 + 3) % table.T
    xt = table.sample(x, j, g)
    return table.evidence_rows(xt, j).numpy().astype(np.float32)


def parity_evidence(x0, K, mask, seed):
    """Evidence rows [N, L, K] (float32) covering every kind of row Go must match."""
    g = np.random.default_rng(seed)
    N, L = x0.shape
    V = K - 1
    tok = np.array([v for v in range(K) if v != mask])
    ev = np.zeros((N, L, K), dtype=np.float32)

    def soft_row(x, s, scale=1.0):
        lam = np.zeros(V)
        lam[np.searchsorted(tok, x)] = s
        lam += math.sqrt(s) * g.standard_normal(V)
        p = np.exp((lam - lam.max()).astype(np.float32))  # float32 softmax, as SoftSL writes it
        p = (p / p.sum(dtype=np.float64)).astype(np.float32)
        row = np.zeros(K, dtype=np.float32)
        row[tok] = p * np.float32(scale)
        return row

    for n in range(N):
        for i in range(L):
            x = x0[n, i]
            kind = (i + 3 * n) % 9
            row = np.zeros(K, dtype=np.float32)
            if kind == 0:
                row[x] = 1
            elif kind == 1:
                row[mask] = 1
            elif kind in (2, 3, 4, 5):
                row = soft_row(x, [0.3, 3.0, 30.0, 300.0][kind - 2])
            elif kind == 6:  # LRD-like: (1 − α)·MASK + α·nucleus
                top = g.choice(tok, size=min(5, V), replace=False)
                p = g.dirichlet(np.ones(len(top)))
                alpha = 0.6
                row[top] = (alpha * p).astype(np.float32)
                row[mask] = 1 - alpha
            elif kind == 7:  # uniform over the tokens: no evidence
                row[tok] = 1.0 / V
            else:  # unnormalised soft row
                row = soft_row(x, 2.0, scale=3.7)
            ev[n, i] = row
    return ev


def export_checkpoint(out, cfg, net, dtype, fixture_x0, fixture_seed, name, table=None):
    """Write model.safetensors (weights rounded to dtype) and parity.safetensors
    (evidence rows and the logits of the rounded model for them) into out, and
    return the rounded model on the CPU in float32. config.json and README.md
    are written by the caller."""
    sd = {k: v.detach().float().cpu() for k, v in net.state_dict().items()}
    names = M.tensor_names(cfg)
    if sorted(names) != sorted(sd.keys()):
        raise SystemExit("state dict names %s differ from the checkpoint names %s" % (sorted(sd), sorted(names)))
    rounded = {n: torch.from_numpy(ST.decode(ST.encode(sd[n].numpy(), dtype), dtype, list(sd[n].shape))) for n in names}
    cpu_net = M.Denoiser(cfg)
    cpu_net.load_state_dict(rounded, strict=True)
    cpu_net.eval()
    os.makedirs(out, exist_ok=True)
    ST.write(os.path.join(out, "model.safetensors"), {n: rounded[n].numpy() for n in names}, dtype=dtype,
             metadata={"format": "pt", "name": name})
    ev = parity_evidence(fixture_x0, cfg["vocab_size"], cfg["mask_token_id"], fixture_seed)
    if table is not None:  # add as many sequences of the kernel's own rows
        ev = np.concatenate([ev, kernel_parity_evidence(fixture_x0, table.to("cpu"), fixture_seed + 1)])
    with torch.no_grad():
        lg = cpu_net.logits_from_evidence(torch.from_numpy(ev)).numpy()
    ST.write(os.path.join(out, "parity.safetensors"), {"evidence": ev, "logits": lg}, dtype="F32",
             metadata={"torch": torch.__version__, "name": name})
    return cpu_net


def write_config(out, cfg, training=None):
    c = dict(cfg)
    if training is not None:
        c["training"] = training
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(c, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main(argv):
    a = parse_args(argv)
    t_start = time.time()
    torch.manual_seed(a.seed)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # TF32 products, float32 everything else
        torch.backends.cudnn.allow_tf32 = True
    x, meta = load_data(a.data)
    K, mask, L = meta["vocab_size"], meta["mask_token_id"], meta["length"]
    table = None
    if a.objective == "kernel" and not a.kernel:
        raise SystemExit("--objective kernel needs --kernel FILE (written by 'softdiff export-kernel')")
    if a.kernel:
        try:
            table = KT.KernelTable(a.kernel, K, mask)
        except ValueError as e:
            raise SystemExit(str(e))
        if table.testbed and table.testbed != meta["testbed"]:
            raise SystemExit("%s: kernel table of testbed %s, data of %s" % (a.kernel, table.testbed, meta["testbed"]))
    cfg = M.make_config(K, mask, L, hidden=a.hidden, layers=a.layers, heads=a.heads,
                        intermediate=a.intermediate or None, position=a.position, tied=not a.untied,
                        skip=not a.no_skip, tokens=meta["tokens"], objective=a.objective, testbed=meta["testbed"])
    net = M.Denoiser(cfg).to(dev)
    n_eval = min(max(len(x) // 100, 64), 4096)
    xs = torch.from_numpy(x.astype(np.int16 if meta["vocab_size"] <= 1 << 15 else np.int32)).to(dev)
    train_x, eval_x = xs[:-n_eval], xs[-n_eval:]
    batcher = O.Batcher(K, mask, a.snr_min, a.snr_max, kernel=table).to(dev)
    decay = [p for n, p in net.named_parameters() if p.dim() >= 2]
    other = [p for n, p in net.named_parameters() if p.dim() < 2]
    opt_kw = {}
    if dev.type == "cuda" and "fused" in torch.optim.AdamW.__init__.__code__.co_varnames:
        opt_kw["fused"] = True
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.99), **opt_kw)
    fwd = net
    compiled = False
    if a.compile and hasattr(torch, "compile"):
        try:
            fwd = torch.compile(net, mode=None if a.compile_mode == "default" else a.compile_mode)
            compiled = True
        except Exception as e:  # noqa: BLE001
            print("compile failed, running eager: %s" % e, flush=True)
    g = torch.Generator(device=dev)
    g.manual_seed(a.seed)
    gi = torch.Generator(device=dev)
    gi.manual_seed(a.seed + 1)
    autocast = (dev.type == "cuda" and a.bf16)
    ema, step, progress = None, 0, 0.0
    t_train = time.time()
    log = []
    while step < a.steps and progress < 1.0:
        idx = torch.randint(len(train_x), (a.batch,), generator=gi, device=dev)
        x0 = train_x[idx].long()
        w, logl, weight, norm = batcher.batch(a.objective, x0, g)
        for grp in opt.param_groups:
            grp["lr"] = lr_at(progress, step, a)
        try:
            z = forward(fwd, w, logl, autocast)
        except Exception as e:  # noqa: BLE001
            if not compiled:
                raise
            print("compiled forward failed, running eager: %s" % e, flush=True)
            fwd, compiled = net, False
            z = forward(fwd, w, logl, autocast)
        ce = F.cross_entropy(z.reshape(-1, K).float(), x0.reshape(-1), reduction="none").view_as(weight)
        loss = (weight * ce).sum() / norm
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        step += 1
        elapsed = time.time() - t_train
        progress = step / a.steps
        if a.time_limit > 0:
            progress = max(progress, elapsed / a.time_limit)
        if step % a.log_every == 0 or step == 1 or progress >= 1.0 or step == a.steps:
            lv = float(loss)
            ema = lv if ema is None else 0.9 * ema + 0.1 * lv
            log.append((step, elapsed, lv))
            print("%s step %d  %.1fs  %.2f steps/s  loss %.5f  ema %.5f  lr %.2e" % (
                a.name, step, elapsed, step / max(elapsed, 1e-9), lv, ema, opt.param_groups[0]["lr"]), flush=True)
    wall_train = time.time() - t_train
    net.eval()
    out = os.path.join(a.out, a.name)
    cpu_net = export_checkpoint(out, cfg, net, a.dtype, eval_x[:(2 if L > 8 else 4)].long().cpu().numpy(), a.seed + 99, a.name,
                                table=table)
    evals = {}
    for obj in O.OBJECTIVES:
        if obj == "kernel" and table is None:
            continue
        evals[obj] = evaluate(cpu_net, O.Batcher(K, mask, a.snr_min, a.snr_max, kernel=table), eval_x.cpu(), obj, 7,
                              torch.device("cpu"), a.eval_batches, 256)
    hw = "%s, %s, torch %s" % (platform.processor() or platform.machine(), dev.type, torch.__version__)
    if dev.type == "cuda":
        hw = "%s, torch %s" % (torch.cuda.get_device_name(dev), torch.__version__)
    elif dev.type == "cpu":
        hw += ", %d threads" % torch.get_num_threads()
    final_loss = float(np.mean([l for _, _, l in log[-5:]])) if log else float("nan")
    training = {
        "command": "train/train.py " + " ".join(shlex.quote(s) for s in argv),
        "data": {k: meta[k] for k in ("testbed", "length", "n", "seed", "command")},
        "seed": a.seed, "steps": step, "batch": a.batch, "lr": a.lr, "objective": a.objective,
        "snr_range": [a.snr_min, a.snr_max], "weight_dtype": a.dtype, "compiled": compiled,
        "bf16_autocast": autocast, "wall_seconds_training": round(wall_train, 1),
        "wall_seconds_total": round(time.time() - t_start, 1), "hardware": hw,
        "final_train_loss": round(final_loss, 5),
        "eval_loss": {k: round(v, 5) for k, v in evals.items()},
        "parameters": int(sum(v.numel() for v in cpu_net.state_dict().values())),
    }
    if table is not None:
        training["kernel"] = {"name": table.kernel, "table": os.path.basename(a.kernel), "times": table.T,
                              "neighbours": table.meta.get("neighbours", ""), "format": table.meta.get("format", "")}
    write_config(out, cfg, training)
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(model_card(a.name, cfg, training))
    print(json.dumps({"name": a.name, "steps": step, "wall_s": training["wall_seconds_training"],
                      "final_train_loss": training["final_train_loss"], "eval_loss": training["eval_loss"]}), flush=True)


def model_card(name, cfg, tr):
    obj = {"mdlm": "masked diffusion (MDLM's weighted ELBO, linear schedule)",
           "soft": "soft evidence: the Gaussian channel of stochastic localisation, SNR log-uniform on [%g, %g]" % tuple(tr["snr_range"]),
           "mix": "the mixture: masked, soft (SNR log-uniform on [%g, %g]) and clean positions" % tuple(tr["snr_range"]),
           "kernel": "the forward process of the `%s` kernel (graded-generation's, exported by `softdiff export-kernel`, %d times j/%d): evidence rows P_t(x_t | x_0 = ·)" % (
               tr.get("kernel", {}).get("name", "?"), tr.get("kernel", {}).get("times", 0), tr.get("kernel", {}).get("times", 0))}[tr["objective"]]
    lines = [
        "# %s" % name, "",
        "A softdiff denoiser (bidirectional transformer, package nn) trained on exact samples of the `%s` testbed." % tr["data"]["testbed"], "",
        "| | |", "|---|---|",
        "| objective | %s |" % obj,
        "| architecture | d = %d, %d layers, %d heads, MLP %d, %s positions, %s head, evidence skip %s |" % (
            cfg["hidden_size"], cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["intermediate_size"],
            cfg["position_embedding_type"], "tied" if cfg["tie_word_embeddings"] else "separate",
            "on" if cfg["evidence_skip"] else "off"),
        "| parameters | %d (stored as %s) |" % (tr["parameters"], tr["weight_dtype"]),
        "| data | `%s` |" % tr["data"]["command"],
        "| training | `%s` |" % tr["command"],
        "| seed | %d |" % tr["seed"],
        "| steps | %d at batch %d (peak learning rate %g) |" % (tr["steps"], tr["batch"], tr["lr"]),
        "| wall time | %.1f s training, %.1f s in all |" % (tr["wall_seconds_training"], tr["wall_seconds_total"]),
        "| hardware | %s%s |" % (tr["hardware"], ", torch.compile" if tr["compiled"] else ""),
        "| final training loss | %.5f (mean of the last logged steps) |" % tr["final_train_loss"],
        "| held-out loss | %s |" % ", ".join("%s %.5f" % kv for kv in tr["eval_loss"].items()),
        "",
        "The model's error against the exact posterior is measured by `softdiff run model-error`.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
