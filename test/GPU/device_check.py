#!/usr/bin/env python3
"""bm GPU device check: cross-checks and benchmarks (run by run_on_device.sh).

On a machine with an NVIDIA GPU, CUDA and PyTorch but no MLIR:

  device_check.py --lib libbm_kernels.so --expected DIR [--bench]
                  [--deadline SECONDS] [--json OUT]

* cross-checks: every "check" function of device_kernels.SPECS (and the
  scalar-kernel variants) runs on the GPU on inputs generated from integer
  hashes; each output must equal, bit for bit, the output precomputed with
  the compiled CPU code (DIR/<name>.npz, scripts/prepare-device-check.sh);
* benchmarks (--bench): BM6 quantize / dequantize of 8192x8192 and the BM6
  matmul at 8192^3 (int8 tensor cores) against device memcpy and cuBLAS
  through PyTorch (float32, TF32, bf16, int8 where available), printed as
  times, rates and ratios; the 8192^3 result is also compared with a float64
  matmul of the dequantized operands (not bit-exact: a sanity bound).

Prints "device check: N passed, M failed" last; exits 1 on any failure.
"""

import argparse
import ctypes
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
except ImportError:
    print("device_check: numpy is required")
    sys.exit(2)
try:
    import torch
except ImportError:
    print("device_check: PyTorch is required")
    sys.exit(2)

import device_kernels as dk  # noqa: E402


class Checker:
    def __init__(self, lib, runtime, deadline):
        self.lib = lib
        self.passed = 0
        self.failed = 0
        self.results = []
        self.deadline = deadline
        self.errors = runtime.bmCudaErrorCount
        self.errors.restype = ctypes.c_int
        # bmCudaSetStream / bmCudaResetStream (runtimes before them lack
        # them: those checks are then skipped).
        self.set_stream = getattr(runtime, "bmCudaSetStream", None)
        self.reset_stream = getattr(runtime, "bmCudaResetStream", None)
        if self.set_stream is not None:
            self.set_stream.argtypes = [ctypes.c_void_p]

    def time_left(self):
        return self.deadline - time.monotonic()

    def record(self, name, ok, **info):
        self.passed += ok
        self.failed += not ok
        info.update(name=name, ok=bool(ok))
        self.results.append(info)


def to_device(arrays):
    out = {}
    for k, v in arrays.items():
        out[k] = v if isinstance(v, int) else torch.from_numpy(
            np.ascontiguousarray(v)).cuda()
    torch.cuda.synchronize()
    return out


def compare(name, got, exp, limit=5):
    """(ok, message) comparing arrays bit for bit."""
    if got.shape != exp.shape:
        return False, "%s: shape %s, expected %s" % (name, got.shape, exp.shape)
    if got.dtype == np.float32:
        g, e = got.view(np.uint32), exp.view(np.uint32)
    else:
        g, e = got, exp
    bad = np.flatnonzero(g.reshape(-1) != e.reshape(-1))
    if bad.size == 0:
        return True, "%s: %d elements equal" % (name, g.size)
    lines = ["%s: %d of %d elements differ" % (name, bad.size, g.size)]
    for i in bad[:limit]:
        idx = np.unravel_index(i, g.shape)
        if got.dtype == np.float32:
            lines.append("  %s: got %08x (%r), expected %08x (%r)" % (
                list(idx), int(g.reshape(-1)[i]), float(got.reshape(-1)[i]),
                int(e.reshape(-1)[i]), float(exp.reshape(-1)[i])))
        else:
            lines.append("  %s: got %d, expected %d" % (
                list(idx), int(g.reshape(-1)[i]), int(e.reshape(-1)[i])))
    return False, "\n".join(lines)


# Checks run again with the runtime in stream-ordered mode on PyTorch's
# current stream (bmCudaSetStream): no synchronization inside the calls,
# the inputs' copies and the call ordered by the stream alone.
STREAM_CHECKS = ["mm_e2m3_1000x1000x1000", "q_e2m3_stochastic_1024x1536"]


def check_one(ck, expected_dir, name, label):
    s = dk.spec_by_name(name)
    if ck.time_left() < 30:
        print("SKIP %s: out of time" % label)
        ck.record(label, False, skipped=True)
        return
    path = os.path.join(expected_dir, s["name"] + ".npz")
    exp = np.load(path)
    host = dk.make_inputs(s)
    dev = to_device(host)
    before = ck.errors()
    t0 = time.perf_counter()
    dk.call(ck.lib, name, s, dev)
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1e3
    cuda_errors = ck.errors() - before
    ok = cuda_errors == 0
    msgs = []
    for out in dk.outputs(s):
        good, msg = compare(out, dev[out].cpu().numpy(), exp[out])
        ok = ok and good
        msgs.append(msg)
    if cuda_errors:
        msgs.append("%d CUDA errors (see stderr)" % cuda_errors)
    print("%s %s (%.1f ms)" % ("PASS" if ok else "FAIL", label, ms))
    if not ok:
        for m in msgs:
            print("    " + m.replace("\n", "\n    "))
    ck.record(label, ok, ms=ms, detail=msgs)


def run_checks(ck, expected_dir, only=None):
    names = [s["name"] for s in dk.SPECS if s["role"] == "check"]
    names += dk.variant_names(role="check")
    if only:
        names = [n for n in names if n in only]
    print("== cross-checks: GPU vs compiled CPU code, bit for bit (%d)"
          % len(names))
    for name in names:
        check_one(ck, expected_dir, name, name)
    streamed = [n for n in STREAM_CHECKS if not only or n in only]
    if streamed and ck.set_stream is not None:
        print("== on PyTorch's current stream, stream-ordered (%d)"
              % len(streamed))
        ck.set_stream(ctypes.c_void_p(torch.cuda.current_stream().cuda_stream))
        try:
            for name in streamed:
                check_one(ck, expected_dir, name, name + " (caller stream)")
        finally:
            ck.reset_stream()


# ---------------------------------------------------------------------------
# Benchmarks
# ---------------------------------------------------------------------------


def time_bm(ck, name, s, bufs, iters=3, max_total=60.0):
    """Median wall time (ms) of the (synchronous) BM call."""
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    dk.call(ck.lib, name, s, bufs)
    torch.cuda.synchronize()
    first = time.perf_counter() - t0
    times = [first]
    n = iters if first * iters < max_total else 1
    for _ in range(n):
        t0 = time.perf_counter()
        dk.call(ck.lib, name, s, bufs)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    warm = times[1:] or times
    return sorted(warm)[len(warm) // 2] * 1e3


def time_torch(fn, iters=5):
    """Median time (ms) of a PyTorch op, CUDA events."""
    fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(iters):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        out.append(a.elapsed_time(b))
    return sorted(out)[len(out) // 2]


def bench_inputs(s):
    """Device buffers for a benchmark spec, generated on the GPU."""
    g = torch.Generator(device="cuda")
    g.manual_seed(s["gen"]["seed"])
    bufs = {}
    for name, shape, dtype, io in dk.arguments(s):
        if io == "scalar":
            bufs[name] = int(s["seed"])
            continue
        tdtype = {np.float32: torch.float32, np.int8: torch.int8,
                  np.int16: torch.int16, np.int32: torch.int32}[dtype]
        if name == "x":
            bufs[name] = torch.randn(shape, generator=g, device="cuda")
        elif name.startswith("codes") and io == "in":
            fmt = s.get("fmt") or (s["fa"] if name == "codes_a" else s["fb"])
            hi = 1 << dk.code_bits(fmt)
            bufs[name] = torch.randint(0, hi, shape, generator=g, device="cuda",
                                       dtype=torch.int32).to(tdtype)
        elif name.startswith("biases") and io == "in":
            bufs[name] = torch.randint(-8, 9, shape, generator=g, device="cuda",
                                       dtype=torch.int32).to(torch.int8)
        elif name == "c":
            bufs[name] = torch.zeros(shape, device="cuda")
        else:
            bufs[name] = torch.empty(shape, device="cuda", dtype=tdtype)
    torch.cuda.synchronize()
    return bufs


def run_benchmarks(ck, rows):
    print("== benchmarks (%s)" % torch.cuda.get_device_name())
    free, total = torch.cuda.mem_get_info()

    def row(op, bm_ms, ref, ref_ms, unit=""):
        ratio = bm_ms / ref_ms if ref_ms else float("nan")
        rows.append(dict(op=op, bm_ms=bm_ms, reference=ref, ref_ms=ref_ms,
                         ratio=ratio, note=unit))
        print("| %-34s | %10.3f | %-28s | %10.3f | %8.2fx | %s" % (
            op, bm_ms, ref, ref_ms, ratio, unit))

    print("| %-34s | %10s | %-28s | %10s | %9s |" % (
        "BM op", "BM ms", "reference", "ref ms", "BM/ref"))

    # Device memcpy: the bandwidth bound of any elementwise op.
    n = 8192 * 8192
    src = torch.empty(n, device="cuda")
    dst = torch.empty_like(src)
    memcpy_ms = time_torch(lambda: dst.copy_(src))
    gbs = 2 * 4 * n / memcpy_ms / 1e6
    print("device memcpy of 256 MiB: %.3f ms, %.0f GB/s (read + write)"
          % (memcpy_ms, gbs))
    src = dst = None

    for name in ("bench_q_e2m3_nearest_8192x8192",
                 "bench_q_e2m3_stochastic_8192x8192", "bench_dq_e2m3_8192x8192"):
        if ck.time_left() < 60:
            print("skip %s: out of time" % name)
            continue
        s = dk.spec_by_name(name)
        bufs = bench_inputs(s)
        before = ck.errors()
        ms = time_bm(ck, name, s, bufs)
        if ck.errors() != before:
            ck.record(name, False, detail=["CUDA errors"])
        moved = 4 * n + n  # f32 one way, one byte of code the other
        row(name.replace("bench_", ""), ms, "memcpy 256 MiB f32", memcpy_ms,
            "%.0f GB/s effective" % (moved / ms / 1e6))
        if s["kind"] == "quantize" and hasattr(torch, "float8_e4m3fn"):
            x = bufs["x"]
            f8 = time_torch(lambda: x.to(torch.float8_e4m3fn))
            row(name.replace("bench_", ""), ms, "torch .to(float8_e4m3fn)", f8)
        del bufs
        torch.cuda.empty_cache()

    # Matmuls.
    for size in (2048, 8192):
        name = "bench_mm_e2m3_%dx%dx%d" % (size, size, size)
        need = 3 * 4 * size * size + 8 * size * size
        if need > 0.8 * free or ck.time_left() < 90:
            print("skip %s: memory or time" % name)
            continue
        s = dk.spec_by_name(name)
        bufs = bench_inputs(s)
        before = ck.errors()
        ms = time_bm(ck, name, s, bufs)
        if ck.errors() != before:
            ck.record(name, False, detail=["CUDA errors"])
        flops = 2.0 * size ** 3
        note = "%.1f TOPS" % (flops / ms / 1e9)
        a = torch.randn(size, size, device="cuda")
        b = torch.randn(size, size, device="cuda")
        prev = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        f32 = time_torch(lambda: a @ b, iters=3)
        row(name.replace("bench_", ""), ms, "cuBLAS float32", f32, note)
        torch.backends.cuda.matmul.allow_tf32 = True
        tf32 = time_torch(lambda: a @ b, iters=3)
        row(name.replace("bench_", ""), ms, "cuBLAS TF32", tf32)
        torch.backends.cuda.matmul.allow_tf32 = prev
        ab, bb = a.bfloat16(), b.bfloat16()
        bf16 = time_torch(lambda: ab @ bb, iters=3)
        row(name.replace("bench_", ""), ms, "cuBLAS bf16", bf16)
        ab = bb = None
        if hasattr(torch, "_int_mm"):
            try:
                ai = torch.randint(-64, 64, (size, size), device="cuda",
                                   dtype=torch.int8)
                bi = torch.randint(-64, 64, (size, size), device="cuda",
                                   dtype=torch.int8)
                i8 = time_torch(lambda: torch._int_mm(ai, bi), iters=3)
                row(name.replace("bench_", ""), ms, "cuBLAS int8 (_int_mm)", i8)
                del ai, bi
            except Exception as e:  # noqa: BLE001
                print("int8 reference unavailable: %s" % e)
        direct = name + "_direct"
        if hasattr(ck.lib, "_mlir_ciface_" + direct):
            dms = time_bm(ck, direct, s, bufs)
            row(name.replace("bench_", ""), ms,
                "BM direct tensor-core kernel (mma-kernel=direct)", dms)
        scalar = name + "_scalar"
        if size == 2048 and hasattr(ck.lib, "_mlir_ciface_" + scalar):
            sms = time_bm(ck, scalar, s, bufs)
            row(name.replace("bench_", ""), ms, "BM scalar kernel (mma=false)",
                sms)
        if size == 8192:
            sanity(ck, s, bufs)
        a = b = bufs = None
        torch.cuda.empty_cache()


def sanity(ck, s, bufs):
    """The 8192^3 result against float64 of the dequantized operands
    (through the BM dequantize kernel, which the cross-checks validated):
    the BM result rounds each run's exact sum once and adds runs in float32,
    so |bm - exact| stays within a few float32 ulps of sum |terms|."""
    if ck.time_left() < 60:
        return
    # The timed calls accumulated onto c: start again from zero, once.
    bufs["c"].zero_()
    torch.cuda.synchronize()
    dk.call(ck.lib, s["name"], s, bufs)
    torch.cuda.synchronize()
    dq = dk.spec_by_name("bench_dq_e2m3_8192x8192")
    ya = torch.empty(dq["shape"], device="cuda")
    yb = torch.empty(dq["shape"], device="cuda")
    dk.call(ck.lib, dq["name"], dq, dict(codes=bufs["codes_a"],
                                         biases=bufs["biases_a"], y=ya))
    dk.call(ck.lib, dq["name"], dq, dict(codes=bufs["codes_b"],
                                         biases=bufs["biases_b"], y=yb))
    torch.cuda.synchronize()
    a64, b64 = ya.double(), yb.double()
    exact = a64 @ b64
    bound = (a64.abs() @ b64.abs()) * (2.0 ** -23) * 200 + 1e-30
    err = (bufs["c"].double() - exact).abs()
    worst = float((err / bound).max())
    ok = worst <= 1.0 and bool(torch.isfinite(bufs["c"]).all())
    print("%s bench_mm_e2m3_8192^3 vs float64: max |error| / (200 ulp * "
          "sum|terms|) = %.3g" % ("PASS" if ok else "FAIL", worst))
    ck.record("bench_mm_e2m3_8192^3_vs_float64", ok, worst=worst)
    del ya, yb, a64, b64, exact, bound, err


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, help="libbm_kernels.so")
    ap.add_argument("--runtime",
                    help="libbm_cuda_runtime.so (default: found through --lib)")
    ap.add_argument("--expected", required=True, help="directory of .npz")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--deadline", type=float, default=400.0,
                    help="seconds this script may take")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--only", nargs="*", help="run only these cross-checks")
    a = ap.parse_args()

    deadline = time.monotonic() + a.deadline
    if not torch.cuda.is_available():
        print("device_check: no CUDA device visible to PyTorch")
        print("device check: 0 passed, 1 failed")
        return 1
    torch.cuda.init()
    torch.zeros(1, device="cuda")  # create the primary context first
    props = torch.cuda.get_device_properties(0)
    print("device: %s, sm_%d%d, %.0f GiB; torch %s, CUDA %s" % (
        props.name, props.major, props.minor, props.total_memory / 2 ** 30,
        torch.__version__, torch.version.cuda))
    t0 = time.perf_counter()
    runtime = None
    if a.runtime:
        runtime = ctypes.CDLL(os.path.abspath(a.runtime), mode=ctypes.RTLD_GLOBAL)
    lib = ctypes.CDLL(os.path.abspath(a.lib), mode=ctypes.RTLD_GLOBAL)
    print("loaded %s (kernel modules loaded/JIT-compiled) in %.1f s" % (
        a.lib, time.perf_counter() - t0))
    ck = Checker(lib, runtime or lib, deadline)
    if ck.errors():
        print("FAIL: %d CUDA errors while loading the kernel modules"
              % ck.errors())
        ck.record("load", False)

    run_checks(ck, a.expected, a.only)
    rows = []
    if a.bench:
        run_benchmarks(ck, rows)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(dict(results=ck.results, benchmarks=rows), f, indent=1,
                      default=str)
    print("device check: %d passed, %d failed" % (ck.passed, ck.failed))
    return 0 if ck.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
