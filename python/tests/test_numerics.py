#!/usr/bin/env python3
"""Tests of bm.numerics against docs/numerics.md and its golden vectors.

Run: /usr/bin/python3 python/tests/test_numerics.py -v
The golden vectors come from $BM_VECTORS_DIR (default:
<repo>/../shared/spec/vectors); a missing vector file is a failure.
"""

import itertools
import json
import math
import os
import sys
import unittest
from fractions import Fraction

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..")))

import numpy as np  # noqa: E402

from bm import numerics as bmn  # noqa: E402
from bm.numerics import Format  # noqa: E402


def vectors_dir():
    d = os.environ.get("BM_VECTORS_DIR")
    if not d:
        d = os.path.join(_HERE, "..", "..", "..", "shared", "spec", "vectors")
    return os.path.normpath(d)


def load_vectors(name):
    path = os.path.join(vectors_dir(), name)
    with open(path) as f:  # a missing file raises: the test fails
        cases = json.load(f)
    return path, cases


def f32_bits(hexes):
    return np.array([int(h, 16) for h in hexes], dtype=np.uint32)


def bits_hex(x):
    return ["%08x" % int(b) for b in bmn.float32_to_bits(x).reshape(-1)]


def quantize_case(c, scale=None):
    """The case's quantize; its "scale" key (floor when absent) unless
    `scale` overrides it."""
    x = f32_bits(c["input"]).view(np.float32).reshape(c["shape"])
    return bmn.quantize(x, Format(*c["format"]), c["block"], c["rounding"],
                        c["seed"], scale or c.get("scale", "floor"))


# ---------------------------------------------------------------------------
# Independent slow references (plain Python ints and Fractions)
# ---------------------------------------------------------------------------

def round_f32(v):
    """Exact rational -> float32, round to nearest even (independent of
    bm.numerics: works on Fractions with integer arithmetic)."""
    v = Fraction(v)
    if v == 0:
        return np.float32(0.0)
    neg = v < 0
    a = -v if neg else v
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    assert Fraction(2) ** e <= a < Fraction(2) ** (e + 1)
    ulp = max(e, -126) - 23
    scaled = a / Fraction(2) ** ulp
    n = scaled.numerator // scaled.denominator
    rem = scaled - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    if Fraction(n) * Fraction(2) ** ulp >= Fraction(2) ** 128:
        r = np.float32(np.inf)
    else:
        r = np.float32(math.ldexp(n, ulp))  # exactly representable
    return -r if neg else r


class SlowOperand:
    """Per-element q, scale exponent s + c and finiteness of a Quantized,
    from the block definition (numerics.md section 2)."""

    def __init__(self, t):
        self.t = t
        self.q = t.q  # int64 or object array, read element by element

    def block(self, idx):
        return tuple(i // b for i, b in zip(idx, self.t.tiles))

    def beta(self, idx):
        return int(self.t.beta[self.block(idx)])

    def qv(self, idx):
        return int(self.q[idx])

    def sc(self, idx):
        return self.t.fmt.emax - self.beta(idx) + self.t.fmt.c


def slow_dot(init, taps):
    """taps: ordered (key, qa, qb, scale, finite) with padding taps removed;
    runs are maximal stretches of equal keys (numerics.md section 5)."""
    acc = np.float32(init)
    for _, grp in itertools.groupby(taps, key=lambda t: t[0]):
        grp = list(grp)
        P = sum(qa * qb for _, qa, qb, _, _ in grp)
        _, _, _, scale, finite = grp[0]
        if not finite:
            acc = np.float32(np.nan)
            continue
        term = round_f32(Fraction(P) * Fraction(2) ** scale)
        with np.errstate(over="ignore"):
            acc = np.float32(acc + term)
    return acc


def slow_matmul(aq, bq, init):
    A, B = SlowOperand(aq), SlowOperand(bq)
    *batch, M, K = aq.shape
    N = bq.shape[-1]
    out = np.zeros(tuple(batch) + (M, N), np.float32)
    for bidx in itertools.product(*[range(d) for d in batch]):
        for i in range(M):
            for j in range(N):
                taps = []
                for k in range(K):
                    ia, ib = bidx + (i, k), bidx + (k, j)
                    taps.append(((A.block(ia), B.block(ib)), A.qv(ia), B.qv(ib),
                                 A.sc(ia) + B.sc(ib),
                                 A.beta(ia) != -128 and B.beta(ib) != -128))
                out[bidx + (i, j)] = slow_dot(init[bidx + (i, j)], taps)
    return out


def slow_conv2d(xq, wq, init, stride, padding, dilation):
    X, Wt = SlowOperand(xq), SlowOperand(wq)
    N, C, H, W = xq.shape
    F, _, KH, KW = wq.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    out = np.zeros((N, F, OH, OW), np.float32)
    for n, f, oh, ow in itertools.product(range(N), range(F), range(OH), range(OW)):
        taps = []
        for c in range(C):
            for kh in range(KH):
                for kw in range(KW):
                    ih = oh * sh - ph + kh * dh
                    iw = ow * sw - pw + kw * dw
                    if not (0 <= ih < H and 0 <= iw < W):
                        continue  # zero padding: no block, no run boundary
                    ix, iw_ = (n, c, ih, iw), (f, c, kh, kw)
                    taps.append(((X.block(ix), Wt.block(iw_)), X.qv(ix),
                                 Wt.qv(iw_), X.sc(ix) + Wt.sc(iw_),
                                 X.beta(ix) != -128 and Wt.beta(iw_) != -128))
        out[n, f, oh, ow] = slow_dot(init[n, f, oh, ow], taps)
    return out


def assert_same_bits(tc, got, want, msg=""):
    gb = bmn.float32_to_bits(got)
    wb = bmn.float32_to_bits(want)
    tc.assertEqual(gb.shape, wb.shape, msg)
    if not np.array_equal(gb, wb):
        bad = np.argwhere(gb != wb)[:5]
        detail = ", ".join("%s: got %08x want %08x" % (tuple(i), gb[tuple(i)], wb[tuple(i)])
                           for i in bad)
        tc.fail("%s float32 bits differ (%d elements): %s"
                % (msg, int((gb != wb).sum()), detail))


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

class FormatTest(unittest.TestCase):
    def test_table(self):
        # numerics.md section 1 table.
        table = {"e2m5": 252, "e4m3": 245760, "e2m3": 60, "e3m2": 448,
                 "e2m2": 28, "e3m1": 192, "e2m1": 12, "e3m0": 64}
        for name, qmax in table.items():
            f = bmn.parse_format(name)
            self.assertEqual(f.qmax, qmax, name)
            self.assertEqual(f.name, name)
        f = bmn.parse_format("e8m23")
        self.assertEqual(f.qmax, (2 ** 24 - 1) * 2 ** 254)
        self.assertEqual(f.c, 2 - 256 - 23)
        self.assertEqual(f.emax, 127)
        self.assertEqual(f.code_bits, 32)
        self.assertEqual(f.storage_dtype, np.uint32)
        self.assertEqual(f.q_dtype, object)
        self.assertEqual(bmn.parse_format("e2m3").storage_dtype, np.uint8)
        self.assertEqual(bmn.parse_format("e4m10").storage_dtype, np.uint16)
        self.assertEqual(bmn.parse_format("e0m7").qmax, 127)
        self.assertEqual(bmn.parse_format("e0m7").emax, 0)
        self.assertEqual(bmn.parse_format("e0m7").c, 1 - 7)
        self.assertEqual(bmn.parse_format((3, 2)), Format(3, 2))
        # Largest element magnitude qmax * 2^(s+c) = 2^s * (2 - 2^-m).
        for e, m in [(1, 0), (2, 3), (4, 3), (8, 23)]:
            f = Format(e, m)
            self.assertEqual(Fraction(f.qmax) * Fraction(2) ** f.c,
                             2 - Fraction(1, 2 ** m))

    def test_invalid(self):
        for bad in ["e9m1", "e1m24", "e0m0", "x2m3", "e2", "", "e-1m2"]:
            with self.assertRaises(ValueError, msg=bad):
                bmn.parse_format(bad)
        with self.assertRaises(ValueError):
            Format(2, -1)
        with self.assertRaises(ValueError):
            Format(2.0, 3)
        x = np.zeros((4, 4), np.float32)
        with self.assertRaises(ValueError):
            bmn.quantize(x, "e2m3", [2])  # rank mismatch
        with self.assertRaises(ValueError):
            bmn.quantize(x, "e2m3", [2, -2])
        with self.assertRaises(ValueError):
            bmn.quantize(x, "e2m3", [2, 2], rounding="up")


class PhiloxTest(unittest.TestCase):
    def test_known_answers(self):
        # numerics.md section 3.
        kat = [((0, 0, 0, 0), (0, 0),
                (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
               ((0xffffffff,) * 4, (0xffffffff,) * 2,
                (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
               ((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344),
                (0xa4093822, 0x299f31d0),
                (0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1))]
        for ctr, key, want in kat:
            got = bmn.philox4x32_10(np.array(ctr, np.uint32), np.array(key, np.uint32))
            self.assertEqual(got.dtype, np.uint32)
            self.assertEqual(tuple(int(w) for w in got), want)
        # Vectorized over a batch of counters.
        ctrs = np.array([k[0] for k in kat], dtype=np.uint32)
        keys = np.array([k[1] for k in kat], dtype=np.uint32)
        got = bmn.philox4x32_10(ctrs, keys)
        self.assertEqual([tuple(int(w) for w in r) for r in got], [k[2] for k in kat])

    def test_random_words(self):
        seed = 0x0123456789ABCDEF
        r = bmn.random_words(seed, 11)
        self.assertEqual(r.dtype, np.uint32)
        self.assertEqual(r.shape, (11,))
        key = (seed & 0xFFFFFFFF, seed >> 32)
        for i in range(11):
            blk = bmn.philox4x32_10((i >> 2, 0, 0, 0), key)
            self.assertEqual(int(r[i]), int(blk[i % 4]))
        self.assertEqual(bmn.random_words(0, 4).tolist(),
                         [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8])
        self.assertEqual(bmn.random_words(5, 0).shape, (0,))


class QuantizeVectorsTest(unittest.TestCase):
    def test_vectors(self):
        path, cases = load_vectors("quantize.json")
        self.assertGreater(len(cases), 0, path)
        for n, c in enumerate(cases):
            with self.subTest(case=n, note=c["note"], format=c["format"],
                              block=c["block"], rounding=c["rounding"]):
                t = quantize_case(c)
                fmt = Format(*c["format"])
                self.assertEqual(t.codes.dtype, fmt.storage_dtype)
                self.assertEqual(t.beta.dtype, np.int8)
                self.assertEqual(t.beta.reshape(-1).tolist(), c["beta"])
                self.assertEqual(t.q.reshape(-1).tolist(), c["q"])
                self.assertEqual(t.codes.reshape(-1).tolist(), c["code"])
                self.assertEqual(bits_hex(bmn.dequantize(t)), c["output"])


class QuantizeFitVectorsTest(unittest.TestCase):
    """quantize_fit.json: the ``fit`` scale rule (numerics.md section 2)."""

    def test_vectors(self):
        path, cases = load_vectors("quantize_fit.json")
        self.assertGreater(len(cases), 0, path)
        for n, c in enumerate(cases):
            with self.subTest(case=n, note=c["note"], format=c["format"],
                              block=c["block"], rounding=c["rounding"],
                              scale=c.get("scale", "floor")):
                t = quantize_case(c)
                self.assertEqual(t.beta.reshape(-1).tolist(), c["beta"])
                self.assertEqual(t.q.reshape(-1).tolist(), c["q"])
                self.assertEqual(t.codes.reshape(-1).tolist(), c["code"])
                self.assertEqual(bits_hex(bmn.dequantize(t)), c["output"])

    def test_rule_matters(self):
        # Most cases' biases differ under floor: a quantizer that ignored
        # the rule would fail test_vectors.
        _, cases = load_vectors("quantize_fit.json")
        fit = [c for c in cases if c.get("scale") == "fit"]
        differ = sum(quantize_case(c, "floor").beta.reshape(-1).tolist() != c["beta"]
                     for c in fit)
        self.assertGreater(len(fit), 0)
        self.assertGreater(2 * differ, len(fit))


class FitRuleTest(unittest.TestCase):
    """The fit rule against exact rational arithmetic."""

    def test_against_fractions(self):
        rng = np.random.default_rng(7)
        formats = [Format(e, m) for e in range(9) for m in range(24) if e + m]
        # Significands around every threshold, random ones, and powers of
        # two; exponents over the normal and subnormal binades.
        for fmt in formats:
            T = fmt.fit_threshold
            sigs = [0x800000, 0xFFFFFF, T - 1, T, T + 1] + \
                list(rng.integers(0x800000, 0x1000000, 8))
            vals = []
            for n in sigs:
                n = int(n)
                if not 0x800000 <= n <= 0xFFFFFF:
                    continue
                for exp in (-149, -140, -127, -126, -1, 0, 3, 127):
                    if exp >= -126:
                        vals.append((exp + 127) << 23 | (n & 0x7FFFFF))
                    elif n % (1 << (-126 - exp)) == 0:
                        vals.append(n >> (-126 - exp))
            x = np.array(vals, dtype=np.uint32).view(np.float32)
            # One element per block: beta is that element's.
            t = bmn.quantize(x, fmt, [1], "nearest", 0, "fit")
            qmax = fmt.qmax
            for bits, beta in zip(vals, t.beta.tolist()):
                m = Fraction(float(np.uint32(bits).view(np.float32)))
                s = math.floor(math.log2(m))
                while Fraction(2) ** s > m:
                    s -= 1
                while Fraction(2) ** (s + 1) <= m:
                    s += 1
                if m > qmax * Fraction(2) ** (s + fmt.c):
                    s += 1
                self.assertEqual(beta, max(-127, min(127, fmt.emax - s)),
                                 "%s %08x" % (fmt, bits))

    def test_no_saturation_and_one_step(self):
        rng = np.random.default_rng(8)
        for fmt in (Format(2, 1), Format(3, 0), Format(2, 3), Format(0, 3),
                    Format(4, 3), Format(1, 4)):
            x = (rng.uniform(1.5, 2.0, (16, 24)) *
                 np.exp2(rng.integers(-20, 20, (16, 24)))).astype(np.float32)
            x *= rng.choice([-1, 1], x.shape).astype(np.float32)
            for rounding in bmn.ROUNDINGS:
                fit = bmn.quantize(x, fmt, [4, 8], rounding, 3, "fit")
                floor = bmn.quantize(x, fmt, [4, 8], rounding, 3)
                raise_ = floor.beta.astype(int) - fit.beta.astype(int)
                self.assertTrue(set(raise_.reshape(-1).tolist()) <= {0, 1})
                self.assertGreater(raise_.sum(), 0)
                # Every |x| / 2^(s+c) <= qmax: nothing saturates, so each q
                # is within one grid step of t (half a step for nearest).
                sc = fit.element_scale() + fmt.c
                t = np.abs(x.astype(np.float64)) * np.exp2(-sc.astype(np.float64))
                self.assertTrue((t <= fmt.qmax).all())
                q = np.abs(fit.q.astype(np.float64))
                step = np.where(t < 2.0 ** (fmt.m + 1), 1.0,
                                np.exp2(np.floor(np.log2(np.maximum(t, 1))) - fmt.m))
                if fmt.e == 0:
                    step = np.ones_like(t)
                limit = 0.5 if rounding == "nearest" else 1.0
                self.assertTrue((np.abs(q - t) <= limit * step).all(), rounding)

    def test_bad_scale(self):
        with self.assertRaisesRegex(ValueError, "scale must be one of"):
            bmn.quantize(np.ones(4, np.float32), "e2m3", None, "nearest", 0, "ceil")


class MatmulVectorsTest(unittest.TestCase):
    def test_vectors(self):
        path, cases = load_vectors("matmul.json")
        self.assertGreater(len(cases), 0, path)
        for n, c in enumerate(cases):
            with self.subTest(case=n, a=(c["a"]["format"], c["a"]["block"]),
                              b=(c["b"]["format"], c["b"]["block"]),
                              rounding=c["a"]["rounding"]):
                aq, bq = quantize_case(c["a"]), quantize_case(c["b"])
                for t, qc in ((aq, c["a"]), (bq, c["b"])):
                    self.assertEqual(t.beta.reshape(-1).tolist(), qc["beta"])
                    self.assertEqual(t.q.reshape(-1).tolist(), qc["q"])
                    self.assertEqual(t.codes.reshape(-1).tolist(), qc["code"])
                M, K, N = c["shape"]
                self.assertEqual((aq.shape, bq.shape), ((M, K), (K, N)))
                init = f32_bits(c["init"]).view(np.float32).reshape(M, N)
                out = bmn.matmul(aq, bq, init)
                self.assertEqual(out.dtype, np.float32)
                self.assertEqual(bits_hex(out), c["output"])


class QuantizeTest(unittest.TestCase):
    def test_nd_and_block_helpers(self):
        rng = np.random.default_rng(1)
        x = rng.standard_normal((3, 5, 7)).astype(np.float32)
        t = bmn.quantize(x, "e2m3", (2, 0, 3), "nearest")
        self.assertEqual(t.tiles, (2, 5, 3))
        self.assertEqual(t.beta.shape, (2, 1, 3))
        self.assertEqual(t.codes.shape, x.shape)
        beta, codes = t  # tuple-style unpacking
        self.assertIs(beta, t.beta)
        # Nearest rounding of a block is independent of its neighbours:
        # quantizing one block alone gives the same codes.
        sub = bmn.quantize(x[2:3, :, 3:6], "e2m3", None, "nearest")
        self.assertEqual(int(sub.beta.reshape(-1)[0]), int(t.beta[1, 0, 1]))
        np.testing.assert_array_equal(sub.codes, t.codes[2:3, :, 3:6])
        # Dequantized values are within half a step of the input.
        y = bmn.dequantize(t)
        s = t.element_scale()
        step_max = np.ldexp(1.0, (s + t.fmt.c + (2 ** t.fmt.e - 2)).astype(int))
        self.assertTrue(np.all(np.abs(y - x) <= step_max / 2))
        # Empty tensors.
        e = bmn.quantize(np.zeros((0, 3), np.float32), "e2m3", [2, 2])
        self.assertEqual(e.codes.shape, (0, 3))
        self.assertEqual(bmn.dequantize(e).shape, (0, 3))

    def test_stochastic_uses_linear_index(self):
        # Equal inputs at different linear indices draw different words;
        # the same seed reproduces, another seed differs.
        x = np.full((8, 64), 1.0 + 1.0 / 16, np.float32)  # between e2m3 codes
        a = bmn.quantize(x, "e2m3", [8, 8], "stochastic", seed=7)
        b = bmn.quantize(x, "e2m3", [8, 8], "stochastic", seed=7)
        c = bmn.quantize(x, "e2m3", [8, 8], "stochastic", seed=8)
        np.testing.assert_array_equal(a.codes, b.codes)
        self.assertFalse(np.array_equal(a.codes, c.codes))
        # beta = 1, s = 0, t = 34 on a grid of step 4: q = 32 or 36 with
        # D = 2^31, so up iff r >= 2^31.
        r = bmn.random_words(7, x.size).reshape(x.shape)
        self.assertTrue(np.all((a.q == 32) | (a.q == 36)))
        np.testing.assert_array_equal(a.q == 36, r >= (1 << 31))

    def test_stochastic_boundary(self):
        # Round up iff D + r >= 2^32 (section 3): craft D = 2^32 - r exactly
        # (up) and D = 2^32 - r - 1 (down). e2m3, block max 1.0: beta = 1,
        # s = 0, c = -5; x = X * 2^-37 gives t = X * 2^-32, fl = 0, D = X.
        seed = 99
        n = 4096
        r = bmn.random_words(seed, n).astype(np.int64)
        idx = np.nonzero(r > (1 << 32) - (1 << 24) + 1)[0]
        self.assertGreaterEqual(len(idx), 2)
        i, j = int(idx[0]), int(idx[1])
        x = np.zeros((1, n), np.float32)
        x[0, (max(i, j) + 1) % n] = 1.0
        x[0, i] = np.ldexp(np.float32((1 << 32) - r[i]), -37)
        x[0, j] = np.ldexp(np.float32((1 << 32) - r[j] - 1), -37)
        t = bmn.quantize(x, "e2m3", None, "stochastic", seed)
        self.assertEqual(int(t.beta[0, 0]), 1)
        self.assertEqual(int(t.q[0, i]), 1)
        self.assertEqual(int(t.q[0, j]), 0)

    def test_dequantize_float32_edges(self):
        # e8m23 values: land below float32's normal range, and overflow.
        f = Format(8, 23)
        rng = np.random.default_rng(3)
        for beta in (127, 100, -127, -100, 0):
            codes = rng.integers(0, 2 ** 32, size=64, dtype=np.uint64).astype(np.uint32)
            t = bmn.Quantized(f, (64,), np.array([beta], np.int8), codes)
            got = bmn.dequantize(t)
            s = f.emax - beta
            want = [round_f32(Fraction(int(q)) * Fraction(2) ** (s + f.c))
                    if q != 0 else np.float32(-0.0 if (int(cd) >> 31) else 0.0)
                    for q, cd in zip(t.q.tolist(), codes)]
            assert_same_bits(self, got, np.array(want, np.float32), "beta=%d" % beta)
        # -0 and NaN.
        t = bmn.Quantized(Format(2, 3), (2,), np.array([0, -128], np.int8),
                          np.array([0x20, 0x00, 0x21, 0x05], np.uint8))
        self.assertEqual(bits_hex(bmn.dequantize(t)),
                         ["80000000", "00000000", "7fc00000", "7fc00000"])


class ScaledConversionTest(unittest.TestCase):
    def test_exact_rounding(self):
        rng = np.random.default_rng(5)
        # int64 path: P up to 2^62, including ties and sticky bits past 2^53.
        P = rng.integers(-(2 ** 62), 2 ** 62, size=400, dtype=np.int64)
        P[:50] = (rng.integers(1, 2 ** 24, 50) << 38) + (1 << 37)       # ties
        P[50:100] = (rng.integers(1, 2 ** 24, 50) << 38) + (1 << 37) + 1  # sticky
        P[100:150] = rng.integers(-(2 ** 30), 2 ** 30, 50)
        P[150] = 0
        P[151] = 2 ** 62 + 2 ** 62 - 1
        scale = rng.integers(-250, 60, size=P.shape)
        scale[:20] = rng.integers(-215, -180, 20)     # float32 subnormals
        scale[20:30] = rng.integers(66, 80, 10)       # overflow
        got = bmn.scaled_int_to_float32(P, scale)
        want = np.array([round_f32(Fraction(int(p)) * Fraction(2) ** int(s))
                         for p, s in zip(P, scale)], np.float32)
        assert_same_bits(self, got, want, "int64 path")
        # Object path: huge Python ints.
        Pb = [int(p) * (1 << int(k)) + int(j) for p, k, j in
              zip(P[:100], rng.integers(0, 400, 100), rng.integers(-3, 4, 100))]
        Pb_arr = np.empty(len(Pb), dtype=object)
        Pb_arr[:] = Pb
        sb = rng.integers(-600, -200, size=len(Pb))
        got = bmn.scaled_int_to_float32(Pb_arr, sb)
        want = np.array([round_f32(Fraction(p) * Fraction(2) ** int(s))
                         for p, s in zip(Pb, sb)], np.float32)
        assert_same_bits(self, got, want, "object path")


class ContractionTest(unittest.TestCase):
    def _q(self, shape, fmt, block, rounding="nearest", seed=0, scale=1.0,
           nan_at=None, rng=None):
        x = (rng.standard_normal(shape) * scale).astype(np.float32)
        x *= np.exp2(rng.integers(-6, 6, size=shape)).astype(np.float32)
        if nan_at is not None:
            x[nan_at] = np.nan
        return bmn.quantize(x, fmt, block, rounding, seed)

    def test_matmul_vs_slow(self):
        rng = np.random.default_rng(11)
        configs = [
            ("e2m3", [3, 5], "e3m2", [4, 2], (7, 13, 5)),
            ("e5m2", [2, 4], "e5m2", [3, 3], (5, 11, 4)),   # P beyond int64
            ("e8m23", [2, 3], "e4m3", [5, 2], (4, 9, 3)),   # huge q
            ("e0m7", [1, 0], "e2m5", [0, 1], (3, 6, 4)),
        ]
        for fa, ba, fb, bb, (M, K, N) in configs:
            with self.subTest(a=fa, b=fb):
                aq = self._q((M, K), fa, ba, "stochastic", 3, rng=rng)
                bq = self._q((K, N), fb, bb, "nearest", rng=rng)
                init = rng.standard_normal((M, N)).astype(np.float32)
                assert_same_bits(self, bmn.matmul(aq, bq, init),
                                 slow_matmul(aq, bq, init))

    def test_batch_matmul_and_nan(self):
        rng = np.random.default_rng(12)
        aq = self._q((3, 4, 10), "e2m3", [1, 2, 4], rng=rng, nan_at=(1, 0, 5))
        bq = self._q((3, 10, 5), "e3m2", [1, 3, 2], rng=rng)
        init = rng.standard_normal((3, 4, 5)).astype(np.float32)
        got = bmn.batch_matmul(aq, bq, init)
        assert_same_bits(self, got, slow_matmul(aq, bq, init))
        self.assertTrue(np.isnan(got[1, 0:2]).all())
        self.assertFalse(np.isnan(got[0]).any())
        # Any NaN result is the canonical 0x7fc00000: a NaN init with
        # another payload, and inf - inf.
        init2 = init.copy()
        init2.view(np.uint32)[2, 1, 1] = 0xffc00001
        init2[2, 2, 2] = np.inf
        init2[2, 3, 3] = -np.inf
        big = bmn.quantize(np.full((3, 4, 1), 1e30, np.float32), "e2m3", None)
        one = bmn.quantize(np.full((3, 1, 5), 1e30, np.float32), "e2m3", None)
        got = bmn.batch_matmul(big, one, init2)   # +inf terms
        self.assertEqual(bits_hex(got[2, 1, 1]), ["7fc00000"])
        self.assertEqual(bits_hex(got[2, 3, 3]), ["7fc00000"])
        self.assertEqual(bits_hex(got[2, 2, 2]), ["7f800000"])
        # init None = zeros; K = 0 returns init.
        z = bmn.matmul(aq, bq)
        assert_same_bits(self, z, slow_matmul(aq, bq, np.zeros((3, 4, 5), np.float32)))
        e0 = bmn.quantize(np.zeros((2, 0), np.float32), "e2m3", [1, 1])
        e1 = bmn.quantize(np.zeros((0, 3), np.float32), "e2m3", [1, 1])
        init3 = np.arange(6, dtype=np.float32).reshape(2, 3)
        assert_same_bits(self, bmn.matmul(e0, e1, init3), init3)
        with self.assertRaises(ValueError):
            bmn.matmul(aq, aq)

    def _conv_check(self, xshape, xfmt, xblock, wshape, wfmt, wblock,
                    stride, padding, dilation, seed, nan_at=None):
        rng = np.random.default_rng(seed)
        xq = self._q(xshape, xfmt, xblock, "stochastic", seed, rng=rng,
                     nan_at=nan_at)
        wq = self._q(wshape, wfmt, wblock, "nearest", rng=rng)
        N, F = xshape[0], wshape[0]
        H, W, KH, KW = xshape[2], xshape[3], wshape[2], wshape[3]
        OH = (H + 2 * padding[0] - dilation[0] * (KH - 1) - 1) // stride[0] + 1
        OW = (W + 2 * padding[1] - dilation[1] * (KW - 1) - 1) // stride[1] + 1
        init = rng.standard_normal((N, F, OH, OW)).astype(np.float32)
        got = bmn.conv2d(xq, wq, init, stride=stride, padding=padding,
                         dilation=dilation)
        self.assertEqual(got.shape, (N, F, OH, OW))
        want = slow_conv2d(xq, wq, init, stride, padding, dilation)
        assert_same_bits(self, got, want)
        return got

    def test_conv2d_padding_stride2(self):
        # 3x3 input blocks: taps cross spatial block edges; padding 1,
        # stride 2; the filter is one block per (f, c).
        self._conv_check((2, 3, 7, 8), "e2m3", [1, 0, 3, 3],
                         (4, 3, 3, 3), "e2m3", [1, 1, -1, -1],
                         (2, 2), (1, 1), (1, 1), seed=21)

    def test_conv2d_channel_blocks_split(self):
        # Channel blocks of 2 (input) and 3 (filter): runs are cut by both.
        self._conv_check((2, 7, 6, 6), "e3m2", [2, 2, 0, 0],
                         (3, 7, 2, 2), "e2m5", [2, 3, 0, 0],
                         (1, 1), (0, 0), (1, 1), seed=22)

    def test_conv2d_mixed(self):
        # Dilation, asymmetric stride/padding, filter blocks splitting kh,
        # and a NaN that poisons the outputs whose runs read its block.
        got = self._conv_check((1, 4, 9, 7), "e4m3", [1, 2, 4, 2],
                               (2, 4, 3, 2), "e2m2", [1, 3, 2, 1],
                               (2, 1), (2, 1), (2, 2), seed=23,
                               nan_at=(0, 1, 0, 0))
        self.assertTrue(np.isnan(got).any())
        self.assertFalse(np.isnan(got).all())

    def test_conv2d_wide(self):
        # e5m2 x e5m2: run sums need Python ints.
        self._conv_check((1, 2, 5, 5), "e5m2", [1, 1, 2, 2],
                         (2, 2, 3, 3), "e5m2", [1, 2, 2, 2],
                         (1, 1), (1, 1), (1, 1), seed=24)

    def test_conv2d_as_matmul(self):
        # A 1x1 convolution with one pixel is a matmul on [N, C] x [C, F].
        rng = np.random.default_rng(25)
        xq = self._q((3, 10, 1, 1), "e2m3", [2, 4, 1, 1], rng=rng)
        wq = self._q((5, 10, 1, 1), "e3m2", [0, 3, 1, 1], rng=rng)
        init = rng.standard_normal((3, 5, 1, 1)).astype(np.float32)
        conv = bmn.conv2d(xq, wq, init)
        aq = bmn.Quantized(xq.fmt, (2, 4), xq.beta[:, :, 0, 0],
                           xq.codes[:, :, 0, 0])
        bq = bmn.Quantized(wq.fmt, (3, 5), wq.beta[:, :, 0, 0].T,
                           wq.codes[:, :, 0, 0].T)
        mm = bmn.matmul(aq, bq, init[:, :, 0, 0])
        assert_same_bits(self, conv[:, :, 0, 0], mm)


if __name__ == "__main__":
    unittest.main()
