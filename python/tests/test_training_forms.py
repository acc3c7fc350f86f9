"""Execution tests of the contraction forms bm-quantize-training recognizes
(docs/training.md, "Which contractions"): each FP32 op is rewritten,
compiled for the CPU and run, and

1. the result is bit for bit what the numpy reference of the numerics
   (python/bm/numerics.py, itself checked against the golden vectors)
   computes for the documented rewrite: each operand quantized once in its
   own layout with its documented block, stochastic seeds (seed << 16) + i
   in the order the quantize ops are created, the BM tensor then permuted,
   collapsed or broadcast exactly, and the canonical BM matmul or conv2d;
   with the vector kernels (the im2col path for convolutions) and with the
   generic lowering;
2. it lies within the error bound of numerics.md for quantizing both
   operands, around the exact float64 value of the original op (an einsum
   written from the op's own definition, not from the rewrite):
   |x - q(x)| <= max(|x| 2^-m, u) for stochastic rounding and half that for
   nearest, u = 2^(s+c) the unit of x's block, so
   |sum a b - sum q(a) q(b)| <= sum |a| e_b + e_a |b| + e_a e_b, plus one
   float32 rounding per term and per add.

A last test runs a multi-head attention step, forward and backward
(test/Transforms/QuantizeTraining/attention.mlir), in FP32, BM8 and BM6.
"""

import itertools
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
from bm import compiler, numerics  # noqa: E402

FWD = numerics.parse_format("e2m3")  # preset bm6, forward
SEED = 41


def tensor(shape):
    return "tensor<%sxf32>" % "x".join(map(str, shape))


# ---------------------------------------------------------------------------
# The numpy side: reference rewrite and error bound
# ---------------------------------------------------------------------------

def quantize(x, block, rounding, index):
    """Quantize op `index` of the step (its seed is (SEED << 16) + index)."""
    return numerics.quantize(x, FWD, block, rounding,
                             seed=(SEED << 16) + index)


def permute(q, perm):
    """bm.transpose: result dim i = dim perm[i]; codes and biases move."""
    perm = list(perm)
    return numerics.Quantized(q.fmt, tuple(q.tiles[p] for p in perm),
                              q.beta.transpose(perm), q.codes.transpose(perm))


def broadcast(q, count):
    """A leading batch dim of `count` entries with block size 1."""
    return numerics.Quantized(
        q.fmt, (1,) + q.tiles,
        np.broadcast_to(q.beta, (count,) + q.beta.shape).copy(),
        np.broadcast_to(q.codes, (count,) + q.codes.shape).copy())


def block_units(x, block):
    """2^(s+c) of each element's block (numerics.md sections 1-2), from the
    exact binary exponent of the block's largest magnitude."""
    e, m = FWD.e, FWD.m
    emax = 2 ** (e - 1) - 1
    c = 2 - 2 ** e - m
    tiles = numerics.normalize_block(x.shape, block)
    units = np.zeros(x.shape, np.float64)
    starts = [range(0, d, t) for d, t in zip(x.shape, tiles)]
    for corner in itertools.product(*starts):
        idx = tuple(slice(s, s + t) for s, t in zip(corner, tiles))
        mx = np.abs(x[idx]).astype(np.float64).max()
        s = np.frexp(mx)[1] - 1 if mx > 0 else 0
        beta = min(max(emax - s, -127), 127)
        units[idx] = 2.0 ** (emax - beta + c)
    return units


def element_error(x, block, rounding):
    """Bound on |x - q(x)| per element. `block`: the block shape of x, or
    (shape, block) when x is quantized reshaped to `shape`."""
    if isinstance(block[0], tuple):
        shape, block = block
        return element_error(x.reshape(shape), block, rounding).reshape(x.shape)
    step = np.maximum(np.abs(x).astype(np.float64) * 2.0 ** -FWD.m,
                      block_units(x, block))
    return step / 2 if rounding == "nearest" else step


class Form:
    """One FP32 op: its module, the exact float64 value of the op, and the
    reference of its documented rewrite."""

    def __init__(self, name, mlir, a_shape, b_shape, init_shape, exact,
                 reference, a_block, b_block, terms):
        self.name, self.mlir = name, mlir
        self.a_shape, self.b_shape, self.init_shape = a_shape, b_shape, init_shape
        self.exact = exact          # (a, b) float64 -> op's sum, no init
        self.reference = reference  # (a, b, init, rounding) -> float32
        self.a_block, self.b_block = a_block, b_block
        self.terms = terms          # products per output element


def module(name, a_shape, b_shape, init_shape, body, prologue=""):
    return f"""
func.func @{name}(%a: {tensor(a_shape)}, %b: {tensor(b_shape)},
                  %init: {tensor(init_shape)}, %seed: i64 {{bm.role = #bm.role<seed>}})
    -> {tensor(init_shape)} {{
{prologue}  %r = {body} outs(%init : {tensor(init_shape)}) -> {tensor(init_shape)}
  return %r : {tensor(init_shape)}
}}
"""


def conv_nhwc(x_nhwc, stride, padding, dilation, kh, kw):
    """Windows of a padded NHWC input: [N, OH, OW, KH, KW, C] (float64)."""
    x = np.pad(x_nhwc.astype(np.float64),
               ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    n, h, w, c = x.shape
    oh = (h - dilation * (kh - 1) - 1) // stride + 1
    ow = (w - dilation * (kw - 1) - 1) // stride + 1
    win = np.zeros((n, oh, ow, kh, kw, c))
    for i in range(kh):
        for j in range(kw):
            win[:, :, :, i, j, :] = x[:, i * dilation:i * dilation + stride * (oh - 1) + 1:stride,
                                      j * dilation:j * dilation + stride * (ow - 1) + 1:stride, :]
    return win


def conv_forms():
    forms = []
    # NHWC x FHWC (tosa.conv2d's lowering), zero pad 1, stride 2.
    x, w, y = (2, 9, 9, 64), (8, 3, 3, 64), (2, 5, 5, 8)
    pad = (f"  %zero = arith.constant 0.0 : f32\n"
           f"  %p = tensor.pad %a low[0, 1, 1, 0] high[0, 1, 1, 0] {{\n"
           f"  ^bb0(%i: index, %j: index, %k: index, %l: index):\n"
           f"    tensor.yield %zero : f32\n"
           f"  }} : {tensor(x)} to {tensor((2, 11, 11, 64))}\n")
    forms.append(Form(
        "nhwc_fhwc", module(
            "nhwc_fhwc", x, w, y,
            "linalg.conv_2d_nhwc_fhwc {strides = dense<2> : tensor<2xi64>, "
            f"dilations = dense<1> : tensor<2xi64>}} ins(%p, %b : "
            f"{tensor((2, 11, 11, 64))}, {tensor(w)})", pad),
        x, w, y,
        lambda a, b: np.einsum("nhwijc,fijc->nhwf", conv_nhwc(a, 2, 1, 1, 3, 3),
                               b.astype(np.float64)),
        lambda a, b, init, r: numerics.conv2d(
            permute(quantize(a, (1, 0, 0, 48), r, 0), (0, 3, 1, 2)),
            permute(quantize(b, (48, 0, 0, 48), r, 1), (0, 3, 1, 2)),
            init.transpose(0, 3, 1, 2), stride=2, padding=1).transpose(0, 2, 3, 1),
        (1, 0, 0, 48), (48, 0, 0, 48), 9 * 64))
    # NHWC x HWCF, dilation 2.
    x, w, y = (2, 9, 9, 64), (3, 3, 64, 8), (2, 5, 5, 8)
    forms.append(Form(
        "nhwc_hwcf", module(
            "nhwc_hwcf", x, w, y,
            "linalg.conv_2d_nhwc_hwcf {strides = dense<1> : tensor<2xi64>, "
            f"dilations = dense<2> : tensor<2xi64>}} ins(%a, %b : "
            f"{tensor(x)}, {tensor(w)})"),
        x, w, y,
        lambda a, b: np.einsum("nhwijc,ijcf->nhwf", conv_nhwc(a, 1, 0, 2, 3, 3),
                               b.astype(np.float64)),
        lambda a, b, init, r: numerics.conv2d(
            permute(quantize(a, (1, 0, 0, 48), r, 0), (0, 3, 1, 2)),
            permute(quantize(b, (0, 0, 48, 48), r, 1), (3, 2, 0, 1)),
            init.transpose(0, 3, 1, 2), dilation=2).transpose(0, 2, 3, 1),
        (1, 0, 0, 48), (0, 0, 48, 48), 9 * 64))
    # NCHW x FCHW, zero pad 1.
    x, w, y = (2, 64, 9, 9), (8, 64, 3, 3), (2, 8, 9, 9)
    pad = (f"  %zero = arith.constant 0.0 : f32\n"
           f"  %p = tensor.pad %a low[0, 0, 1, 1] high[0, 0, 1, 1] {{\n"
           f"  ^bb0(%i: index, %j: index, %k: index, %l: index):\n"
           f"    tensor.yield %zero : f32\n"
           f"  }} : {tensor(x)} to {tensor((2, 64, 11, 11))}\n")
    forms.append(Form(
        "nchw_fchw", module(
            "nchw_fchw", x, w, y,
            f"linalg.conv_2d_nchw_fchw ins(%p, %b : {tensor((2, 64, 11, 11))}, "
            f"{tensor(w)})", pad),
        x, w, y,
        lambda a, b: np.einsum("nhwijc,fcij->nfhw",
                               conv_nhwc(a.transpose(0, 2, 3, 1), 1, 1, 1, 3, 3),
                               b.astype(np.float64)),
        lambda a, b, init, r: numerics.conv2d(
            quantize(a, (1, 48, 0, 0), r, 0), quantize(b, (48, 48, 0, 0), r, 1),
            init, padding=1),
        (1, 48, 0, 0), (48, 48, 0, 0), 9 * 64))
    return forms


def maps(*exprs, dims):
    return ", ".join("affine_map<(%s) -> (%s)>" % (dims, e) for e in exprs)


def matmul_forms():
    forms = []
    mm = numerics.matmul
    # linalg.matmul whose maps transpose both operands: C = A^T B^T.
    a, b, c = (96, 40), (24, 96), (40, 24)
    forms.append(Form(
        "matmul_maps", module(
            "matmul_maps", a, b, c,
            "linalg.matmul indexing_maps = [%s] ins(%%a, %%b : %s, %s)"
            % (maps("k, m", "n, k", "m, n", dims="m, n, k"), tensor(a), tensor(b))),
        a, b, c,
        lambda a, b: np.einsum("km,nk->mn", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(permute(quantize(a, (48, 48), r, 0), (1, 0)),
                                 permute(quantize(b, (48, 48), r, 1), (1, 0)), init),
        (48, 48), (48, 48), 96))
    # batch_matmul with a broadcast rhs: the batch dim joins M.
    a, b, c = (3, 20, 96), (96, 24), (3, 20, 24)
    forms.append(Form(
        "bmm_broadcast_rhs", module(
            "bmm_broadcast_rhs", a, b, c,
            "linalg.batch_matmul indexing_maps = [%s] ins(%%a, %%b : %s, %s)"
            % (maps("b, m, k", "k, n", "b, m, n", dims="b, m, n, k"),
               tensor(a), tensor(b))),
        a, b, c,
        lambda a, b: np.einsum("bmk,kn->bmn", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(quantize(a.reshape(60, 96), (48, 48), r, 0),
                                 quantize(b, (48, 48), r, 1),
                                 init.reshape(60, 24)).reshape(3, 20, 24),
        ((60, 96), (48, 48)), (48, 48), 96))
    # batch_matmul with a broadcast lhs: quantized once, broadcast in BM.
    a, b, c = (24, 96), (3, 96, 16), (3, 24, 16)
    forms.append(Form(
        "bmm_broadcast_lhs", module(
            "bmm_broadcast_lhs", a, b, c,
            "linalg.batch_matmul indexing_maps = [%s] ins(%%a, %%b : %s, %s)"
            % (maps("m, k", "b, k, n", "b, m, n", dims="b, m, n, k"),
               tensor(a), tensor(b))),
        a, b, c,
        lambda a, b: np.einsum("mk,bkn->bmn", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(broadcast(quantize(a, (48, 48), r, 0), 3),
                                 quantize(b, (1, 48, 48), r, 1), init),
        (48, 48), (1, 48, 48), 96))
    # A broadcast rhs under a lhs stored [B, K, M]: the rhs is broadcast in BM.
    a, b, c = (3, 96, 20), (96, 24), (3, 20, 24)
    forms.append(Form(
        "bmm_transposed_lhs_broadcast_rhs", module(
            "bmm_transposed_lhs_broadcast_rhs", a, b, c,
            "linalg.batch_matmul indexing_maps = [%s] ins(%%a, %%b : %s, %s)"
            % (maps("b, k, m", "k, n", "b, m, n", dims="b, m, n, k"),
               tensor(a), tensor(b))),
        a, b, c,
        lambda a, b: np.einsum("bkm,kn->bmn", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(permute(quantize(a, (1, 48, 48), r, 0), (0, 2, 1)),
                                 broadcast(quantize(b, (48, 48), r, 1), 3), init),
        (1, 48, 48), (48, 48), 96))
    # A weight stored [N, K] (torch.nn.Linear), broadcast over the batch
    # and transposed by one linalg.generic, then a batch_matmul: read
    # through, the weight is quantized once and read transposed.
    a, b, c = (3, 20, 96), (24, 96), (3, 20, 24)
    prologue = (
        f"  %e = tensor.empty() : {tensor((3, 96, 24))}\n"
        f"  %wb = linalg.generic {{indexing_maps = [{maps('n, k', 'b, k, n', dims='b, k, n')}], "
        f"iterator_types = [\"parallel\", \"parallel\", \"parallel\"]}} "
        f"ins(%b : {tensor(b)}) outs(%e : {tensor((3, 96, 24))}) {{\n"
        f"  ^bb0(%x: f32, %o: f32):\n    linalg.yield %x : f32\n"
        f"  }} -> {tensor((3, 96, 24))}\n")
    forms.append(Form(
        "bmm_moved_weight", module(
            "bmm_moved_weight", a, b, c,
            f"linalg.batch_matmul ins(%a, %wb : {tensor(a)}, {tensor((3, 96, 24))})",
            prologue),
        a, b, c,
        lambda a, b: np.einsum("bmk,nk->bmn", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(quantize(a.reshape(60, 96), (48, 48), r, 0),
                                 permute(quantize(b, (48, 48), r, 1), (1, 0)),
                                 init.reshape(60, 24)).reshape(3, 20, 24),
        ((60, 96), (48, 48)), (48, 48), 96))
    # linalg.contract, a linear layer on tokens: "bse,fe->bsf".
    a, b, c = (2, 10, 96), (24, 96), (2, 10, 24)
    forms.append(Form(
        "contract_linear", module(
            "contract_linear", a, b, c,
            "linalg.contract indexing_maps = [%s] ins(%%a, %%b : %s, %s)"
            % (maps("b, s, e", "f, e", "b, s, f", dims="b, s, f, e"),
               tensor(a), tensor(b))),
        a, b, c,
        lambda a, b: np.einsum("bse,fe->bsf", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(quantize(a.reshape(20, 96), (48, 48), r, 0),
                                 permute(quantize(b, (48, 48), r, 1), (1, 0)),
                                 init.reshape(20, 24)).reshape(2, 10, 24),
        ((20, 96), (48, 48)), (48, 48), 96))
    # linalg.contract with two batch dims, attention scores "bhsd,bhtd->bhst".
    a, b, c = (2, 3, 10, 64), (2, 3, 12, 64), (2, 3, 10, 12)
    forms.append(Form(
        "contract_scores", module(
            "contract_scores", a, b, c,
            "linalg.contract indexing_maps = [%s] ins(%%a, %%b : %s, %s)"
            % (maps("b, h, s, d", "b, h, t, d", "b, h, s, t", dims="b, h, s, t, d"),
               tensor(a), tensor(b))),
        a, b, c,
        lambda a, b: np.einsum("bhsd,bhtd->bhst", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(quantize(a.reshape(6, 10, 64), (1, 48, 48), r, 0),
                                 permute(quantize(b.reshape(6, 12, 64), (1, 48, 48), r, 1),
                                         (0, 2, 1)),
                                 init.reshape(6, 10, 12)).reshape(2, 3, 10, 12),
        (1, 1, 48, 48), (1, 1, 48, 48), 64))
    # The same scores as torch.matmul's decomposition writes them: k^T a
    # 4-D transpose, both operands collapsed to [B*H, ., .], a batch_matmul.
    a, b, c = (2, 3, 10, 64), (2, 3, 12, 64), (2, 3, 10, 12)
    prologue = (
        f"  %e = tensor.empty() : {tensor((2, 3, 64, 12))}\n"
        f"  %kt = linalg.transpose ins(%b : {tensor(b)}) outs(%e : {tensor((2, 3, 64, 12))}) permutation = [0, 1, 3, 2]\n"
        f"  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : {tensor((2, 3, 64, 12))} into {tensor((6, 64, 12))}\n"
        f"  %q3 = tensor.collapse_shape %a [[0, 1], [2], [3]] : {tensor(a)} into {tensor((6, 10, 64))}\n"
        f"  %i3 = tensor.collapse_shape %init [[0, 1], [2], [3]] : {tensor(c)} into {tensor((6, 10, 12))}\n"
        f"  %s3 = linalg.batch_matmul ins(%q3, %kt3 : {tensor((6, 10, 64))}, {tensor((6, 64, 12))}) outs(%i3 : {tensor((6, 10, 12))}) -> {tensor((6, 10, 12))}\n")
    text = f"""
func.func @bmm_scores(%a: {tensor(a)}, %b: {tensor(b)}, %init: {tensor(c)},
                      %seed: i64 {{bm.role = #bm.role<seed>}}) -> {tensor(c)} {{
{prologue}  %r = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [2, 3, 10, 12] : {tensor((6, 10, 12))} into {tensor(c)}
  return %r : {tensor(c)}
}}
"""
    forms.append(Form("bmm_scores", text, a, b, c, forms[-1].exact,
                      forms[-1].reference, (1, 1, 48, 48), (1, 1, 48, 48), 64))
    # A linalg.generic with two K dims: "mij,ijn->mn".
    a, b, c = (10, 4, 24), (4, 24, 16), (10, 16)
    body = ("linalg.generic {indexing_maps = [%s], iterator_types = [\"parallel\", "
            "\"parallel\", \"reduction\", \"reduction\"]} ins(%%a, %%b : %s, %s)"
            % (maps("m, i, j", "i, j, n", "m, n", dims="m, n, i, j"), tensor(a), tensor(b)))
    text = module("generic_two_k", a, b, c, body).replace(
        f"-> {tensor(c)}\n  return", "{\n  ^bb0(%x: f32, %y: f32, %acc: f32):\n"
        "    %p = arith.mulf %x, %y : f32\n    %s = arith.addf %acc, %p : f32\n"
        f"    linalg.yield %s : f32\n  }} -> {tensor(c)}\n  return")
    forms.append(Form(
        "generic_two_k", text, a, b, c,
        lambda a, b: np.einsum("mij,ijn->mn", a.astype(np.float64), b.astype(np.float64)),
        lambda a, b, init, r: mm(quantize(a.reshape(10, 96), (48, 48), r, 0),
                                 quantize(b.reshape(96, 16), (48, 48), r, 1), init),
        ((10, 96), (48, 48)), ((96, 16), (48, 48)), 96))
    return forms


FORMS = conv_forms() + matmul_forms()


def inputs(form, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(form.a_shape).astype(np.float32)
    b = (rng.standard_normal(form.b_shape) * 0.1).astype(np.float32)
    # A few large values: their blocks' small elements lose precision.
    a.flat[rng.integers(0, a.size, 3)] = 24.0
    init = rng.standard_normal(form.init_shape).astype(np.float32)
    return a, b, init


def compiled(form, rounding, **options):
    lib = compiler.compile_module(
        form.mlir, passes=[f"--bm-quantize-training=rounding={rounding}"],
        **options)
    return getattr(lib, form.name)


class Bits(unittest.TestCase):
    """The compiled rewrite equals the numpy reference, bit for bit."""

    def check(self, rounding, **options):
        for form in FORMS:
            with self.subTest(form=form.name):
                a, b, init = inputs(form)
                got = compiled(form, rounding, **options)(a, b, init, np.int64(SEED))
                want = form.reference(a, b, init, rounding)
                self.assertEqual(got.shape, want.shape)
                diff = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
                self.assertEqual(diff.size, 0, f"{diff.size} elements differ, "
                                 f"first at {diff[:5]}")
                # BM, not FP32: the rewrite happened.
                fp32 = (form.exact(a, b) + init).astype(np.float32)
                self.assertFalse(np.array_equal(got, fp32))

    def test_stochastic(self):
        self.check("stochastic")

    def test_nearest_generic_lowering(self):
        self.check("nearest", vector_kernels=False)


class ErrorBound(unittest.TestCase):
    """Within the spec's error bound around the exact FP32 op."""

    def check(self, rounding):
        for form in FORMS:
            with self.subTest(form=form.name):
                a, b, _ = inputs(form, seed=1)
                zero = np.zeros(form.init_shape, np.float32)
                got = compiled(form, rounding)(a, b, zero, np.int64(SEED)).astype(np.float64)
                exact = form.exact(a, b)
                ea = element_error(a, form.a_block, rounding)
                eb = element_error(b, form.b_block, rounding)
                aa, ab = np.abs(a).astype(np.float64), np.abs(b).astype(np.float64)
                bound = form.exact(aa, eb) + form.exact(ea, ab) + form.exact(ea, eb)
                # float32: at most one rounding per term and per add.
                bound += 2 * form.terms * 2.0 ** -24 * form.exact(aa + ea, ab + eb)
                err = np.abs(got - exact)
                ratio = np.max(err / np.maximum(bound, 1e-300))
                self.assertTrue(np.all(err <= bound), f"max err/bound {ratio:.3f}")
                # Not vacuous: the bound is approached somewhere.
                self.assertGreater(ratio, 0.02)

    def test_nearest(self):
        self.check("nearest")

    def test_stochastic(self):
        self.check("stochastic")


class AttentionStep(unittest.TestCase):
    """test/Transforms/QuantizeTraining/attention.mlir: multi-head
    attention forward and backward; every GEMM in BM."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "test", "Transforms", "QuantizeTraining",
                               "attention.mlir")) as f:
            cls.text = f.read()
        rng = np.random.default_rng(0)
        cls.x = rng.standard_normal((2, 8, 16)).astype(np.float32)
        cls.w = [(rng.standard_normal((16, 16)) * 0.25).astype(np.float32)
                 for _ in range(4)]

    def run_step(self, passes, seed=7):
        lib = compiler.compile_module(self.text, passes=passes)
        return lib.step(self.x, *self.w, np.int64(seed))

    @staticmethod
    def rel(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    def test_fp32_step_is_the_reference_attention(self):
        # The FP32 module computes attention and its gradients: compare with
        # a float64 numpy transcription of the same step.
        x, (wq, wk, wv, wo) = self.x.astype(np.float64), [w.astype(np.float64) for w in self.w]
        B, S, E, H, D = 2, 8, 16, 2, 8
        x2 = x.reshape(B * S, E)
        heads = lambda t: t.reshape(B, S, H, D).transpose(0, 2, 1, 3)
        q, k, v = heads(x2 @ wq.T), heads(x2 @ wk.T), heads(x2 @ wv.T)
        s = q @ k.transpose(0, 1, 3, 2) * 0.353553385
        p = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
        o2 = (p @ v).transpose(0, 2, 1, 3).reshape(B * S, E)
        dy = (o2 @ wo.T) / 16
        do = heads(dy @ wo)
        dp, dv = do @ v.transpose(0, 1, 3, 2), p.transpose(0, 1, 3, 2) @ do
        ds = p * (dp - (dp * p).sum(-1, keepdims=True)) * 0.353553385
        dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
        merge = lambda t: t.transpose(0, 2, 1, 3).reshape(B * S, E)
        dq2, dk2, dv2 = merge(dq), merge(dk), merge(dv)
        want = [dq2.T @ x2, dk2.T @ x2, dv2.T @ x2, dy.T @ o2,
                (dq2 @ wq + dk2 @ wk + dv2 @ wv).reshape(B, S, E)]
        for got, ref in zip(self.run_step([]), want):
            self.assertLess(self.rel(got, ref), 1e-5)

    def test_gradients_close_to_fp32(self):
        fp32 = self.run_step([])
        bm6 = self.run_step(["--bm-quantize-training=preset=bm6"])
        bm8 = self.run_step(["--bm-quantize-training=preset=bm8"])
        for name, g6, g8, g32 in zip(["dWq", "dWk", "dWv", "dWo", "dx"],
                                     bm6, bm8, fp32):
            r6, r8 = self.rel(g6, g32), self.rel(g8, g32)
            # Errors pass through up to four quantized GEMMs (dy -> do ->
            # dp -> ds -> dq -> dWq), each e3m2 in BM6 (e4m3 in BM8).
            self.assertLess(r6, 0.35, name)
            self.assertGreater(r6, 1e-4, name)
            self.assertLess(r8, r6, name)

    def test_stochastic_step_reproduces(self):
        a = self.run_step(["--bm-quantize-training=preset=bm6"], seed=3)
        b = self.run_step(["--bm-quantize-training=preset=bm6"], seed=3)
        c = self.run_step(["--bm-quantize-training=preset=bm6"], seed=4)
        for x, y, z in zip(a, b, c):
            self.assertTrue(np.array_equal(x.view(np.uint32), y.view(np.uint32)))
            self.assertFalse(np.array_equal(x, z))


if __name__ == "__main__":
    unittest.main()
