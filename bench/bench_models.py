#!/usr/bin/python3
"""Real models through the compiler: compile time by stage and step time.

  /usr/bin/python3 bench/bench_models.py                  # ResNet-18, its CIFAR variant, the ViT
  /usr/bin/python3 bench/bench_models.py --models resnet18 --formats bm6

For each model (bm/train/models.py) and format, at the training batch size
(64 images of 1x28x28):

* the compile time of the training step, split by stage: capture
  (bm.frontend: tracing, decompositions, functionalization, emitting MLIR),
  rewrite (``bm-opt --bm-quantize-training``, BM formats only), lowering
  (``bm-opt --bm-lower-to-cpu``), LLVM (``mlir-translate``, LLVM ``opt``
  for the coroutines of the parallel kernels, ``llc -O3``) and link, as wall
  time and as CPU time (user + system) of the process or tool; against the
  10 s goal for the whole of it;
* the time of one compiled step (best of N after a warm-up) against
  PyTorch's own eager step on the same batch (forward,
  ``cross_entropy``, ``backward``, ``torch.optim.SGD``), with all usable
  cores for both; the ratio > 1 means the compiled step is faster.

The compile runs without the cache of bm.compiler. The rewrite runs as its
own bm-opt process (its output text is then lowered) so that it can be
timed apart; ``bm.compiler.compile_module`` runs both in one process.
This is not a test; the test suite never runs it. Figures:
docs/frontend.md.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

import numpy as np  # noqa: E402

from bm import compiler  # noqa: E402

GOAL_S = 10.0
HYPER = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)
# Stages as bm.compiler names its tool runs.
_STAGE_OF = {"bm-opt": "lowering", "bm-opt (leftover bufferization ops)": "lowering",
             "mlir-translate": "LLVM", "opt (coroutines)": "LLVM", "llc": "LLVM",
             "llvm-split": "LLVM",
             "link (cc -shared)": "link"}
STAGES = ("capture", "rewrite", "lowering", "LLVM", "link")


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "").split()
    except OSError:
        return "unknown"
    want = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
            "avx_vnni", "avx512_bf16")
    return " ".join(f for f in want if f in flags) or "none of " + ", ".join(want)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


class StageClock:
    """Wall and CPU seconds per stage. bm.compiler's tool runs are timed
    by wrapping its subprocess helper for the duration of a compile."""

    def __init__(self):
        self.wall = {s: 0.0 for s in STAGES}
        self.cpu = {s: 0.0 for s in STAGES}

    @staticmethod
    def _children_cpu():
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def tool(self, stage, fn, *args, **kwargs):
        t0, c0 = time.perf_counter(), self._children_cpu()
        try:
            return fn(*args, **kwargs)
        finally:
            self.wall[stage] += time.perf_counter() - t0
            self.cpu[stage] += self._children_cpu() - c0

    def python(self, stage, fn, *args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            self.wall[stage] += time.perf_counter() - t0
            self.cpu[stage] += time.process_time() - c0

    def compile(self, text, **kwargs):
        originals = compiler._run, compiler._run_all

        def timed(step, cmd, *a, **k):
            return self.tool(_STAGE_OF.get(step, "LLVM"), originals[0], step, cmd, *a, **k)

        def timed_all(step, cmds):
            return self.tool(_STAGE_OF.get(step, "LLVM"), originals[1], step, cmds)
        compiler._run, compiler._run_all = timed, timed_all
        try:
            return compiler.compile_module(text, use_cache=False, **kwargs)
        finally:
            compiler._run, compiler._run_all = originals


def build(name):
    from bm.train import models
    base, _, width = name.partition(":")
    return models.build(base, int(width) if width else None)


def compile_step(name, fmt, batch, mcpu):
    """Captures and compiles the step of model `name` in format `fmt`,
    stage by stage. Returns (CompiledTrainStep, TrainStep, StageClock)."""
    import torch
    from bm import frontend
    from bm.frontend.capture import CompiledTrainStep
    clock = StageClock()
    torch.manual_seed(0)
    model = build(name)
    step = clock.python("capture", frontend.capture_train_step, model,
                        (batch, 1, 28, 28), **HYPER)
    text = step.mlir
    passes = compiler.quantize_training_passes(fmt)
    if passes:
        tools = compiler.find_tools()
        text = clock.tool("rewrite", subprocess.run, [tools.bm_opt, "-"] + passes,
                          input=text, capture_output=True, text=True, check=True).stdout
    lib = clock.compile(text, mcpu=mcpu)
    return CompiledTrainStep(lib[step.func_name], step.signature), step, model, clock


def best_time(fn, rounds, warmup=1):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def torch_step_time(model, x, labels, rounds):
    import torch
    m = model.train()
    opt = torch.optim.SGD(m.parameters(), **HYPER)
    xt, yt = torch.from_numpy(x), torch.from_numpy(labels)

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(xt), yt).backward()
        opt.step()
    return best_time(step, rounds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="resnet18,resnet18-cifar:16,vit",
                    help="comma list of bm.train.models names, NAME:WIDTH for another "
                         "width (default resnet18,resnet18-cifar:16,vit)")
    ap.add_argument("--formats", default="fp32,bm6",
                    help="comma list of fp32, bm8, bm6, bm5, bm4 (default fp32,bm6)")
    ap.add_argument("--batch", type=int, default=64, help="batch size (default 64)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="timed steps per subject (default 3)")
    ap.add_argument("--mcpu", default="native",
                    help="llc -mcpu (default native; 'generic' for none)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    mcpu = None if args.mcpu == "generic" else args.mcpu
    print("== bm real-model benchmark (bench/bench_models.py)")
    print("CPU: %s; flags: %s; %d usable core(s); torch %s with %d thread(s)" % (
        cpu_model(), cpu_flags(), len(os.sched_getaffinity(0)), torch.__version__,
        torch.get_num_threads()))
    out = {"machine": {"cpu": cpu_model(), "flags": cpu_flags(),
                       "cores": len(os.sched_getaffinity(0))}, "runs": []}
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 1, 28, 28), dtype=np.float32)
    labels = rng.integers(0, 10, args.batch)
    for name in args.models.split(","):
        for fmt in args.formats.split(","):
            print("\n== %s, %s, batch %d" % (name, fmt.upper(), args.batch), flush=True)
            run, step, model, clock = compile_step(name, fmt, args.batch, mcpu)
            total_wall = sum(clock.wall.values())
            total_cpu = sum(clock.cpu.values())
            print("  compile time by stage      wall s    CPU s")
            for s in STAGES:
                if s == "rewrite" and fmt == "fp32":
                    continue
                print("    %-22s %8.2f %8.2f" % (s, clock.wall[s], clock.cpu[s]))
            print("    %-22s %8.2f %8.2f   (goal %.0f s: %.2fx of it, wall)" % (
                "total", total_wall, total_cpu, GOAL_S, total_wall / GOAL_S))
            values = step.initial_values(model)
            bm_best, bm_median = best_time(lambda: run(values, x, labels, seed=1),
                                           args.rounds)
            pt_best, pt_median = torch_step_time(build(name), x, labels, args.rounds)
            print("  step: compiled %.3f s (median %.3f), PyTorch eager %.3f s "
                  "(median %.3f); PyTorch / compiled %.3f" % (
                      bm_best, bm_median, pt_best, pt_median, pt_best / bm_best))
            out["runs"].append({
                "model": name, "format": fmt, "batch": args.batch,
                "compile_wall_s": clock.wall, "compile_cpu_s": clock.cpu,
                "compile_total_wall_s": total_wall, "compile_total_cpu_s": total_cpu,
                "step_best_s": bm_best, "step_median_s": bm_median,
                "torch_step_best_s": pt_best, "torch_step_median_s": pt_median,
                "ratio_torch_over_compiled": pt_best / bm_best})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print("figures written to %s" % args.json)


if __name__ == "__main__":
    main()
