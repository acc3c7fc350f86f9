#!/usr/bin/env python3
"""Generates (and checks) the FP32 training-step examples with bm.frontend.

    /usr/bin/python3 examples/generate.py           # rewrite examples/*_train.mlir
    /usr/bin/python3 examples/generate.py --check   # check them (test/Examples)

Examples (softmax cross-entropy, SGD momentum 0.9, weight decay 5e-4):

* mlp_train.mlir: MLP 784-256-10 with ReLU, batch 64, lr 0.1;
* cnn_train.mlir: conv(1->8, 3x3, pad 1) + ReLU + maxpool 2,
  conv(8->16, 3x3, pad 1) + ReLU + maxpool 2, FC(16*7*7 -> 10), batch 16 of
  1x28x28, lr 0.05.

--check, for each example: (1) regenerating it gives the checked-in text;
(2) the checked-in module compiles (bm-opt --bm-lower-to-cpu, through
python/bm/compiler.py) and one step matches PyTorch (torch.optim.SGD with
torch.nn.functional.cross_entropy) on random weights and a random batch:
loss, updated weights and momentum buffers, from random momentum buffers;
and from zero momentum buffers, every gradient, read off the new buffers as
g = v - weight_decay * w. Tolerance: numpy.isclose with rtol 1e-4, atol
1e-5. Needs torch (1.13, with functorch) and numpy.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import numpy as np  # noqa: E402


def mlp():
    import torch.nn as nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    import torch.nn as nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


HYPER = dict(momentum=0.9, weight_decay=5e-4)
EXAMPLES = {
    "mlp_train": (mlp, (64, 784), dict(lr=0.1, **HYPER)),
    "cnn_train": (cnn, (16, 1, 28, 28), dict(lr=0.05, **HYPER)),
}
RTOL, ATOL = 1e-4, 1e-5


def capture(name):
    import torch
    from bm import frontend
    build, shape, hyper = EXAMPLES[name]
    torch.manual_seed(0)
    model = build()
    return model, shape, hyper, frontend.capture_train_step(model, shape, **hyper)


def path_of(name):
    return os.path.join(HERE, name + ".mlir")


def generate(names):
    for name in names:
        _, _, _, step = capture(name)
        step.write(path_of(name), sidecar=False)
        print("wrote", path_of(name))


def check(name) -> list:
    from bm.frontend import TrainStep, reference
    model, shape, hyper, fresh = capture(name)
    problems = []
    with open(path_of(name)) as f:
        text = f.read()
    if text != fresh.mlir:
        problems.append("%s.mlir differs from what examples/generate.py makes "
                        "now; rerun it" % name)
    step = TrainStep.load(path_of(name))
    run = step.compile()
    rng = np.random.default_rng(7)
    values = step.initial_values(model)
    for k, v in values.items():
        values[k] = (rng.standard_normal(v.shape) * (0.05 if "momentum" in k else 0.1)
                     ).astype(np.float32)
    x = rng.standard_normal(shape).astype(np.float32)
    labels = rng.integers(0, step.signature["num_classes"], shape[0])

    got = run(values, x, labels, seed=1)
    want = reference.torch_step(model, values, x, labels, **hyper)
    problems += ["%s (random momentum): %s" % (name, p)
                 for p in reference.compare(got, want, RTOL, ATOL, grads=False)]

    zero = {k: (np.zeros_like(v) if k.endswith(".momentum_buffer") else v)
            for k, v in values.items()}
    got = run(zero, x, labels, seed=2)
    want = reference.torch_step(model, zero, x, labels, **hyper)
    wd = hyper["weight_decay"]
    got["grads"] = {n: got["state"][n + ".momentum_buffer"] - np.float32(wd) * values[n]
                    for n in want["grads"]}
    problems += ["%s (zero momentum): %s" % (name, p)
                 for p in reference.compare(got, want, RTOL, ATOL, grads=True)]
    print("%s: loss %.6f (torch %.6f), %d weights, %d gradients: %s" % (
        name, got["loss"], want["loss"], len(got["weights"]), len(got["grads"]),
        "OK" if not problems else "FAILED"))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="check the checked-in examples instead of writing them")
    ap.add_argument("names", nargs="*", default=list(EXAMPLES),
                    help="examples (default: all)")
    args = ap.parse_args()
    if not args.check:
        generate(args.names)
        return 0
    problems = []
    for name in args.names:
        problems += check(name)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
