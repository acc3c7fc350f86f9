"""Checks the pass listing at the top of docs/lowering.md against the
pipeline bm-lower-to-cpu really builds (bm-opt --dump-pass-pipeline).

usage: check_pipeline_doc.py LOWERING_MD DUMP [--parallel]

The listing is one pass (or a comma-separated group) per line, in order; a
line in brackets is a pass that only some options add, and every option the
test passes turns them all on. Continuation lines (indented) describe the
line above. "(parallel=true: a, b, c)" names the passes that replace the
line's pass with parallel=true. buffer-deallocation-pipeline stands for the
passes upstream's pipeline expands to. The expected sequence must equal the
dumped one, pass for pass: a pass added to the pipeline and not to the
docs, or the other way round, fails.
"""

import re
import sys

# Upstream pipelines the listing names as one step.
EXPANSIONS = {
    "buffer-deallocation-pipeline": [
        "expand-realloc", "canonicalize", "ownership-based-buffer-deallocation",
        "canonicalize", "buffer-deallocation-simplification",
        "bufferization-lower-deallocations", "cse", "canonicalize"],
}


def names(text):
    """'a, b{x}, [c-d[-opt]]' -> ['a', 'b', 'c-d', 'c-d-opt']."""
    out = []
    for item in text.split(","):
        item = re.sub(r"\{.*?\}", "", item).strip()
        if item.startswith("["):
            item = item[1:-1].strip() if item.endswith("]") else item[1:]
        if not item:
            continue
        m = re.fullmatch(r"([a-z0-9-]+)\[(-[a-z0-9-]+)\]", item)
        if m:
            out += [m.group(1), m.group(1) + m.group(2)]
        else:
            out.append(item)
    return out


def expected(doc, parallel):
    block = doc.split("```\n", 2)[1]
    entries = []  # (pass column, description with its continuation lines)
    for line in block.splitlines():
        if not line.strip():
            continue
        if line[0].isspace():
            entries[-1][1] += " " + line.strip()
            continue
        # The pass column ends at the first run of two spaces.
        cols = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        entries.append([cols[0], cols[1] if len(cols) > 1 else ""])
    seq = []
    for passes, desc in entries:
        optional = passes.startswith("[")
        parallel_only = optional and "parallel=true" in desc
        if parallel_only and not parallel:
            continue
        alt = re.match(r"\(parallel=true: (.*?)\)", desc)
        if alt and parallel:
            group = names(alt.group(1))
        else:
            group = names(passes)
        for name in group:
            seq += EXPANSIONS.get(name, [name])
    return seq


def dumped(text):
    seq = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("Pass Manager") or line.endswith("(") \
                or line in (")", "),"):
            continue
        m = re.match(r"([a-z0-9-]+)(\{.*\})?,?$", line)
        if not m:
            sys.exit("cannot read the dumped pipeline line: " + line)
        seq.append(m.group(1))
    return seq


def main():
    doc = open(sys.argv[1]).read()
    dump = open(sys.argv[2]).read()
    parallel = "--parallel" in sys.argv[3:]
    want, got = expected(doc, parallel), dumped(dump)
    if want == got:
        print("docs/lowering.md lists the %d passes of the pipeline%s" %
              (len(got), " (parallel=true)" if parallel else ""))
        return
    print("docs/lowering.md and the pipeline differ:")
    width = max(map(len, want + got)) + 2
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else "-"
        g = got[i] if i < len(got) else "-"
        print("  %s %-*s %s" % ("  " if w == g else "!!", width, w, g))
    sys.exit(1)


if __name__ == "__main__":
    main()
