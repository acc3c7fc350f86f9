"""Train a model on Fashion-MNIST with compiled FP32 or BM training steps.

    /usr/bin/python3 -m bm.train --model mlp --formats fp32,bm6 --epochs 1
    /usr/bin/python3 -m bm.train --model resnet18 --formats bm6 --epochs 1

Models (bm/train/models.py; --width sets the base width):

  mlp             784-256-10 MLP with ReLU (width: hidden units, 256)
  cnn             two 3x3 conv + max-pool layers and a linear layer
                  (width: channels of the first conv, 8)
  resnet18        torchvision's ResNet-18 with a 1-channel 7x7 stem
                  (width: channels of the stem and layer1, 64)
  resnet18-cifar  the CIFAR-style ResNet-18: 3x3 stem, no max-pool (width 64)
  vit             ViT-style encoder: 7x7 patches, 4 x nn.TransformerEncoderLayer
                  of 4 heads, GELU, mean pooling (width: embedding size, 64)

Each format trains the same initial weights (per seed) on the same shuffled
batches; format ``torch`` is the FP32 reference trained by PyTorch itself.
The training step is captured from PyTorch by bm.frontend, compiled
with bm-opt (``--bm-quantize-training=preset=<format>`` for BM formats,
stochastic rounding seeded per step) into a shared library, and called from
here; weights and optimizer state stay in numpy between steps. Test accuracy
uses the eval-mode forward pass compiled the same way (BM forward format,
nearest rounding, for BM formats). Writes a markdown table, a JSON log and a
PNG of the loss and accuracy curves.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from bm import compiler, numerics

from .report import RUN_FORMATS, plot, run_name, scale_text, summarize

# The keys of bm.train.models.MODELS (spelled out here so that --help does
# not import torch).
MODEL_NAMES = ("mlp", "cnn", "resnet18", "resnet18-cifar", "vit")


class Progress:
    """A one-line progress bar on stderr: step, loss, steps/s."""

    def __init__(self, label, total, stream=sys.stderr):
        self.label, self.total, self.stream = label, total, stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()
        self.last = 0.0

    def update(self, done, loss):
        now = time.perf_counter()
        if done < self.total and now - self.last < (0.2 if self.tty else 10):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        width = 24
        fill = int(width * done / max(self.total, 1))
        line = "%-14s [%s%s] %5d/%d  loss %.4f  %.1f steps/s" % (
            self.label, "#" * fill, "." * (width - fill), done, self.total,
            loss, rate)
        self.stream.write(("\r" if self.tty else "") + line +
                          ("" if self.tty and done < self.total else "\n"))
        self.stream.flush()


def train_one(args, fmt, seed, step_module, forward_module, data):
    import torch
    from . import data as bmdata
    from .runner import Runner, TorchRunner
    (xtr, ytr), (xte, yte) = data
    torch.manual_seed(seed)
    if fmt == "torch":
        runner = TorchRunner(build_model(args), lr=args.lr, momentum=args.momentum,
                             weight_decay=args.weight_decay,
                             eval_batch=forward_module.batch_size)
    else:
        runner = Runner(build_model(args), (args.batch_size, 1, 28, 28),
                        fmt=fmt, rounding=args.rounding, seed=seed,
                        step_module=step_module, forward_module=forward_module,
                        loss_grad=args.loss_grad, scale=args.scale,
                        forward_scale=args.forward_scale,
                        backward_scale=args.backward_scale,
                        model_input=args.model_input, device=args.device)
    rng = np.random.default_rng(seed)
    steps_per_epoch = len(xtr) // args.batch_size
    log = {"format": fmt, "seed": seed, "loss": [], "epoch_test_acc": [],
           "steps_per_s": []}
    running = None
    for epoch in range(args.epochs):
        label = "%s s%d e%d" % (fmt, seed, epoch + 1)
        bar = Progress(label, steps_per_epoch)
        t0 = time.perf_counter()
        for i, (xb, yb) in enumerate(bmdata.batches(xtr, ytr, args.batch_size, rng)):
            loss = runner.step(xb, yb)
            if not np.isfinite(loss):
                raise RuntimeError("%s seed %d: loss became %r at step %d"
                                   % (fmt, seed, loss, runner.steps))
            running = loss if running is None else 0.98 * running + 0.02 * loss
            log["loss"].append(loss)
            bar.update(i + 1, running)
        rate = steps_per_epoch / (time.perf_counter() - t0)
        acc = runner.accuracy(xte, yte)
        log["epoch_test_acc"].append(acc)
        log["steps_per_s"].append(rate)
        sys.stderr.write("%-14s test accuracy %.2f%%  (%.1f steps/s)\n"
                         % (label, 100 * acc, rate))
    log["final_train_loss"] = float(np.mean(log["loss"][-max(1, steps_per_epoch // 10):]))
    return log


def build_model(args):
    from . import models
    return models.build(args.model, args.width)


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="bm-train", description=__doc__.split("\n\nEach format")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODEL_NAMES, default="mlp",
                   help="the model (see above; default mlp)")
    p.add_argument("--width", type=int, default=None,
                   help="the model's base width (default: the model's own)")
    p.add_argument("--formats", default="fp32,bm6",
                   help="comma list of %s (compiled steps) "
                        "and torch (the FP32 step of PyTorch itself, eager; the "
                        "compiled FP32 step computes the same, more slowly for "
                        "convolutions) (default fp32,bm6)"
                        % ", ".join(compiler.TRAINING_FORMATS))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--seeds", default="0", help="comma list of seeds (default 0)")
    p.add_argument("--rounding", default="stochastic",
                   choices=numerics.ROUNDINGS)
    p.add_argument("--loss-grad", default="auto",
                   choices=compiler.LOSS_GRAD_OPTIONS,
                   help="contractions reading the loss gradient itself: "
                        "auto (FP32 for bm5/bm4), fp32 or bm (default auto)")
    p.add_argument("--model-input", default="bm",
                   choices=compiler.MODEL_INPUT_OPTIONS,
                   help="contractions reading the model's input itself (the "
                        "first layer's forward and weight gradient): bm or "
                        "fp32 (default bm)")
    p.add_argument("--scale", default="floor", choices=numerics.SCALES,
                   help="shared-exponent rule of every quantize: floor (the "
                        "paper's) or fit (no block maximum saturates; "
                        "docs/numerics.md) (default floor)")
    p.add_argument("--forward-scale", default=None, choices=numerics.SCALES,
                   help="scale rule of weights and activations (overrides "
                        "--scale)")
    p.add_argument("--backward-scale", default=None, choices=numerics.SCALES,
                   help="scale rule of errors (overrides --scale)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                   help="where the compiled steps run: cpu, or cuda (an "
                   "NVIDIA GPU through bm-lower-to-nvvm; weights stay on "
                   "the device)")
    p.add_argument("--limit", type=int, default=None,
                   help="use only the first N training images")
    p.add_argument("--test-limit", type=int, default=None)
    p.add_argument("--data", default=None, help="Fashion-MNIST directory")
    p.add_argument("--out", default="results", help="output directory")
    args = p.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    bad = [f for f in formats if f not in RUN_FORMATS]
    if bad:
        p.error("unknown format %s; choose from %s" % (bad[0], ", ".join(RUN_FORMATS)))
    seeds = [int(s) for s in args.seeds.split(",")]

    import torch
    from bm import frontend
    from . import data as bmdata
    if "torch" not in formats:
        torch.set_num_threads(1)   # torch only traces
    data = (bmdata.load("train", args.data, args.limit),
            bmdata.load("test", args.data, args.test_limit))
    example = build_model(args)
    t0 = time.perf_counter()
    step_module = frontend.capture_train_step(
        example, (args.batch_size, 1, 28, 28), lr=args.lr,
        momentum=args.momentum, weight_decay=args.weight_decay)
    eval_batch = 500 if len(data[1][0]) >= 500 else len(data[1][0])
    forward_module = frontend.capture_forward(example, (eval_batch, 1, 28, 28))
    sys.stderr.write("captured %s step and forward in %.1f s\n"
                     % (args.model, time.perf_counter() - t0))
    runs = []
    for seed in seeds:
        for fmt in formats:
            runs.append(train_one(args, fmt, seed, step_module, forward_module, data))
    os.makedirs(args.out, exist_ok=True)
    table, rows = summarize(runs, args)
    stem = os.path.join(args.out, run_name(args))
    with open(stem + ".md", "w") as f:
        f.write("Fashion-MNIST, %s, %d epoch(s), batch %d, lr %g, momentum %g, "
                "weight decay %g, %s rounding, loss-grad=%s, model-input=%s, %s, "
                "%d train / "
                "%d test images\n\n"
                % (run_name(args), args.epochs, args.batch_size, args.lr,
                   args.momentum, args.weight_decay, args.rounding,
                   args.loss_grad, args.model_input, scale_text(args),
                   len(data[0][0]),
                   len(data[1][0])) + table)
    with open(stem + ".json", "w") as f:
        json.dump({"args": vars(args), "runs": runs, "summary": rows}, f)
    plot(runs, args, stem + ".png")
    print(table)
    print("wrote %s.md, %s.json, %s.png" % (stem, stem, stem))
    return 0

