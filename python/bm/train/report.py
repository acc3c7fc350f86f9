"""The outputs of a training run: the markdown table, the plot, and the
names they use. ``python -m bm.train`` writes them for its runs;
scripts/merge_runs.py for the logs of several invocations."""

import numpy as np

from bm import compiler

# "torch": the FP32 reference trained by PyTorch in eager mode (same model,
# initial weights and batches; bm.train.runner.TorchRunner).
RUN_FORMATS = ("torch",) + compiler.TRAINING_FORMATS


def run_name(args):
    """The model name, with the width when it is not the default."""
    return args.model if args.width is None else "%s-w%d" % (args.model, args.width)


def summarize(runs, args):
    rows = []
    by_fmt = {}
    for r in runs:
        by_fmt.setdefault(r["format"], []).append(r)
    fp32 = by_fmt.get("fp32") or by_fmt.get("torch")
    base = np.mean([r["epoch_test_acc"][-1] for r in fp32]) if fp32 else None
    lines = ["| model | format | seeds | epochs | train loss | test accuracy (%) "
             "| vs FP32 (points) | steps/s |",
             "|---|---|---|---|---|---|---|---|"]
    for fmt in [f for f in RUN_FORMATS if f in by_fmt]:
        rs = by_fmt[fmt]
        accs = np.array([r["epoch_test_acc"][-1] for r in rs]) * 100
        loss = np.mean([r["final_train_loss"] for r in rs])
        rate = np.mean([np.mean(r["steps_per_s"]) for r in rs])
        # (rounded first, so that FP32 against itself reads +0.00, not -0.00)
        delta = "" if base is None else "%+.2f" % (
            round(accs.mean() - 100 * base, 2) + 0.0)
        acc = "%.2f" % accs.mean() + (" ± %.2f" % accs.std() if len(rs) > 1 else "")
        lines.append("| %s | %s | %d | %d | %.4f | %s | %s | %.1f |" % (
            run_name(args), fmt, len(rs), args.epochs, loss, acc, delta, rate))
        rows.append({"format": fmt, "test_acc": accs.tolist(), "loss": loss,
                     "steps_per_s": rate})
    return "\n".join(lines) + "\n", rows


def plot(runs, args, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in runs:
        loss = np.array(r["loss"])
        k = max(1, len(loss) // 100)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        label = "%s (seed %d)" % (r["format"], r["seed"])
        ax1.plot(np.arange(len(smooth)) + k, smooth, label=label)
        ax2.plot(np.arange(1, len(r["epoch_test_acc"]) + 1),
                 100 * np.array(r["epoch_test_acc"]), marker="o", label=label)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss (moving average)")
    ax1.set_yscale("log")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy (%)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Fashion-MNIST, %s, batch %d: FP32 vs Block Minifloat"
                 % (run_name(args).upper(), args.batch_size))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scale_text(args):
    """The scale options of a run, e.g. "scale=fit" or
    "scale=floor backward-scale=fit"."""
    text = "scale=%s" % args.scale
    for name in ("forward_scale", "backward_scale"):
        if getattr(args, name) is not None:
            text += " %s=%s" % (name.replace("_", "-"), getattr(args, name))
    return text
