#!/usr/bin/env python3
"""Tests of bm.compiler: compile bm ops to a shared library, call them through
ctypes and compare bit for bit with the numpy reference (bm.numerics).

Run: /usr/bin/python3 python/tests/test_compiler.py -v
Needs bm-opt ($BM_OPT or <repo>/build/bin/bm-opt), mlir-translate, llc and
cc. Compiled libraries go to a fresh cache directory that is removed at the
end.
"""

import ctypes
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..")))

import numpy as np  # noqa: E402

from bm import compiler  # noqa: E402
from bm import numerics as bmn  # noqa: E402

# Shapes with partial edge blocks; A's K blocks (48) and B's (32) refine into
# runs [0,32) [32,48) [48,64) [64,96) [96,100).
M, K, N = 70, 100, 40
XR, XC = 100, 130
SEED_X = 0x0123456789ABCDEF
SEED_A = 0xFEDCBA9876543210  # >= 2^63: passed as a negative i64

MODULE = f"""
!qx = !bm.tensor<{XR}x{XC}xe2m3, block = [48, 48]>
!qa = !bm.tensor<{M}x{K}xe2m3, block = [48, 48]>
!qb = !bm.tensor<{K}x{N}xe3m2, block = [32, 48]>

// Stochastic quantize with a runtime seed, then its two runtime parts and
// its dequantized values.
func.func @quant(%x: tensor<{XR}x{XC}xf32>, %seed: i64)
    -> (tensor<{XR}x{XC}xi8>, tensor<3x3xi8>, tensor<{XR}x{XC}xf32>) {{
  %q = bm.quantize %x stochastic seed %seed : tensor<{XR}x{XC}xf32> -> !qx
  %c, %b = bm.unpack %q : !qx -> tensor<{XR}x{XC}xi8>, tensor<3x3xi8>
  %d = bm.dequantize %q : !qx -> tensor<{XR}x{XC}xf32>
  return %c, %b, %d : tensor<{XR}x{XC}xi8>, tensor<3x3xi8>, tensor<{XR}x{XC}xf32>
}}

// A (stochastic, e2m3) x B (nearest, e3m2) onto init; also returns both
// operands' codes and biases.
func.func @mm(%a: tensor<{M}x{K}xf32>, %b: tensor<{K}x{N}xf32>,
              %init: tensor<{M}x{N}xf32>, %seed: i64)
    -> (tensor<{M}x{K}xi8>, tensor<2x3xi8>, tensor<{K}x{N}xi8>, tensor<4x1xi8>,
        tensor<{M}x{N}xf32>) {{
  %qa = bm.quantize %a stochastic seed %seed : tensor<{M}x{K}xf32> -> !qa
  %qb = bm.quantize %b nearest : tensor<{K}x{N}xf32> -> !qb
  %ca, %ba = bm.unpack %qa : !qa -> tensor<{M}x{K}xi8>, tensor<2x3xi8>
  %cb, %bb = bm.unpack %qb : !qb -> tensor<{K}x{N}xi8>, tensor<4x1xi8>
  %y = bm.matmul %qa, %qb, %init : !qa, !qb, tensor<{M}x{N}xf32> -> tensor<{M}x{N}xf32>
  return %ca, %ba, %cb, %bb, %y : tensor<{M}x{K}xi8>, tensor<2x3xi8>,
      tensor<{K}x{N}xi8>, tensor<4x1xi8>, tensor<{M}x{N}xf32>
}}

// The same contraction on pre-packed codes and biases (one result).
func.func @mm_packed(%ca: tensor<{M}x{K}xi8>, %ba: tensor<2x3xi8>,
                     %cb: tensor<{K}x{N}xi8>, %bb: tensor<4x1xi8>,
                     %init: tensor<{M}x{N}xf32>) -> tensor<{M}x{N}xf32> {{
  %qa = bm.pack %ca, %ba : tensor<{M}x{K}xi8>, tensor<2x3xi8> -> !qa
  %qb = bm.pack %cb, %bb : tensor<{K}x{N}xi8>, tensor<4x1xi8> -> !qb
  %y = bm.matmul %qa, %qb, %init : !qa, !qb, tensor<{M}x{N}xf32> -> tensor<{M}x{N}xf32>
  return %y : tensor<{M}x{N}xf32>
}}

// Returns an argument (the lowering clones it) twice, and a scalar.
func.func @passthrough(%x: tensor<3x5xf32>, %s: i64) -> (tensor<3x5xf32>, tensor<3x5xf32>, i64) {{
  return %x, %x, %s : tensor<3x5xf32>, tensor<3x5xf32>, i64
}}

func.func private @helper(%x: tensor<2xf32>) -> tensor<2xf32> {{
  return %x : tensor<2xf32>
}}
"""


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32}[a.dtype.itemsize])


def scaled_data(rng, shape, spread=12):
    """Normal data with a per-row power-of-two scale, so blocks get
    different biases; includes zeros, -0.0 and float32 subnormals."""
    x = rng.standard_normal(shape).astype(np.float32)
    x *= np.exp2(rng.integers(-spread, spread + 1, size=(shape[0], 1))).astype(np.float32)
    flat = x.reshape(-1)
    flat[rng.integers(0, flat.size, 16)] = 0.0
    flat[rng.integers(0, flat.size, 16)] = -0.0
    return x


def bm6_module(m, k, n, block_a, block_b):
    """@bm6(codes A, biases A, codes B, biases B, init): bm.matmul of two
    packed e2m3 tensors onto init."""
    ga = tuple(-(-d // b) for d, b in zip((m, k), block_a))
    gb = tuple(-(-d // b) for d, b in zip((k, n), block_b))
    ta = "!bm.tensor<%dx%dxe2m3, block = [%d, %d]>" % (m, k, *block_a)
    tb = "!bm.tensor<%dx%dxe2m3, block = [%d, %d]>" % (k, n, *block_b)
    return f"""
func.func @bm6(%ca: tensor<{m}x{k}xi8>, %ba: tensor<{ga[0]}x{ga[1]}xi8>,
               %cb: tensor<{k}x{n}xi8>, %bb: tensor<{gb[0]}x{gb[1]}xi8>,
               %init: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %qa = bm.pack %ca, %ba : tensor<{m}x{k}xi8>, tensor<{ga[0]}x{ga[1]}xi8> -> {ta}
  %qb = bm.pack %cb, %bb : tensor<{k}x{n}xi8>, tensor<{gb[0]}x{gb[1]}xi8> -> {tb}
  %y = bm.matmul %qa, %qb, %init : {ta}, {tb}, tensor<{m}x{n}xf32> -> tensor<{m}x{n}xf32>
  return %y : tensor<{m}x{n}xf32>
}}
"""


def bm6_case(rng, m, k, n):
    """Operands for bm6_module with 48x48 blocks (A stochastic, B nearest),
    an init and the reference result."""
    a = scaled_data(rng, (m, k), spread=6)
    b = scaled_data(rng, (k, n), spread=6)
    init = rng.standard_normal((m, n)).astype(np.float32)
    qa = bmn.quantize(a, "e2m3", (48, 48), "stochastic", seed=SEED_A)
    qb = bmn.quantize(b, "e2m3", (48, 48), "nearest")
    return qa, qb, init, bmn.matmul(qa, qb, init)


# Only statically shaped tensor results: compiled with out-params.
OUT_MODULE = MODULE.split("// Returns an argument")[0] + """
func.func @transpose(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %e = tensor.empty() : tensor<64x64xf32>
  %t = linalg.transpose ins(%x : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>)
      permutation = [1, 0]
  return %t : tensor<64x64xf32>
}

func.func @two(%x: tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>) {
  %e = tensor.empty() : tensor<64x64xf32>
  %t = linalg.transpose ins(%x : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>)
      permutation = [1, 0]
  %s = linalg.add ins(%x, %x : tensor<64x64xf32>, tensor<64x64xf32>)
      outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %t, %s : tensor<64x64xf32>, tensor<64x64xf32>
}

func.func @ident(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  return %x : tensor<64x64xf32>
}

// One value returned twice (as two gradients that CSE found equal are).
func.func @twice(%x: tensor<64x64xf32>) -> (tensor<64x64xf32>, tensor<64x64xf32>) {
  %e = tensor.empty() : tensor<64x64xf32>
  %s = linalg.add ins(%x, %x : tensor<64x64xf32>, tensor<64x64xf32>)
      outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %s, %s : tensor<64x64xf32>, tensor<64x64xf32>
}
"""


class CompilerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._old_cache = os.environ.get("BM_COMPILER_CACHE")
        cls.cache = tempfile.mkdtemp(prefix="bm-test-compiler-")
        os.environ["BM_COMPILER_CACHE"] = cls.cache
        cls.lib = compiler.compile_module(MODULE)
        cls.rng = np.random.default_rng(20240607)

    @classmethod
    def tearDownClass(cls):
        if cls._old_cache is None:
            os.environ.pop("BM_COMPILER_CACHE", None)
        else:
            os.environ["BM_COMPILER_CACHE"] = cls._old_cache
        shutil.rmtree(cls.cache, ignore_errors=True)

    def assertBitsEqual(self, got, want, what):
        got, want = np.asarray(got), np.asarray(want)
        self.assertEqual(got.shape, want.shape, what)
        gb, wb = bits(got), bits(want)
        bad = np.argwhere(gb != wb)
        if bad.size:
            i = tuple(bad[0])
            self.fail(f"{what}: {len(bad)} element(s) differ, first at {i}: "
                      f"got {gb[i]:#x} ({got[i]!r}), want {wb[i]:#x} ({want[i]!r})")

    # -- signatures --------------------------------------------------------

    def test_signatures(self):
        sigs = self.lib.signatures
        self.assertEqual(set(sigs), {"quant", "mm", "mm_packed", "passthrough"})
        q = sigs["quant"]
        self.assertEqual([str(t) for t in q.args],
                         [f"tensor<{XR}x{XC}xf32>", "i64"])
        self.assertEqual([str(t) for t in q.results],
                         [f"tensor<{XR}x{XC}xi8>", "tensor<3x3xi8>",
                          f"tensor<{XR}x{XC}xf32>"])
        self.assertEqual(len(sigs["mm"].results), 5)

    def test_signatures_of_generic_syntax(self):
        # The lowering writes the signatures, so a module in generic syntax
        # (no "func.func @f(...)" line to read) works as well; arguments are
        # never written (bm-emit-c-interface marks them read-only).
        src = """
"func.func"() <{function_type = (tensor<4xf32>, i64) -> tensor<4xf32>,
                sym_name = "g"}> ({
^bb0(%a: tensor<4xf32>, %s: i64):
  %r = "linalg.add"(%a, %a, %a) <{operandSegmentSizes = array<i32: 2, 1>}> ({
  ^bb0(%x: f32, %y: f32, %z: f32):
    %t = "arith.addf"(%x, %y) <{fastmath = #arith.fastmath<none>}> : (f32, f32) -> f32
    "linalg.yield"(%t) : (f32) -> ()
  }) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%r) : (tensor<4xf32>) -> ()
}) : () -> ()
"""
        lib = compiler.compile_module(src)
        self.assertEqual(str(lib.signatures["g"]),
                         "@g(tensor<4xf32>, i64) -> (tensor<4xf32>)")
        self.assertTrue(lib.out_params)
        x = np.arange(4, dtype=np.float32)
        np.testing.assert_array_equal(lib.g(x, 7), 2 * np.arange(4))
        np.testing.assert_array_equal(x, np.arange(4), "argument written")

    def test_read_signatures_checks_the_format(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.json")
            with open(path, "w") as f:
                f.write('{"format": "something/else", "functions": []}')
            with self.assertRaisesRegex(compiler.CompileError,
                                        "not a bm.signatures/1 file"):
                compiler.read_signatures(path)

    def test_failure_keeps_the_input_and_reproduces(self):
        bad = ("func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
               "  %y = bm.quantize %x nearest : tensor<4xf32> -> tensor<4xf32>\n"
               "  return %y : tensor<4xf32>\n}\n")
        with self.assertRaises(compiler.CompileError) as cm:
            compiler.compile_module(bad, use_cache=False)
        cmd = cm.exception.cmd
        src = [a for a in cmd if a.endswith("input.mlir")]
        self.assertEqual(len(src), 1, cmd)
        self.assertTrue(os.path.isfile(src[0]), "input deleted: " + src[0])
        self.assertIn(os.path.dirname(src[0]), str(cm.exception))
        # The command in the message fails the same way when rerun.
        line = [l for l in str(cm.exception).splitlines()
                if l.strip().startswith("command:")][0]
        rerun = subprocess.run(line.split("command:", 1)[1].strip(),
                               shell=True, capture_output=True, text=True)
        self.assertNotEqual(rerun.returncode, 0)
        self.assertIn("bm.quantize", rerun.stderr)
        shutil.rmtree(os.path.dirname(src[0]))

    # -- bit-exact checks against bm.numerics ------------------------------

    def test_quantize_stochastic(self):
        x = scaled_data(self.rng, (XR, XC))
        x[5, 7] = np.nan              # block (0, 0) becomes non-finite
        x[60, 120] = -np.inf          # block (1, 2) too
        x[96:, 48:96] = 0.0           # block (2, 1): all zeros
        x[50, 50] = np.float32(1e-40)  # a subnormal
        x_before = x.copy()
        codes, biases, deq = self.lib.call("quant", x, SEED_X)
        self.assertBitsEqual(x, x_before, "input left unchanged")
        ref = bmn.quantize(x, "e2m3", (48, 48), "stochastic", seed=SEED_X)
        self.assertEqual(codes.dtype, np.int8)
        self.assertBitsEqual(codes, ref.codes, "codes")
        self.assertBitsEqual(biases, ref.beta, "biases")
        self.assertEqual(biases[0, 0], -128)
        self.assertEqual(biases[1, 2], -128)
        self.assertEqual(biases[2, 1], 0)
        self.assertBitsEqual(deq, bmn.dequantize(ref), "dequantized")
        # Another seed gives other codes.
        codes2, _, _ = self.lib.quant(x, SEED_X + 1)
        self.assertFalse(np.array_equal(codes, codes2))

    def test_matmul(self):
        a = scaled_data(self.rng, (M, K), spread=6)
        b = scaled_data(self.rng, (K, N), spread=6)
        init = self.rng.standard_normal((M, N)).astype(np.float32)
        init_before = init.copy()
        ca, ba, cb, bb, y = self.lib.mm(a, b, init, SEED_A)
        self.assertBitsEqual(init, init_before, "init left unchanged")
        qa = bmn.quantize(a, "e2m3", (48, 48), "stochastic", seed=SEED_A)
        qb = bmn.quantize(b, "e3m2", (32, 48), "nearest")
        self.assertBitsEqual(ca, qa.codes, "A codes")
        self.assertBitsEqual(ba, qa.beta, "A biases")
        self.assertBitsEqual(cb, qb.codes, "B codes")
        self.assertBitsEqual(bb, qb.beta, "B biases")
        want = bmn.matmul(qa, qb, init)
        self.assertBitsEqual(y, want, "matmul output")
        # Same result from the packed entry point (uint8 codes are passed
        # as their i8 bits).
        y2 = self.lib.mm_packed(qa.codes, qa.beta, qb.codes, qb.beta, init)
        self.assertBitsEqual(y2, want, "matmul output (bm.pack)")

    def test_matmul_nonfinite_block(self):
        a = scaled_data(self.rng, (M, K), spread=4)
        b = scaled_data(self.rng, (K, N), spread=4)
        a[10, 60] = np.inf            # A block (0, 1): runs over K 48..95
        init = np.zeros((M, N), np.float32)
        _, ba, _, _, y = self.lib.mm(a, b, init, 7)
        self.assertEqual(ba[0, 1], -128)
        qa = bmn.quantize(a, "e2m3", (48, 48), "stochastic", seed=7)
        qb = bmn.quantize(b, "e3m2", (32, 48), "nearest")
        want = bmn.matmul(qa, qb, init)
        self.assertTrue(np.isnan(want[:48]).all())
        self.assertBitsEqual(y, want, "matmul output with a NaN block")

    def packed_matmul_case(self):
        """Operands of @mm_packed, quantized by the reference, and the
        reference's result."""
        a = scaled_data(self.rng, (M, K), spread=6)
        b = scaled_data(self.rng, (K, N), spread=6)
        init = self.rng.standard_normal((M, N)).astype(np.float32)
        qa = bmn.quantize(a, "e2m3", (48, 48), "stochastic", seed=SEED_A)
        qb = bmn.quantize(b, "e3m2", (32, 48), "nearest")
        return qa, qb, init, bmn.matmul(qa, qb, init)

    def test_matmul_parallel_and_sequential_agree(self):
        """The tiles on the async runtime's threads, in order, and the
        generic lowering (no vector kernel) give the reference's bits."""
        if not compiler._has_async_runtime(compiler.find_tools()):
            self.skipTest("no async runtime / opt here")
        qa, qb, init, want = self.packed_matmul_case()
        for what, kwargs in (
                ("parallel", dict(parallel=True)),
                ("sequential", dict(parallel=False)),
                ("generic lowering", dict(parallel=False,
                                          vector_kernels=False))):
            lib = compiler.compile_module(MODULE, **kwargs)
            y = lib.mm_packed(qa.codes, qa.beta, qb.codes, qb.beta, init)
            self.assertBitsEqual(y, want, "matmul output (%s)" % what)

    def test_split_codegen_gives_the_same_bits(self):
        """codegen_jobs: the LLVM module split in parts, one llc each at
        the same time, linked into one library with the same results."""
        if not compiler.find_tools().llvm_split:
            self.skipTest("no llvm-split here")
        qa, qb, init, want = self.packed_matmul_case()
        with self.assertRaisesRegex(ValueError, "codegen_jobs must be at least 1"):
            compiler.compile_module(MODULE, codegen_jobs=0)
        lib = compiler.compile_module(MODULE, codegen_jobs=3, use_cache=False)
        y = lib.mm_packed(qa.codes, qa.beta, qb.codes, qb.beta, init)
        self.assertBitsEqual(y, want, "matmul output (3 codegen parts)")
        x = scaled_data(self.rng, (XR, XC))
        ref = bmn.quantize(x, "e2m3", (48, 48), "stochastic", seed=SEED_X)
        codes, biases, _ = lib.quant(x, SEED_X)
        self.assertBitsEqual(codes, ref.codes, "quantize codes (3 parts)")
        self.assertBitsEqual(biases, ref.beta, "quantize biases (3 parts)")

    # The byte-step intrinsic each CPU target's BM6 kernel calls.
    BYTE_STEP = {"generic": None, "avx2": "llvm.x86.avx2.pmadd.ub.sw",
                 "avx-vnni": "llvm.x86.avx512.vpdpbusd.256",
                 "avx512-vnni": "llvm.x86.avx512.vpdpbusd.512"}

    def test_matmul_each_cpu_target(self):
        """BM6 (e2m3 x e2m3) through every CPU target this host can run
        (the u8 x s8 steps of AVX2 and VNNI, the i16 step) and the generic
        lowering: the reference's bits from each, and each lowered module
        calls its target's byte-step intrinsic and no other."""
        m, k, n = 30, 100, 40   # runs of 48, 48 and 4 (unaligned)
        src = bm6_module(m, k, n, (48, 48), (48, 48))
        qa, qb, init, want = bm6_case(self.rng, m, k, n)
        variants = [(cpu, dict(cpu=cpu), cpu)
                    for cpu in compiler.host_cpu_targets()]
        variants += [("generic lowering", dict(vector_kernels=False), None)]
        for what, kwargs, cpu in variants:
            lib = compiler.compile_module(src, **kwargs)
            with open(lib.lowered_path) as f:
                lowered = f.read()
            for target, name in self.BYTE_STEP.items():
                if name:
                    self.assertEqual(name in lowered, target == cpu,
                                     "%s: %s" % (what, name))
            y = lib.bm6(qa.codes, qa.beta, qb.codes, qb.beta, init)
            self.assertBitsEqual(y, want, "BM6 matmul (%s)" % what)

    def test_default_cpu_target_is_the_hosts(self):
        """Compiling for this host (the default) lowers for
        host_cpu_target(); a bad cpu name is refused."""
        lib = compiler.compile_module(bm6_module(8, 48, 16, (48, 48),
                                                 (48, 48)))
        name = self.BYTE_STEP[compiler.host_cpu_target()]
        with open(lib.lowered_path) as f:
            lowered = f.read()
        for other in self.BYTE_STEP.values():
            if other:
                self.assertEqual(other in lowered, other == name, other)
        with self.assertRaises(ValueError):
            compiler.compile_module(bm6_module(8, 48, 16, (48, 48), (48, 48)),
                                    cpu="avx512")

    def test_matmul_fast_conversion_range(self):
        """Tiles whose scales s = sA + sB sit at the edges of the CPU
        kernel's fast conversion (s in [-126, 96], where sitofp(P) * 2^s
        is exact and may be fused with the addition) and just outside it,
        through every CPU target's kernel and the generic lowering. One
        tile has s = 113 and P * 2^s = 1.5 * 2^128 onto an init of -max:
        the term overflows to inf (numerics.md section 5), which a fused
        multiply-add of the same operands would not (it gives 2^127)."""
        f = bmn.parse_format("e2m3")
        m, k, n = 20, 48, 32        # 5 row blocks of 4, 2 column blocks of 16
        src = bm6_module(m, k, n, (4, 48), (48, 16))
        # The unit exponent of a block is -4 - beta for e2m3.
        beta_a = np.array([[-44], [-45], [58], [59], [-61]], np.int8)
        beta_b = np.array([[-60, 60]], np.int8)
        s = (-4 - beta_a.astype(int)) + (-4 - beta_b.astype(int))
        self.assertEqual(s[:, 0].tolist(), [96, 97, -6, -7, 113])
        self.assertEqual(s[:, 1].tolist(), [-24, -23, -126, -127, -7])
        forms = bmn.Quantized(f, (1, 64), np.zeros((1, 1), np.int8),
                              np.arange(64, dtype=np.uint8)[None, :]).q[0]
        code32 = int(np.flatnonzero(forms == 32)[0])
        ca = self.rng.integers(0, 64, (m, k)).astype(np.uint8)
        ca[16:] = code32
        cb = self.rng.integers(0, 64, (k, n)).astype(np.uint8)
        cb[:, :16] = code32
        init = self.rng.standard_normal((m, n)).astype(np.float32)
        init[16:, :16] = -np.finfo(np.float32).max
        qa = bmn.Quantized(f, (4, 48), beta_a, ca)
        qb = bmn.Quantized(f, (48, 16), beta_b, cb)
        want = bmn.matmul(qa, qb, init)
        self.assertTrue(np.isposinf(want[16:, :16]).all())
        self.assertTrue(np.isfinite(want[:16]).all())
        variants = [("generic lowering", dict(vector_kernels=False))]
        variants += [("cpu=" + cpu, dict(cpu=cpu))
                     for cpu in compiler.host_cpu_targets()]
        for what, kwargs in variants:
            lib = compiler.compile_module(src, **kwargs)
            y = lib.bm6(qa.codes, qa.beta, qb.codes, qb.beta, init)
            self.assertBitsEqual(y, want, "fast-range edges (%s)" % what)

    def test_large_matmul_parallel_and_sequential_agree(self):
        """A BM6 matmul whose operand packing is large enough to be tiled
        into tasks (bm-tile-parallel; 2^17 elements each) and whose u8 column
        sums run as tasks too: the reference's bits in parallel and in
        order, on every CPU target this host can run."""
        if not compiler._has_async_runtime(compiler.find_tools()):
            self.skipTest("no async runtime / opt here")
        m, k, n = 256, 520, 300   # runs of 48 and a last one of 40
        src = bm6_module(m, k, n, (48, 48), (48, 48))
        qa, qb, init, want = bm6_case(self.rng, m, k, n)
        for parallel in (True, False):
            for cpu in compiler.host_cpu_targets():
                lib = compiler.compile_module(src, parallel=parallel, cpu=cpu)
                y = lib.bm6(qa.codes, qa.beta, qb.codes, qb.beta, init)
                self.assertBitsEqual(y, want, "matmul (parallel=%s, cpu=%s)"
                                     % (parallel, cpu))

    def test_large_quantize_parallel_and_sequential_agree(self):
        """A quantize large enough for the band loop to run as tasks
        (ParallelLoops.h: at least 2^17 elements), with a last partial band
        (500 rows = 10 * 48 + 20) and partial edge blocks: nearest and
        stochastic, in parallel and in order, give the reference's bits."""
        if not compiler._has_async_runtime(compiler.find_tools()):
            self.skipTest("no async runtime / opt here")
        r, c = 500, 300
        grid = "%dx%d" % (-(-r // 48), -(-c // 48))
        src = f"""
!q = !bm.tensor<{r}x{c}xe2m3, block = [48, 48]>
func.func @quant(%x: tensor<{r}x{c}xf32>, %seed: i64)
    -> (tensor<{r}x{c}xi8>, tensor<{grid}xi8>, tensor<{r}x{c}xi8>, tensor<{grid}xi8>) {{
  %s = bm.quantize %x stochastic seed %seed : tensor<{r}x{c}xf32> -> !q
  %n = bm.quantize %x nearest : tensor<{r}x{c}xf32> -> !q
  %cs, %bs = bm.unpack %s : !q -> tensor<{r}x{c}xi8>, tensor<{grid}xi8>
  %cn, %bn = bm.unpack %n : !q -> tensor<{r}x{c}xi8>, tensor<{grid}xi8>
  return %cs, %bs, %cn, %bn : tensor<{r}x{c}xi8>, tensor<{grid}xi8>, tensor<{r}x{c}xi8>, tensor<{grid}xi8>
}}
"""
        x = scaled_data(self.rng, (r, c), spread=8)
        want_s = bmn.quantize(x, "e2m3", (48, 48), "stochastic", seed=SEED_A)
        want_n = bmn.quantize(x, "e2m3", (48, 48), "nearest")
        for parallel in (True, False):
            lib = compiler.compile_module(src, parallel=parallel)
            with open(lib.lowered_path) as f:
                tasks = "mlirAsyncRuntime" in f.read()
            self.assertEqual(tasks, parallel)
            cs, bs, cn, bn = lib.quant(x, SEED_A)
            what = "parallel" if parallel else "sequential"
            self.assertBitsEqual(cs.view(np.uint8), want_s.codes,
                                 "stochastic codes (%s)" % what)
            self.assertBitsEqual(bs, want_s.beta, "stochastic biases (%s)" % what)
            self.assertBitsEqual(cn.view(np.uint8), want_n.codes,
                                 "nearest codes (%s)" % what)
            self.assertBitsEqual(bn, want_n.beta, "nearest biases (%s)" % what)

    def test_async_runtime_choice(self):
        """Parallel code links bm's async runtime (runtime/cpu) by default,
        MLIR's with BM_ASYNC_RUNTIME=mlir; both give the reference's bits.
        A BM_ASYNC_RUNTIME that names no file is an error that says so."""
        tools = compiler.find_tools()
        if not compiler._has_async_runtime(tools):
            self.skipTest("no async runtime / opt here")
        self.assertEqual(os.path.basename(tools.async_runtime),
                         "libbm_async_runtime.so")
        m, k, n = 256, 520, 300
        src = bm6_module(m, k, n, (48, 48), (48, 48))
        qa, qb, init, want = bm6_case(self.rng, m, k, n)
        for env, runtime in ((None, "libbm_async_runtime.so"),
                             ("mlir", "libmlir_async_runtime.so")):
            saved = os.environ.pop("BM_ASYNC_RUNTIME", None)
            try:
                if env:
                    os.environ["BM_ASYNC_RUNTIME"] = env
                lib = compiler.compile_module(src, parallel=True)
            finally:
                os.environ.pop("BM_ASYNC_RUNTIME", None)
                if saved is not None:
                    os.environ["BM_ASYNC_RUNTIME"] = saved
            needed = subprocess.run(["readelf", "-d", lib.path],
                                    capture_output=True, text=True).stdout
            self.assertIn("Shared library: [" + runtime, needed)
            y = lib.bm6(qa.codes, qa.beta, qb.codes, qb.beta, init)
            self.assertBitsEqual(y, want, "matmul with %s" % runtime)
        saved = os.environ.get("BM_ASYNC_RUNTIME")
        os.environ["BM_ASYNC_RUNTIME"] = "/nonexistent/libnothing.so"
        try:
            with self.assertRaisesRegex(compiler.ToolNotFoundError,
                                        "BM_ASYNC_RUNTIME=/nonexistent/"
                                        "libnothing.so is not a file"):
                compiler.find_tools()
        finally:
            if saved is None:
                del os.environ["BM_ASYNC_RUNTIME"]
            else:
                os.environ["BM_ASYNC_RUNTIME"] = saved

    def test_out_arrays(self):
        a = scaled_data(self.rng, (M, K), spread=6)
        b = scaled_data(self.rng, (K, N), spread=6)
        init = self.rng.standard_normal((M, N)).astype(np.float32)
        want = self.lib.mm(a, b, init, SEED_A)
        outs = tuple(np.empty_like(w) for w in want)
        got = self.lib.mm(a, b, init, SEED_A, out=outs)
        for g, o, w in zip(got, outs, want):
            self.assertIs(g, o)
            self.assertBitsEqual(g, w, "out= result")
        with self.assertRaises(TypeError):
            self.lib.mm(a, b, init, SEED_A, out=outs[:2])
        with self.assertRaises(TypeError):
            self.lib.mm(a, b, init, SEED_A,
                        out=(outs[0], outs[1], outs[2], outs[3],
                             np.empty((M, N), np.float64)))

    def test_out_params(self):
        # Every result of OUT_MODULE is a static tensor, so by default its
        # functions take their results as out-params and the code writes
        # into the result arrays. The module of the other tests returns a
        # scalar too, so it keeps results returned by the function.
        self.assertFalse(self.lib.out_params)
        lib = compiler.compile_module(OUT_MODULE)
        self.assertTrue(lib.out_params)
        ref = compiler.compile_module(OUT_MODULE, out_params=False)
        self.assertFalse(ref.out_params)
        x = self.rng.standard_normal((64, 64)).astype(np.float32)
        ca, ba, cb, bb, init = (self.rng.integers(-128, 128, (M, K), np.int8),
                                self.rng.integers(-6, 3, (2, 3), np.int8),
                                self.rng.integers(-128, 128, (K, N), np.int8),
                                self.rng.integers(-6, 3, (4, 1), np.int8),
                                self.rng.standard_normal((M, N)).astype(np.float32))
        want = ref.mm_packed(ca, ba, cb, bb, init)
        self.assertBitsEqual(lib.mm_packed(ca, ba, cb, bb, init), want,
                             "out-params result")
        o = np.empty((M, N), np.float32)
        self.assertIs(lib.mm_packed(ca, ba, cb, bb, init, out=(o,)), o)
        self.assertBitsEqual(o, want, "out= result")
        # Two results, one given and one allocated.
        o2 = np.empty((64, 64), np.float32)
        t, y = lib.two(x, out=(None, o2))
        self.assertIs(y, o2)
        self.assertBitsEqual(t, x.T, "allocated result")
        self.assertBitsEqual(y, x + x, "given result")
        # A destination that is also an argument: the transpose would read
        # elements it already overwrote, so the call computes into a
        # temporary first (checked: without it the result differs).
        a = x.copy()
        self.assertIs(lib.transpose(a, out=a), a)
        self.assertBitsEqual(a, x.T, "in-place transpose")
        # Two destinations that overlap each other.
        b = np.empty((64, 64), np.float32)
        t, y = lib.two(x, out=(b, b))
        self.assertBitsEqual(b, x + x, "last result written")
        with self.assertRaisesRegex(TypeError, "out array"):
            lib.transpose(x, out=np.empty((64, 64), np.float64))
        # A returned argument is copied into its out-param.
        self.assertBitsEqual(lib.ident(x), x, "returned argument")
        # A value returned twice fills both out-params (bm-distinct-results).
        o1, o2 = np.full((64, 64), np.nan, np.float32), np.full((64, 64), np.nan, np.float32)
        r1, r2 = lib.twice(x, out=(o1, o2))
        self.assertIs(r1, o1)
        self.assertIs(r2, o2)
        self.assertBitsEqual(o1, x + x, "first of a repeated result")
        self.assertBitsEqual(o2, x + x, "second of a repeated result")

    def test_out_params_need_static_results(self):
        dyn = """
        func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {
          return %x : tensor<?xf32>
        }"""
        self.assertFalse(compiler.compile_module(dyn).out_params)
        with self.assertRaisesRegex(compiler.CompileError,
                                    "@f returns tensor<\\?xf32>, which has a "
                                    "dynamic size"):
            compiler.compile_module(dyn, out_params=True)
        with self.assertRaisesRegex(compiler.CompileError, "@passthrough "
                                    "returns i64"):
            compiler.compile_module(MODULE, out_params=True)

    def test_parallel_needs_the_runtime(self):
        tools = compiler.find_tools()
        if compiler._has_async_runtime(tools):
            self.skipTest("the async runtime is installed here")
        with self.assertRaises(compiler.ToolNotFoundError):
            compiler.compile_module(MODULE, parallel=True)

    # -- ABI details -------------------------------------------------------

    def test_results_are_owned_copies(self):
        x = np.arange(15, dtype=np.float32).reshape(3, 5)
        r1, r2, s = self.lib.passthrough(x, -3)
        self.assertEqual(int(s), -3)
        self.assertBitsEqual(r1, x, "first copy")
        self.assertBitsEqual(r2, x, "second copy")
        r1[0, 0] = 99
        self.assertEqual(x[0, 0], 0)
        self.assertEqual(r2[0, 0], 0)

    def test_argument_conversion_and_errors(self):
        # float64 and non-contiguous inputs are converted.
        x = np.arange(30, dtype=np.float64).reshape(5, 6)[::2, ::1][:, :5]
        r1, _, _ = self.lib.passthrough(x, 0)
        self.assertBitsEqual(r1, x.astype(np.float32), "converted input")
        with self.assertRaisesRegex(ValueError, "argument 0 must be tensor<3x5xf32>"):
            self.lib.passthrough(np.zeros((5, 3), np.float32), 0)
        with self.assertRaisesRegex(TypeError, "takes 2 argument"):
            self.lib.passthrough(np.zeros((3, 5), np.float32))
        with self.assertRaisesRegex(AttributeError, "no public function @helper"):
            self.lib.helper

    def test_no_leak(self):
        try:
            mallinfo2 = ctypes.CDLL(None).mallinfo2
        except AttributeError:
            self.skipTest("no mallinfo2 in this libc")

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                "fsmblks", "uordblks", "fordblks", "keepcost")]
        mallinfo2.restype = MallInfo2

        def in_use():
            gc.collect()
            m = mallinfo2()
            return m.uordblks + m.hblkhd

        x = scaled_data(self.rng, (XR, XC))
        for _ in range(5):
            self.lib.quant(x, 1)
        before = in_use()
        for _ in range(100):
            self.lib.quant(x, 1)      # ~65 KB of results per call
        grown = in_use() - before
        self.assertLess(grown, 1 << 20, f"{grown} bytes still allocated after "
                        "100 calls: results are not freed")

    # -- failures ----------------------------------------------------------

    def test_functions_named_like_libc_symbols(self):
        # "step" and "read" are also libc symbols: the module's own calls to
        # them must not bind to libc (the library is linked -Bsymbolic).
        text = """
func.func @read(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = arith.constant dense<2.0> : tensor<4xf32>
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.mul ins(%x, %c : tensor<4xf32>, tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func @step(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = func.call @read(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""
        lib = compiler.compile_module(text)
        x = np.arange(4, dtype=np.float32)
        np.testing.assert_array_equal(lib.step(x), 2 * x)
        np.testing.assert_array_equal(lib.read(x), 2 * x)

    def test_bad_module(self):
        bad = ("func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
               "  %y = bm.quantize %x nearest : tensor<4xf32> -> tensor<4xf32>\n"
               "  return %y : tensor<4xf32>\n}\n")
        with self.assertRaises(compiler.CompileError) as cm:
            compiler.compile_module(bad)
        msg = str(cm.exception)
        self.assertEqual(cm.exception.step, "bm-opt")
        self.assertIn("bm-opt failed", msg)
        self.assertIn("error:", msg)       # the tool's own diagnostic
        self.assertIn("bm.quantize", msg)

    def test_missing_tool(self):
        old = os.environ.get("BM_OPT")
        os.environ["BM_OPT"] = "/nonexistent/bm-opt"
        try:
            with self.assertRaisesRegex(compiler.ToolNotFoundError, "BM_OPT"):
                compiler.compile_module(MODULE, use_cache=False)
        finally:
            if old is None:
                del os.environ["BM_OPT"]
            else:
                os.environ["BM_OPT"] = old

    def test_cache(self):
        lib2 = compiler.compile_module(MODULE)
        self.assertEqual(lib2.path, self.lib.path)
        self.assertTrue(os.path.isfile(lib2.lowered_path))


class QuantizeTrainingPasses(unittest.TestCase):
    """The bm-opt flags of each training format (no tools needed)."""

    def test_formats(self):
        self.assertEqual(compiler.TRAINING_FORMATS,
                         ("fp32", "bm8", "bm6", "bm5", "bm4"))
        self.assertEqual(compiler.quantize_training_passes("fp32"), [])
        self.assertEqual(compiler.quantize_training_passes("bm8"),
                         ["--bm-quantize-training=preset=bm8 "
                          "rounding=stochastic loss-grad=auto"])

    def test_options(self):
        passes = compiler.quantize_training_passes
        # floor spells nothing new: the pipeline of a floor run is the one
        # every earlier result was measured with.
        self.assertEqual(passes("bm5", "stochastic", "auto"),
                         ["--bm-quantize-training=preset=bm5 rounding=stochastic "
                          "loss-grad=auto"])
        self.assertEqual(passes("bm5", "stochastic", "auto", "floor"),
                         passes("bm5", "stochastic", "auto"))
        self.assertEqual(passes("bm4", "nearest", "bm", "fit",
                                backward_scale="floor"),
                         ["--bm-quantize-training=preset=bm4 rounding=nearest "
                          "loss-grad=bm scale=fit backward-scale=floor"])
        self.assertEqual(passes("bm6", "zero", "fp32", forward_scale="fit"),
                         ["--bm-quantize-training=preset=bm6 rounding=zero "
                          "loss-grad=fp32 forward-scale=fit"])
        self.assertEqual(passes("fp32", scale="fit"), [])
        # model-input: bm (the default) spells nothing either.
        self.assertEqual(passes("bm4", model_input="bm"), passes("bm4"))
        self.assertEqual(passes("bm4", "stochastic", "auto",
                                backward_scale="fit", model_input="fp32"),
                         ["--bm-quantize-training=preset=bm4 rounding=stochastic "
                          "loss-grad=auto backward-scale=fit model-input=fp32"])

    def test_bad_options(self):
        passes = compiler.quantize_training_passes
        with self.assertRaisesRegex(ValueError, "unknown format 'bm7'; use one "
                                    "of fp32, bm8, bm6, bm5, bm4"):
            passes("bm7")
        with self.assertRaisesRegex(ValueError, "unknown rounding 'up'"):
            passes("bm6", rounding="up")
        with self.assertRaisesRegex(ValueError, "unknown loss_grad 'bf16'"):
            passes("bm6", loss_grad="bf16")
        with self.assertRaisesRegex(ValueError, "unknown scale 'ceil'"):
            passes("bm6", scale="ceil")
        with self.assertRaisesRegex(ValueError, "unknown forward_scale"):
            passes("bm6", forward_scale="Fit")
        with self.assertRaisesRegex(ValueError, "unknown backward_scale"):
            passes("fp32", backward_scale="round")
        with self.assertRaisesRegex(ValueError, "unknown model_input 'int8'; "
                                    "use one of bm, fp32"):
            passes("bm4", model_input="int8")


if __name__ == "__main__":
    unittest.main()
