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
    p.add_argument("--warmup-format", default="torch",
                   help="who trains the warm-up steps: torch (PyTorch FP32) "
                        "or a format (the compiled step, as bm.train runs it)")
    p.add_argument("--save", default=None,
                   help="directory to save the compiled trainer's values "
                        "(weights, momentum buffers, batch-norm statistics) "
                        "at each --at step, as stepN.npz")
    p.add_argument("--at", default=None,
                   help="comma list of steps to compare at (default: "
                        "--warmup), in one warm-up run")
    args = p.parse_args(argv)

    import torch
    from bm import compiler, frontend
    from bm.train import data as bmdata, models

    torch.manual_seed(args.seed)
    model = models.build(args.model, args.width)
    (xtr, ytr) = bmdata.load("train", None, args.limit)
    rng = np.random.default_rng(args.seed)
    batches = bmdata.batches(xtr, ytr, args.batch_size, rng)
    at = sorted({int(a) for a in args.at.split(",")}) if args.at else [args.warmup]

    # The step as training compiles it (no gradient results, which could
    # change what the front end keeps), with lr 1 and no momentum or weight
    # decay, so that the update is the gradient: g = w - w'.
    step = frontend.capture_train_step(
        model, (args.batch_size, 1, 28, 28), lr=1.0)
    t0 = time.perf_counter()
    fn = step.compile(passes=compiler.quantize_training_passes(
        args.format, args.rounding, args.loss_grad, args.scale,
        args.forward_scale, args.backward_scale))
    sys.stderr.write("compiled %s in %.0f s\n"
                     % (args.format, time.perf_counter() - t0))

    if args.warmup_format == "torch":
        from bm.train.runner import TorchRunner
        trainer = TorchRunner(model, lr=args.lr, momentum=0.9,
                              weight_decay=5e-4)
    else:
        from bm.train.runner import Runner
        trainer = Runner(model, (args.batch_size, 1, 28, 28),
                         fmt=args.warmup_format, lr=args.lr, momentum=0.9,
                         weight_decay=5e-4, rounding=args.rounding,
                         seed=args.seed, eval_batch=args.batch_size,
                         loss_grad=args.loss_grad, scale=args.scale,
                         forward_scale=args.forward_scale,
                         backward_scale=args.backward_scale)
    t0 = time.perf_counter()
    for i in range(at[-1] + 1):
        xb, yb = next(batches)
        if i in at:
            if args.warmup_format != "torch":
                trainer.load_into(model)
                if args.save:
                    os.makedirs(args.save, exist_ok=True)
                    np.savez(os.path.join(args.save, "step%d.npz" % i),
                             **trainer.values)
            compare(model, xb, yb, fn, step, args, i,
                    args.seed * 1_000_000 + i)
        if i < at[-1]:
            trainer.step(xb, yb)
    sys.stderr.write("%d steps in %.0f s\n" % (at[-1], time.perf_counter() - t0))
    return 0


def compare(model, xb, yb, fn, step, args, index, train_seed):
    import copy
    import torch
    # FP32 reference: PyTorch's gradient on a copy (batch-norm running
    # statistics do not enter the gradient).
    ref = copy.deepcopy(model).train()
    ref.zero_grad()
    loss = torch.nn.functional.cross_entropy(
        ref(torch.from_numpy(xb)), torch.from_numpy(yb.astype(np.int64)))
    loss.backward()
    g32 = {n: p.grad.detach().numpy().copy() for n, p in ref.named_parameters()}

    values = step.initial_values(model)
    draws, losses = [], []
    ndraws = args.draws if args.rounding == "stochastic" else 1
    # The first draw is the training run's own (its Philox seed for this
    # step, as bm.train.runner.Runner passes it).
    for seed in [train_seed] + [1000 + i for i in range(ndraws - 1)]:
        out = fn(values, xb, yb, seed=seed)
        draws.append({n: values[n].astype(np.float64) - w
                      for n, w in out["weights"].items()})
        losses.append(out["loss"])
    print("model %s width %s format %s rounding %s loss-grad %s scale %s "
          "fwd %s bwd %s; weights after %d %s steps; %d draw(s)"
          % (args.model, args.width, args.format, args.rounding,
             args.loss_grad, args.scale, args.forward_scale,
             args.backward_scale, index, args.warmup_format, ndraws))
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
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
