#!/usr/bin/env python3
"""Training runs for a GPU machine without MLIR (docs/gpu.md).

Here (bm-opt, PyTorch, Fashion-MNIST):

  device_training.py prepare OUT [--models mlp,cnn] [--formats fp32,bm6]
                                 [--train N] [--test N] [--binary cubin|ptx]

captures each model's training step and forward pass (batch 64; eval batch
500), compiles both for the GPU with bm.cuda (bm-lower-to-nvvm, out-params,
linked against libbm_cuda_runtime), and writes to OUT: per model and
format the libraries, their C signatures, the roles of their arguments and
results and the initial values (torch.manual_seed(seed) then
bm.train.models.build); the first N training and test images; bm's Python
package (bm.cuda and what it imports); libbm_cuda_runtime.so (built here
against the driver stub); and this script.

On the GPU machine (PyTorch with CUDA, numpy):

  OUT/device_training.py run OUT [--runtime LIB] [--epochs 1] [--json FILE]

trains each model and format for the given epochs on the same shuffled
batches as `python3 -m bm.train` (numpy default_rng(seed)), the weights on
the device, and PyTorch's own CUDA training step (same model, initial
weights, batches, SGD) beside it, and prints the loss, test accuracy and
steps/s of each, then "device training: N runs". With BM_CUDA_EMULATE=1
(prepare and run) the libraries are the emulated GPU lowering on the CPU:
the dry run of test/GPU/device-training-dry-run.test.
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

LR, MOMENTUM, WEIGHT_DECAY = 0.05, 0.9, 5e-4
BATCH, EVAL_BATCH, SEED = 64, 500, 0


def prepare(a):
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    import torch
    from bm import compiler, cuda, frontend
    from bm.train import data, models

    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    (xtr, ytr), (xte, yte) = (data.load("train", limit=a.train),
                              data.load("test", limit=a.test))
    np.savez_compressed(os.path.join(out, "data.npz"),
                        x_train=(xtr[:, 0] * 255).round().astype(np.uint8),
                        y_train=ytr, x_test=(xte[:, 0] * 255).round()
                        .astype(np.uint8), y_test=yte)
    runs = []
    for name in a.models.split(","):
        for fmt in a.formats.split(","):
            torch.manual_seed(SEED)
            model = models.build(name)
            step = frontend.capture_train_step(
                model, (BATCH, 1, 28, 28), lr=LR, momentum=MOMENTUM,
                weight_decay=WEIGHT_DECAY)
            forward = frontend.capture_forward(model, (EVAL_BATCH, 1, 28, 28))
            d = os.path.join(out, "%s_%s" % (name, fmt))
            os.makedirs(d, exist_ok=True)
            for kind, mlir, rounding in (("step", step.mlir, "stochastic"),
                                         ("forward", forward.mlir, "nearest")):
                so = cuda.compile_module(
                    mlir, passes=compiler.quantize_training_passes(
                        fmt, rounding), binary=a.binary, load=False)
                shutil.copy(so, os.path.join(d, kind + ".so"))
                shutil.copy(so[:-len(".so")] + ".signatures.json",
                            os.path.join(d, kind + ".signatures.json"))
            with open(os.path.join(d, "roles.json"), "w") as f:
                json.dump({"step": step.signature,
                           "forward": [[x.name, x.role]
                                       for x in forward.arguments]}, f)
            np.savez(os.path.join(d, "initial.npz"),
                     **step.initial_values(model))
            runs.append(dict(model=name, format=fmt, dir=os.path.basename(d)))
            print("prepared %s %s" % (name, fmt))
    with open(os.path.join(out, "runs.json"), "w") as f:
        json.dump(runs, f, indent=1)
    pkg = os.path.join(out, "python", "bm")
    shutil.rmtree(pkg, ignore_errors=True)
    os.makedirs(pkg)
    src = os.path.join(HERE, "..", "..", "python", "bm")
    for f in ("__init__.py", "compiler.py", "cuda.py", "numerics.py"):
        shutil.copy(os.path.join(src, f), pkg)
    shutil.copytree(os.path.join(src, "train"), os.path.join(pkg, "train"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.abspath(__file__), out)
    if not cuda.emulated():
        # The runtime built here (against the driver stub): it runs with a
        # CUDA 12+ driver, or build runtime/cuda on the GPU machine.
        shutil.copy(cuda.runtime_library(), out)
    print("prepared %d runs in %s" % (len(runs), out))


class BMRun:
    """One model and format: the compiled step and forward on the device."""

    def __init__(self, d, runtime, torch, cuda):
        with open(os.path.join(d, "roles.json")) as f:
            roles = json.load(f)
        self.step_roles, self.forward_roles = roles["step"], roles["forward"]
        self.where = cuda.device()
        self.torch = torch
        self.step = cuda.load_module(os.path.join(d, "step.so"),
                                     runtime)[self.step_roles["function"]]
        self.forward = cuda.load_module(os.path.join(d, "forward.so"),
                                        runtime)["forward"]
        init = np.load(os.path.join(d, "initial.npz"))
        self.values = {n: torch.from_numpy(init[n]).to(self.where)
                       for n in init.files}
        self.steps = 0

    def train_step(self, x, labels):
        torch = self.torch
        args = []
        for a in self.step_roles["arguments"]:
            if a["role"] == "activation":
                args.append(x)
            elif a["role"] == "label":
                one = torch.zeros(a["shape"], device=self.where)
                one[torch.arange(labels.shape[0]), labels] = 1.0
                args.append(one)
            elif a["role"] == "seed":
                args.append(SEED * 1_000_000 + self.steps)
            else:
                args.append(self.values[a["name"]])
        res = self.step(*args)
        res = res if isinstance(res, tuple) else (res,)
        loss = None
        for r, v in zip(self.step_roles["results"], res):
            if r["role"] == "loss":
                loss = v
            elif r["role"] in ("weight", "state"):
                self.values[r["name"]] = v
        self.steps += 1
        return loss

    def logits(self, x):
        return self.forward(*[x if role == "activation" else self.values[n]
                              for n, role in self.forward_roles])


class TorchRun:
    """PyTorch's own training step on the device, eager mode."""

    def __init__(self, name, torch, where):
        from bm.train import models
        torch.manual_seed(SEED)
        self.torch = torch
        self.model = models.build(name).to(where).train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR,
                                   momentum=MOMENTUM,
                                   weight_decay=WEIGHT_DECAY)

    def train_step(self, x, labels):
        self.model.train()
        self.opt.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(self.model(x), labels)
        loss.backward()
        self.opt.step()
        return loss.detach()

    def logits(self, x):
        self.model.eval()
        with self.torch.no_grad():
            return self.model(x)


def run(a):
    sys.path.insert(0, os.path.join(a.out, "python"))
    import torch
    from bm import cuda
    where = cuda.device()
    runtime = None
    if not cuda.emulated():
        runtime = os.path.abspath(a.runtime or os.path.join(
            a.out, "libbm_cuda_runtime.so"))
    d = np.load(os.path.join(a.out, "data.npz"))
    xtr = torch.from_numpy(d["x_train"].astype(np.float32) / 255.0)[:, None]
    ytr = torch.from_numpy(d["y_train"])
    xte = torch.from_numpy(d["x_test"].astype(np.float32) / 255.0)[:, None]
    yte = torch.from_numpy(d["y_test"])
    xtr_d, ytr_d = xtr.to(where), ytr.to(where)
    with open(os.path.join(a.out, "runs.json")) as f:
        runs = json.load(f)
    results = []

    def sync():
        if where == "cuda":
            torch.cuda.synchronize()

    def train(label, r):
        rng = np.random.default_rng(SEED)
        steps = len(xtr) // BATCH
        losses, times = [], []
        for epoch in range(a.epochs):
            order = torch.from_numpy(rng.permutation(len(xtr))).to(where)
            for i in range(steps):
                idx = order[i * BATCH:(i + 1) * BATCH]
                sync()
                t0 = time.perf_counter()
                loss = r.train_step(xtr_d[idx], ytr_d[idx])
                sync()
                times.append(time.perf_counter() - t0)
                losses.append(loss)
        losses = [float(v) for v in losses]
        correct = 0
        n = len(xte) - len(xte) % EVAL_BATCH
        for s in range(0, n, EVAL_BATCH):
            logits = r.logits(xte[s:s + EVAL_BATCH].to(where))
            correct += int((logits.argmax(1).cpu() ==
                            yte[s:s + EVAL_BATCH]).sum())
        warm = sorted(times[5:] or times)
        res = dict(run=label, steps=len(losses), first_loss=losses[0],
                   final_loss=float(np.mean(losses[-max(1, len(losses) // 10):])),
                   test_accuracy=correct / max(n, 1),
                   step_ms=1e3 * warm[len(warm) // 2],
                   losses=losses[::max(1, len(losses) // 50)])
        print("%-16s steps %5d  loss %.4f -> %.4f  test accuracy %.2f%%  "
              "step %.3f ms" % (label, res["steps"], res["first_loss"],
                                res["final_loss"], 100 * res["test_accuracy"],
                                res["step_ms"]), flush=True)
        results.append(res)

    for spec in runs:
        train("%s %s" % (spec["model"], spec["format"]),
              BMRun(os.path.join(a.out, spec["dir"]), runtime, torch, cuda))
    if not a.no_torch:
        for name in sorted({s["model"] for s in runs}):
            train("%s torch" % name, TorchRun(name, torch, where))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(device=(torch.cuda.get_device_name()
                                   if where == "cuda" else "cpu (emulated)"),
                           results=results), f, indent=1)
    print("device training: %d runs" % len(results))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("out")
    p.add_argument("--models", default="mlp,cnn")
    p.add_argument("--formats", default="fp32,bm6")
    p.add_argument("--train", type=int, default=60000)
    p.add_argument("--test", type=int, default=10000)
    p.add_argument("--binary", default="cubin", choices=["cubin", "ptx"])
    p.set_defaults(func=prepare)
    p = sub.add_parser("run")
    p.add_argument("out")
    p.add_argument("--runtime", default=None,
                   help="libbm_cuda_runtime.so (default: the copy in OUT; "
                   "not needed when emulated)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--no-torch", action="store_true",
                   help="skip PyTorch's own step")
    p.add_argument("--json", default=None)
    p.set_defaults(func=run)
    a = ap.parse_args()
    return a.func(a) or 0


if __name__ == "__main__":
    sys.exit(main())
