#!/usr/bin/env python3
"""Compiled-code sweep of nearest quantization (docs/reliability.md).

For each format and block size, compiles (with python/bm/compiler.py, i.e.
bm-opt --bm-lower-to-cpu, mlir-translate, llc, cc) a module

    func.func @quant(%x: tensor<CHUNKxf32>)
        -> (tensor<CHUNKxi8>, tensor<CHUNK/Bxi8>, tensor<CHUNKxf32>)
      bm.quantize nearest to !bm.tensor<CHUNKxFMT, block = [B]>,
      bm.unpack, bm.dequantize

and runs `bm-sweep compiled` on the shared library: COUNT float32 patterns
(specials, subnormals, exponent boundaries, a hashed walk over every
exponent) whose codes, biases and dequantized bits must equal the C++
reference (bm::numerics) bit for bit. Exits non-zero on any mismatch.

    tools/bm-sweep/compiled_sweep.py --bm-sweep build/bin/bm-sweep \\
        --count 16777216 --blocks 1,16
"""

import argparse
import os
import subprocess
import sys
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "..", ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

from bm import compiler  # noqa: E402

MODULE = """\
func.func @quant(%x: tensor<{n}xf32>)
    -> (tensor<{n}xi8>, tensor<{nb}xi8>, tensor<{n}xf32>) {{
  %q = bm.quantize %x nearest{rule} : tensor<{n}xf32> -> !bm.tensor<{n}x{fmt}, block = [{b}]>
  %codes, %biases = bm.unpack %q : !bm.tensor<{n}x{fmt}, block = [{b}]>
      -> tensor<{n}xi8>, tensor<{nb}xi8>
  %y = bm.dequantize %q : !bm.tensor<{n}x{fmt}, block = [{b}]> -> tensor<{n}xf32>
  return %codes, %biases, %y : tensor<{n}xi8>, tensor<{nb}xi8>, tensor<{n}xf32>
}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bm-sweep", required=True, help="the bm-sweep binary")
    ap.add_argument("--formats", default="e2m3,e3m2,e2m5,e4m3")
    ap.add_argument("--blocks", default="1,16",
                    help="block sizes of the 1-D tensor (1 = every element "
                         "picks its own bias)")
    ap.add_argument("--count", type=int, default=1 << 24,
                    help="patterns per format and block size")
    ap.add_argument("--chunk", type=int, default=1 << 20,
                    help="elements per call of the compiled function")
    ap.add_argument("--scale", default="floor", choices=("floor", "fit"),
                    help="shared-exponent rule of the quantize "
                         "(docs/numerics.md section 2)")
    args = ap.parse_args()

    failed = 0
    start = time.time()
    for fmt in args.formats.split(","):
        for b in (int(v) for v in args.blocks.split(",")):
            if args.chunk % b:
                sys.exit("chunk must be a multiple of every block size")
            rule = "" if args.scale == "floor" else " scale(%s)" % args.scale
            text = MODULE.format(n=args.chunk, nb=args.chunk // b, fmt=fmt, b=b,
                                 rule=rule)
            t0 = time.time()
            # bm-sweep calls the function with its results returned through
            # one struct (the C interface without out-params).
            lib = compiler.compile_module(text, out_params=False)
            compile_s = time.time() - t0
            print(f"compiled {fmt} block=[{b}] ({compile_s:.1f}s): {lib.path}",
                  flush=True)
            cmd = [args.bm_sweep, "compiled", "--lib", lib.path,
                   "--function", "quant", "--format", fmt, "--block", str(b),
                   "--chunk", str(args.chunk), "--count", str(args.count),
                   "--scale", args.scale]
            rc = subprocess.run(cmd).returncode
            if rc != 0:
                print(f"FAILED: {fmt} block=[{b}] (exit {rc})", flush=True)
                failed += 1
    print(f"compiled sweep: {failed} failed configuration(s), "
          f"{time.time() - start:.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
