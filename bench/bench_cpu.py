#!/usr/bin/python3
"""CPU benchmark of the compiled bm code, as ratios against baselines measured
in the same run (see bench/README.md).

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/bench_cpu.py

Measures, best of N timed runs after warm-up, rounds interleaved so that
machine noise hits subject and baseline alike:

* quantize, e2m3 with 48x48 blocks on a float32 matrix (nearest and
  stochastic), in GB/s of float32 input, against memcpy of the same buffer
  (numpy ``np.copyto`` into a preallocated array);
* the BM6 matmul (e2m3 x e2m3, 48x48 blocks) in GOP/s (2*M*N*K / t), on
  pre-packed codes and biases (``bm.pack``, quantization outside the timed
  region), and end to end (quantize both float32 operands + matmul in one
  compiled function), against numpy's float32 matmul and against the
  emulation a user would otherwise write: quantize-dequantize both operands
  with python/bm/numerics.py, then a float32 matmul.

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

import numpy as np  # noqa: E402

from bm import compiler  # noqa: E402
from bm import numerics as bmn  # noqa: E402

FMT = "e2m3"
BLOCK = 48


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
    """Interleaved best-of-N timing of several named callables."""

    def __init__(self):
        self.subjects = []
        self.times = {}

    def add(self, name, fn):
        self.subjects.append((name, fn))
        self.times[name] = []

    def run(self, rounds, warmup=1):
        for name, fn in self.subjects:
            for _ in range(warmup):
                fn()
        for _ in range(rounds):
            for name, fn in self.subjects:
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


def matmul_module(m, k, n):
    ta = "!bm.tensor<%dx%dx%s, block = [%d, %d]>" % (m, k, FMT, BLOCK, BLOCK)
    tb = "!bm.tensor<%dx%dx%s, block = [%d, %d]>" % (k, n, FMT, BLOCK, BLOCK)
    fa, fb, fc = ("tensor<%dx%dxf32>" % (m, k), "tensor<%dx%dxf32>" % (k, n),
                  "tensor<%dx%dxf32>" % (m, n))
    ca, cb = "tensor<%dx%dxi8>" % (m, k), "tensor<%dx%dxi8>" % (k, n)
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
func.func @matmul_f32(%a: {fa}, %b: {fb}, %init: {fc}) -> {fc} {{
  %qa = bm.quantize %a nearest : {fa} -> {ta}
  %qb = bm.quantize %b nearest : {fb} -> {tb}
  %y = bm.matmul %qa, %qb, %init : {ta}, {tb}, {fc} -> {fc}
  return %y : {fc}
}}
"""


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

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
    ap.add_argument("--mcpu", default="native",
                    help="llc -mcpu (default native; 'generic' for none)")
    ap.add_argument("--no-exact-ref", action="store_true",
                    help="skip timing numerics.matmul (the exact numpy "
                         "reference; used as the matmul check otherwise)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = ap.parse_args()

    out = {}
    print("== bm CPU benchmark (bench/bench_cpu.py)")
    print("CPU: %s; %d logical CPU(s), %d usable by this process" % (
        cpu_model(), os.cpu_count() or 0, len(os.sched_getaffinity(0))))
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
    print("bm-opt: %s; llc -O3 -mcpu=%s; bm code is single-threaded" % (
        tools.bm_opt, args.mcpu))
    mcpu = None if args.mcpu == "generic" else args.mcpu
    rng = np.random.default_rng(1234)

    # -- quantize --------------------------------------------------------
    r = args.quant_size
    t0 = time.perf_counter()
    qlib = compiler.compile_module(quant_module(r, r), mcpu=mcpu, use_cache=False)
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

    tq = Timer()
    tq.add("memcpy", lambda: np.copyto(dst, x))
    tq.add("nearest", lambda: qlib.quant_nearest(x))
    tq.add("stochastic", lambda: qlib.quant_stochastic(x, seed))
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
          "out to numpy)" % t_compile_q)
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
    m = n = k = args.mm_size
    ops = 2.0 * m * n * k
    t0 = time.perf_counter()
    mlib = compiler.compile_module(matmul_module(m, k, n), mcpu=mcpu, use_cache=False)
    t_compile_m = time.perf_counter() - t0
    a = rng.standard_normal((m, k)).astype(np.float32)
    bmat = rng.standard_normal((k, n)).astype(np.float32)
    init = np.zeros((m, n), np.float32)
    qa = bmn.quantize(a, FMT, (BLOCK, BLOCK), "nearest")
    qb = bmn.quantize(bmat, FMT, (BLOCK, BLOCK), "nearest")
    ca, ba, cb, bb = qa.codes, qa.beta, qb.codes, qb.beta
    da, db = bmn.dequantize(qa), bmn.dequantize(qb)

    y_packed = mlib.matmul_packed(ca, ba, cb, bb, init)
    y_f32 = mlib.matmul_f32(a, bmat, init)
    check_bits("matmul (packed) vs matmul (from f32)", y_packed, y_f32)
    t_exact = None
    if args.no_exact_ref:
        print("\n(matmul checked against numerics.matmul on a 96x96x96 slice "
              "only: --no-exact-ref)")
        sl = slice(0, 96)
        sa = bmn.quantize(a[sl, sl], FMT, (BLOCK, BLOCK), "nearest")
        sb = bmn.quantize(bmat[sl, sl], FMT, (BLOCK, BLOCK), "nearest")
        small = compiler.compile_module(matmul_module(96, 96, 96), mcpu=mcpu)
        check_bits("matmul (96^3 slice)",
                   small.matmul_packed(sa.codes, sa.beta, sb.codes, sb.beta,
                                       init[sl, sl]),
                   bmn.matmul(sa, sb, init[sl, sl]))
    else:
        t0 = time.perf_counter()
        want = bmn.matmul(qa, qb, init)
        t_exact = time.perf_counter() - t0
        check_bits("matmul", y_packed, want)
        del want
    del y_packed, y_f32

    def emulation():
        ea = bmn.dequantize(bmn.quantize(a, FMT, (BLOCK, BLOCK), "nearest"))
        eb = bmn.dequantize(bmn.quantize(bmat, FMT, (BLOCK, BLOCK), "nearest"))
        return ea @ eb + init

    tm = Timer()
    tm.add("numpy_f32", lambda: np.matmul(a, bmat))
    tm.add("bm_packed", lambda: mlib.matmul_packed(ca, ba, cb, bb, init))
    tm.add("bm_f32", lambda: mlib.matmul_f32(a, bmat, init))
    tm.add("emulation", emulation)
    tm.add("emulation_mm_only", lambda: np.matmul(da, db) + init)
    one_thread = None
    tm.run(args.mm_rounds, warmup=1)
    if ob is not None and ob.openblas_get_num_threads() > 1:
        nthreads = ob.openblas_get_num_threads()
        t1 = Timer()
        t1.add("numpy_f32_1t", lambda: np.matmul(a, bmat))
        ob.openblas_set_num_threads(1)
        try:
            t1.run(args.mm_rounds, warmup=1)
        finally:
            ob.openblas_set_num_threads(nthreads)
        one_thread = t1

    print()
    print("== matmul BM6 (%s x %s, %dx%d blocks), M=N=K=%d; GOP/s = 2MNK/t; "
          "best of %d (median)" % (FMT, FMT, BLOCK, BLOCK, m, args.mm_rounds))
    print("   (compile %.2f s; Kulisch run-sum tensor [M,N,runs] = %.0f MB)" % (
        t_compile_m, m * n * grid(k) * 4 / 1e6))
    g_np = ops / tm.best("numpy_f32") / 1e9
    g_emu = ops / tm.best("emulation") / 1e9
    out["matmul"] = {"M": m, "N": n, "K": k, "format": FMT,
                     "block": [BLOCK, BLOCK]}
    rows = [("numpy float32 matmul", "numpy_f32", tm),
            ("bm.matmul, packed operands", "bm_packed", tm),
            ("bm quantize A,B + matmul", "bm_f32", tm),
            ("emulation: q-dq A,B + f32 mm", "emulation", tm),
            ("emulation: f32 mm only", "emulation_mm_only", tm)]
    if one_thread is not None:
        rows.insert(1, ("numpy float32, 1 thread", "numpy_f32_1t", one_thread))
    for label, key, tmr in rows:
        gops = ops / tmr.best(key) / 1e9
        print("  %-30s %8.2f GOP/s %9.1f ms (%9.1f)  %7.4f x numpy f32  "
              "%7.3f x emulation" % (label, gops, tmr.best(key) * 1e3,
                                     tmr.median(key) * 1e3, gops / g_np,
                                     gops / g_emu))
        out["matmul"][key] = {"GOP/s": gops, "best_s": tmr.best(key),
                              "median_s": tmr.median(key),
                              "ratio_vs_numpy_f32": gops / g_np,
                              "ratio_vs_emulation": gops / g_emu}
    if t_exact is not None:
        gops = ops / t_exact / 1e9
        print("  %-30s %8.2f GOP/s %9.1f ms (1 run)  %7.4f x numpy f32  "
              "%7.3f x emulation" % ("numerics.matmul (exact, numpy)", gops,
                                     t_exact * 1e3, gops / g_np, gops / g_emu))
        out["matmul"]["numpy_exact_ref"] = {"GOP/s": gops, "best_s": t_exact}

    q = out["quantize"]
    mm = out["matmul"]
    print()
    print("== summary (ratios; > 1 means bm is faster)")
    print("  quantize nearest    / memcpy            %8.4f" % q["nearest"]["ratio_vs_memcpy"])
    print("  quantize stochastic / memcpy            %8.4f" % q["stochastic"]["ratio_vs_memcpy"])
    print("  bm.matmul (packed)  / numpy f32 matmul  %8.4f" % mm["bm_packed"]["ratio_vs_numpy_f32"])
    if one_thread is not None:
        print("  bm.matmul (packed)  / numpy f32 1 thread %7.4f" % (
            mm["bm_packed"]["GOP/s"] / mm["numpy_f32_1t"]["GOP/s"]))
    print("  bm.matmul (packed)  / emulation         %8.4f" % mm["bm_packed"]["ratio_vs_emulation"])
    print("  bm quantize+matmul  / emulation         %8.4f" % mm["bm_f32"]["ratio_vs_emulation"])
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
