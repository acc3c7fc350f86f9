"""Compiled bm.quantize (the CPU quantize kernel, Codegen/CPU) against
python/bm/numerics.py, bit for bit, on block rows wide enough for the 8-lane
path: vector steps plus scalar remainders, partial edge blocks, ranks 1-4,
all three roundings, 8/16/32-bit code storage, e = 0, and blocks holding
NaN, Inf, zeros, subnormals only, and values many binades below their block
maximum (deep right shifts, stochastic D with shifts past 32); and the fit
scale rule (numerics.md section 2), also for blocks of subnormals only in
the emax = 0 formats, where it can raise a scale below 2^-126.
Prints one line per case and 'vectorize-quantize: N case(s), M failed'."""
import sys

import numpy as np

from bm import compiler
from bm import numerics as bmn

CASES = [
    # shape, block, format, rounding[, scale rule (default floor)]
    ((13, 50), (4, 20), "e2m3", "nearest"),
    ((13, 50), (4, 20), "e2m3", "zero"),
    ((13, 50), (4, 20), "e2m3", "stochastic"),
    ((9, 203), (5, 48), "e2m3", "stochastic"),
    ((9, 203), (5, 48), "e3m2", "nearest"),
    ((3, 5, 37), (2, 2, 16), "e3m2", "stochastic"),
    ((2, 3, 4, 40), (1, 2, 3, 24), "e4m3", "stochastic"),
    ((2, 3, 4, 40), (1, 2, 3, 24), "e2m5", "nearest"),
    ((1000,), (64,), "e2m3", "stochastic"),
    ((1000,), (136,), "e0m5", "nearest"),
    ((7, 70), (3, 33), "e0m7", "stochastic"),
    ((6, 64), (6, 32), "e5m10", "stochastic"),
    ((6, 64), (2, 16), "e8m23", "nearest"),
    ((6, 64), (2, 16), "e8m23", "stochastic"),
    ((5, 96), (5, 96), "e1m6", "zero"),
    ((6, 70), (2, 35), "e8m23", "nearest"),
    ((5, 45), (5, 15), "e6m1", "stochastic"),
    ((4, 300), (2, 100), "e7m0", "zero"),
    ((13, 50), (4, 20), "e2m1", "stochastic", "fit"),
    ((9, 203), (5, 48), "e3m0", "nearest", "fit"),
    ((9, 203), (5, 48), "e2m3", "zero", "fit"),
    ((2, 3, 4, 40), (1, 2, 3, 24), "e4m3", "stochastic", "fit"),
    ((1000,), (136,), "e0m5", "nearest", "fit"),
    ((5, 96), (5, 96), "e1m6", "stochastic", "fit"),
    ((6, 64), (2, 16), "e8m23", "nearest", "fit"),
    ((6, 70), (2, 35), "e0m1", "zero", "fit"),
    # Trailing dimensions spanned by one block are merged into the last
    # (rows of 210, 210, 135, 64 and 480 elements instead of 7, 7, 9, 4, 40),
    # including partial edge blocks along the merged dimension.
    ((4, 6, 5, 7), (1, 6, 5, 7), "e2m3", "stochastic"),
    ((3, 6, 5, 7), (3, 2, 5, 7), "e3m2", "nearest"),
    ((2, 5, 3, 9), (2, 2, 3, 9), "e2m3", "stochastic", "fit"),
    ((3, 4, 4, 4), (3, 4, 4, 4), "e4m3", "zero"),
    ((2, 3, 4, 40), (1, 2, 4, 40), "e2m3", "stochastic"),
]


def make_input(shape, block, rng, top_subnormal=False):
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    n = flat.size
    # Binade spread per element: values far below their block's maximum.
    flat *= np.exp2(rng.integers(-40, 10, size=n)).astype(np.float32)
    # Ties and exact grid points.
    k = rng.integers(0, n, size=n // 8)
    flat[k] = (rng.integers(-64, 64, size=k.size) / 8.0).astype(np.float32)
    # Subnormals and zeros (both signs).
    k = rng.integers(0, n, size=n // 10)
    flat[k] = (rng.integers(-2**23, 2**23, size=k.size).astype(np.float32)
               * np.float32(2.0**-149))
    flat[rng.integers(0, n, size=3)] = -0.0
    x = flat.reshape(shape)
    # One block of subnormals only, one of zeros, one with NaN, one with Inf,
    # one of zeros and +-2^-149.
    def block_slice(idx):
        return tuple(slice(i * b, (i + 1) * b) for i, b in zip(idx, block))
    grid = [-(-s // b) for s, b in zip(shape, block)]
    picks = [tuple(int(rng.integers(0, g)) for g in grid) for _ in range(5)]
    sub = x[block_slice(picks[0])]
    sub[...] = (rng.integers(-2**20, 2**20, size=sub.shape).astype(np.float32)
                * np.float32(2.0**-149))
    x[block_slice(picks[1])] = 0.0
    # A block of zeros and the smallest subnormals (both signs): the
    # smallest block scale, where a zero must still give the code of 0.
    tiny = x[block_slice(picks[4])]
    tiny[...] = (rng.integers(-1, 2, size=tiny.shape).astype(np.float32)
                 * np.float32(2.0**-149))
    nan = x[block_slice(picks[2])].reshape(-1)
    nan[rng.integers(0, nan.size)] = np.nan
    x[block_slice(picks[2])] = nan.reshape(x[block_slice(picks[2])].shape)
    inf = x[block_slice(picks[3])].reshape(-1)
    inf[rng.integers(0, inf.size)] = -np.inf
    x[block_slice(picks[3])] = inf.reshape(x[block_slice(picks[3])].shape)
    if top_subnormal:
        # A block of subnormals in [2^-127, 2^-126): the one binade below
        # 2^-126 where a format with emax = 0 has beta < 127, so where the
        # fit rule can still raise the scale.
        top = x[block_slice(tuple(int(rng.integers(0, g)) for g in grid))]
        top[...] = (rng.integers(2**22, 2**23, size=top.shape).astype(np.float32)
                    * np.float32(2.0**-149) * rng.choice([-1, 1], size=top.shape))
    return x


def module(cases):
    funcs = []
    for i, (shape, block, fmt, rounding, *rule) in enumerate(cases):
        f = bmn.parse_format(fmt)
        scale = " scale(%s)" % rule[0] if rule and rule[0] != "floor" else ""
        dims = "x".join(map(str, shape))
        grid = "x".join(str(-(-s // b)) for s, b in zip(shape, block))
        t = "!bm.tensor<%sx%s, block = [%s]>" % (dims, fmt,
                                                 ", ".join(map(str, block)))
        x = "tensor<%sxf32>" % dims
        codes = "tensor<%sxi%d>" % (dims, f.storage_dtype.itemsize * 8)
        beta = "tensor<%sxi8>" % grid
        seed_arg = ", %seed: i64" if rounding == "stochastic" else ""
        seed_use = " seed %seed" if rounding == "stochastic" else ""
        funcs.append(f"""
func.func @case{i}(%x: {x}{seed_arg}) -> ({codes}, {beta}) {{
  %q = bm.quantize %x {rounding}{seed_use}{scale} : {x} -> {t}
  %c, %b = bm.unpack %q : {t} -> {codes}, {beta}
  return %c, %b : {codes}, {beta}
}}""")
    return "\n".join(funcs)


def main():
    rng = np.random.default_rng(20261127)
    lib = compiler.compile_module(module(CASES), use_cache=False)
    failed = 0
    for i, (shape, block, fmt, rounding, *rule) in enumerate(CASES):
        scale = rule[0] if rule else "floor"
        x = make_input(shape, block, rng, top_subnormal=scale == "fit")
        seed = int(rng.integers(0, 2**63))
        fn = getattr(lib, "case%d" % i)
        codes, beta = fn(x, seed) if rounding == "stochastic" else fn(x)
        ref = bmn.quantize(x, fmt, block, rounding, seed=seed, scale=scale)
        u = {1: np.uint8, 2: np.uint16, 4: np.uint32}[ref.codes.dtype.itemsize]
        ok_codes = np.array_equal(np.asarray(codes).view(u), ref.codes.view(u))
        ok_beta = np.array_equal(np.asarray(beta), ref.beta)
        ok = ok_codes and ok_beta
        failed += not ok
        print("%s case%d %s block=%s %s %s%s" % (
            "PASS" if ok else "FAIL", i, "x".join(map(str, shape)),
            "x".join(map(str, block)), fmt, rounding,
            "" if scale == "floor" else " scale " + scale))
        if not ok:
            bad = np.argwhere(np.asarray(codes).view(u) != ref.codes.view(u))
            print("  codes differ at %d element(s), first %s; biases %s" % (
                len(bad), bad[:3].tolist(), "ok" if ok_beta else "differ"))
    print("vectorize-quantize: %d case(s), %d failed" % (len(CASES), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
