#!/usr/bin/python3
"""Execution tests of the compiled BM code against golden vectors.

Turns golden vectors (quantize.json / quantize_fit.json / matmul.json, see
shared/spec/vectors/README.md) or random cross-checks (expected values from
the numpy reference python/bm/numerics.py) into

  (a) one MLIR module whose `func.func @main()` quantizes, unpacks,
      dequantizes and multiplies with bm ops and prints every result as i32
      bits with `printMemrefI32`, each result preceded by a marker memref
      [MAGIC, case, field]; and
  (b) an expected-output file (JSON) holding the exact bits of every result.

`compare` parses the runner's stdout, aligns it on the markers and checks
every element bit for bit (NaN payloads included; `--nan-any` relaxes
that).

Subcommands:

  quantize VECTORS_DIR -o OUT.mlir -e OUT.expected [--cases 0,3,5-9]
           [--max-cases N --chunk K] [--no-bm]
  quantize-fit VECTORS_DIR ...  (quantize_fit.json; same options)
  matmul   VECTORS_DIR -o OUT.mlir -e OUT.expected [same options]
  random   -o OUT.mlir -e OUT.expected [--cases ...] [--seed S] [--no-bm]
  compare  EXPECTED RUNNER_OUTPUT [--nan-any] [--max-report N] [-q]
  run      {quantize,quantize-fit,matmul,random} [VECTORS_DIR] [--max-cases N] ...
           generate, compile and run every chunk, then compare (for vector
           sets too large for one module)

`--no-bm` is the harness self-check: every bm op is replaced by a constant
holding its expected result, so the module needs only upstream lowering
(see UPSTREAM_PIPELINE) and must pass `compare`.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

# Marker memref: [MAGIC, case id, field id]; MAGIC = "BMTC" as an i32.
MAGIC = 0x424D5443

# The vector file of each kind that reads one.
VECTOR_FILES = {"quantize": "quantize.json", "quantize-fit": "quantize_fit.json",
                "matmul": "matmul.json"}
KINDS = ("quantize", "quantize-fit", "matmul", "random")

# Shared-exponent rules (numerics.md section 2); a case without a "scale"
# key is floor, which bm.quantize leaves unwritten.
SCALES = ("floor", "fit")

# Upstream-only lowering, for the --no-bm harness self-check.
UPSTREAM_PIPELINE = [
    "--one-shot-bufferize=bufferize-function-boundaries",
    "--convert-linalg-to-loops", "--convert-scf-to-cf",
    "--expand-strided-metadata", "--lower-affine",
    "--finalize-memref-to-llvm", "--convert-arith-to-llvm",
    "--convert-func-to-llvm", "--convert-cf-to-llvm",
    "--reconcile-unrealized-casts",
]


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def u32(v):
    return int(v) & 0xFFFFFFFF


def s32(v):
    v = int(v) & 0xFFFFFFFF
    return v - (1 << 32) if v >= (1 << 31) else v


def s64(v):
    v = int(v) & 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= (1 << 63) else v


def hexbits(h):
    return int(h, 16)


def prod(xs):
    p = 1
    for x in xs:
        p *= int(x)
    return p


def normalize_block(shape, block):
    """0, -1 or a size larger than the dimension -> the dimension."""
    out = []
    for d, b in zip(shape, block):
        b = int(b)
        out.append(int(d) if b in (0, -1) or b > int(d) else b)
    return out


def grid_shape(shape, tiles):
    return [-(-int(d) // int(t)) for d, t in zip(shape, tiles)]


def code_type(e, m):
    bits = 1 + e + m
    return "i8" if bits <= 8 else "i16" if bits <= 16 else "i32"


def tensor_type(shape, elt):
    return "tensor<%s>" % "x".join([str(d) for d in shape] + [elt])


def memref_type(shape, elt):
    return "memref<%s>" % "x".join([str(d) for d in shape] + [elt])


def bm_type(shape, fmt, tiles):
    return "!bm.tensor<%sxe%dm%d, block = [%s]>" % (
        "x".join(str(d) for d in shape), fmt[0], fmt[1],
        ", ".join(str(t) for t in tiles))


def dense_literal(values, shape):
    """Nested decimal literal of a row-major list of ints."""
    values = [int(v) for v in values]
    assert len(values) == prod(shape), (len(values), shape)
    if not shape:
        return str(values[0])

    def rec(off, dims):
        if len(dims) == 1:
            return "[" + ", ".join(str(v) for v in values[off:off + dims[0]]) + "]"
        step = prod(dims[1:])
        return "[" + ", ".join(rec(off + i * step, dims[1:])
                               for i in range(dims[0])) + "]"
    return rec(0, list(shape))


def parse_cases(spec, n):
    """'0,3,5-9' -> sorted indices < n (None: all)."""
    if spec is None:
        return list(range(n))
    out = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            lo = int(lo) if lo else 0
            hi = int(hi) if hi else n - 1
            out.update(range(lo, hi + 1))
        else:
            out.add(int(part))
    bad = [i for i in out if not 0 <= i < n]
    if bad:
        raise SystemExit("--cases: indices %s out of range (there are %d cases)"
                         % (sorted(bad), n))
    return sorted(out)


def chunk(indices, max_cases, k):
    if not max_cases:
        if k not in (None, 0):
            raise SystemExit("--chunk needs --max-cases")
        return indices
    k = k or 0
    nchunks = max(1, -(-len(indices) // max_cases))
    if not 0 <= k < nchunks:
        raise SystemExit("--chunk %d out of range: %d cases in chunks of %d "
                         "give %d chunk(s)" % (k, len(indices), max_cases, nchunks))
    return indices[k * max_cases:(k + 1) * max_cases]


# ---------------------------------------------------------------------------
# The module emitter
# ---------------------------------------------------------------------------

class Module:
    """Builds the body of func.func @main and the expected-results list."""

    def __init__(self, no_bm=False):
        self.lines = []
        self.n = 0
        self.no_bm = no_bm
        self.expected = []      # list of case dicts

    def fresh(self, hint="v"):
        self.n += 1
        return "%%%s%d" % (hint, self.n)

    def emit(self, line):
        self.lines.append("    " + line)

    def comment(self, text):
        for t in text.splitlines():
            self.lines.append("    // " + t)

    # -- values ------------------------------------------------------------

    def const_int(self, values, shape, elt="i32", hint="c"):
        """Integer tensor constant; values are taken modulo 2^bits and
        written signed."""
        bits = int(elt[1:])
        mask = (1 << bits) - 1
        half = 1 << (bits - 1)
        vals = [(int(v) & mask) - ((int(v) & mask) >= half) * (1 << bits)
                for v in values]
        name = self.fresh(hint)
        self.emit("%s = arith.constant dense<%s> : %s"
                  % (name, dense_literal(vals, shape), tensor_type(shape, elt)))
        return name

    def map_elementwise(self, src, shape, src_elt, dst_elt, op, hint="m"):
        """linalg.generic applying one arith cast op elementwise."""
        rank = len(shape)
        dims = ", ".join("d%d" % i for i in range(rank))
        amap = "affine_map<(%s) -> (%s)>" % (dims, dims)
        iters = ", ".join(['"parallel"'] * rank)
        empty = self.fresh("e")
        out = self.fresh(hint)
        dst_t = tensor_type(shape, dst_elt)
        self.emit("%s = tensor.empty() : %s" % (empty, dst_t))
        self.emit("%s = linalg.generic {indexing_maps = [%s, %s], "
                  "iterator_types = [%s]} ins(%s : %s) outs(%s : %s) {"
                  % (out, amap, amap, iters, src, tensor_type(shape, src_elt),
                     empty, dst_t))
        self.emit("^bb0(%%in: %s, %%out: %s):" % (src_elt, dst_elt))
        self.emit("  %%r = %s %%in : %s to %s" % (op, src_elt, dst_elt))
        self.emit("  linalg.yield %r : " + dst_elt)
        self.emit("} -> " + dst_t)
        return out

    def f32_from_bits(self, bits, shape, hint="x"):
        """f32 tensor with exactly the given bit patterns (an i32 constant
        bitcast elementwise: no decimal float round trip)."""
        c = self.const_int(bits, shape, "i32", hint="bits")
        return self.map_elementwise(c, shape, "i32", "f32", "arith.bitcast", hint)

    def quantize(self, x, shape, fmt, tiles, rounding, seed, scale="floor",
                 hint="q"):
        in_t = tensor_type(shape, "f32")
        out_t = bm_type(shape, fmt, tiles)
        q = self.fresh(hint)
        rule = "" if scale == "floor" else " scale(%s)" % scale
        if rounding == "stochastic":
            s = self.fresh("seed")
            self.emit("%s = arith.constant %d : i64" % (s, s64(seed)))
            self.emit("%s = bm.quantize %s stochastic seed %s%s : %s -> %s"
                      % (q, x, s, rule, in_t, out_t))
        else:
            self.emit("%s = bm.quantize %s %s%s : %s -> %s"
                      % (q, x, rounding, rule, in_t, out_t))
        return q

    # -- printing ----------------------------------------------------------

    def print_i32(self, t, shape):
        m = self.fresh("buf")
        u = self.fresh("u")
        self.emit("%s = bufferization.to_buffer %s : %s to %s"
                  % (m, t, tensor_type(shape, "i32"), memref_type(shape, "i32")))
        self.emit("%s = memref.cast %s : %s to memref<*xi32>"
                  % (u, m, memref_type(shape, "i32")))
        self.emit("func.call @printMemrefI32(%s) : (memref<*xi32>) -> ()" % u)

    def marker(self, case_id, field_id):
        c = self.const_int([MAGIC, case_id, field_id], [3], "i32", hint="mark")
        self.print_i32(c, [3])

    def print_codes(self, codes, shape, elt):
        if elt == "i32":
            return codes
        return self.map_elementwise(codes, shape, elt, "i32", "arith.extui", "code32")

    def print_field(self, case, field_id, name, kind, tensor_i32, shape, expected):
        """Marker, then the i32 tensor; records the expected values."""
        self.marker(case["id"], field_id)
        self.print_i32(tensor_i32, shape)
        case["fields"].append({"id": field_id, "name": name, "kind": kind,
                               "shape": list(shape),
                               "expected": [u32(v) for v in expected]})

    # -- one quantized operand ---------------------------------------------

    def quantized_operand(self, case, prefix, base_field, op):
        """op: dict with format, tiles (normalized), rounding, seed, shape,
        input (u32 bits) and expected code/beta/output (u32), or None for
        the expected ones when they are not to be printed. Emits the
        quantize and the printing of codes, biases and dequantized bits.
        Returns the SSA name of the BM tensor (or, with --no-bm, None)."""
        fmt, tiles, shape = op["format"], op["tiles"], op["shape"]
        grid = grid_shape(shape, tiles)
        celt = code_type(*fmt)
        label = (prefix + ".") if prefix else ""
        self.comment("%s%s %s block %s %s%s%s" % (
            label or "operand ", "x".join(map(str, shape)),
            "e%dm%d" % tuple(fmt), tiles, op["rounding"],
            (" seed %d" % op["seed"]) if op["rounding"] == "stochastic" else "",
            (" scale %s" % op["scale"]) if op["scale"] != "floor" else ""))
        if self.no_bm:
            codes = self.const_int(op["code"], shape, celt, hint="codes")
            biases = self.const_int(op["beta"], grid, "i8", hint="biases")
            deq = None
            if op.get("output") is not None:
                deq = self.f32_from_bits(op["output"], shape, hint="deq")
            q = None
        else:
            x = self.f32_from_bits(op["input"], shape, hint="x")
            q = self.quantize(x, shape, fmt, tiles, op["rounding"], op["seed"],
                              op["scale"])
            bt = bm_type(shape, fmt, tiles)
            codes, biases = self.fresh("codes"), self.fresh("biases")
            self.emit("%s, %s = bm.unpack %s : %s -> %s, %s"
                      % (codes, biases, q, bt, tensor_type(shape, celt),
                         tensor_type(grid, "i8")))
            deq = None
            if op.get("output") is not None:
                deq = self.fresh("deq")
                self.emit("%s = bm.dequantize %s : %s -> %s"
                          % (deq, q, bt, tensor_type(shape, "f32")))
        c32 = self.print_codes(codes, shape, celt)
        self.print_field(case, base_field + 1, label + "code", "int", c32, shape,
                         op["code"])
        b32 = self.map_elementwise(biases, grid, "i8", "i32", "arith.extsi", "beta32")
        self.print_field(case, base_field + 2, label + "beta", "int", b32, grid,
                         op["beta"])
        if op.get("output") is not None:
            d32 = self.map_elementwise(deq, shape, "f32", "i32", "arith.bitcast",
                                       "deq32")
            self.print_field(case, base_field + 3, label + "output", "f32", d32,
                             shape, op["output"])
        return q

    def contraction_output(self, case, field_id, out_shape, expected, build):
        """build(): emits the contraction and returns its f32 result name.
        With --no-bm the result is a constant of the expected bits."""
        if self.no_bm:
            y = self.f32_from_bits(expected, out_shape, hint="y")
        else:
            y = build()
        y32 = self.map_elementwise(y, out_shape, "f32", "i32", "arith.bitcast", "y32")
        self.print_field(case, field_id, "output", "f32", y32, out_shape, expected)

    def new_case(self, case_id, label):
        case = {"id": case_id, "label": label, "fields": []}
        self.expected.append(case)
        self.lines.append("")
        self.comment("---- case %d: %s" % (case_id, label))
        return case

    # -- output --------------------------------------------------------------

    def text(self, header):
        out = ["// " + h for h in header.splitlines()]
        out.append("module {")
        out.append("  func.func private @printMemrefI32(memref<*xi32>) "
                   "attributes {llvm.emit_c_interface}")
        out.append("  func.func @main() {")
        out.extend(self.lines)
        out.append("    return")
        out.append("  }")
        out.append("}")
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# Golden vectors
# ---------------------------------------------------------------------------

def load_json(vectors_dir, name):
    path = os.path.join(vectors_dir, name)
    with open(path) as f:
        return path, json.load(f)


def vector_operand(c):
    shape = [int(d) for d in c["shape"]]
    fmt = [int(c["format"][0]), int(c["format"][1])]
    scale = c.get("scale", "floor")
    if scale not in SCALES:
        raise SystemExit("unknown \"scale\" %r in a vector case; expected one "
                         "of %s" % (scale, ", ".join(SCALES)))
    return {
        "format": fmt,
        "tiles": normalize_block(shape, c["block"]),
        "rounding": c["rounding"],
        "scale": scale,
        "seed": int(c.get("seed", 0)),
        "shape": shape,
        "input": [hexbits(h) for h in c["input"]],
        "code": [int(v) for v in c["code"]],
        "beta": [int(v) for v in c["beta"]],
        "output": [hexbits(h) for h in c["output"]],
    }


def operand_label(op):
    return "%s e%dm%d block %s %s%s" % (
        "x".join(map(str, op["shape"])), op["format"][0], op["format"][1],
        op["tiles"], op["rounding"],
        "" if op["scale"] == "floor" else " scale " + op["scale"])


def gen_quantize(mod, cases, indices):
    for i in indices:
        op = vector_operand(cases[i])
        note = cases[i].get("note", "")
        case = mod.new_case(i, "quantize %s%s" % (operand_label(op),
                                                  (" (%s)" % note) if note else ""))
        mod.quantized_operand(case, "", 0, op)


def matmul_ir(mod, qa, qb, init, a_shape, b_shape, fa, fb, ta, tb, out_shape,
              attrs=""):
    y = mod.fresh("y")
    mod.emit("%s = bm.matmul %s, %s, %s%s : %s, %s, %s -> %s"
             % (y, qa, qb, init, (" {%s}" % attrs) if attrs else "",
                bm_type(a_shape, fa, ta), bm_type(b_shape, fb, tb),
                tensor_type(out_shape, "f32"), tensor_type(out_shape, "f32")))
    return y


def gen_matmul(mod, cases, indices):
    for i in indices:
        c = cases[i]
        a, b = vector_operand(c["a"]), vector_operand(c["b"])
        M, K = a["shape"]
        K2, N = b["shape"]
        assert K == K2, "case %d: A %s, B %s" % (i, a["shape"], b["shape"])
        case = mod.new_case(i, "matmul A %s x B %s" % (operand_label(a),
                                                        operand_label(b)))
        qa = mod.quantized_operand(case, "a", 10, a)
        qb = mod.quantized_operand(case, "b", 20, b)
        out = [hexbits(h) for h in c["output"]]
        init_bits = [hexbits(h) for h in c["init"]]

        def build():
            init = mod.f32_from_bits(init_bits, [M, N], hint="init")
            return matmul_ir(mod, qa, qb, init, a["shape"], b["shape"],
                             a["format"], b["format"], a["tiles"], b["tiles"],
                             [M, N])
        mod.contraction_output(case, 0, [M, N], out, build)


# ---------------------------------------------------------------------------
# Random cross-checks against the numpy reference
# ---------------------------------------------------------------------------

def import_reference():
    sys.path.insert(0, os.path.join(REPO, "python"))
    try:
        import numpy as np  # noqa: F401
        from bm import numerics as bmn
    except ImportError as e:
        raise SystemExit("random: cannot import the numpy reference "
                         "(%s/python/bm/numerics.py): %s" % (REPO, e))
    return bmn


def random_tensor(rng, shape, np):
    """float32 values spread over magnitudes (so blocks get different
    shared exponents and some elements underflow to 0 in their block),
    with a few exact zeros and negative zeros."""
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-6, 4, size=shape))
    x = x.astype(np.float32)
    flat = x.reshape(-1)
    n = flat.size
    z = rng.choice(n, size=max(1, n // 64), replace=False)
    flat[z[0::2]] = np.float32(0.0)
    flat[z[1::2]] = np.float32(-0.0)
    return x


def extreme_tensor(rng, x, np, mode, tiles):
    """x with each block row ("rows", for A) or block column ("cols", for
    B) scaled by 2^e, e drawn from +-[60, 95], so that the run scales sA + sB of a
    contraction fall below -126 (subnormal and zero terms) and above 127
    (infinite terms) as well as in between; "rows+nan" also puts one Inf
    and one NaN element in (non-finite blocks). Exercises the exact
    conversion of the CPU vector kernel. "full" instead makes every element
    +-1.875 with a random sign, so that every integer form is +-qmax (the
    largest sums the kernel's narrow steps must hold). "subnormal" moves
    each block's maximum into the binade 2^t, t mostly -127 (float32's
    subnormals [2^-127, 2^-126), where the emax = 0 formats' fit rule can
    raise a scale below 2^-126: elsewhere beta clamps at 127), else -126,
    -129 or -135, and puts every other block's maximum in the top band
    (1.75..2) * 2^t; "subnormal+nan" adds one Inf and one NaN."""
    if mode.startswith("subnormal"):
        x = x.astype(np.float64)
        rows, cols = x.shape[-2], x.shape[-1]
        tr, tc = tiles[-2], tiles[-1]
        k = 0
        for r0 in range(0, rows, tr):
            for c0 in range(0, cols, tc):
                blk = x[..., r0:r0 + tr, c0:c0 + tc]
                t = [-127, -127, -127, -126, -129, -135][rng.integers(0, 6)]
                m = np.abs(blk).max()
                if m > 0:
                    blk *= np.exp2(t - np.floor(np.log2(m)))
                    if k % 2:
                        i = np.unravel_index(np.abs(blk).argmax(), blk.shape)
                        blk[i] = np.sign(blk[i]) * (1.75 + 0.25 * rng.random()) * 2.0 ** t
                k += 1
        x = x.astype(np.float32)
        if mode.endswith("+nan"):
            flat = x.reshape(-1)
            flat[rng.integers(0, flat.size)] = np.float32(np.inf)
            flat[rng.integers(0, flat.size)] = np.float32(np.nan)
        return x
    if mode == "full":
        return (np.float32(1.875) *
                rng.choice([-1, 1], size=x.shape)).astype(np.float32)
    axis = -1 if mode == "cols" else -2
    n, t = x.shape[axis], tiles[axis]
    groups = -(-n // t)
    e = rng.integers(60, 96, size=groups) * rng.choice([-1, 1], size=groups)
    e = np.repeat(e, t)[:n]
    scale = np.exp2(e)[None, :] if axis == -1 else np.exp2(e)[:, None]
    x = (x.astype(np.float64) * scale).astype(np.float32)
    if mode.endswith("+nan"):
        flat = x.reshape(-1)
        flat[rng.integers(0, flat.size)] = np.float32(np.inf)
        flat[rng.integers(0, flat.size)] = np.float32(np.nan)
    return x


# Each random case: operands (name, shape, format, block, rounding, seed
# [, extreme_tensor mode]),
# and the contraction. Seeds above 2^63 check the i64 wrap of the seed.
RANDOM_CASES = [
    {"name": "bm6 matmul 128x384 x 384x256 (e2m3 x e2m3, 48x48, stochastic A)",
     "op": "matmul", "attrs": "",
     "a": ([128, 384], (2, 3), [48, 48], "stochastic", 0xC0FFEE0123456789),
     "b": ([384, 256], (2, 3), [48, 48], "nearest", 0)},
    {"name": "batched matmul 4x32x64 x 4x64x16 (e3m2 x e2m3, [1,16,32] / [1,24,16])",
     "op": "matmul", "attrs": "",
     "a": ([4, 32, 64], (3, 2), [1, 16, 32], "stochastic", 20210503),
     "b": ([4, 64, 16], (2, 3), [1, 24, 16], "nearest", 0)},
    {"name": "batched matmul 3x8x40 x 3x40x12 (e2m5 x e4m3, whole-dim and [3,40,5] blocks)",
     "op": "matmul", "attrs": "",
     "a": ([3, 8, 40], (2, 5), [1, 0, 0], "zero", 0),
     "b": ([3, 40, 12], (4, 3), [3, 16, 5], "stochastic", 0xFFFFFFFFFFFFFFFF)},
    {"name": "transpose_lhs matmul: lhs stored 40x24 (KxM), rhs 40x20",
     "op": "matmul", "attrs": "transpose_lhs",
     "a": ([40, 24], (2, 5), [16, 8], "nearest", 0),
     "b": ([40, 20], (2, 3), [12, 20], "stochastic", 77)},
    {"name": "transpose_rhs matmul: lhs 24x40, rhs stored 20x40 (NxK)",
     "op": "matmul", "attrs": "transpose_rhs",
     "a": ([24, 40], (3, 2), [8, 16], "stochastic", 0x8000000000000000),
     "b": ([20, 40], (2, 3), [8, 12], "nearest", 0)},
    {"name": "transpose_lhs+rhs matmul: lhs stored 40x24, rhs stored 20x40",
     "op": "matmul", "attrs": "transpose_lhs, transpose_rhs",
     "a": ([40, 24], (2, 3), [48, 48], "stochastic", 5),
     "b": ([20, 40], (2, 3), [7, 9], "zero", 0)},
    # The vector packings of operands stored transposed (Packing.cpp): A
    # [K, M] a word column at a time (16 rows per chunk: M = 21 and 37 end
    # in partial chunks), B [N, K] column by column (N = 19 and 37 end in
    # partial panels), batched, with runs aligned to the byte steps' four k
    # and not (runs of 8, 2, 6, 4, ...).
    {"name": "batched transpose_lhs+rhs matmul: lhs stored 3x40x21, rhs stored 3x19x40, runs of 2 to 8 (e2m3 x e3m2)",
     "op": "matmul", "attrs": "transpose_lhs, transpose_rhs",
     "a": ([3, 40, 21], (2, 3), [1, 8, 7], "stochastic", 11),
     "b": ([3, 19, 40], (3, 2), [1, 5, 10], "nearest", 0)},
    {"name": "batched transpose_rhs matmul: lhs 2x20x96, rhs stored 2x37x96, 48-wide runs (e2m3 x e2m3)",
     "op": "matmul", "attrs": "transpose_rhs",
     "a": ([2, 20, 96], (2, 3), [1, 4, 48], "stochastic", 12),
     "b": ([2, 37, 96], (2, 3), [1, 37, 48], "nearest", 0)},
    {"name": "batched transpose_lhs matmul: lhs stored 2x96x37, rhs 2x96x20, 48-wide runs (e2m3 x e2m3)",
     "op": "matmul", "attrs": "transpose_lhs",
     "a": ([2, 96, 37], (2, 3), [1, 48, 37], "nearest", 0),
     "b": ([2, 96, 20], (2, 3), [1, 48, 20], "stochastic", 13)},
    {"name": "matmul 30x100 x 100x40, scales 2^-190..2^190, Inf/NaN blocks, init +-0 (e2m3 x e2m3, [6,16] / [16,8])",
     "op": "matmul", "attrs": "", "init": "signed-zeros",
     "a": ([30, 100], (2, 3), [6, 16], "stochastic", 3, "rows+nan"),
     "b": ([100, 40], (2, 3), [16, 8], "nearest", 0, "cols")},
    {"name": "matmul 24x64 x 64x20, extreme scales varying inside each tile (rows of 2, columns of 4), init +-0 (e2m3 x e2m3, [2,32] / [32,4])",
     "op": "matmul", "attrs": "", "init": "signed-zeros",
     "a": ([24, 64], (2, 3), [2, 32], "nearest", 0, "rows+nan"),
     "b": ([64, 20], (2, 3), [32, 4], "stochastic", 41, "cols")},
    {"name": "matmul 20x50 x 50x24, extreme scales, init +-0 (e3m2 x e2m5, [4,10] / [25,8])",
     "op": "matmul", "attrs": "", "init": "signed-zeros",
     "a": ([20, 50], (3, 2), [4, 10], "nearest", 0, "rows"),
     "b": ([50, 24], (2, 5), [25, 8], "stochastic", 9, "cols")},
    {"name": "matmul 36x96 x 96x40, every form +-qmax (e2m3 x e2m3: the u8 step's largest i16 sums)",
     "op": "matmul", "attrs": "",
     "a": ([36, 96], (2, 3), [12, 48], "nearest", 0, "full"),
     "b": ([96, 40], (2, 3), [48, 8], "nearest", 0, "full")},
    {"name": "batched matmul 2x10x45 x 2x45x20, runs of 15 (e2m2 x e2m3, [1,5,15] / [1,45,4])",
     "op": "matmul", "attrs": "",
     "a": ([2, 10, 45], (2, 2), [1, 5, 15], "stochastic", 31),
     "b": ([2, 45, 20], (2, 3), [1, 45, 4], "nearest", 0)},
    {"name": "matmul 8x1000 x 1000x16, one run of 1000 terms (e4m3 x e2m5: generic form, run sums in chunks)",
     "op": "matmul", "attrs": "",
     "a": ([8, 1000], (4, 3), [8, 0], "stochastic", 21),
     "b": ([1000, 16], (2, 5), [0, 16], "nearest", 0)},
    # Blocks spanning H, W and KH, KW: lowered as an im2col bm.matmul.
    {"name": "conv2d 4x20x9x9 * 6x20x3x3, padding 1, whole-H/W blocks [1,8,0,0] / [4,8,0,0] (im2col, e2m3)",
     "op": "conv2d", "attrs": "padding = array<i64: 1, 1>",
     "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1),
     "a": ([4, 20, 9, 9], (2, 3), [1, 8, 0, 0], "stochastic", 11),
     "b": ([6, 20, 3, 3], (2, 3), [4, 8, 0, 0], "nearest", 0)},
    {"name": "conv2d 2x1x12x12 * 8x1x3x3, stride 2, padding 1, one channel (im2col, odd runs of 9)",
     "op": "conv2d", "attrs": "strides = array<i64: 2, 2>, padding = array<i64: 1, 1>",
     "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1),
     "a": ([2, 1, 12, 12], (2, 3), [1, 48, 0, 0], "nearest", 0),
     "b": ([8, 1, 3, 3], (2, 3), [48, 48, 0, 0], "stochastic", 12)},
    # Taps that read padding for every output are left out of K (a 3x3
    # kernel on a 1x1 image keeps its centre; stride 2 on 2x2 keeps 2x2).
    {"name": "conv2d 3x20x1x1 * 6x20x3x3, padding 1, 1x1 image (im2col of the centre tap only)",
     "op": "conv2d", "attrs": "padding = array<i64: 1, 1>",
     "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1),
     "a": ([3, 20, 1, 1], (2, 3), [1, 8, 0, 0], "stochastic", 31),
     "b": ([6, 20, 3, 3], (2, 3), [4, 8, 0, 0], "nearest", 0)},
    {"name": "conv2d 2x12x2x2 * 5x12x3x3, stride 2, padding 1 (im2col of taps 1..2, e2m3 x e3m2)",
     "op": "conv2d", "attrs": "strides = array<i64: 2, 2>, padding = array<i64: 1, 1>",
     "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1),
     "a": ([2, 12, 2, 2], (2, 3), [1, 8, 0, 0], "nearest", 0),
     "b": ([5, 12, 3, 3], (3, 2), [2, 8, 0, 0], "stochastic", 32)},
    {"name": "conv2d 3x4x8x8 * 5x4x6x6, weight-gradient shape (im2col, e2m3 x e3m2, stochastic)",
     "op": "conv2d", "attrs": "",
     "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1),
     "a": ([3, 4, 8, 8], (2, 3), [1, 48, 0, 0], "stochastic", 13),
     "b": ([5, 4, 6, 6], (3, 2), [48, 48, 0, 0], "stochastic", 14)},
    {"name": "conv2d 2x8x7x7 * 4x8x3x3, padding 1, e2m5 x e4m3 (im2col onto the generic matmul: 18-bit forms)",
     "op": "conv2d", "attrs": "padding = array<i64: 1, 1>",
     "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1),
     "a": ([2, 8, 7, 7], (2, 5), [1, 48, 0, 0], "stochastic", 15),
     "b": ([4, 8, 3, 3], (4, 3), [48, 48, 0, 0], "nearest", 0)},
    {"name": "conv2d 2x6x5x5 * 3x6x3x3, padding 3, init +-0: windows of padding only keep -0 (scan, not im2col)",
     "op": "conv2d", "attrs": "padding = array<i64: 3, 3>", "init": "signed-zeros",
     "stride": (1, 1), "padding": (3, 3), "dilation": (1, 1),
     "a": ([2, 6, 5, 5], (2, 3), [1, 4, 0, 0], "nearest", 0),
     "b": ([3, 6, 3, 3], (2, 3), [3, 4, 0, 0], "nearest", 0)},
    {"name": "conv2d 2x3x9x9 * 4x3x3x3, stride 2, padding 1 (e2m3, [1,3,4,4] / [2,2,3,3])",
     "op": "conv2d", "attrs": "strides = array<i64: 2, 2>, padding = array<i64: 1, 1>",
     "stride": (2, 2), "padding": (1, 1), "dilation": (1, 1),
     "a": ([2, 3, 9, 9], (2, 3), [1, 3, 4, 4], "stochastic", 0xDEADBEEFCAFEF00D),
     "b": ([4, 3, 3, 3], (2, 3), [2, 2, 3, 3], "nearest", 0)},
    {"name": "conv2d 1x4x10x11 * 3x4x3x2, stride 1x2, padding 2x1, dilation 2x1 (e3m2 x e2m5)",
     "op": "conv2d",
     "attrs": "strides = array<i64: 1, 2>, padding = array<i64: 2, 1>, "
              "dilations = array<i64: 2, 1>",
     "stride": (1, 2), "padding": (2, 1), "dilation": (2, 1),
     "a": ([1, 4, 10, 11], (3, 2), [1, 2, 3, 5], "nearest", 0),
     "b": ([3, 4, 3, 2], (2, 5), [3, 3, 2, 2], "stochastic", 1)},
    # The fit scale rule (numerics.md section 2) on both operands: BM4's
    # e2m1 and e3m0 raise most blocks (their top bands are a quarter and
    # almost all of a binade), through the vectorized quantize and the
    # matmul kernel.
    {"name": "bm4 matmul 96x144 x 144x64, scale fit (e2m1 x e3m0, 48x48, stochastic A)",
     "op": "matmul", "attrs": "", "scale": {"a": "fit", "b": "fit"},
     "a": ([96, 144], (2, 1), [48, 48], "stochastic", 0xF17),
     "b": ([144, 64], (3, 0), [48, 48], "nearest", 0)},
    {"name": "bm5 transpose_rhs matmul 40x72 x (56x72)^T, scale fit on B only (e2m2 x e3m1)",
     "op": "matmul", "attrs": "transpose_rhs", "scale": {"b": "fit"},
     "a": ([40, 72], (2, 2), [8, 24], "zero", 0),
     "b": ([56, 72], (3, 1), [16, 24], "stochastic", 77)},
    # Block maxima in float32's subnormal range and at 2^-127: only the
    # emax = 0 formats (e <= 1) can raise a scale there (beta clamps at 127
    # below); Inf/NaN blocks stay non-finite under fit.
    {"name": "matmul 24x64 x 64x16, subnormal and 2^-127 block maxima, Inf/NaN blocks, scale fit (e0m3 x e1m4)",
     "op": "matmul", "attrs": "", "init": "signed-zeros",
     "scale": {"a": "fit", "b": "fit"},
     "a": ([24, 64], (0, 3), [4, 16], "stochastic", 5, "subnormal+nan"),
     "b": ([64, 16], (1, 4), [16, 8], "nearest", 0, "subnormal")},
    {"name": "conv2d 2x6x8x8 * 4x6x3x3, padding 1, channel blocks of 2, scale fit on the input (e2m2 x e2m2)",
     "op": "conv2d", "attrs": "padding = array<i64: 1, 1>", "scale": {"a": "fit"},
     "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1),
     "a": ([2, 6, 8, 8], (2, 2), [1, 2, 0, 0], "stochastic", 16),
     "b": ([4, 6, 3, 3], (2, 2), [4, 2, 0, 0], "nearest", 0)},
]


def random_reference(spec, rng):
    """Inputs and expected bits of one random case from the numpy
    reference; returns (operands, init bits, output shape, output bits)."""
    import numpy as np
    bmn = import_reference()

    def operand(desc, scale):
        shape, fmt, block, rounding, seed = desc[:5]
        x = random_tensor(rng, shape, np)
        if len(desc) > 5:
            x = extreme_tensor(rng, x, np, desc[5],
                               normalize_block(shape, block))
        q = bmn.quantize(x, bmn.Format(*fmt), block, rounding, seed, scale)
        tiles = normalize_block(shape, block)
        # The reference may keep an oversize tile (one partial block): same
        # blocking as the type's normalized size.
        assert normalize_block(shape, q.tiles) == tiles, (q.tiles, tiles)
        op = {"format": list(fmt), "tiles": tiles, "rounding": rounding,
              "scale": scale, "seed": seed, "shape": list(shape),
              "input": [int(v) for v in x.view(np.uint32).reshape(-1)],
              "code": [int(v) for v in q.codes.reshape(-1)],
              "beta": [int(v) for v in q.beta.reshape(-1)],
              "output": None}
        return op, q

    scales = spec.get("scale", {})
    a, qa = operand(spec["a"], scales.get("a", "floor"))
    b, qb = operand(spec["b"], scales.get("b", "floor"))

    def transposed(q):
        """The same values seen in the other layout (exact)."""
        perm = list(range(q.ndim - 2)) + [q.ndim - 1, q.ndim - 2]
        return bmn.Quantized(q.fmt, tuple(q.tiles[p] for p in perm),
                             np.ascontiguousarray(q.beta.transpose(perm)),
                             np.ascontiguousarray(q.codes.transpose(perm)))

    if spec["op"] == "matmul":
        la = transposed(qa) if "transpose_lhs" in spec["attrs"] else qa
        lb = transposed(qb) if "transpose_rhs" in spec["attrs"] else qb
        out_shape = list(la.shape[:-1]) + [lb.shape[-1]]
        init = random_tensor(rng, out_shape, np)
        if spec.get("init") == "signed-zeros":
            # Keeps tiny (subnormal) sums visible in the result.
            init = np.where(rng.random(out_shape) < 0.5, np.float32(0.0),
                            np.float32(-0.0)).astype(np.float32)
        y = bmn.matmul(la, lb, init)
    else:
        Nn, C, H, W = a["shape"]
        F, C2, KH, KW = b["shape"]
        (sh, sw), (ph, pw), (dh, dw) = spec["stride"], spec["padding"], spec["dilation"]
        OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
        OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
        out_shape = [Nn, F, OH, OW]
        init = random_tensor(rng, out_shape, np)
        if spec.get("init") == "signed-zeros":
            init = np.where(rng.random(out_shape) < 0.5, np.float32(0.0),
                            np.float32(-0.0)).astype(np.float32)
        y = bmn.conv2d(qa, qb, init, stride=spec["stride"], padding=spec["padding"],
                       dilation=spec["dilation"])
    assert list(y.shape) == out_shape, (y.shape, out_shape)
    init_bits = [int(v) for v in init.view(np.uint32).reshape(-1)]
    out_bits = [int(v) for v in np.asarray(y, np.float32).view(np.uint32).reshape(-1)]
    return a, b, init_bits, out_shape, out_bits


def gen_random(mod, indices, seed):
    import numpy as np
    for i in indices:
        spec = RANDOM_CASES[i]
        # One generator per case: a case's data do not depend on --cases.
        rng = np.random.default_rng([seed, i])
        a, b, init_bits, out_shape, out_bits = random_reference(spec, rng)
        case = mod.new_case(i, spec["name"])
        opname = "x" if spec["op"] == "conv2d" else "a"
        qa = mod.quantized_operand(case, opname, 10, a)
        qb = mod.quantized_operand(case, "w" if opname == "x" else "b", 20, b)

        def build():
            init = mod.f32_from_bits(init_bits, out_shape, hint="init")
            if spec["op"] == "matmul":
                return matmul_ir(mod, qa, qb, init, a["shape"], b["shape"],
                                 a["format"], b["format"], a["tiles"], b["tiles"],
                                 out_shape, spec["attrs"])
            y = mod.fresh("y")
            mod.emit("%s = bm.conv2d %s, %s, %s {%s} : %s, %s, %s -> %s"
                     % (y, qa, qb, init, spec["attrs"],
                        bm_type(a["shape"], a["format"], a["tiles"]),
                        bm_type(b["shape"], b["format"], b["tiles"]),
                        tensor_type(out_shape, "f32"), tensor_type(out_shape, "f32")))
            return y
        mod.contraction_output(case, 0, out_shape, out_bits, build)


# ---------------------------------------------------------------------------
# Generation entry point
# ---------------------------------------------------------------------------

def generate(kind, vectors_dir, cases_spec, max_cases, chunk_k, no_bm, seed):
    """Returns (module text, expected dict)."""
    mod = Module(no_bm=no_bm)
    if kind == "random":
        idx = chunk(parse_cases(cases_spec, len(RANDOM_CASES)), max_cases, chunk_k)
        gen_random(mod, idx, seed)
        source = "random cross-checks (numpy seed %d) against %s" % (
            seed, os.path.join(REPO, "python", "bm", "numerics.py"))
    else:
        path, cases = load_json(vectors_dir, VECTOR_FILES[kind])
        idx = chunk(parse_cases(cases_spec, len(cases)), max_cases, chunk_k)
        (gen_matmul if kind == "matmul" else gen_quantize)(mod, cases, idx)
        source = os.path.abspath(path)
    header = ("Generated by gen_vector_tests.py %s from %s; cases %s%s.\n"
              "Do not edit: every result is printed as i32 bits after a "
              "marker [%d, case, field]."
              % (kind, source, compact_ranges(idx),
                 " (--no-bm self-check)" if no_bm else "", MAGIC))
    expected = {"kind": kind, "source": source, "magic": MAGIC,
                "no_bm": no_bm, "cases": mod.expected}
    return mod.text(header), expected


def compact_ranges(idx):
    if not idx:
        return "none"
    parts, start, prev = [], idx[0], idx[0]
    for i in idx[1:] + [None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(str(start) if start == prev else "%d-%d" % (start, prev))
        if i is not None:
            start = prev = i
    return ",".join(parts)


def cmd_generate(args):
    text, expected = generate(args.kind, getattr(args, "vectors_dir", None),
                              args.cases, args.max_cases, args.chunk,
                              args.no_bm, getattr(args, "seed", 0))
    with open(args.output, "w") as f:
        f.write(text)
    with open(args.expected, "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    if not args.quiet:
        print("%s: %d case(s), %d field(s) -> %s, %s"
              % (args.kind, len(expected["cases"]),
                 sum(len(c["fields"]) for c in expected["cases"]),
                 args.output, args.expected))
    return 0


def count_chunks(kind, vectors_dir, cases_spec, max_cases):
    if kind == "random":
        n = len(parse_cases(cases_spec, len(RANDOM_CASES)))
    else:
        _, cases = load_json(vectors_dir, VECTOR_FILES[kind])
        n = len(parse_cases(cases_spec, len(cases)))
    return max(1, -(-n // max_cases)) if max_cases else 1


# ---------------------------------------------------------------------------
# Parsing the runner's output
# ---------------------------------------------------------------------------

HEADER_RE = re.compile(
    r"Unranked Memref base@ = (?:0x)?[0-9a-fA-F]+ rank = (\d+) offset = (-?\d+) "
    r"sizes = \[([^\]]*)\] strides = \[([^\]]*)\] data =")
INT_RE = re.compile(r"-?\d+")


def parse_memrefs(text):
    """Every printMemref print in `text`: list of (rank, sizes, values)."""
    out = []
    pos = 0
    while True:
        mt = HEADER_RE.search(text, pos)
        if not mt:
            break
        rank = int(mt.group(1))
        sizes = [int(s) for s in mt.group(3).replace(",", " ").split()]
        i = mt.end()
        # The data: from the first '[' to its matching ']' (rank 0: one
        # number on the next line).
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if rank == 0 or i >= len(text) or text[i] != "[":
            m2 = INT_RE.match(text, i)
            vals = [int(m2.group(0))] if m2 else []
            pos = m2.end() if m2 else i
        else:
            depth, j = 0, i
            while j < len(text):
                ch = text[j]
                if ch == "[":
                    depth += 1
                elif ch == "]":
                    depth -= 1
                    if depth == 0:
                        break
                elif ch == "U" and text.startswith("Unranked Memref", j):
                    break           # truncated print: stop at the next one
                j += 1
            vals = [int(v) for v in INT_RE.findall(text, i, j)]
            pos = j + 1
        out.append((rank, sizes, vals))
    return out


def align(memrefs, magic):
    """{(case, field): (sizes, values)}, plus the problems found."""
    got, problems = {}, []
    i = 0
    while i < len(memrefs):
        rank, sizes, vals = memrefs[i]
        if rank == 1 and sizes == [3] and len(vals) == 3 and u32(vals[0]) == magic:
            key = (vals[1], vals[2])
            if i + 1 < len(memrefs) and not (
                    memrefs[i + 1][0] == 1 and memrefs[i + 1][1] == [3]
                    and len(memrefs[i + 1][2]) == 3
                    and u32(memrefs[i + 1][2][0]) == magic):
                if key in got:
                    problems.append("case %d field %d printed twice" % key)
                got[key] = (memrefs[i + 1][1], memrefs[i + 1][2])
                i += 2
                continue
            problems.append("case %d field %d: marker without data" % key)
            i += 1
            continue
        problems.append("unexpected memref print #%d (rank %d, sizes %s) "
                        "outside any marker" % (i, rank, sizes))
        i += 1
    return got, problems


def f32_str(b):
    import struct
    v = struct.unpack("<f", struct.pack("<I", b))[0]
    return repr(v)


def is_nan(b):
    return (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF) != 0


def index_str(k, shape):
    idx = []
    for d in reversed(shape):
        idx.append(k % d if d else 0)
        k //= d if d else 1
    return "[" + ", ".join(str(v) for v in reversed(idx)) + "]"


def compare(expected, text, nan_any=False, max_report=5, quiet=False, out=sys.stdout):
    memrefs = parse_memrefs(text)
    got, problems = align(memrefs, expected.get("magic", MAGIC))
    n_pass = n_fail = 0
    expected_keys = set()
    for case in expected["cases"]:
        msgs = []
        for fld in case["fields"]:
            key = (case["id"], fld["id"])
            expected_keys.add(key)
            name = fld["name"]
            if key not in got:
                msgs.append("field %s: no output (marker [%d, %d] not found; "
                            "did the runner stop early?)" % (name, key[0], key[1]))
                continue
            sizes, vals = got[key]
            exp = fld["expected"]
            if sizes != fld["shape"]:
                msgs.append("field %s: printed sizes %s, expected shape %s"
                            % (name, sizes, fld["shape"]))
                continue
            if len(vals) != len(exp):
                msgs.append("field %s: %d values printed, expected %d"
                            % (name, len(vals), len(exp)))
                continue
            bad = []
            for k, (e, g) in enumerate(zip(exp, vals)):
                g = u32(g)
                if e == g:
                    continue
                if fld["kind"] == "f32" and nan_any and is_nan(e) and is_nan(g):
                    continue
                bad.append(k)
            if bad:
                lines = ["field %s: %d of %d elements differ" % (name, len(bad), len(exp))]
                for k in bad[:max_report]:
                    e, g = exp[k], u32(vals[k])
                    if fld["kind"] == "f32":
                        lines.append("  element %d %s: expected 0x%08x (%s) got 0x%08x (%s)"
                                     % (k, index_str(k, fld["shape"]), e, f32_str(e),
                                        g, f32_str(g)))
                    else:
                        lines.append("  element %d %s: expected %d (0x%08x) got %d (0x%08x)"
                                     % (k, index_str(k, fld["shape"]), s32(e), e,
                                        s32(g), g))
                if len(bad) > max_report:
                    lines.append("  ... %d more" % (len(bad) - max_report))
                msgs.append("\n    ".join(lines))
        if msgs:
            n_fail += 1
            print("FAIL case %d: %s" % (case["id"], case["label"]), file=out)
            for m in msgs:
                print("    " + m, file=out)
        else:
            n_pass += 1
            if not quiet:
                print("PASS case %d: %s (%s)" % (
                    case["id"], case["label"],
                    ", ".join("%s %d" % (f["name"], len(f["expected"]))
                              for f in case["fields"])), file=out)
    extra = sorted(set(got) - expected_keys)
    for key in extra:
        problems.append("case %d field %d printed but not expected" % key)
    for p in problems:
        print("WARNING: " + p, file=out)
    if not memrefs:
        print("ERROR: no printMemrefI32 output found", file=out)
    print("%s: %d case(s) passed, %d failed" % (expected["kind"], n_pass, n_fail),
          file=out)
    ok = n_fail == 0 and not problems and bool(memrefs)
    return 0 if ok else 1


def cmd_compare(args):
    with open(args.expected) as f:
        expected = json.load(f)
    if args.output == "-":
        text = sys.stdin.read()
    else:
        with open(args.output, errors="replace") as f:
            text = f.read()
    return compare(expected, text, nan_any=args.nan_any,
                   max_report=args.max_report, quiet=args.quiet)


# ---------------------------------------------------------------------------
# run: generate, compile, run and compare, chunk by chunk
# ---------------------------------------------------------------------------

def default_tool(name, build_bin):
    for d in [build_bin, "/usr/lib/llvm-22/bin"]:
        p = os.path.join(d, name)
        if d and os.path.exists(p):
            return p
    return name


def cmd_run(args):
    build_bin = os.path.join(os.environ.get("BM_BUILD_DIR", os.path.join(REPO, "build")),
                             "bin")
    bm_opt = args.bm_opt or default_tool("bm-opt", build_bin)
    mlir_opt = args.mlir_opt or default_tool("mlir-opt", "")
    runner = args.mlir_runner or default_tool("mlir-runner", "")
    libdir = args.lib_dir or "/usr/lib/llvm-22/lib"
    libs = ",".join(os.path.join(libdir, l) for l in
                    ("libmlir_c_runner_utils.so", "libmlir_runner_utils.so"))
    if args.no_bm:
        lower = [mlir_opt] + UPSTREAM_PIPELINE
    else:
        lower = [bm_opt] + args.pipeline.split()
    nchunks = count_chunks(args.kind, args.vectors_dir, args.cases, args.max_cases)
    failed = 0
    workdir = args.keep or tempfile.mkdtemp(prefix="bm-vectors-")
    os.makedirs(workdir, exist_ok=True)
    for k in range(nchunks):
        base = os.path.join(workdir, "%s.%d" % (args.kind, k))
        text, expected = generate(args.kind, args.vectors_dir, args.cases,
                                  args.max_cases, k if args.max_cases else None,
                                  args.no_bm, args.seed)
        with open(base + ".mlir", "w") as f:
            f.write(text)
        with open(base + ".expected", "w") as f:
            json.dump(expected, f, separators=(",", ":"))
        print("== chunk %d/%d: %d case(s), %s" % (k + 1, nchunks,
                                                  len(expected["cases"]), base + ".mlir"))
        sys.stdout.flush()
        low = subprocess.run(lower + [base + ".mlir", "-o", base + ".ll.mlir"],
                             stderr=subprocess.PIPE, universal_newlines=True)
        if low.returncode != 0:
            print("FAIL: lowering failed (%s):\n%s" % (" ".join(lower), low.stderr[-4000:]))
            failed += 1
            continue
        run = subprocess.run([runner, base + ".ll.mlir", "-e", "main",
                              "--entry-point-result=void", "--shared-libs=" + libs],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, errors="replace")
        with open(base + ".out", "w") as f:
            f.write(run.stdout)
        if run.returncode != 0:
            print("runner exited with %d:\n%s" % (run.returncode, run.stderr[-4000:]))
        rc = compare(expected, run.stdout, nan_any=args.nan_any,
                     max_report=args.max_report, quiet=args.quiet)
        failed += rc != 0 or run.returncode != 0
    print("%d chunk(s), %d failed%s" % (nchunks, failed,
                                        "" if args.keep else " (files in %s)" % workdir))
    return 1 if failed else 0


# ---------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="cmd")
    sub.required = True

    def selection(sp):
        sp.add_argument("--cases", help="case indices, e.g. 0,3,5-9 (default: all)")
        sp.add_argument("--max-cases", type=int, default=0,
                        help="split the selected cases into chunks of N")
        sp.add_argument("--no-bm", action="store_true",
                        help="harness self-check: bm ops replaced by constants "
                             "of their expected results")

    for kind in KINDS:
        sp = sub.add_parser(kind, help="generate the %s module" % kind)
        if kind != "random":
            sp.add_argument("vectors_dir",
                            help="directory holding %s" % VECTOR_FILES[kind])
        else:
            sp.add_argument("--seed", type=int, default=2021,
                            help="numpy seed of the random inputs")
        selection(sp)
        sp.add_argument("--chunk", type=int, default=None,
                        help="with --max-cases: which chunk (0-based)")
        sp.add_argument("-o", "--output", required=True, help="MLIR module to write")
        sp.add_argument("-e", "--expected", required=True,
                        help="expected-results file to write")
        sp.add_argument("-q", "--quiet", action="store_true")
        sp.set_defaults(func=cmd_generate, kind=kind)

    sp = sub.add_parser("compare", help="check runner output against expected")
    sp.add_argument("expected")
    sp.add_argument("output", help="runner stdout ('-' for stdin)")
    sp.add_argument("--nan-any", action="store_true",
                    help="any NaN matches any NaN (default: exact bits)")
    sp.add_argument("--max-report", type=int, default=5,
                    help="mismatching elements listed per field")
    sp.add_argument("-q", "--quiet", action="store_true",
                    help="print failing cases and the summary only")
    sp.set_defaults(func=cmd_compare)

    sp = sub.add_parser("run", help="generate, lower, run and compare every chunk")
    sp.add_argument("kind", choices=KINDS)
    sp.add_argument("vectors_dir", nargs="?",
                    default=os.environ.get("BM_VECTORS_DIR",
                                           os.path.join(REPO, "..", "shared", "spec",
                                                        "vectors")))
    selection(sp)
    sp.add_argument("--seed", type=int, default=2021)
    sp.add_argument("--pipeline", default="--bm-lower-to-cpu",
                    help="bm-opt options that lower to LLVM (default: %(default)s)")
    sp.add_argument("--bm-opt")
    sp.add_argument("--mlir-opt", help="for --no-bm (default: /usr/lib/llvm-22/bin)")
    sp.add_argument("--mlir-runner")
    sp.add_argument("--lib-dir", help="directory of libmlir_*runner_utils.so")
    sp.add_argument("--keep", metavar="DIR", help="write the files to DIR and keep them")
    sp.add_argument("--nan-any", action="store_true")
    sp.add_argument("--max-report", type=int, default=5)
    sp.add_argument("-q", "--quiet", action="store_true")
    sp.set_defaults(func=cmd_run)

    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
