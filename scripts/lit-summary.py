#!/usr/bin/python3
"""Reads lit's output (files, or standard input) and prints the closing line
"N passed, N failed" that scripts/test.sh and .ci/run end with.

lit ends a run with a summary such as

    Total Discovered Tests: 188
      Unsupported      :   3 (1.60%)
      Passed           : 183 (97.34%)
      Expectedly Failed:   2 (1.06%)

and pads the labels to the longest one present, so the lines are matched
whatever the padding. Several summaries (several lit runs in one log) add
up. Passed = Passed + Passed With Retry + Expectedly Failed; failed = Failed
+ Unexpectedly Passed + Unresolved + Timed Out. Unsupported, Skipped and
Excluded tests are neither. A category this script does not know counts as
failed (and is named on stderr): a new kind of result is looked at, not
dropped.

    scripts/lit-summary.py lit.log [more.log ...]
    ... | scripts/lit-summary.py
    scripts/lit-summary.py --add "3 passed, 1 failed" "5 passed, 0 failed"

--add sums closing lines (one per suite); an argument that is not one
counts as one failure.

Exit status: 0 when at least one summary was found and nothing failed,
1 otherwise.
"""

import re
import sys

PASSED = {"Passed", "Passed With Retry", "Expectedly Failed"}
FAILED = {"Failed", "Unexpectedly Passed", "Unresolved", "Timed Out"}
NEITHER = {"Unsupported", "Skipped", "Excluded"}

# "  <label padded with spaces>: <count padded with spaces> (<percent>%)"
SUMMARY_LINE = re.compile(r"^  (\S(?:[^:]*\S)?) *: +(\d+) \(\d+(?:\.\d+)?%\)\s*$")
CLOSING_LINE = re.compile(r"^(\d+) passed, (\d+) failed$")


def count_lit(lines):
    passed = failed = summaries = 0
    in_summary = False
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("Total Discovered Tests:"):
            summaries += 1
            in_summary = True
            continue
        if not in_summary:
            continue
        m = SUMMARY_LINE.match(line)
        if not m:
            in_summary = False
            continue
        label, n = m.group(1), int(m.group(2))
        if label in PASSED:
            passed += n
        elif label in FAILED:
            failed += n
        elif label not in NEITHER:
            print("lit-summary: unknown result category %r (%d tests) counted "
                  "as failed" % (label, n), file=sys.stderr)
            failed += n
    return passed, failed, summaries


def add_closing_lines(lines):
    passed = failed = 0
    for line in lines:
        m = CLOSING_LINE.match(line.strip())
        if not m:  # that run ended without its closing line: one failure
            print("lit-summary: not a closing line: %r" % line, file=sys.stderr)
            failed += 1
            continue
        passed += int(m.group(1))
        failed += int(m.group(2))
    return passed, failed, len(lines)


def main(argv):
    if argv[:1] == ["--add"]:
        passed, failed, found = add_closing_lines(argv[1:])
    elif argv:
        lines = []
        for path in argv:
            with open(path, errors="replace") as f:
                lines.extend(f.readlines())
        passed, failed, found = count_lit(lines)
    else:
        passed, failed, found = count_lit(sys.stdin.readlines())
    print("%d passed, %d failed" % (passed, failed))
    return 0 if found and not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
