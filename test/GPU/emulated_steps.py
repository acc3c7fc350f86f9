#!/usr/bin/env python3
"""A whole training step through the GPU lowering, run on the CPU.

Compiles a captured training step (examples/*_train.mlir, FP32 or rewritten
to BM by bm-quantize-training) twice: with bm-lower-to-cpu (python/bm's
compiler), and with bm-lower-to-gpu whose kernels bm-gpu-launch-to-loops
runs as CPU loops (the tensor-core kernels with each block's threads in
lockstep, mma.sync and ldmatrix emulated, cp.async race-checked). Calls both
on the same random arguments and compares every result:

  --expect bits       bit for bit (a BM step: every contraction is exact and
                      in canonical order, the rest is computed in the same
                      order by both lowerings);
  --expect close=TOL  within TOL relative to each result's largest
                      magnitude (FP32 contractions: the CPU kernels sum in
                      another order than the GPU's one thread per output).

Prints one line per result and "N results: OK" or exits with status 1.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "python"))
import bm.compiler as bc  # noqa: E402


def compile_gpu_emulated(src_path, work, tools, out_params):
    ll_mlir = os.path.join(work, "gpu.ll.mlir")
    steps = [
        [tools.bm_opt, src_path,
         "--bm-lower-to-gpu=emit-c-interface=true host-shared=true "
         "out-params=" + ("true" if out_params else "false"),
         "--bm-gpu-launch-to-loops", "--convert-scf-to-cf",
         "--expand-strided-metadata", "--lower-affine", "--convert-to-llvm",
         "--reconcile-unrealized-casts", "-o", ll_mlir],
        [tools.mlir_translate, "--mlir-to-llvmir", ll_mlir,
         "-o", os.path.join(work, "gpu.ll")],
        [tools.llc, "-O2", "-filetype=obj", "-relocation-model=pic",
         os.path.join(work, "gpu.ll"), "-o", os.path.join(work, "gpu.o")],
        [tools.cc, "-shared", os.path.join(work, "gpu.o"),
         "-o", os.path.join(work, "libgpu.so"), "-L" + tools.mlir_lib_dir,
         "-lmlir_c_runner_utils", "-Wl,-rpath," + tools.mlir_lib_dir],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            sys.exit("FAIL: %s\n%s" % (" ".join(cmd), r.stderr[-4000:]))
    return os.path.join(work, "libgpu.so")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("example", help="a training step module (FP32 linalg)")
    ap.add_argument("--quantize", action="store_true",
                    help="rewrite it with bm-quantize-training first (BM6)")
    ap.add_argument("--expect", required=True,
                    help="'bits' or 'close=TOL'")
    ap.add_argument("--out-params", action="store_true",
                    help="both lowerings with out-params=true (results "
                    "written into caller buffers)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    tools = bc.find_tools()
    src = open(a.example).read()
    if a.quantize:
        src = subprocess.run([tools.bm_opt, "--bm-quantize-training"],
                             input=src, capture_output=True, text=True,
                             check=True).stdout
    work = tempfile.mkdtemp(prefix="bm-emulated-step-")
    src_path = os.path.join(work, "step.mlir")
    with open(src_path, "w") as f:
        f.write(src)

    # The same C interface on both sides.
    cpu = bc.compile_module(src, out_params=a.out_params, parallel=False)
    gpu = bc.CompiledModule(
        compile_gpu_emulated(src_path, work, tools, a.out_params),
        cpu.signatures, out_params=a.out_params)

    rng = np.random.default_rng(a.seed)
    failed = 0
    count = 0
    for name, sig in sorted(cpu.signatures.items()):
        args = []
        for t in sig.args:
            if isinstance(t, bc.TensorType):
                args.append((rng.standard_normal(t.shape) * 0.1).astype(t.dtype))
            else:
                args.append(int(rng.integers(1, 1 << 30)))
        copy = lambda: [x.copy() if isinstance(x, np.ndarray) else x
                        for x in args]
        want = cpu[name](*copy())
        got = gpu[name](*copy())
        want = want if isinstance(want, tuple) else (want,)
        got = got if isinstance(got, tuple) else (got,)
        for i, (w, g) in enumerate(zip(want, got)):
            w, g = np.asarray(w), np.asarray(g)
            count += 1
            if a.expect == "bits":
                ok = w.shape == g.shape and w.tobytes() == g.tobytes()
                what = "bit-identical" if ok else "bits differ"
            else:
                tol = float(a.expect.split("=", 1)[1])
                scale = float(np.max(np.abs(w))) if w.size else 0.0
                diff = float(np.max(np.abs(w.astype(np.float64) - g))) \
                    if w.size else 0.0
                rel = diff / scale if scale else diff
                ok = w.shape == g.shape and rel <= tol
                what = "max relative difference %.3g" % rel
            print("%s @%s result %d %s: %s" % ("PASS" if ok else "FAIL", name,
                                               i, list(w.shape), what))
            failed += not ok
    if failed:
        print("%d of %d results: FAIL" % (failed, count))
        return 1
    print("%d results: OK" % count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
