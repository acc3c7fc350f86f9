#!/usr/bin/python3
"""Summarizes the scale-rule study (scripts/scale-study.sh): one markdown
table per model and one plot per model, from the JSON logs of
`python -m bm.train` under the OUT directories (one subdirectory per
configuration, <model>_<name>/<model>.json), against the FP32 runs of
results/<model>.json and any FP32 runs under OUT, seed by seed.

    scripts/scale_table.py OUT [OUT...] [--baseline results] [--plots DIR]

A configuration is named by its options: the scale rule(s) and loss-grad.
Also checks that the floor/auto runs under OUT reproduce, step for step, the
runs of the same format and seed in the baseline logs (exact numerics:
every loss and accuracy bit for bit), and says so.
"""

import argparse
import glob
import json
import os
import sys

import numpy as np

FORMATS = ("bm8", "bm6", "bm5", "bm4")


def rule_label(args):
    fwd = args.get("forward_scale") or args.get("scale", "floor")
    bwd = args.get("backward_scale") or args.get("scale", "floor")
    return fwd if fwd == bwd else "%s fwd / %s bwd" % (fwd, bwd)


def load(paths):
    runs = []
    for path in paths:
        with open(path) as f:
            log = json.load(f)
        for r in log["runs"]:
            r = dict(r)
            r["rule"] = rule_label(log["args"])
            r["loss_grad"] = log["args"].get("loss_grad", "auto")
            r["source"] = path
            runs.append(r)
    return runs


def effective_loss_grad(fmt, loss_grad):
    """What loss-grad=auto means for a preset (docs/training.md)."""
    if loss_grad != "auto":
        return loss_grad
    return "fp32" if fmt in ("bm5", "bm4") else "bm"


def table(model, runs, fp32):
    """Rows of every configuration; vs FP32 compares with the FP32 mean over
    the same seeds. Seeds a configuration lacks print as '-'."""
    base = {r["seed"]: r for r in fp32}
    groups = {}
    for r in runs:
        key = (r["format"], r["rule"], effective_loss_grad(r["format"], r["loss_grad"]))
        groups.setdefault(key, {})[r["seed"]] = r
    seeds = sorted(set(base).union(*[set(g) for g in groups.values()]))
    lines = ["| format | scale rule | loss-grad | %s | mean ± std | vs FP32 (points) | train loss |"
             % " | ".join("seed %d" % s for s in seeds),
             "|---|---|---|%s---|---|---|" % ("---|" * len(seeds))]

    def row(name, rule, lg, g):
        have = [s for s in seeds if s in g]
        accs = np.array([100 * g[s]["epoch_test_acc"][-1] for s in have])
        ref = 100 * np.mean([base[s]["epoch_test_acc"][-1] for s in have])
        cells = ["%.2f" % (100 * g[s]["epoch_test_acc"][-1]) if s in g else "-"
                 for s in seeds]
        return "| %s | %s | %s | %s | %.2f ± %.2f | %+.2f | %.4f |" % (
            name, rule, lg, " | ".join(cells), accs.mean(), accs.std(),
            accs.mean() - ref, np.mean([g[s]["final_train_loss"] for s in have]))

    lines.append(row("fp32", "-", "-", base))
    order = lambda k: (FORMATS.index(k[0]), k[2] != "fp32", k[1] != "floor", k[1])
    for key in sorted(groups, key=order):
        if all(s in base for s in groups[key]):
            lines.append(row(key[0], key[1], key[2], groups[key]))
    return "\n".join(lines) + "\n", groups


def reproduces(runs, baseline):
    """(format, seed) of OUT's floor/auto runs that equal the baseline's
    bit for bit, and those that do not."""
    same, differ = [], []
    for r in runs:
        if (r["rule"] != "floor" or r["loss_grad"] != "auto" or
                r["source"] == "baseline"):
            continue
        for b in baseline:
            if b["format"] == r["format"] and b["seed"] == r["seed"]:
                ok = (b["loss"] == r["loss"] and
                      b["epoch_test_acc"] == r["epoch_test_acc"])
                (same if ok else differ).append((r["format"], r["seed"], len(r["loss"])))
    return same, differ


def plot(model, groups, fp32, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fmts = [f for f in FORMATS if any(k[0] == f for k in groups)]
    fig, axes = plt.subplots(1, len(fmts), figsize=(5 * len(fmts), 4), squeeze=False)
    for ax, fmt in zip(axes[0], fmts):
        keys = sorted(k for k in groups if k[0] == fmt)
        seeds = sorted(set().union(*[set(groups[k]) for k in keys]))

        def curve(runs, label, style):
            loss = np.mean([np.array(r["loss"]) for r in runs], axis=0)
            k = max(1, len(loss) // 60)
            smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
            acc = np.array([100 * r["epoch_test_acc"][-1] for r in runs]).mean()
            ax.plot(np.arange(len(smooth)) + k, smooth, style,
                    label="%s (%.2f%%)" % (label, acc), lw=1)
        curve([r for r in fp32 if r["seed"] in seeds], "fp32", "k-")
        for key in keys:
            _, rule, lg = key
            runs = [groups[key][s] for s in seeds if s in groups[key]]
            curve(runs, "%s, loss-grad %s%s" % (
                rule, lg, "" if len(runs) == len(seeds) else
                " (%d seeds)" % len(runs)), "-" if "fit" in rule else "--")
        ax.set_title("%s %s: training loss, mean over seeds %s (legend: test "
                     "accuracy)" % (model.upper(), fmt,
                                    ", ".join(map(str, seeds))), fontsize=8)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss (moving average)")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="+", help="the study's output directories")
    ap.add_argument("--baseline", default=os.path.normpath(os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "results")),
        help="directory of the recorded <model>.json logs (FP32 runs)")
    ap.add_argument("--plots", default=None,
                    help="where to write scale-<model>.png (default: the "
                         "first OUT)")
    a = ap.parse_args()
    status = 0
    for model in ("mlp", "cnn"):
        paths = sorted(p for out in a.out for p in glob.glob(
            os.path.join(out, "%s_*" % model, "%s.json" % model)))
        if not paths:
            continue
        runs = load(paths)
        with open(os.path.join(a.baseline, "%s.json" % model)) as f:
            baseline = json.load(f)["runs"]
        fp32 = [r for r in baseline + runs if r["format"] == "fp32"]
        runs = [r for r in runs if r["format"] != "fp32"]
        # The recorded floor/auto runs of the study's formats (results/
        # <model>.json) where the study did not repeat them, e.g. BM6.
        with open(os.path.join(a.baseline, "%s.json" % model)) as f:
            args = json.load(f)["args"]
        done = {(r["format"], r["seed"]) for r in runs
                if r["rule"] == "floor" and r["loss_grad"] == "auto"}
        formats = {r["format"] for r in runs}
        for r in baseline:
            if r["format"] in formats and (r["format"], r["seed"]) not in done:
                runs.append(dict(r, rule=rule_label(args),
                                 loss_grad=args.get("loss_grad", "auto"),
                                 source="baseline"))
        text, groups = table(model, runs, fp32)
        print("## %s\n\n%s" % (model.upper(), text))
        same, differ = reproduces(runs, baseline)
        print("floor/auto runs identical to %s/%s.json, every step's loss and "
              "every accuracy: %s" % (os.path.relpath(a.baseline), model, ", ".join(
                  "%s seed %d (%d steps)" % s for s in same) or "none"))
        if differ:
            print("DIFFERENT from the recorded runs: %s" % ", ".join(
                "%s seed %d" % s[:2] for s in differ))
            status = 1
        print()
        plot(model, groups, fp32, os.path.join(a.plots or a.out[0], "scale-%s.png" % model))
    return status


if __name__ == "__main__":
    sys.exit(main())
