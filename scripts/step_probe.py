#!/usr/bin/python3
"""Probes one SGD step of a saved training state: which parameters' update
turns a normal loss into a large one. Reads the values that
`scripts/grad_compare.py --save DIR --at N,N+1` saved from a compiled
training run (weights, momentum buffers, batch-norm statistics after N and
N+1 steps) and, with PyTorch in FP32 on the same batches:

* the loss on batch N+1 at the weights after N and after N+1 steps;
* the loss on batch N+1 after an FP32 step from state N instead of the
  compiled one (PyTorch's gradient on batch N, the saved momentum buffer);
* the compiled step's gradient (recovered from the momentum buffers:
  d = buf' - momentum * buf) against PyTorch's, per parameter;
* the loss on batch N+1 with one module's update undone at a time, and
  with only one module's update applied.

    scripts/step_probe.py DIR N --model resnet18 [--width W] [--limit 12800]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dir")
    p.add_argument("step", type=int)
    p.add_argument("--model", default="resnet18")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    args = p.parse_args(argv)

    import torch
    from bm.train import data as bmdata, models
    torch.manual_seed(args.seed)
    model = models.build(args.model, args.width).train()
    (xtr, ytr) = bmdata.load("train", None, args.limit)
    rng = np.random.default_rng(args.seed)
    batches = list(bmdata.batches(xtr, ytr, args.batch_size, rng))
    n = args.step
    b0, b1 = batches[n], batches[n + 1]
    s0 = dict(np.load(os.path.join(args.dir, "step%d.npz" % n)))
    s1 = dict(np.load(os.path.join(args.dir, "step%d.npz" % (n + 1))))
    names = [k for k, _ in model.named_parameters()]

    def load(weights):
        with torch.no_grad():
            for k, t in model.named_parameters():
                t.copy_(torch.from_numpy(np.asarray(weights[k], np.float32)))

    def loss(weights, batch):
        load(weights)
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(
                model(torch.from_numpy(batch[0])),
                torch.from_numpy(batch[1].astype(np.int64))))

    def grad(weights, batch):
        load(weights)
        model.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.from_numpy(batch[0])),
            torch.from_numpy(batch[1].astype(np.int64))).backward()
        return {k: t.grad.numpy().astype(np.float64).copy()
                for k, t in model.named_parameters()}

    w0 = {k: s0[k].astype(np.float64) for k in names}
    w1 = {k: s1[k].astype(np.float64) for k in names}
    buf0 = {k: s0[k + ".momentum_buffer"].astype(np.float64) for k in names}
    buf1 = {k: s1[k + ".momentum_buffer"].astype(np.float64) for k in names}
    print("FP32 loss: batch %d at w%d %.4f; batch %d at w%d %.4f, at w%d %.4f"
          % (n, n, loss(w0, b0), n + 1, n, loss(w0, b1), n + 1, loss(w1, b1)))
    g = grad(w0, b0)
    d32 = {k: g[k] + args.weight_decay * w0[k] for k in names}
    wf = {k: w0[k] - args.lr * (args.momentum * buf0[k] + d32[k]) for k in names}
    print("FP32 step from state %d: loss on batch %d %.4f" % (n, n + 1, loss(wf, b1)))
    wm = {k: w0[k] - args.lr * args.momentum * buf0[k] for k in names}
    print("momentum alone (w%d - lr * momentum * buf%d): loss on batch %d %.4f"
          % (n, n, n + 1, loss(wm, b1)))

    print("\n%-32s %9s %9s %9s %8s %9s %9s" % (
        "parameter", "|w|", "|dw|/|w|", "|mom|/|w|", "cos d", "|d|/|d32|",
        "undo->"))
    modules = sorted({k.rsplit(".", 1)[0] for k in names},
                     key=lambda m: names.index(next(k for k in names if k.startswith(m + "."))))
    rows = []
    for k in names:
        dbm = buf1[k] - args.momentum * buf0[k]
        cos = np.dot(dbm.ravel(), d32[k].ravel()) / (
            np.linalg.norm(dbm) * np.linalg.norm(d32[k]) + 1e-30)
        nw = np.linalg.norm(w0[k]) + 1e-30
        rows.append((k, nw, np.linalg.norm(w1[k] - w0[k]) / nw,
                     args.lr * args.momentum * np.linalg.norm(buf0[k]) / nw, cos,
                     np.linalg.norm(dbm) / (np.linalg.norm(d32[k]) + 1e-30)))
    for m in modules:
        undo = dict(w1)
        only = dict(w0)
        for k in names:
            if k.rsplit(".", 1)[0] == m:
                undo[k] = w0[k]
                only[k] = w1[k]
        lu, lo = loss(undo, b1), loss(only, b1)
        for r in rows:
            if r[0].rsplit(".", 1)[0] == m:
                print("%-32s %9.3e %9.4f %9.4f %8.4f %9.3f %9s" % (r + ("",)))
        print("%-32s undo this module's step: %.4f; only its step: %.4f"
              % ("  " + m, lu, lo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
