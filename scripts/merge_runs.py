#!/usr/bin/python3
"""Merges the JSON logs of several `python -m bm.train` invocations of one
model (e.g. one per format or seed, run one after the other) into one
table, log and plot, as a single invocation with all the formats and seeds
would have written them.

    scripts/merge_runs.py OUT_STEM LOG.json [LOG.json...]

writes OUT_STEM.md, OUT_STEM.json and OUT_STEM.png. The logs must agree on
everything but the formats and seeds (model, width, epochs, batch size,
optimizer, rounding, loss-grad, scale rules, data)."""

import json
import os
import sys
from types import SimpleNamespace

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "python"))

# What may differ between the merged invocations.
PER_RUN = ("formats", "seeds", "out")


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    from bm.train import report
    stem, paths = argv[0], argv[1:]
    logs = []
    for path in paths:
        with open(path) as f:
            logs.append(json.load(f))
    first = logs[0]["args"]
    for path, log in zip(paths[1:], logs[1:]):
        for key, value in log["args"].items():
            if key not in PER_RUN and first.get(key) != value:
                sys.exit("%s: %s is %r, not %r as in %s"
                         % (path, key, value, first.get(key), paths[0]))
    runs = [r for log in logs for r in log["runs"]]
    order = {f: i for i, f in enumerate(report.RUN_FORMATS)}
    runs.sort(key=lambda r: (r["seed"], order[r["format"]]))
    args = dict(first)
    args["formats"] = ",".join(f for f in report.RUN_FORMATS
                               if any(r["format"] == f for r in runs))
    args["seeds"] = ",".join(str(s) for s in sorted({r["seed"] for r in runs}))
    args["merged_from"] = [os.path.relpath(p, os.path.dirname(stem) or ".")
                           for p in paths]
    ns = SimpleNamespace(**args)
    table, rows = report.summarize(runs, ns)
    with open(stem + ".md", "w") as f:
        f.write("Fashion-MNIST, %s, %d epoch(s), batch %d, lr %g, momentum %g, "
                "weight decay %g, %s rounding, loss-grad=%s, %s; merged from "
                "%s\n\n" % (report.run_name(ns), ns.epochs, ns.batch_size,
                            ns.lr, ns.momentum, ns.weight_decay, ns.rounding,
                            ns.loss_grad, report.scale_text(ns),
                            ", ".join(args["merged_from"])) + table)
    with open(stem + ".json", "w") as f:
        json.dump({"args": args, "runs": runs, "summary": rows}, f)
    report.plot(runs, ns, stem + ".png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
