#!/usr/bin/python3
"""CPU benchmark of the compiled bm code, as ratios against baselines measured
in the same run (see bench/README.md).

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/bench_cpu.py

Measures, best of N timed runs after warm-up, rounds interleaved so that
machine noise hits subject and baseline alike:

* quantize, e2m3 with 48x48 blocks on a float32 matrix (nearest and
  stochastic), in GB/s of float32 input, against memcpy of the same buffer
  (numpy ``np.copyto`` into a preallocated array);
* matmuls with 48x48 blocks in GOP/s (2*M*N*K / t): BM6 forward
  (e2m3 x e2m3), BM8 forward (e2m5 x e2m5) and backward (e3m2 x e2m3) at
  M = N = K = 1024, and BM6 at the first layer of examples/mlp_train.mlir,
  on pre-packed codes and biases (``bm.pack``, quantization outside the
  timed region) and end to end (quantize both float32 operands + matmul in
  one compiled function), against numpy's float32 matmul of the same shape
  (all threads and one thread) and, for BM6, the emulation a user would
  otherwise write: quantize-dequantize both operands with
  python/bm/numerics.py, then a float32 matmul;
* the training steps of examples/mlp_train.mlir and examples/cnn_train.mlir,
  compiled in FP32 and rewritten to BM6, against PyTorch eager's own FP32
  step of the same model, batch and optimizer (``torch.set_num_threads``:
  the usable cores, as the compiled code runs on all of them); the ratio
  against the compiled FP32 step is kept as a secondary line.

Every compiled result is checked bit for bit against python/bm/numerics.py
before it is timed. This is not a test; the test suite never runs it.
"""

import argparse
import ctypes
import json
import os
import platform
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

from bm import compiler  # noqa: E402
from bm import numerics as bmn  # noqa: E402

import step_split  # noqa: E402

FMT = "e2m3"
BLOCK = 48
# Calls of each training step in a row per round (see Timer).
STEP_CALLS = 3


# ---------------------------------------------------------------------------
# Machine and BLAS description
# ---------------------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loaded_libs(pattern):
    out = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()
                if len(p) >= 6 and re.search(pattern, p[-1]) and p[-1] not in out:
                    out.append(p[-1])
    except OSError:
        pass
    return out


def openblas_handle():
    for path in loaded_libs(r"openblas"):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads  # noqa: B018 (probe)
            return path, lib
        except (OSError, AttributeError):
            continue
    return None, None


def blas_info():
    """(description lines, warning or None, openblas ctypes handle)."""
    np.dot(np.ones((64, 64), np.float32), np.ones((64, 64), np.float32))  # load BLAS
    lines, warning = [], None
    try:
        import threadpoolctl  # noqa: F401
        for info in threadpoolctl.threadpool_info():
            if info.get("user_api") == "blas":
                lines.append("threadpoolctl: %s %s, %s threads, arch %s (%s)" % (
                    info.get("internal_api"), info.get("version"),
                    info.get("num_threads"), info.get("architecture"),
                    info.get("filepath")))
    except ImportError:
        pass
    blas = loaded_libs(r"lib(open)?blas|libmkl|libblis|libatlas")
    lines.append("BLAS libraries mapped: " + (", ".join(blas) or "none found"))
    path, ob = openblas_handle()
    if ob is not None:
        ob.openblas_get_config.restype = ctypes.c_char_p
        ob.openblas_get_corename.restype = ctypes.c_char_p
        lines.append("OpenBLAS: %s; core %s; %d thread(s)" % (
            ob.openblas_get_config().decode(), ob.openblas_get_corename().decode(),
            ob.openblas_get_num_threads()))
    else:
        reference = [b for b in blas if "/blas/libblas" in b or "libblas.so" in b]
        warning = ("numpy is NOT using OpenBLAS" +
                   (" but the slow reference BLAS (%s)" % ", ".join(reference)
                    if reference else "") +
                   ": the float32 baselines are far too slow and every ratio "
                   "against them is meaningless. Install libopenblas0-pthread "
                   "(apt-get install -y libopenblas0-pthread) and rerun.")
    return lines, warning, ob


def env_state(name):
    v = os.environ.get(name)
    return "unset" if v is None else "SET to %r" % v


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------

class Timer:
    """Interleaved best-of-N timing of several named callables: in each
    round every subject runs `calls` times in a row (each call timed). What
    one subject leaves running, such as the compiled code's idle workers,
    which spin for 0.2 ms before they sleep (runtime/cpu), then lands only in
    the first call of the next subject, never in its best time."""

    def __init__(self, calls=1):
        self.subjects = []
        self.times = {}
        self.calls = calls

    def add(self, name, fn):
        self.subjects.append((name, fn))
        self.times[name] = []

    def run(self, rounds, warmup=1):
        for name, fn in self.subjects:
            for _ in range(warmup):
                fn()
        for _ in range(rounds):
            for name, fn in self.subjects:
                for _ in range(self.calls):
                    t0 = time.perf_counter()
                    fn()
                    self.times[name].append(time.perf_counter() - t0)

    def best(self, name):
        return min(self.times[name])

    def median(self, name):
        return statistics.median(self.times[name])


def check_bits(what, got, want):
    got = np.ascontiguousarray(got)
    want = np.ascontiguousarray(want)
    u = {1: np.uint8, 2: np.uint16, 4: np.uint32}[got.dtype.itemsize]
    if got.shape != want.shape or not np.array_equal(got.view(u), want.view(u)):
        raise SystemExit("bench: %s differs from python/bm/numerics.py: the "
                         "compiled code is wrong, not benchmarking it" % what)


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------

def grid(n):
    return -(-n // BLOCK)


def quant_module(r, c):
    g = "%dx%d" % (grid(r), grid(c))
    t = "!bm.tensor<%dx%dx%s, block = [%d, %d]>" % (r, c, FMT, BLOCK, BLOCK)
    x, codes, beta = ("tensor<%dx%dxf32>" % (r, c), "tensor<%dx%dxi8>" % (r, c),
                      "tensor<%sxi8>" % g)
    return f"""
func.func @quant_nearest(%x: {x}) -> ({codes}, {beta}) {{
  %q = bm.quantize %x nearest : {x} -> {t}
  %c, %b = bm.unpack %q : {t} -> {codes}, {beta}
  return %c, %b : {codes}, {beta}
}}
func.func @quant_stochastic(%x: {x}, %seed: i64) -> ({codes}, {beta}) {{
  %q = bm.quantize %x stochastic seed %seed : {x} -> {t}
  %c, %b = bm.unpack %q : {t} -> {codes}, {beta}
  return %c, %b : {codes}, {beta}
}}
"""


def matmul_module(m, k, n, fa=FMT, fb=FMT):
    ta = "!bm.tensor<%dx%dx%s, block = [%d, %d]>" % (m, k, fa, BLOCK, BLOCK)
    tb = "!bm.tensor<%dx%dx%s, block = [%d, %d]>" % (k, n, fb, BLOCK, BLOCK)
    fta, ftb, fc = ("tensor<%dx%dxf32>" % (m, k), "tensor<%dx%dxf32>" % (k, n),
                    "tensor<%dx%dxf32>" % (m, n))
    ca = "tensor<%dx%dx%s>" % (m, k, code_type(fa))
    cb = "tensor<%dx%dx%s>" % (k, n, code_type(fb))
    ba = "tensor<%dx%dxi8>" % (grid(m), grid(k))
    bb = "tensor<%dx%dxi8>" % (grid(k), grid(n))
    return f"""
func.func @matmul_packed(%ca: {ca}, %ba: {ba}, %cb: {cb}, %bb: {bb},
                         %init: {fc}) -> {fc} {{
  %qa = bm.pack %ca, %ba : {ca}, {ba} -> {ta}
  %qb = bm.pack %cb, %bb : {cb}, {bb} -> {tb}
  %y = bm.matmul %qa, %qb, %init : {ta}, {tb}, {fc} -> {fc}
  return %y : {fc}
}}
func.func @matmul_f32(%a: {fta}, %b: {ftb}, %init: {fc}) -> {fc} {{
  %qa = bm.quantize %a nearest : {fta} -> {ta}
  %qb = bm.quantize %b nearest : {ftb} -> {tb}
  %y = bm.matmul %qa, %qb, %init : {ta}, {tb}, {fc} -> {fc}
  return %y : {fc}
}}
"""


code_type = step_split.code_type


# The contractions measured: (label, A format, B format, M, K, N).
MATMULS = [
    ("BM6 forward", "e2m3", "e2m3", None),
    ("BM8 forward", "e2m5", "e2m5", None),
    ("backward e3m2 x e2m3", "e3m2", "e2m3", None),
    # The first layer of examples/mlp_train.mlir (batch 64, 784 -> 256).
    ("BM6 forward, MLP layer 1", "e2m3", "e2m3", (64, 784, 256)),
    # Layer shapes of common networks, as matmuls: a ResNet-50 3x3
    # convolution of the 28x28 stage (im2col: 28*28 outputs, 128 * 3 * 3
    # taps, 128 filters) and a BERT-base attention projection (512 tokens,
    # 768 -> 768), BM6 and BM8.
    ("BM6 ResNet-50 conv 3x3 (im2col)", "e2m3", "e2m3", (784, 1152, 128)),
    ("BM6 Transformer projection", "e2m3", "e2m3", (512, 768, 768)),
    ("BM8 Transformer projection", "e2m5", "e2m5", (512, 768, 768)),
]


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def bench_matmul(label, fa, fb, m, k, n, args, mcpu, rng, ob, emulation,
                 exact_timing, cpu=None):
    """One bm.matmul (A in fa, B in fb, 48x48 blocks) against numpy float32
    (all threads and one thread) and, for BM6, the q-dq emulation. Checked
    bit for bit against numerics.matmul first."""
    ops = 2.0 * m * n * k
    t0 = time.perf_counter()
    mlib = compiler.compile_module(matmul_module(m, k, n, fa, fb), mcpu=mcpu,
                                   cpu=cpu, use_cache=False)
    t_compile = time.perf_counter() - t0
    a = rng.standard_normal((m, k)).astype(np.float32)
    bmat = rng.standard_normal((k, n)).astype(np.float32)
    init = np.zeros((m, n), np.float32)
    qa = bmn.quantize(a, fa, (BLOCK, BLOCK), "nearest")
    qb = bmn.quantize(bmat, fb, (BLOCK, BLOCK), "nearest")
    ca, ba, cb, bb = qa.codes, qa.beta, qb.codes, qb.beta
    y_packed = mlib.matmul_packed(ca, ba, cb, bb, init)
    check_bits("%s matmul (packed) vs (from f32)" % label, y_packed,
               mlib.matmul_f32(a, bmat, init))
    t0 = time.perf_counter()
    check_bits("%s matmul" % label, y_packed, bmn.matmul(qa, qb, init))
    t_exact = time.perf_counter() - t0
    del y_packed

    # Every subject writes into a preallocated result (numpy's out=, the
    # compiled functions' out=), so none pays for a fresh output array.
    res_np, res_bm = np.empty((m, n), np.float32), np.empty((m, n), np.float32)
    tm = Timer()
    tm.add("numpy_f32", lambda: np.matmul(a, bmat, out=res_np))
    tm.add("bm_packed",
           lambda: mlib.matmul_packed(ca, ba, cb, bb, init, out=(res_bm,)))
    tm.add("bm_f32", lambda: mlib.matmul_f32(a, bmat, init, out=(res_bm,)))
    if emulation:
        da, db = bmn.dequantize(qa), bmn.dequantize(qb)

        def emulate():
            ea = bmn.dequantize(bmn.quantize(a, fa, (BLOCK, BLOCK), "nearest"))
            eb = bmn.dequantize(bmn.quantize(bmat, fb, (BLOCK, BLOCK), "nearest"))
            return ea @ eb + init
        tm.add("emulation", emulate)
        tm.add("emulation_mm_only", lambda: np.matmul(da, db) + init)
    rounds = args.mm_rounds if m * n * k >= 1 << 26 else 10 * args.mm_rounds
    tm.run(rounds, warmup=1)
    one_thread = None
    if ob is not None and ob.openblas_get_num_threads() > 1:
        nthreads = ob.openblas_get_num_threads()
        one_thread = Timer()
        one_thread.add("numpy_f32_1t", lambda: np.matmul(a, bmat, out=res_np))
        ob.openblas_set_num_threads(1)
        try:
            one_thread.run(rounds, warmup=1)
        finally:
            ob.openblas_set_num_threads(nthreads)

    print()
    print("== matmul %s (%s x %s, %dx%d blocks), M=%d K=%d N=%d; GOP/s = "
          "2MNK/t; best of %d (median)" % (label, fa, fb, BLOCK, BLOCK, m, k, n,
                                           rounds))
    print("   (compile %.2f s; checked against numerics.matmul, which took "
          "%.2f s)" % (t_compile, t_exact))
    g_np = ops / tm.best("numpy_f32") / 1e9
    res = {"label": label, "M": m, "N": n, "K": k, "formats": [fa, fb],
           "block": [BLOCK, BLOCK]}
    rows = [("numpy float32 matmul", "numpy_f32", tm)]
    if one_thread is not None:
        rows.append(("numpy float32, 1 thread", "numpy_f32_1t", one_thread))
    rows += [("bm.matmul, packed operands", "bm_packed", tm),
             ("bm quantize A,B + matmul", "bm_f32", tm)]
    if emulation:
        rows += [("emulation: q-dq A,B + f32 mm", "emulation", tm),
                 ("emulation: f32 mm only", "emulation_mm_only", tm)]
    for row_label, key, tmr in rows:
        gops = ops / tmr.best(key) / 1e9
        print("  %-30s %8.2f GOP/s %9.2f ms (%9.2f)  %7.4f x numpy f32" % (
            row_label, gops, tmr.best(key) * 1e3, tmr.median(key) * 1e3,
            gops / g_np))
        res[key] = {"GOP/s": gops, "best_s": tmr.best(key),
                    "median_s": tmr.median(key), "ratio_vs_numpy_f32": gops / g_np}
    for key in ("bm_packed", "bm_f32"):
        if one_thread is not None:
            res[key]["ratio_vs_numpy_f32_1t"] = (
                res[key]["GOP/s"] / res["numpy_f32_1t"]["GOP/s"])
        if emulation:
            res[key]["ratio_vs_emulation"] = (
                res[key]["GOP/s"] / res["emulation"]["GOP/s"])
    if one_thread is not None:
        print("  bm.matmul (packed) / numpy f32 1 thread: %.4f" %
              res["bm_packed"]["ratio_vs_numpy_f32_1t"])
    if emulation:
        print("  bm.matmul (packed) / emulation: %.4f" %
              res["bm_packed"]["ratio_vs_emulation"])
    if exact_timing:
        gops = ops / t_exact / 1e9
        print("  %-30s %8.2f GOP/s %9.2f ms (1 run)  %7.4f x numpy f32" % (
            "numerics.matmul (exact, numpy)", gops, t_exact * 1e3, gops / g_np))
        res["numpy_exact_ref"] = {"GOP/s": gops, "best_s": t_exact}
    return res


def tensor_shape(type_):
    """[2, 3] of `tensor<2x3xf32>`."""
    dims = re.match(r"tensor<(.*)x[a-z]+\d*>$", type_).group(1)
    return [int(d) for d in dims.split("x")]


def step_arguments(sig, rng):
    """Inputs for a train_step of the given signature: small random weights,
    zero state, a random batch and one-hot labels."""
    args = []
    for a in sig["arguments"]:
        shape, role = a["shape"], a["role"]
        if role == "seed":
            args.append(7)
        elif role == "label":
            labels = np.zeros(shape, np.float32)
            labels[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = 1
            args.append(labels)
        elif role == "state":
            args.append(np.zeros(shape, np.float32))
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            scale = 1.0 if role == "activation" else fan_in ** -0.5
            args.append((rng.standard_normal(shape) * scale).astype(np.float32))
    return args


def torch_step(example, batch):
    """PyTorch eager's own training step of the example's model (the
    Sequential examples/generate.py captured, with its SGD settings) on a
    random batch: zero_grad, forward, cross_entropy, backward, step."""
    import torch
    sys.path.insert(0, os.path.join(REPO, "examples"))
    import generate
    make, shape, hyper = generate.EXAMPLES[example.replace(".mlir", "")]
    torch.manual_seed(0)
    model = make().train()
    opt = torch.optim.SGD(model.parameters(), **hyper)
    x = torch.randn(*shape)
    y = torch.randint(0, 10, (shape[0],))
    assert shape[0] == batch

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def bench_step(example, fmt, rounds, mcpu, rng, threads, cpu=None):
    """The example's training step compiled in FP32 and in `fmt`
    (bm-lower-to-cpu), against PyTorch eager's own FP32 step of the same
    model and batch with `threads` threads, rounds interleaved."""
    import torch
    path = os.path.join(REPO, "examples", example)
    with open(path) as f:
        text = f.read()
    sig = json.loads(re.search(r"// bm.signature: (\{.*\})", text).group(1))
    batch = sig["batch_size"]
    libs = {}
    for name in ("fp32", fmt):
        libs[name] = compiler.compile_module(
            text, mcpu=mcpu, cpu=cpu,
            passes=compiler.quantize_training_passes(name), use_cache=False)
    args = step_arguments(sig, rng)
    fn = sig["function"]
    # The per-op-class split (bench/step_split.py): the step's bm ops alone
    # and its quantizes alone, compiled the same way, on random data.
    import subprocess
    rewritten = subprocess.run(
        [compiler.find_tools().bm_opt, "-",
         *compiler.quantize_training_passes(fmt)],
        input=text, capture_output=True, text=True, check=True).stdout
    parts = {}
    for part, quantize_only in (("bm ops", False), ("quantize", True)):
        module, part_args = step_split.extract(rewritten, quantize_only)
        values = [7 if t == "i64" else
                  rng.standard_normal(tensor_shape(t)).astype(np.float32)
                  for _, t in part_args]
        parts[part] = (compiler.compile_module(module, mcpu=mcpu, cpu=cpu,
                                               use_cache=False), values)
    torch.set_num_threads(threads)
    tm = Timer(calls=STEP_CALLS)
    tm.add("pytorch", torch_step(example, batch))
    for name, lib in libs.items():
        tm.add(name, lambda lib=lib: lib.call(fn, *args))
    for part, (lib, values) in parts.items():
        tm.add(part, lambda lib=lib, values=values:
               lib.call("bm_part", *values))
    tm.run(rounds, warmup=2)
    print()
    print("== training step of examples/%s (batch %d): PyTorch %s eager FP32 "
          "(%d threads) vs compiled FP32 and %s (bm-lower-to-cpu); best of %d "
          "rounds x %d calls (median)" % (example, batch, torch.__version__,
                                         threads, fmt.upper(), rounds,
                                         STEP_CALLS))
    res = {"example": example, "format": fmt, "batch": batch,
           "torch_threads": threads}
    for name in ("pytorch",) + tuple(libs):
        print("  %-8s %9.2f ms (%9.2f)  %8.1f steps/s" % (
            name, tm.best(name) * 1e3, tm.median(name) * 1e3,
            1 / tm.best(name)))
        res[name] = {"best_s": tm.best(name), "median_s": tm.median(name)}
    res["ratio_vs_pytorch"] = tm.best("pytorch") / tm.best(fmt)
    res["fp32_ratio_vs_pytorch"] = tm.best("pytorch") / tm.best("fp32")
    res["ratio_vs_fp32"] = tm.best("fp32") / tm.best(fmt)
    print("  %s step throughput / PyTorch eager step: %.4f" % (
        fmt.upper(), res["ratio_vs_pytorch"]))
    print("  compiled FP32 step throughput / PyTorch eager step: %.4f" %
          res["fp32_ratio_vs_pytorch"])
    print("  (secondary) %s step / compiled FP32 step: %.4f" % (
        fmt.upper(), res["ratio_vs_fp32"]))
    split = {"quantize": tm.best("quantize"),
             "contractions": tm.best("bm ops") - tm.best("quantize"),
             "fp32 remainder": tm.best(fmt) - tm.best("bm ops")}
    print("  %s step split (best times; the bm ops and the quantizes alone, "
          "bench/step_split.py):" % fmt.upper())
    for part, t in split.items():
        print("    %-15s %7.3f ms  %5.1f%%" % (part, t * 1e3,
                                               100 * t / tm.best(fmt)))
    res["split_s"] = split
    return res


def peak_section():
    """Runs bench/peak_x86.c (one core's peak MAC rates: float32 FMA vs the
    integer instructions of the bm kernel) where the CPU has AVX2."""
    import subprocess
    import tempfile
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "")
    except OSError:
        pass
    if platform.machine() not in ("x86_64", "AMD64") or " avx2" not in flags:
        print("\n== peak MAC rates: skipped (not an AVX2 x86 CPU)")
        return None
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "peak")
        subprocess.run(["cc", "-O3", "-mavx2", "-mfma",
                        os.path.join(HERE, "peak_x86.c"), "-o", exe],
                       check=True)
        out = subprocess.run([exe], check=True, capture_output=True,
                             text=True).stdout
    print()
    print("== peak MAC rates of one core (bench/peak_x86.c; ratio to f32 FMA)")
    for line in out.splitlines():
        print("  " + line)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quant-size", type=int, default=2048,
                    help="quantize an NxN float32 matrix (default 2048)")
    ap.add_argument("--mm-size", type=int, default=1024,
                    help="matmul M = N = K (default 1024)")
    ap.add_argument("--quant-rounds", type=int, default=10,
                    help="timed rounds of the quantize section (default 10)")
    ap.add_argument("--mm-rounds", type=int, default=3,
                    help="timed rounds of the matmul section (default 3)")
    ap.add_argument("--step-rounds", type=int, default=20,
                    help="timed rounds of each training step (default 20)")
    ap.add_argument("--mcpu", default="native",
                    help="llc -mcpu (default native; 'generic' for none)")
    ap.add_argument("--cpu", default=None,
                    choices=sorted(compiler.CPU_TARGETS),
                    help="the CPU target of the bm code (bm-lower-to-cpu "
                         "cpu=...; default: this host's, as bm.compiler "
                         "picks it)")
    ap.add_argument("--skip-steps", action="store_true",
                    help="skip the training-step section")
    ap.add_argument("--torch-threads", type=int,
                    default=len(os.sched_getaffinity(0)),
                    help="threads of PyTorch's step baseline (default: the "
                         "usable cores, as the compiled code uses)")
    ap.add_argument("--steps-only", action="store_true",
                    help="run only the training-step section")
    ap.add_argument("--no-exact-ref", action="store_true",
                    help="skip timing numerics.matmul (the exact numpy "
                         "reference; it is still the bit-exact check)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = ap.parse_args()

    out = {}
    print("== bm CPU benchmark (bench/bench_cpu.py)")
    print("CPU: %s; %d logical CPU(s), %d usable by this process" % (
        cpu_model(), os.cpu_count() or 0, len(os.sched_getaffinity(0))))
    flags = compiler._cpu_flags() or set()
    wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
              "avx_vnni", "avx512_bf16"]
    print("CPU flags: %s; missing: %s" % (
        " ".join(f for f in wanted if f in flags) or "-",
        " ".join(f for f in wanted if f not in flags) or "-"))
    print("Python %s, numpy %s" % (platform.python_version(), np.__version__))
    lines, warning, ob = blas_info()
    for line in lines:
        print(line)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print("%s: %s" % (name, env_state(name)))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if name in os.environ:
            print("%s: %s" % (name, os.environ[name]))
    if any(n in os.environ for n in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        print("WARNING: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set: OpenBLAS may "
              "run a slower kernel. Run: env -u OPENBLAS_CORETYPE -u "
              "OPENBLAS_L2_SIZE /usr/bin/python3 bench/bench_cpu.py")
    if warning:
        print("!" * 78)
        print("WARNING: " + warning)
        print("!" * 78)
    tools = compiler.find_tools()
    parallel = compiler._usable_cpus() > 1 and compiler._has_async_runtime(tools)
    cpu = args.cpu or (compiler.host_cpu_target() if args.mcpu == "native"
                       else "generic")
    print("bm-opt: %s; llc -O3 -mcpu=%s; CPU target: %s; bm code: %s" % (
        tools.bm_opt, args.mcpu, cpu,
        "bm.matmul tiles on %d cores (parallel=true, async runtime)"
        % compiler._usable_cpus() if parallel else "single-threaded"))
    mcpu = None if args.mcpu == "generic" else args.mcpu
    rng = np.random.default_rng(1234)

    if not args.steps_only:
        # -- quantize --------------------------------------------------------
        r = args.quant_size
        t0 = time.perf_counter()
        qlib = compiler.compile_module(quant_module(r, r), mcpu=mcpu, cpu=cpu,
                                       use_cache=False)
        t_compile_q = time.perf_counter() - t0
        x = rng.standard_normal((r, r)).astype(np.float32)
        x *= np.exp2(rng.integers(-8, 9, size=(r, 1))).astype(np.float32)
        dst = np.empty_like(x)
        seed = 0x5EED
        ref_n = bmn.quantize(x, FMT, (BLOCK, BLOCK), "nearest")
        ref_s = bmn.quantize(x, FMT, (BLOCK, BLOCK), "stochastic", seed=seed)
        c, b = qlib.quant_nearest(x)
        check_bits("quantize nearest codes", c, ref_n.codes)
        check_bits("quantize nearest biases", b, ref_n.beta)
        c, b = qlib.quant_stochastic(x, seed)
        check_bits("quantize stochastic codes", c, ref_s.codes)
        check_bits("quantize stochastic biases", b, ref_s.beta)
        del c, b

        # Results go into preallocated arrays, as memcpy's does.
        outs = (np.empty_like(ref_n.codes.view(np.int8)), np.empty_like(ref_n.beta))
        tq = Timer()
        tq.add("memcpy", lambda: np.copyto(dst, x))
        tq.add("nearest", lambda: qlib.quant_nearest(x, out=outs))
        tq.add("stochastic", lambda: qlib.quant_stochastic(x, seed, out=outs))
        # The numpy reference is slow: timed apart, in fewer rounds.
        ref_timer = Timer()
        ref_timer.add("numpy_ref_nearest",
                      lambda: bmn.quantize(x, FMT, (BLOCK, BLOCK), "nearest"))
        tq.run(args.quant_rounds, warmup=2)
        ref_timer.run(max(2, args.quant_rounds // 5), warmup=0)

        gb = x.nbytes / 1e9
        print()
        print("== quantize %s, %dx%d blocks, %dx%d float32 input (%.1f MB); "
              "best of %d (median)" % (FMT, BLOCK, BLOCK, r, r, x.nbytes / 1e6,
                                       args.quant_rounds))
        print("   (compile %.2f s; bm timings include copying codes and biases "
              "into preallocated numpy arrays)" % t_compile_q)
        bw_memcpy = gb / tq.best("memcpy")
        rows = [("memcpy (np.copyto)", "memcpy", tq), ("bm.quantize nearest", "nearest", tq),
                ("bm.quantize stochastic", "stochastic", tq),
                ("numerics.quantize nearest", "numpy_ref_nearest", ref_timer)]
        out["quantize"] = {"shape": [r, r], "format": FMT, "block": [BLOCK, BLOCK]}
        for label, key, tm in rows:
            bw = gb / tm.best(key)
            print("  %-28s %8.3f GB/s  %9.2f ms (%9.2f)   %7.4f x memcpy" % (
                label, bw, tm.best(key) * 1e3, tm.median(key) * 1e3, bw / bw_memcpy))
            out["quantize"][key] = {"GB/s": bw, "best_s": tm.best(key),
                                    "median_s": tm.median(key),
                                    "ratio_vs_memcpy": bw / bw_memcpy}
        del ref_n, ref_s

        # -- matmul ----------------------------------------------------------
        out["matmul"] = []
        for label, fa, fb, shape in MATMULS:
            m, k, n = shape or (args.mm_size,) * 3
            out["matmul"].append(bench_matmul(
                label, fa, fb, m, k, n, args, mcpu, rng, ob, cpu=cpu,
                emulation=(shape is None and fa == FMT and fb == FMT),
                exact_timing=(shape is None and fa == FMT and fb == FMT
                              and not args.no_exact_ref)))

        out["peak"] = peak_section()

    # -- training steps --------------------------------------------------
    out["steps"] = []
    for example, rounds in (("mlp_train.mlir", args.step_rounds),
                            ("cnn_train.mlir", args.step_rounds)):
        if args.skip_steps:
            break
        out["steps"].append(bench_step(example, "bm6", rounds, mcpu, rng,
                                       args.torch_threads, cpu=cpu))

    print()
    print("== summary (ratios; > 1 means bm is faster)")
    if "quantize" in out:
        q = out["quantize"]
        print("  quantize nearest    / memcpy                %8.4f" % q["nearest"]["ratio_vs_memcpy"])
        print("  quantize stochastic / memcpy                %8.4f" % q["stochastic"]["ratio_vs_memcpy"])
    for mm in out.get("matmul", ()):
        print("  %-28s / numpy f32 %8.4f   (1 thread: %s)" % (
            "%s %dx%dx%d" % (mm["label"], mm["M"], mm["K"], mm["N"]),
            mm["bm_packed"]["ratio_vs_numpy_f32"],
            "%.4f" % mm["bm_packed"]["ratio_vs_numpy_f32_1t"]
            if "ratio_vs_numpy_f32_1t" in mm["bm_packed"] else "n/a"))
    for st in out["steps"]:
        print("  %-28s / PyTorch step %8.4f   (compiled FP32 / PyTorch %.4f; "
              "/ compiled FP32 %.4f)" % (
                  "%s step %s" % (st["example"], st["format"]),
                  st["ratio_vs_pytorch"], st["fp32_ratio_vs_pytorch"],
                  st["ratio_vs_fp32"]))
    if warning:
        print("WARNING (again): " + warning)
    if args.json:
        out["machine"] = {"cpu": cpu_model(), "cpus": os.cpu_count(),
                          "blas": lines, "blas_warning": warning,
                          "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
                          "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE")}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print("figures written to %s" % args.json)


if __name__ == "__main__":
    main()
