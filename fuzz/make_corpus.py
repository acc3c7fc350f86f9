#!/usr/bin/env python3
"""Seed corpus of bm-fuzz: every .mlir file under test/ (and examples/),
split at `// -----` markers into one seed per case. Usage:
    make_corpus.py REPO OUT_DIR"""
import hashlib
import os
import sys


def main():
    repo, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    count = 0
    for top in ("test", "examples"):
        for root, _, files in os.walk(os.path.join(repo, top)):
            for name in sorted(files):
                if not name.endswith(".mlir"):
                    continue
                with open(os.path.join(root, name)) as f:
                    text = f.read()
                for case in text.split("// -----"):
                    data = case.strip().encode() + b"\n"
                    if len(data) > 8192 or not data.strip():
                        continue
                    digest = hashlib.sha1(data).hexdigest()
                    with open(os.path.join(out, digest), "wb") as f:
                        f.write(data)
                    count += 1
    print(f"make_corpus: {count} seeds in {out}")


if __name__ == "__main__":
    main()
