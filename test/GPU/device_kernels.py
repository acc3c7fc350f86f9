#!/usr/bin/python3
"""The functions of the GPU device check, their inputs and their calling.

Shared by scripts/prepare-device-check.sh (here: emits the MLIR, computes
the expected outputs with the compiled CPU code) and by
test/GPU/device_check.py (on the GPU machine, which has no MLIR). Needs only
numpy; torch tensors are accepted where the device side passes them.

Every function is in destination-passing style on memrefs, so that the
caller owns all buffers (device memory on the GPU, numpy arrays on the
CPU) and calls `_mlir_ciface_<name>(descriptor *...)`:

  quantize:   (x f32[S], [seed i64], codes iN[S], biases i8[grid])
  dequantize: (codes iN[S], biases i8[grid], y f32[S])
  matmul:     (codes_a, biases_a, codes_b, biases_b, c f32[.., M, N])
              c holds init on entry and the result on exit

Inputs are generated from integer hashes only (splitmix64 in uint64 numpy
arithmetic), so both machines build the same bits from a seed, whatever
their numpy version.

  device_kernels.py emit [--variant gpu|scalar|direct|cpu] -o kernels.mlir
  device_kernels.py expected --lib libcpu.so -o DIR     (expected outputs)
  device_kernels.py verify --expected DIR --python python/  (vs the numpy
                                                         reference)
  device_kernels.py list
"""

import argparse
import ctypes
import os
import sys

import numpy as np

# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------


def parse_format(name):
    e, m = name[1:].split("m")
    return int(e), int(m)


def code_bits(fmt):
    e, m = parse_format(fmt)
    return 1 + e + m


def code_dtype(fmt):
    bits = code_bits(fmt)
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


def mlir_int(dtype):
    return {np.int8: "i8", np.int16: "i16", np.int32: "i32"}[dtype]


def emax(fmt):
    e, _ = parse_format(fmt)
    return 0 if e == 0 else (1 << (e - 1)) - 1


def grid(shape, block):
    return tuple(-(-d // b) for d, b in zip(shape, block))


# ---------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------
#
# kind: quantize | dequantize | matmul
# role: "check" (expected outputs precomputed on the CPU, compared bit for
#       bit) or "bench" (timed; too large for the CPU here).
# gen:  input generator options.

SPECS = [
    # -- quantize ---------------------------------------------------------
    dict(name="q_e2m3_nearest_1024x1536", kind="quantize", role="check",
         fmt="e2m3", shape=(1024, 1536), block=(48, 48), rounding="nearest",
         gen=dict(seed=11, specials=True)),
    dict(name="q_e2m3_stochastic_1024x1536", kind="quantize", role="check",
         fmt="e2m3", shape=(1024, 1536), block=(48, 48),
         rounding="stochastic", seed=0x0123456789ABCDEF,
         gen=dict(seed=12, specials=True)),
    dict(name="q_e4m3_zero_1000x1000", kind="quantize", role="check",
         fmt="e4m3", shape=(1000, 1000), block=(32, 64), rounding="zero",
         gen=dict(seed=13, specials=False)),
    dict(name="q_e5m2_nearest_512x768", kind="quantize", role="check",
         fmt="e5m2", shape=(512, 768), block=(1, 256), rounding="nearest",
         gen=dict(seed=14, specials=True)),
    dict(name="q_e3m0_stochastic_777x333", kind="quantize", role="check",
         fmt="e3m0", shape=(777, 333), block=(16, 16), rounding="stochastic",
         seed=42, gen=dict(seed=15, specials=False)),
    dict(name="q_e2m3_batched_4x100x96", kind="quantize", role="check",
         fmt="e2m3", shape=(4, 100, 96), block=(1, 48, 48),
         rounding="nearest", gen=dict(seed=16, specials=False)),
    # The fit scale rule (numerics.md section 2): BM4's formats, whose top
    # bands (where fit raises the scale) hold a quarter (e2m1) and nearly
    # all (e3m0) of the block maxima; e0m3 also clamps at the largest
    # floats' beta = -127 when `specials` puts huge values in.
    dict(name="q_e2m1_fit_stochastic_1024x1536", kind="quantize",
         role="check", fmt="e2m1", shape=(1024, 1536), block=(48, 48),
         rounding="stochastic", seed=0xF17, scale="fit",
         gen=dict(seed=17, specials=True)),
    dict(name="q_e3m0_fit_nearest_777x333", kind="quantize", role="check",
         fmt="e3m0", shape=(777, 333), block=(16, 16), rounding="nearest",
         scale="fit", gen=dict(seed=18, specials=False)),
    dict(name="q_e0m3_fit_zero_500x300", kind="quantize", role="check",
         fmt="e0m3", shape=(500, 300), block=(1, 32), rounding="zero",
         scale="fit", gen=dict(seed=19, specials=True, huge=True)),
    # -- dequantize -------------------------------------------------------
    dict(name="dq_e2m3_1024x1536", kind="dequantize", role="check",
         fmt="e2m3", shape=(1024, 1536), block=(48, 48),
         gen=dict(seed=21, bias_range=(-20, 30))),
    dict(name="dq_e4m3_1000x1000", kind="dequantize", role="check",
         fmt="e4m3", shape=(1000, 1000), block=(32, 64),
         gen=dict(seed=22, bias_range=(-120, 127), nonfinite=3)),
    # -- matmul -----------------------------------------------------------
    # BM6 (e2m3 x e2m3, 48x48 blocks): the int8 tensor-core kernel.
    dict(name="mm_e2m3_1024x1536x1024", kind="matmul", role="check",
         fa="e2m3", fb="e2m3", m=1024, k=1536, n=1024,
         block_a=(48, 48), block_b=(48, 48),
         gen=dict(seed=31, bias_range=(-8, 8))),
    # Shapes that are not multiples of the MMA tiles; K blocks 48 and 32.
    dict(name="mm_e2m3_1000x1000x1000", kind="matmul", role="check",
         fa="e2m3", fb="e2m3", m=1000, k=1000, n=1000,
         block_a=(48, 48), block_b=(32, 48),
         gen=dict(seed=32, bias_range=(-8, 8))),
    # e2m1 x e3m0, rhs stored N x K, runs of 16 and 8.
    dict(name="mm_e2m1_e3m0_tb_777x500x333", kind="matmul", role="check",
         fa="e2m1", fb="e3m0", m=777, k=500, n=333, transpose_b=True,
         block_a=(16, 16), block_b=(64, 24),
         gen=dict(seed=33, bias_range=(-4, 6))),
    # transpose_lhs, e2m2.
    dict(name="mm_e2m2_ta_300x256x200", kind="matmul", role="check",
         fa="e2m2", fb="e2m3", m=300, k=256, n=200, transpose_a=True,
         block_a=(64, 100), block_b=(32, 200),
         gen=dict(seed=34, bias_range=(-4, 6))),
    # Batched BM6.
    dict(name="mm_e2m3_batched_4x256x384x128", kind="matmul", role="check",
         fa="e2m3", fb="e2m3", batch=4, m=256, k=384, n=128,
         block_a=(1, 48, 48), block_b=(2, 48, 48),
         gen=dict(seed=35, bias_range=(-8, 8))),
    # Extreme biases: overflow to Inf, subnormal and zero terms, NaN blocks.
    dict(name="mm_e2m3_extreme_256x480x256", kind="matmul", role="check",
         fa="e2m3", fb="e2m3", m=256, k=480, n=256,
         block_a=(48, 48), block_b=(48, 48),
         gen=dict(seed=36, bias_range=(-70, 80), nonfinite=2,
                  zero_init=True)),
    # Wider integer forms: the scalar kernel (e4m3 -> i32, 64-bit sums).
    dict(name="mm_e4m3_512x768x512", kind="matmul", role="check",
         fa="e4m3", fb="e4m3", m=512, k=768, n=512,
         block_a=(48, 48), block_b=(48, 48),
         gen=dict(seed=37, bias_range=(-4, 4))),
    dict(name="mm_e3m2_e2m3_300x400x200", kind="matmul", role="check",
         fa="e3m2", fb="e2m3", m=300, k=400, n=200,
         block_a=(30, 40), block_b=(50, 25),
         gen=dict(seed=38, bias_range=(-6, 6))),
    # -- benchmarks -------------------------------------------------------
    dict(name="bench_q_e2m3_nearest_8192x8192", kind="quantize", role="bench",
         fmt="e2m3", shape=(8192, 8192), block=(48, 48), rounding="nearest",
         gen=dict(seed=91, specials=False)),
    dict(name="bench_q_e2m3_stochastic_8192x8192", kind="quantize",
         role="bench", fmt="e2m3", shape=(8192, 8192), block=(48, 48),
         rounding="stochastic", seed=7, gen=dict(seed=92, specials=False)),
    dict(name="bench_dq_e2m3_8192x8192", kind="dequantize", role="bench",
         fmt="e2m3", shape=(8192, 8192), block=(48, 48),
         gen=dict(seed=93, bias_range=(-8, 8))),
    dict(name="bench_mm_e2m3_8192x8192x8192", kind="matmul", role="bench",
         fa="e2m3", fb="e2m3", m=8192, k=8192, n=8192,
         block_a=(48, 48), block_b=(48, 48),
         gen=dict(seed=94, bias_range=(-8, 8))),
    dict(name="bench_mm_e2m3_2048x2048x2048", kind="matmul", role="bench",
         fa="e2m3", fb="e2m3", m=2048, k=2048, n=2048,
         block_a=(48, 48), block_b=(48, 48),
         gen=dict(seed=95, bias_range=(-8, 8))),
]

# Matmuls that the "scalar" variant (bm-lower-to-nvvm mma=false) also
# compiles, as <name>_scalar: the same expected outputs, the other kernel.
SCALAR_VARIANTS = ["mm_e2m3_1024x1536x1024", "mm_e2m3_1000x1000x1000",
                   "mm_e2m1_e3m0_tb_777x500x333",
                   "bench_mm_e2m3_2048x2048x2048"]
# Matmuls that the "direct" variant (bm-lower-to-nvvm mma-kernel=direct,
# the tensor-core kernel without shared memory) also compiles, as
# <name>_direct.
DIRECT_VARIANTS = ["mm_e2m3_1000x1000x1000", "mm_e2m1_e3m0_tb_777x500x333",
                   "bench_mm_e2m3_2048x2048x2048",
                   "bench_mm_e2m3_8192x8192x8192"]
# variant -> (bm-lower-to-nvvm options, the matmuls it compiles).
KERNEL_VARIANTS = {"scalar": ("mma=false", SCALAR_VARIANTS),
                   "direct": ("mma-kernel=direct", DIRECT_VARIANTS)}


def variant_names(role=None):
    """<name>_<variant> of every kernel variant (of specs with `role`)."""
    return [n + "_" + v for v, (_, names) in KERNEL_VARIANTS.items()
            for n in names if role is None or spec_by_name(n)["role"] == role]


def spec_by_name(name):
    base = name
    for v in KERNEL_VARIANTS:
        if name.endswith("_" + v):
            base = name[:-len(v) - 1]
    for s in SPECS:
        if s["name"] == base:
            return s
    raise KeyError(name)


def matmul_shapes(s):
    """Stored shapes of A, B (codes) and C."""
    b = (s["batch"],) if "batch" in s else ()
    a = b + ((s["k"], s["m"]) if s.get("transpose_a") else (s["m"], s["k"]))
    bb = b + ((s["n"], s["k"]) if s.get("transpose_b") else (s["k"], s["n"]))
    return a, bb, b + (s["m"], s["n"])


def arguments(s):
    """[(name, shape, numpy dtype, io)] of the function, io in in/out/inout;
    the scalar seed is ("seed", None, np.int64, "scalar")."""
    if s["kind"] == "quantize":
        ct = code_dtype(s["fmt"])
        args = [("x", s["shape"], np.float32, "in")]
        if s["rounding"] == "stochastic":
            args.append(("seed", None, np.int64, "scalar"))
        args += [("codes", s["shape"], ct, "out"),
                 ("biases", grid(s["shape"], s["block"]), np.int8, "out")]
        return args
    if s["kind"] == "dequantize":
        ct = code_dtype(s["fmt"])
        return [("codes", s["shape"], ct, "in"),
                ("biases", grid(s["shape"], s["block"]), np.int8, "in"),
                ("y", s["shape"], np.float32, "out")]
    a, b, c = matmul_shapes(s)
    return [("codes_a", a, code_dtype(s["fa"]), "in"),
            ("biases_a", grid(a, s["block_a"]), np.int8, "in"),
            ("codes_b", b, code_dtype(s["fb"]), "in"),
            ("biases_b", grid(b, s["block_b"]), np.int8, "in"),
            ("c", c, np.float32, "inout")]


# ---------------------------------------------------------------------------
# MLIR
# ---------------------------------------------------------------------------


def _t(shape, elt):
    return "x".join([str(d) for d in shape] + [elt])


def _bm(shape, fmt, block):
    return "!bm.tensor<%s, block = [%s]>" % (
        _t(shape, fmt), ", ".join(str(b) for b in block))


def emit_function(s, name):
    lines = []
    if s["kind"] == "quantize":
        shape, fmt, block = s["shape"], s["fmt"], s["block"]
        ci = mlir_int(code_dtype(fmt))
        g = grid(shape, block)
        seed = s["rounding"] == "stochastic"
        params = ["%%x: memref<%s>" % _t(shape, "f32")]
        if seed:
            params.append("%seed: i64")
        params += ["%%codes: memref<%s>" % _t(shape, ci),
                   "%%biases: memref<%s>" % _t(g, "i8")]
        rounding = "stochastic seed %seed" if seed else s["rounding"]
        if s.get("scale", "floor") != "floor":
            rounding += " scale(%s)" % s["scale"]
        lines += [
            "func.func @%s(%s) {" % (name, ", ".join(params)),
            "  %%t = bufferization.to_tensor %%x restrict : memref<%s> to tensor<%s>"
            % (_t(shape, "f32"), _t(shape, "f32")),
            "  %%q = bm.quantize %%t %s : tensor<%s> -> %s"
            % (rounding, _t(shape, "f32"), _bm(shape, fmt, block)),
            "  %%c, %%b = bm.unpack %%q : %s -> tensor<%s>, tensor<%s>"
            % (_bm(shape, fmt, block), _t(shape, ci), _t(g, "i8")),
            "  bufferization.materialize_in_destination %%c in restrict writable "
            "%%codes : (tensor<%s>, memref<%s>) -> ()" % (_t(shape, ci), _t(shape, ci)),
            "  bufferization.materialize_in_destination %%b in restrict writable "
            "%%biases : (tensor<%s>, memref<%s>) -> ()" % (_t(g, "i8"), _t(g, "i8")),
            "  return", "}"]
    elif s["kind"] == "dequantize":
        shape, fmt, block = s["shape"], s["fmt"], s["block"]
        ci = mlir_int(code_dtype(fmt))
        g = grid(shape, block)
        lines += [
            "func.func @%s(%%codes: memref<%s>, %%biases: memref<%s>, "
            "%%y: memref<%s>) {" % (name, _t(shape, ci), _t(g, "i8"),
                                    _t(shape, "f32")),
            "  %%c = bufferization.to_tensor %%codes restrict : memref<%s> to tensor<%s>"
            % (_t(shape, ci), _t(shape, ci)),
            "  %%b = bufferization.to_tensor %%biases restrict : memref<%s> to tensor<%s>"
            % (_t(g, "i8"), _t(g, "i8")),
            "  %%q = bm.pack %%c, %%b : tensor<%s>, tensor<%s> -> %s"
            % (_t(shape, ci), _t(g, "i8"), _bm(shape, fmt, block)),
            "  %%d = bm.dequantize %%q : %s -> tensor<%s>"
            % (_bm(shape, fmt, block), _t(shape, "f32")),
            "  bufferization.materialize_in_destination %%d in restrict writable "
            "%%y : (tensor<%s>, memref<%s>) -> ()" % (_t(shape, "f32"), _t(shape, "f32")),
            "  return", "}"]
    else:
        a, b, c = matmul_shapes(s)
        cia, cib = mlir_int(code_dtype(s["fa"])), mlir_int(code_dtype(s["fb"]))
        ga, gb = grid(a, s["block_a"]), grid(b, s["block_b"])
        ta, tb = _bm(a, s["fa"], s["block_a"]), _bm(b, s["fb"], s["block_b"])
        attrs = [k for k, f in (("transpose_lhs", "transpose_a"),
                                ("transpose_rhs", "transpose_b")) if s.get(f)]
        attr = " {%s}" % ", ".join(attrs) if attrs else ""
        lines += [
            "func.func @%s(%%ca: memref<%s>, %%ba: memref<%s>, %%cb: memref<%s>, "
            "%%bb: memref<%s>, %%c: memref<%s>) {"
            % (name, _t(a, cia), _t(ga, "i8"), _t(b, cib), _t(gb, "i8"),
               _t(c, "f32")),
            "  %%tca = bufferization.to_tensor %%ca restrict : memref<%s> to tensor<%s>"
            % (_t(a, cia), _t(a, cia)),
            "  %%tba = bufferization.to_tensor %%ba restrict : memref<%s> to tensor<%s>"
            % (_t(ga, "i8"), _t(ga, "i8")),
            "  %%tcb = bufferization.to_tensor %%cb restrict : memref<%s> to tensor<%s>"
            % (_t(b, cib), _t(b, cib)),
            "  %%tbb = bufferization.to_tensor %%bb restrict : memref<%s> to tensor<%s>"
            % (_t(gb, "i8"), _t(gb, "i8")),
            "  %%init = bufferization.to_tensor %%c restrict writable : memref<%s> to tensor<%s>"
            % (_t(c, "f32"), _t(c, "f32")),
            "  %%a = bm.pack %%tca, %%tba : tensor<%s>, tensor<%s> -> %s"
            % (_t(a, cia), _t(ga, "i8"), ta),
            "  %%b = bm.pack %%tcb, %%tbb : tensor<%s>, tensor<%s> -> %s"
            % (_t(b, cib), _t(gb, "i8"), tb),
            "  %%y = bm.matmul %%a, %%b, %%init%s : %s, %s, tensor<%s> -> tensor<%s>"
            % (attr, ta, tb, _t(c, "f32"), _t(c, "f32")),
            "  bufferization.materialize_in_destination %%y in restrict writable "
            "%%c : (tensor<%s>, memref<%s>) -> ()" % (_t(c, "f32"), _t(c, "f32")),
            "  return", "}"]
    return "\n".join(lines)


def emit_module(variant):
    out = ["// Generated by test/GPU/device_kernels.py emit --variant %s."
           % variant, "module {"]
    for s in SPECS:
        if variant in KERNEL_VARIANTS:
            if s["name"] in KERNEL_VARIANTS[variant][1]:
                out.append(emit_function(s, s["name"] + "_" + variant))
        elif variant == "cpu":
            if s["role"] == "check":
                out.append(emit_function(s, s["name"]))
        else:
            out.append(emit_function(s, s["name"]))
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Inputs: integer hashes only
# ---------------------------------------------------------------------------

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def hash64(seed, n, stream=0):
    """splitmix64 of (seed, stream, index) for index < n, as uint64."""
    with np.errstate(over="ignore"):
        x = (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64((seed * 0x632BE59BD9B4E019 + stream * 0x8CB92BA72F3D8DD7)
                         & 0xFFFFFFFFFFFFFFFF))
        z = x
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def make_floats(shape, seed, specials, huge=False):
    """float32 values with magnitudes spread over ~2^-20..2^20, varying by
    row band and column band (so blocks get different biases); with
    `specials`, a few zeros, -0.0, subnormals, and one Inf and one NaN
    (whose blocks are non-finite); with `huge`, a few values in float32's
    top binade [2^127, 2^128)."""
    n = int(np.prod(shape))
    h = hash64(seed, n)
    idx = np.arange(n, dtype=np.int64)
    cols = shape[-1]
    row, col = idx // cols, idx % cols
    band = ((row // 37) * 7 + (col // 53) * 3) % 40 - 20         # -20..19
    jitter = (h & np.uint64(7)).astype(np.int64) - 3               # -3..4
    exp = (127 + band + jitter).astype(np.uint64)
    mant = (h >> np.uint64(8)) & np.uint64(0x7FFFFF)
    sign = (h >> np.uint64(63)) & np.uint64(1)
    bits = (sign << np.uint64(31)) | (exp << np.uint64(23)) | mant
    if specials:
        sel = (h >> np.uint64(40)) & np.uint64(0x3FF)
        bits = np.where(sel == 1, np.uint64(0), bits)
        bits = np.where(sel == 2, np.uint64(0x80000000), bits)
        bits = np.where(sel == 3, mant, bits)                       # subnormal
        if huge:
            bits = np.where(sel == 4, (sign << np.uint64(31)) |
                            (np.uint64(254) << np.uint64(23)) | mant, bits)
        if n > 4096:
            bits[n // 3] = np.uint64(0x7F800000)                    # +Inf
            bits[(2 * n) // 3] = np.uint64(0x7FC00001)              # NaN
    return bits.astype(np.uint32).view(np.float32).reshape(shape)


def make_codes(shape, fmt, seed, stream=1):
    """Codes of `fmt`: any value of its code bits (zero-extended)."""
    n = int(np.prod(shape))
    mask = (1 << code_bits(fmt)) - 1
    h = hash64(seed, n, stream)
    v = (h & np.uint64(mask)).astype(np.int64)
    return v.astype(code_dtype(fmt)).reshape(shape)


def make_biases(shape, fmt, seed, bias_range, nonfinite=0, stream=2):
    """Biases in bias_range, clamped to the legal [emax - 127, 127]; the
    first `nonfinite` blocks (in hash order) are -128."""
    lo, hi = bias_range
    lo = max(lo, emax(fmt) - 127)
    hi = min(hi, 127)
    n = int(np.prod(shape))
    h = hash64(seed, n, stream)
    v = (h % np.uint64(hi - lo + 1)).astype(np.int64) + lo
    if nonfinite:
        order = np.argsort(hash64(seed, n, stream + 100))
        v[order[:nonfinite]] = -128
    return v.astype(np.int8).reshape(shape)


def make_inputs(s):
    """{argument name: numpy array (or int for the seed)} of spec `s`;
    outputs get their initial contents (c: init; others: a sentinel)."""
    g = s.get("gen", {})
    seed = g.get("seed", 0)
    out = {}
    for name, shape, dtype, io in arguments(s):
        if io == "scalar":
            out[name] = int(s["seed"])
        elif s["kind"] == "quantize" and name == "x":
            out[name] = make_floats(shape, seed, g.get("specials", False),
                                    g.get("huge", False))
        elif name in ("codes", "codes_a", "codes_b") and io == "in":
            fmt = s.get("fmt") or (s["fa"] if name == "codes_a" else s["fb"])
            out[name] = make_codes(shape, fmt, seed,
                                   {"codes": 1, "codes_a": 1, "codes_b": 3}[name])
        elif name in ("biases", "biases_a", "biases_b") and io == "in":
            fmt = s.get("fmt") or (s["fa"] if name == "biases_a" else s["fb"])
            out[name] = make_biases(
                shape, fmt, seed, g.get("bias_range", (-8, 8)),
                g.get("nonfinite", 0) if name != "biases_b" else 0,
                {"biases": 2, "biases_a": 2, "biases_b": 4}[name])
        elif name == "c":
            # init: small values, some exact zeros.
            n = int(np.prod(shape))
            h = hash64(seed, n, 5)
            mant = ((h >> np.uint64(20)) & np.uint64(0x7FFFFF))
            exp = ((h & np.uint64(3)) + np.uint64(125))
            bits = (((h >> np.uint64(63)) << np.uint64(31))
                    | (exp << np.uint64(23)) | mant)
            bits = np.where((h >> np.uint64(50)) % np.uint64(5) == 0,
                            np.uint64(0), bits)
            out[name] = bits.astype(np.uint32).view(np.float32).reshape(shape)
            if g.get("zero_init"):
                out[name][...] = 0
        else:
            # Outputs: a sentinel, so that unwritten elements show.
            arr = np.empty(shape, dtype=dtype)
            if dtype == np.float32:
                arr.view(np.uint32)[...] = 0x7FBADBAD
            else:
                arr[...] = -1 if dtype != np.int8 else 0x55
            out[name] = arr
    return out


def outputs(s):
    return [name for name, _, _, io in arguments(s) if io in ("out", "inout")]


# ---------------------------------------------------------------------------
# Calling `_mlir_ciface_<name>` through ctypes
# ---------------------------------------------------------------------------

_descriptor_types = {}


def descriptor_type(rank):
    if rank not in _descriptor_types:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _descriptor_types[rank] = type("MemRef%dD" % rank, (ctypes.Structure,),
                                       {"_fields_": fields})
    return _descriptor_types[rank]


def descriptor(ptr, shape):
    """A ranked memref descriptor of a dense row-major buffer at `ptr`."""
    rank = len(shape)
    d = descriptor_type(rank)()
    d.allocated = ptr
    d.aligned = ptr
    d.offset = 0
    stride = 1
    strides = []
    for size in reversed(shape):
        strides.append(stride)
        stride *= size
    for i, size in enumerate(shape):
        d.sizes[i] = size
        d.strides[i] = strides[rank - 1 - i]
    return d


def call(lib, name, s, buffers):
    """Calls _mlir_ciface_<name>; `buffers` maps argument names to objects
    with a data pointer: numpy arrays (.ctypes.data) or torch tensors
    (.data_ptr()), or ints for the seed."""
    fn = getattr(lib, "_mlir_ciface_" + name)
    args, keep = [], []
    for arg, shape, dtype, io in arguments(s):
        v = buffers[arg]
        if io == "scalar":
            args.append(ctypes.c_int64(v))
            continue
        ptr = v.data_ptr() if hasattr(v, "data_ptr") else v.ctypes.data
        d = descriptor(ptr, shape)
        keep.append(d)
        args.append(ctypes.byref(d))
    fn.restype = None
    fn(*args)


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def cmd_emit(a):
    text = emit_module(a.variant)
    if a.output == "-":
        sys.stdout.write(text)
    else:
        with open(a.output, "w") as f:
            f.write(text)


def cmd_expected(a):
    lib = ctypes.CDLL(os.path.abspath(a.lib))
    os.makedirs(a.output, exist_ok=True)
    for s in SPECS:
        if s["role"] != "check" or (a.only and s["name"] not in a.only):
            continue
        bufs = make_inputs(s)
        call(lib, s["name"], s, bufs)
        np.savez_compressed(os.path.join(a.output, s["name"] + ".npz"),
                            **{k: bufs[k] for k in outputs(s)})
        print("expected %s: %s" % (s["name"], ", ".join(
            "%s %s" % (k, "x".join(map(str, bufs[k].shape))) for k in outputs(s))))


def cmd_verify(a):
    """Checks expected outputs against the numpy reference of the numerics
    (python/bm/numerics.py, an implementation independent of the compiled
    code). Returns nonzero on any mismatch."""
    sys.path.insert(0, a.python)
    from bm import numerics as bn
    failed = 0
    for s in SPECS:
        if s["role"] != "check" or (a.only and s["name"] not in a.only):
            continue
        inp = make_inputs(s)
        exp = np.load(os.path.join(a.expected, s["name"] + ".npz"))
        if s["kind"] == "quantize":
            q = bn.quantize(inp["x"], s["fmt"], s["block"], s["rounding"],
                            s.get("seed", 0), s.get("scale", "floor"))
            mask = (1 << code_bits(s["fmt"])) - 1
            ok = (np.array_equal(q.codes.astype(np.int64),
                                 exp["codes"].astype(np.int64) & mask)
                  and np.array_equal(q.beta, exp["biases"]))
        elif s["kind"] == "dequantize":
            mask = (1 << code_bits(s["fmt"])) - 1
            q = bn.Quantized(s["fmt"], s["block"], inp["biases"],
                             inp["codes"].astype(np.int64) & mask)
            ok = np.array_equal(bn.dequantize(q).view(np.uint32),
                                exp["y"].view(np.uint32))
        else:
            def operand(fmt, codes, biases, block, transposed):
                c = codes.astype(np.int64) & ((1 << code_bits(fmt)) - 1)
                if transposed:
                    axes = tuple(range(c.ndim - 2)) + (c.ndim - 1, c.ndim - 2)
                    c, biases = c.transpose(axes), biases.transpose(axes)
                    block = tuple(block[:-2]) + (block[-1], block[-2])
                return bn.Quantized(fmt, block, np.ascontiguousarray(biases),
                                    np.ascontiguousarray(c))
            qa = operand(s["fa"], inp["codes_a"], inp["biases_a"],
                         s["block_a"], s.get("transpose_a"))
            qb = operand(s["fb"], inp["codes_b"], inp["biases_b"],
                         s["block_b"], s.get("transpose_b"))
            y = bn.matmul(qa, qb, inp["c"].copy())
            ok = np.array_equal(y.view(np.uint32), exp["c"].view(np.uint32))
        print("%s %s (numpy reference)" % ("PASS" if ok else "FAIL", s["name"]))
        failed += not ok
    print("verify: %d failed" % failed)
    return 1 if failed else 0


def cmd_list(a):
    for s in SPECS:
        print(s["role"], s["name"])
    for n in variant_names():
        print("variant", n)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("emit")
    p.add_argument("--variant", choices=["gpu", "cpu"] + list(KERNEL_VARIANTS),
                   default="gpu")
    p.add_argument("-o", "--output", default="-")
    p.set_defaults(func=cmd_emit)
    p = sub.add_parser("expected")
    p.add_argument("--lib", required=True)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--only", nargs="*")
    p.set_defaults(func=cmd_expected)
    p = sub.add_parser("verify")
    p.add_argument("--expected", required=True)
    p.add_argument("--python", required=True,
                   help="directory holding the bm package (python/)")
    p.add_argument("--only", nargs="*")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("list")
    p.set_defaults(func=cmd_list)
    a = ap.parse_args()
    return a.func(a) or 0


if __name__ == "__main__":
    sys.exit(main())
