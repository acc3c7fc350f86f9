#!/usr/bin/python3
"""Compares one training step's gradients, compiled BM against PyTorch's
FP32, on the same weights and batch: for every parameter, the relative
error of each stochastic draw and of their mean, and the cosine of the mean
with the FP32 gradient.

    scripts/grad_compare.py --model resnet18 --width 32 --format bm6 \\
        --warmup 150 --draws 8 [--rounding nearest] [--loss-grad fp32] \\
        [--backward-scale fit]

The weights are PyTorch's after `--warmup` SGD steps (lr, momentum, weight
decay and batch order as `python -m bm.train --seeds SEED`); the compared
batch is the next one. The compiled step is captured with lr 1, no momentum
and no weight decay, so its update is the gradient; the FP32 gradients are
`loss.backward()` of the same train-mode model. A numerics defect (a wrong
role, transpose or block) shows as a relative error of the *mean* over
draws near or above 1 for the parameters it touches; stochastic-rounding
noise shrinks as 1/sqrt(draws) in the mean; the "bias" column estimates
the part that does not (the mean's squared error less the draws' variance
over their number)."""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="resnet18")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--format", default="bm6")
    p.add_argument("--warmup", type=int, default=0,
                   help="PyTorch FP32 SGD steps before the compared batch")
    p.add_argument("--draws", type=int, default=8,
                   help="stochastic-rounding seeds of the BM step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--rounding", default="stochastic")
    p.add_argument("--loss-grad", default="auto")
    p.add_argument("--scale", default="floor")
    p.add_argument("--backward-scale", default=None)
    p.add_argument("--forward-scale", default=None)
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)

    import torch
    from bm import data as bmdata, frontend, models
    from bm.runner import rewrite_passes

    torch.manual_seed(args.seed)
    kwargs = {} if args.width is None else {"width": args.width}
    model = models.MODELS[args.model](**kwargs)
    (xtr, ytr) = bmdata.load("train", None, args.limit)
    rng = np.random.default_rng(args.seed)
    batches = bmdata.batches(xtr, ytr, args.batch_size, rng)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                          weight_decay=5e-4)
    model.train()
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        xb, yb = next(batches)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.from_numpy(xb)), torch.from_numpy(yb.astype(np.int64))
        ).backward()
        opt.step()
    xb, yb = next(batches)
    sys.stderr.write("warm-up %d steps in %.0f s\n"
                     % (args.warmup, time.perf_counter() - t0))

    # FP32 reference: PyTorch's gradient on a copy (batch-norm running
    # statistics do not enter the gradient).
    import copy
    ref = copy.deepcopy(model).train()
    ref.zero_grad()
    loss = torch.nn.functional.cross_entropy(
        ref(torch.from_numpy(xb)), torch.from_numpy(yb.astype(np.int64)))
    loss.backward()
    g32 = {n: p.grad.detach().numpy().copy() for n, p in ref.named_parameters()}

    # The step as training compiles it (no gradient results, which could
    # change what the front end keeps), with lr 1 and no momentum or weight
    # decay, so that the update is the gradient: g = w - w'.
    step = frontend.capture_train_step(
        model, (args.batch_size, 1, 28, 28), lr=1.0)
    t0 = time.perf_counter()
    fn = step.compile(passes=rewrite_passes(
        args.format, args.rounding, args.loss_grad, args.scale,
        args.forward_scale, args.backward_scale))
    sys.stderr.write("compiled %s in %.0f s\n"
                     % (args.format, time.perf_counter() - t0))
    values = step.initial_values(model)
    draws, losses = [], []
    ndraws = args.draws if args.rounding == "stochastic" else 1
    for i in range(ndraws):
        out = fn(values, xb, yb, seed=1000 + i)
        draws.append({n: values[n].astype(np.float64) - w
                      for n, w in out["weights"].items()})
        losses.append(out["loss"])
    print("model %s width %s format %s rounding %s loss-grad %s scale %s "
          "fwd %s bwd %s, warm-up %d, %d draw(s)"
          % (args.model, args.width, args.format, args.rounding,
             args.loss_grad, args.scale, args.forward_scale,
             args.backward_scale, args.warmup, ndraws))
    print("loss FP32 %.5f, BM %s" % (float(loss), " ".join(
        "%.5f" % v for v in losses)))
    print("%-34s %14s %10s %9s %9s %7s %7s %6s" % (
        "parameter", "shape", "|g| fp32", "err/draw", "err mean", "bias",
        "cos", "finite"))
    worst = []
    for name, g in g32.items():
        gs = np.stack([np.asarray(d[name], np.float64) for d in draws])
        norm = np.linalg.norm(g) or 1.0
        per = np.mean([np.linalg.norm(x - g) / norm for x in gs])
        mean = gs.mean(0)
        err = np.linalg.norm(mean - g) / norm
        # E|mean - g|^2 = |bias|^2 + tr(cov) / draws: the part of the mean's
        # error that more draws would not remove.
        bias = err
        if len(gs) > 1:
            var = sum(np.sum((x - mean) ** 2) for x in gs) / (len(gs) - 1)
            bias = np.sqrt(max(0.0, np.sum((mean - g) ** 2) - var / len(gs))) / norm
        cos = float(np.dot(mean.ravel(), g.ravel())
                    / (np.linalg.norm(mean) * norm + 1e-30))
        finite = bool(np.all(np.isfinite(gs)))
        worst.append((bias, name))
        print("%-34s %14s %10.3e %9.3f %9.3f %7.3f %7.4f %6s" % (
            name, "x".join(map(str, g.shape)), norm, per, err, bias, cos,
            finite))
    worst.sort(reverse=True)
    print("largest bias: %s" % ", ".join(
        "%s %.3f" % (n, b) for b, n in worst[:5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
