"""Python/numpy reference of the Block Minifloat (BM) numerics.

This module implements ``numerics.md`` (the normative specification of the
project, bit for bit):

* section 1 -- element formats X<e,m>: :class:`Format`, :func:`parse_format`;
* section 2 -- blocks and the shared exponent: :func:`quantize`;
* section 3 -- rounding and the Philox4x32-10 random words:
  :func:`philox4x32_10`, :func:`random_words`, :func:`quantize`;
* section 4 -- dequantizing: :func:`dequantize`;
* section 5 -- dot products with an exact (Kulisch) accumulator per run:
  :func:`matmul`, :func:`batch_matmul`, :func:`conv2d`,
  :func:`scaled_int_to_float32`.

Everything is vectorized with numpy; the only Python loops on the hot paths
are over the runs of a contraction. Exactness never relies on a
floating-point ``log2``: exponents come from the float bits, and every
conversion to float32 rounds exactly once (round to nearest, ties to even).

Integer forms ``q`` are int64 arrays where they fit, else object arrays of
Python ints (formats with 2^e + m > 64, e.g. e8m23, whose ``qmax`` is about
2^278).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "Format", "parse_format", "PRESETS", "ROUNDINGS", "SCALES", "NONFINITE_BETA",
    "philox4x32_10", "random_words",
    "Quantized", "quantize", "dequantize", "normalize_block", "block_grid_shape",
    "scaled_int_to_float32", "matmul", "batch_matmul", "conv2d",
    "float32_from_bits", "float32_to_bits",
]

#: beta of a non-finite block (numerics.md section 2, rule 1).
NONFINITE_BETA = -128

#: Rounding modes of numerics.md section 3.
ROUNDINGS = ("nearest", "zero", "stochastic")

#: Shared-exponent rules of numerics.md section 2: ``floor`` (the paper's)
#: and ``fit`` (s + 1 when the block maximum exceeds qmax * 2^(s+c)).
SCALES = ("floor", "fit")

_INT64_Q_BITS = 63  # |q| up to 2^63 - 1 is held in an int64 array


# ---------------------------------------------------------------------------
# Section 1: element formats
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    """The element format X<e,m> (numerics.md section 1).

    1 sign bit, ``e`` exponent bits (0..8) and ``m`` mantissa bits (0..23),
    ``e + m >= 1``; no Inf/NaN codes. A block with scale exponent ``s``
    holds ``value = q * 2^(s + c)``.
    """

    e: int
    m: int

    def __post_init__(self):
        for name in ("e", "m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"BM format: {name} must be an integer, got {v!r}")
        if not 0 <= self.e <= 8:
            raise ValueError(f"BM format: exponent bits e={self.e} out of range, "
                             "need 0 <= e <= 8")
        if not 0 <= self.m <= 23:
            raise ValueError(f"BM format: mantissa bits m={self.m} out of range, "
                             "need 0 <= m <= 23")
        if self.e + self.m < 1:
            raise ValueError("BM format: e + m must be >= 1 (e0m0 has no "
                             "magnitude bits)")
        object.__setattr__(self, "e", int(self.e))
        object.__setattr__(self, "m", int(self.m))

    @property
    def name(self) -> str:
        return f"e{self.e}m{self.m}"

    def __str__(self) -> str:
        return self.name

    @property
    def emax(self) -> int:
        """2^(e-1) - 1 for e >= 1, 0 for e = 0 (section 1)."""
        return (1 << (self.e - 1)) - 1 if self.e >= 1 else 0

    @property
    def bias(self) -> int:
        """The element's own exponent bias 2^(e-1) (e >= 1; 0 for e = 0)."""
        return 1 << (self.e - 1) if self.e >= 1 else 0

    @property
    def c(self) -> int:
        """c = 2 - 2^e - m: value = q * 2^(s + c) (section 1)."""
        return 2 - (1 << self.e) - self.m

    @property
    def qmax(self) -> int:
        """Largest |q| (Python int, may be huge): (2^(m+1)-1) * 2^(2^e-2)
        for e >= 1, 2^m - 1 for e = 0 (section 1)."""
        if self.e == 0:
            return (1 << self.m) - 1
        return ((1 << (self.m + 1)) - 1) << ((1 << self.e) - 2)

    @property
    def max_exponent_field(self) -> int:
        """Largest exponent field E = 2^e - 1 (0 for e = 0)."""
        return (1 << self.e) - 1

    @property
    def code_bits(self) -> int:
        """Significant bits of a code: 1 + e + m (section 1)."""
        return 1 + self.e + self.m

    @property
    def storage_dtype(self) -> np.dtype:
        """Unsigned integer type holding a code: uint8/uint16/uint32."""
        if self.code_bits <= 8:
            return np.dtype(np.uint8)
        if self.code_bits <= 16:
            return np.dtype(np.uint16)
        return np.dtype(np.uint32)

    @property
    def q_fits_int64(self) -> bool:
        """True when every integer form q fits an int64."""
        return self.qmax.bit_length() <= _INT64_Q_BITS

    @property
    def q_dtype(self) -> np.dtype:
        """dtype of the integer-form arrays: int64, or object (Python ints)."""
        return np.dtype(np.int64) if self.q_fits_int64 else np.dtype(object)

    @property
    def fit_threshold(self) -> int:
        """The 24-bit T (2^23 <= T < 2^24) with qmax * 2^(s+c) =
        T * 2^(s-23): a nonzero |x| with floor(log2 |x|) = s exceeds the
        largest element magnitude of scale s iff its significand,
        normalized to 24 bits, is above T (the ``fit`` rule, section 2)."""
        sig = (1 << self.m) - 1 if self.e == 0 else (2 << self.m) - 1
        return sig << (24 - sig.bit_length())

    def scale_exponent(self, beta):
        """Block scale exponent s = emax - beta (section 2)."""
        return self.emax - np.asarray(beta, dtype=np.int64)


_FORMAT_RE = re.compile(r"^\s*e(\d+)m(\d+)\s*$", re.IGNORECASE)


def parse_format(spec: Union[str, Format, Tuple[int, int]]) -> Format:
    """Parses ``"e2m3"`` (or a (e, m) pair, or a Format) into a
    :class:`Format` (numerics.md section 1). Raises ValueError."""
    if isinstance(spec, Format):
        return spec
    if isinstance(spec, str):
        mt = _FORMAT_RE.match(spec)
        if not mt:
            raise ValueError(f"BM format: cannot parse {spec!r}; expected "
                             "'e<E>m<M>', e.g. 'e2m3'")
        return Format(int(mt.group(1)), int(mt.group(2)))
    try:
        e, m = spec
    except (TypeError, ValueError):
        raise ValueError(f"BM format: expected 'e<E>m<M>' or (e, m), got {spec!r}")
    return Format(e, m)


#: The paper's presets (numerics.md section 1): name -> (forward, backward).
PRESETS = {
    "bm8": (Format(2, 5), Format(4, 3)),
    "bm6": (Format(2, 3), Format(3, 2)),
    "bm5": (Format(2, 2), Format(3, 1)),
    "bm4": (Format(2, 1), Format(3, 0)),
}


# ---------------------------------------------------------------------------
# Section 3: Philox4x32-10 random words
# ---------------------------------------------------------------------------

_PHILOX_M0 = np.uint64(0xD2511F53)
_PHILOX_M1 = np.uint64(0xCD9E8D57)
_PHILOX_W0 = 0x9E3779B9
_PHILOX_W1 = 0xBB67AE85
_MASK32 = np.uint64(0xFFFFFFFF)
_SHIFT32 = np.uint64(32)


def philox4x32_10(counter, key):
    """Philox4x32-10 (numerics.md section 3), vectorized.

    ``counter``: array-like of shape (..., 4) of uint32 words (c0..c3);
    ``key``: array-like of shape (..., 2) (k0, k1), broadcast against the
    counter. Returns a uint32 array of shape (..., 4).

    Each round maps (c0,c1,c2,c3) to
    (hi(M1*c2) ^ c1 ^ k0, lo(M1*c2), hi(M0*c0) ^ c3 ^ k1, lo(M0*c0)) with
    M0 = 0xD2511F53, M1 = 0xCD9E8D57; the key is bumped by
    (0x9E3779B9, 0xBB67AE85) after each round.
    """
    ctr = np.asarray(counter, dtype=np.uint64)
    k = np.asarray(key, dtype=np.uint64)
    if ctr.shape[-1:] != (4,):
        raise ValueError("philox4x32_10: counter must have a last dimension of 4")
    if k.shape[-1:] != (2,):
        raise ValueError("philox4x32_10: key must have a last dimension of 2")
    c0, c1, c2, c3 = (ctr[..., i] & _MASK32 for i in range(4))
    k0 = k[..., 0] & _MASK32
    k1 = k[..., 1] & _MASK32
    w0 = np.uint64(_PHILOX_W0)
    w1 = np.uint64(_PHILOX_W1)
    for rnd in range(10):
        if rnd:
            k0 = (k0 + w0) & _MASK32
            k1 = (k1 + w1) & _MASK32
        p0 = _PHILOX_M0 * c0  # < 2^64: exact in uint64
        p1 = _PHILOX_M1 * c2
        c0, c1, c2, c3 = ((p1 >> _SHIFT32) ^ c1 ^ k0, p1 & _MASK32,
                          (p0 >> _SHIFT32) ^ c3 ^ k1, p0 & _MASK32)
    out = np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1)
    return out.astype(np.uint32)


def random_words(seed: int, n: int) -> np.ndarray:
    """The random words r of stochastic rounding for row-major linear
    indices 0..n-1 (numerics.md section 3): r_i is word (i mod 4) of
    Philox4x32-10(counter = (lo32(i>>2), hi32(i>>2), 0, 0),
    key = (lo32(seed), hi32(seed))). Returns a uint32 array of length n."""
    seed = int(seed)
    if not 0 <= seed < (1 << 64):
        raise ValueError(f"random_words: seed must be a 64-bit unsigned "
                         f"integer, got {seed}")
    n = int(n)
    if n < 0:
        raise ValueError("random_words: n must be >= 0")
    groups = (n + 3) // 4
    j = np.arange(groups, dtype=np.uint64)
    ctr = np.zeros((groups, 4), dtype=np.uint64)
    ctr[:, 0] = j & _MASK32
    ctr[:, 1] = j >> _SHIFT32
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], dtype=np.uint64)
    return philox4x32_10(ctr, key).reshape(-1)[:n]


# ---------------------------------------------------------------------------
# Float bit helpers
# ---------------------------------------------------------------------------

def float32_from_bits(bits) -> np.ndarray:
    """uint32 bit patterns (ints or hex strings) -> float32 array."""
    if isinstance(bits, (list, tuple)) and bits and isinstance(bits[0], str):
        bits = [int(b, 16) for b in bits]
    return np.asarray(bits, dtype=np.uint32).view(np.float32)


def float32_to_bits(x) -> np.ndarray:
    """float32 array -> uint32 bit patterns."""
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32)).view(np.uint32)


def _bit_length(x: np.ndarray) -> np.ndarray:
    """Exact bit length of non-negative int64 values < 2^53."""
    return np.frexp(x.astype(np.float64))[1].astype(np.int64)


# ---------------------------------------------------------------------------
# Section 2: blocks
# ---------------------------------------------------------------------------

def normalize_block(shape: Sequence[int], block) -> Tuple[int, ...]:
    """Block shape -> tile sizes, each >= 1 (numerics.md section 2).

    ``block`` has one entry per dimension; 0 or -1 means the whole dimension
    (1 for an empty dimension). ``None`` means one block for the whole
    tensor. A tile larger than its dimension is one partial block."""
    shape = tuple(int(d) for d in shape)
    if block is None:
        block = (0,) * len(shape)
    elif isinstance(block, (int, np.integer)):
        block = (int(block),) * len(shape)
    block = tuple(block)
    if len(block) != len(shape):
        raise ValueError(f"block shape {list(block)} has rank {len(block)} but "
                         f"the tensor {list(shape)} has rank {len(shape)}")
    tiles = []
    for i, (d, b) in enumerate(zip(shape, block)):
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)):
            raise ValueError(f"block shape entry {i} must be an integer, got {b!r}")
        b = int(b)
        if b in (0, -1):
            tiles.append(max(d, 1))
        elif b >= 1:
            tiles.append(b)
        else:
            raise ValueError(f"block shape entry {i} is {b}; need >= 1, or 0/-1 "
                             "for the whole dimension")
    return tuple(tiles)


def block_grid_shape(shape: Sequence[int], tiles: Sequence[int]) -> Tuple[int, ...]:
    """Number of blocks per dimension, partial edge blocks included."""
    return tuple(-(-int(d) // int(t)) for d, t in zip(shape, tiles))


def _block_reduce_max(a: np.ndarray, tiles: Sequence[int]) -> np.ndarray:
    """Per-block maximum of ``a`` (any dtype supporting maximum)."""
    for ax, t in enumerate(tiles):
        if a.shape[ax] == 0:
            continue
        a = np.maximum.reduceat(a, np.arange(0, a.shape[ax], t), axis=ax)
    return a


def _expand_blocks(grid: np.ndarray, shape: Sequence[int],
                   tiles: Sequence[int]) -> np.ndarray:
    """Per-block values -> per-element values (full tensor shape)."""
    idx = np.ix_(*[np.arange(d) // t for d, t in zip(shape, tiles)])
    return grid[idx] if len(shape) else grid


# ---------------------------------------------------------------------------
# Quantized tensors
# ---------------------------------------------------------------------------

@dataclass(eq=False)
class Quantized:
    """A BM tensor: one code per element, one beta per block.

    ``beta`` (int8, block-grid shape; -128 marks a non-finite block) and
    ``codes`` (``fmt.storage_dtype``, tensor shape), with ``tiles`` the
    normalized block shape (numerics.md sections 1-2).
    """

    fmt: Format
    tiles: Tuple[int, ...]
    beta: np.ndarray
    codes: np.ndarray
    _q: Optional[np.ndarray] = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        self.fmt = parse_format(self.fmt)
        codes = np.asarray(self.codes)
        if codes.dtype.kind not in "ui":
            raise ValueError(f"Quantized: codes must be integers, got {codes.dtype}")
        if codes.size and (codes.min() < 0 or
                           int(codes.max()) >> self.fmt.code_bits):
            raise ValueError(f"Quantized: a code does not fit the "
                             f"{self.fmt.code_bits} bits of {self.fmt.name}")
        self.codes = codes.astype(self.fmt.storage_dtype, copy=False)
        self.tiles = tuple(int(t) for t in self.tiles)
        if len(self.tiles) != codes.ndim or any(t < 1 for t in self.tiles):
            raise ValueError(f"Quantized: tiles {self.tiles} must be >= 1, one "
                             f"per dimension of {codes.shape}")
        beta = np.asarray(self.beta)
        grid = block_grid_shape(codes.shape, self.tiles)
        if beta.shape != grid:
            raise ValueError(f"Quantized: beta has shape {beta.shape}, the "
                             f"block grid is {grid}")
        if beta.size and (beta.min() < -128 or beta.max() > 127):
            raise ValueError("Quantized: beta must fit a signed 8-bit integer")
        self.beta = beta.astype(np.int8, copy=False)

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.codes.shape

    @property
    def ndim(self) -> int:
        return self.codes.ndim

    @property
    def grid_shape(self) -> Tuple[int, ...]:
        return self.beta.shape

    @property
    def finite_blocks(self) -> np.ndarray:
        """bool, block-grid shape: False for a non-finite block."""
        return self.beta != NONFINITE_BETA

    @property
    def block_scale(self) -> np.ndarray:
        """Scale exponent s = emax - beta per block (int64)."""
        return self.fmt.scale_exponent(self.beta)

    def element_scale(self) -> np.ndarray:
        """s of each element's block, tensor shape (int64)."""
        return _expand_blocks(self.block_scale, self.shape, self.tiles)

    def element_finite(self) -> np.ndarray:
        """Whether each element's block is finite, tensor shape (bool)."""
        return _expand_blocks(self.finite_blocks, self.shape, self.tiles)

    def fields(self):
        """(sign, E, F) of every code as int64 arrays (section 1)."""
        f = self.fmt
        c = self.codes.astype(np.int64)
        sign = (c >> (f.e + f.m)) & 1
        E = (c >> f.m) & ((1 << f.e) - 1)
        F = c & ((1 << f.m) - 1)
        return sign, E, F

    @property
    def q(self) -> np.ndarray:
        """Signed integer forms q (section 1): int64 array, or an object
        array of Python ints when qmax does not fit an int64."""
        if self._q is None:
            self._q = _codes_to_q(self.fmt, *self.fields())
        return self._q

    def dequantize(self) -> np.ndarray:
        return dequantize(self)

    def __iter__(self):
        # (beta, codes) unpacking.
        return iter((self.beta, self.codes))


def _codes_to_q(fmt: Format, sign, E, F) -> np.ndarray:
    if fmt.e == 0:
        mant, sh = F, np.zeros_like(F)
    else:
        mant = np.where(E == 0, F, F + (1 << fmt.m))
        sh = np.maximum(E - 1, 0)
    if fmt.q_fits_int64:
        mag = mant << sh
        return np.where(sign == 1, -mag, mag)
    mag = mant.astype(object) << sh.astype(object)
    neg = sign == 1
    out = mag.copy()
    out[neg] = -mag[neg]
    return out


# ---------------------------------------------------------------------------
# Sections 2-3: quantize
# ---------------------------------------------------------------------------

def quantize(x, fmt, block=None, rounding: str = "nearest",
             seed: int = 0, scale: str = "floor") -> Quantized:
    """Quantizes an N-D float32 array to a BM tensor (numerics.md
    sections 2 and 3).

    ``fmt``: a :class:`Format` or ``"e2m3"``; ``block``: tile size per
    dimension (0/-1: whole dimension; None: one block); ``rounding``:
    ``nearest`` (ties to even), ``zero`` or ``stochastic`` (random words of
    :func:`random_words` with ``seed`` at each element's row-major linear
    index). ``scale``: the shared-exponent rule, ``floor`` (the paper's)
    or ``fit``. Other real dtypes are converted to float32 first.

    beta: -128 if the block holds a NaN/Inf (codes 0, dequantizes to NaN);
    0 if M = max|x| = 0; else clamp(emax - s, -127, 127) with
    s = floor(log2 M) taken exactly from the float32 bits, plus one under
    ``fit`` when M > qmax * 2^(s+c) (compared exactly on the significand).
    """
    fmt = parse_format(fmt)
    if rounding not in ROUNDINGS:
        raise ValueError(f"quantize: rounding must be one of {ROUNDINGS}, "
                         f"got {rounding!r}")
    if scale not in SCALES:
        raise ValueError(f"quantize: scale must be one of {SCALES}, "
                         f"got {scale!r}")
    x = np.asarray(x)
    if x.dtype != np.float32:
        if not np.issubdtype(x.dtype, np.floating) and not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"quantize: expected a float32 array, got {x.dtype}")
        x = x.astype(np.float32)
    x = np.asarray(x, order="C")  # (ascontiguousarray would make 0-d 1-d)
    shape = x.shape
    tiles = normalize_block(shape, block)
    grid = block_grid_shape(shape, tiles)
    e, m = fmt.e, fmt.m

    if x.size == 0:
        return Quantized(fmt, tiles, np.zeros(grid, np.int8),
                         np.zeros(shape, fmt.storage_dtype))

    bits = x.view(np.uint32).astype(np.int64)
    sign = (bits >> 31) & 1
    expf = (bits >> 23) & 0xFF
    frac = bits & 0x7FFFFF
    nonfinite = expf == 0xFF
    # |x| = X * 2^ex exactly, X < 2^24.
    X = np.where(expf == 0, frac, frac | 0x800000)
    X = np.where(nonfinite, 0, X)
    ex = np.where(expf == 0, -149, expf - 150)
    blen = _bit_length(X)                       # 0 for X = 0
    ZERO_LOG = np.int64(-(1 << 20))
    lg_x = np.where(X > 0, blen - 1 + ex, ZERO_LOG)  # floor(log2 |x|)

    # Section 2: the shared exponent of each block.
    s_nat = _block_reduce_max(lg_x, tiles)
    bad = _block_reduce_max(nonfinite.astype(np.uint8), tiles).astype(bool)
    if scale == "fit":
        # The block maximum's significand, normalized to 24 bits (the
        # largest |x| bit pattern also has the largest floor(log2 |x|)).
        max_bits = _block_reduce_max(np.where(nonfinite, 0, bits & 0x7FFFFFFF),
                                     tiles)
        mant = np.where(max_bits >> 23 == 0, max_bits,
                        (max_bits & 0x7FFFFF) | 0x800000)
        norm = mant << np.maximum(24 - _bit_length(mant), 0)
        s_nat = np.where((s_nat != ZERO_LOG) & (norm > fmt.fit_threshold),
                         s_nat + 1, s_nat)
    beta = np.where(s_nat == ZERO_LOG, 0, np.clip(fmt.emax - s_nat, -127, 127))
    beta = np.where(bad, NONFINITE_BETA, beta).astype(np.int64)
    s = fmt.emax - beta                         # ignored in non-finite blocks
    s_el = _expand_blocks(s, shape, tiles)
    bad_el = _expand_blocks(bad, shape, tiles)

    # Section 3: t = |x| / 2^(s+c) = X * 2^k.
    k = ex - s_el - fmt.c
    if e >= 1:
        g = np.maximum(blen - 1 + k - m, 0)     # step = 2^g
    else:
        g = np.zeros_like(k)
    d = g - k                                   # t/step = X * 2^-d
    left = np.where(X > 0, np.maximum(-d, 0), 0)
    if np.any(left > 40):   # cannot happen for float32 inputs (see spec s.2)
        raise AssertionError("quantize: internal error, t/step out of range")
    dr = np.clip(d, 0, 60)  # X < 2^24, so any shift >= 60 acts like 60 here
    fl = (X << left) >> dr
    rem = X & ((np.int64(1) << dr) - 1)
    if rounding == "nearest":
        half = np.where(dr > 0, np.int64(1) << np.maximum(dr - 1, 0), 1)
        up = (dr > 0) & ((rem > half) | ((rem == half) & ((fl & 1) == 1)))
    elif rounding == "stochastic":
        # D = floor(frac * 2^32), frac = rem / 2^dr.
        D = np.where(dr <= 32, rem << np.maximum(32 - dr, 0),
                     rem >> np.maximum(dr - 32, 0))
        r = random_words(seed, x.size).reshape(shape).astype(np.int64)
        up = (D + r) >= (np.int64(1) << 32)
    else:
        up = np.zeros(shape, dtype=bool)
    fl = fl + up

    if e >= 1:
        # Normalize a round-up onto 2^(m+1); then encode E, F; saturate.
        carry = fl == (1 << (m + 1))
        fl = np.where(carry, fl >> 1, fl)
        g = g + carry
        normal = fl >= (1 << m)
        E = np.where(normal, g + 1, 0)
        F = np.where(normal, fl - (1 << m), fl)
        sat = E > fmt.max_exponent_field
        E = np.where(sat, fmt.max_exponent_field, E)
        F = np.where(sat, (1 << m) - 1, F)
    else:
        E = np.zeros_like(fl)
        F = np.minimum(fl, (1 << m) - 1)

    code = (sign << (e + m)) | (E << m) | F
    code = np.where(bad_el, 0, code)
    return Quantized(fmt, tiles, beta.astype(np.int8),
                     code.astype(fmt.storage_dtype))


# ---------------------------------------------------------------------------
# Section 4: dequantize
# ---------------------------------------------------------------------------

def dequantize(t: Quantized) -> np.ndarray:
    """x = q * 2^(s+c) rounded once to float32 (RNE, float32 subnormals and
    overflow included), the sign from the code (-0 kept); NaN in a
    non-finite block (numerics.md section 4)."""
    fmt = t.fmt
    sign, E, F = t.fields()
    s_el = t.element_scale()
    if fmt.e == 0:
        mant, ex = F, s_el + fmt.c
    else:
        mant = np.where(E == 0, F, F + (1 << fmt.m))
        ex = np.maximum(E - 1, 0) + s_el + fmt.c
    # mant < 2^24 and |ex| < 600: the float64 value is exact, so the
    # float64 -> float32 conversion is the only rounding.
    v = np.ldexp(mant.astype(np.float64), ex.astype(np.int32))
    with np.errstate(over="ignore"):
        v = v.astype(np.float32)
    v = np.where(sign == 1, -v, v)
    v = np.where(t.element_finite(), v, np.float32(np.nan))
    return v.astype(np.float32)


# ---------------------------------------------------------------------------
# Section 5: exact conversion of a run sum and the contractions
# ---------------------------------------------------------------------------

def _py_scaled_to_f32(p: int, sc: int) -> float:
    p = int(p)
    if p == 0:
        return 0.0
    a = -p if p < 0 else p
    n = a.bit_length()
    if n > 53:
        sh = n - 53
        hi = a >> sh
        if a & ((1 << sh) - 1):
            hi |= 1                       # round to odd: sticky bit
        a, sc = hi, sc + sh
    try:
        v = math.ldexp(float(a), int(sc))
    except OverflowError:
        v = math.inf
    return -v if p < 0 else v


_py_scaled_to_f32_u = np.frompyfunc(_py_scaled_to_f32, 2, 1)


def scaled_int_to_float32(P, scale) -> np.ndarray:
    """Exact integers P times 2^scale, rounded once to float32 (RNE)
    (numerics.md section 5, ``term``).

    ``P``: int64 array or object array of Python ints (any size);
    ``scale``: int array broadcastable to P. P = 0 gives +0.0.

    Method: P is rounded to odd at 53 bits (exact if |P| < 2^53), which
    makes the float64 -> float32 rounding that follows give the correctly
    rounded float32 of the exact value (53 >= 24 + 2)."""
    P = np.asarray(P)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.int64), P.shape)
    if P.dtype == object:
        v = _py_scaled_to_f32_u(P, scale).astype(np.float64)
    else:
        P = P.astype(np.int64)
        a = np.abs(P)                                   # |P| < 2^63
        n = np.frexp(a.astype(np.float64))[1].astype(np.int64)  # bitlen or +1
        sh = np.maximum(n - 53, 0)
        hi = a >> sh
        sticky = (a & ((np.int64(1) << sh) - 1)) != 0
        hi = hi | sticky.astype(np.int64)
        v = np.ldexp(hi.astype(np.float64), (sh + scale).astype(np.int32))
        v = np.where(P < 0, -v, v)
    with np.errstate(over="ignore"):
        return v.astype(np.float32)


def _product_fits_int64(fa: Format, fb: Format, run_len: int) -> bool:
    """bits(qmaxA) + bits(qmaxB) + ceil(log2(run length)) + 1 <= 64."""
    need = (fa.qmax.bit_length() + fb.qmax.bit_length()
            + max(int(run_len) - 1, 0).bit_length() + 1)
    return need <= 64


def _int_operand(t: Quantized, exact_int64: bool) -> np.ndarray:
    q = t.q
    if exact_int64:
        return q.astype(np.int64)
    return q.astype(object)


def _as_init(init, out_shape) -> np.ndarray:
    if init is None:
        return np.zeros(out_shape, np.float32)
    a = np.asarray(init)
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    return np.array(np.broadcast_to(a, out_shape), dtype=np.float32)


def _accumulate(acc, P, scale, finite, mask=None):
    """acc + term per numerics.md section 5, in place, where ``mask``."""
    term = scaled_int_to_float32(P, scale)
    with np.errstate(over="ignore", invalid="ignore"):
        new = (acc + term).astype(np.float32)
    new = np.where(finite, new, np.float32(np.nan))
    if mask is None:
        acc[...] = new
    else:
        acc[...] = np.where(mask, new, acc)


def _canonical_nan(acc: np.ndarray) -> np.ndarray:
    """Every NaN result becomes the canonical quiet NaN 0x7fc00000 (NaN
    signs and payloads differ across hardware; the C++ reference does the
    same)."""
    acc[np.isnan(acc)] = np.float32(np.nan)
    return acc


def matmul(a_q: Quantized, b_q: Quantized, init=None) -> np.ndarray:
    """Canonical BM matmul (numerics.md section 5): A[..., M, K] x
    B[..., K, N] accumulated onto ``init`` (float32, [..., M, N]; None means
    zeros). Leading batch dimensions must match (they are not reduction
    dimensions).

    The runs are the pieces of the common refinement of A's and B's
    blockings along K, in ascending K. Per run: P = sum qA*qB exactly (int64
    when bits(qmaxA)+bits(qmaxB)+ceil(log2 run)+1 <= 64, else Python ints),
    term = P * 2^(sA+cA+sB+cB) rounded once to float32, acc = acc + term in
    float32; a non-finite block in a run makes acc NaN. Every NaN in the
    result is the canonical 0x7fc00000."""
    if not isinstance(a_q, Quantized) or not isinstance(b_q, Quantized):
        raise TypeError("matmul: operands must be Quantized tensors")
    if a_q.ndim < 2 or b_q.ndim < 2 or a_q.ndim != b_q.ndim:
        raise ValueError(f"matmul: need A[..., M, K] and B[..., K, N] of the "
                         f"same rank, got {a_q.shape} and {b_q.shape}")
    *batch, M, K = a_q.shape
    *batch_b, K2, N = b_q.shape
    if K != K2 or batch != batch_b:
        raise ValueError(f"matmul: shapes {a_q.shape} and {b_q.shape} do not "
                         "match")
    out_shape = tuple(batch) + (M, N)
    acc = _as_init(init, out_shape)
    if K == 0 or acc.size == 0:
        return acc
    ta, tb = a_q.tiles[-1], b_q.tiles[-2]
    bounds = sorted(set(range(0, K, ta)) | set(range(0, K, tb)) | {K})
    runs = list(zip(bounds[:-1], bounds[1:]))
    max_run = max(k1 - k0 for k0, k1 in runs)
    exact64 = _product_fits_int64(a_q.fmt, b_q.fmt, max_run)
    qa = _int_operand(a_q, exact64)
    qb = _int_operand(b_q, exact64)
    sa = a_q.element_scale() + a_q.fmt.c
    sb = b_q.element_scale() + b_q.fmt.c
    fa = a_q.element_finite()
    fb = b_q.element_finite()
    for k0, k1 in runs:
        P = np.matmul(qa[..., :, k0:k1], qb[..., k0:k1, :])
        scale = sa[..., :, k0, None] + sb[..., None, k0, :]
        finite = fa[..., :, k0, None] & fb[..., None, k0, :]
        _accumulate(acc, P, scale, finite)
    return _canonical_nan(acc)


def batch_matmul(a_q: Quantized, b_q: Quantized, init=None) -> np.ndarray:
    """Batched canonical BM matmul: A[B, M, K] x B[B, K, N] (numerics.md
    section 5; the batch dimension is not a reduction dimension)."""
    if a_q.ndim != 3 or b_q.ndim != 3:
        raise ValueError("batch_matmul: need 3-D operands [B, M, K] and [B, K, N]")
    return matmul(a_q, b_q, init)


def _pair(v, name):
    if isinstance(v, (int, np.integer)):
        v = (int(v), int(v))
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise ValueError(f"conv2d: {name} must be an int or a pair")
    return v


def conv2d(x_q: Quantized, w_q: Quantized, init=None, stride=(1, 1),
           padding=(0, 0), dilation=(1, 1)) -> np.ndarray:
    """Canonical BM 2-D convolution, NCHW input x FCHW filter -> NFHW
    (numerics.md section 5).

    out[n,f,oh,ow] = init + sum over runs; the reduction indices (c, kh, kw)
    are walked row-major; a tap reads x[n, c, oh*sh - ph + kh*dh,
    ow*sw - pw + kw*dw]. Taps reading the zero padding are skipped and
    neither start nor end a run; a run is a maximal stretch of consecutive
    (non-padding) taps on which both the input block and the filter block
    stay the same. Per run, as :func:`matmul` (NaN results canonical)."""
    if not isinstance(x_q, Quantized) or not isinstance(w_q, Quantized):
        raise TypeError("conv2d: operands must be Quantized tensors")
    if x_q.ndim != 4 or w_q.ndim != 4:
        raise ValueError("conv2d: need x [N, C, H, W] and w [F, C, KH, KW]")
    Nn, C, H, W = x_q.shape
    Fo, C2, KH, KW = w_q.shape
    if C != C2:
        raise ValueError(f"conv2d: channel mismatch {x_q.shape} vs {w_q.shape}")
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise ValueError("conv2d: stride/dilation must be >= 1, padding >= 0")
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    OH, OW = max(OH, 0), max(OW, 0)
    out_shape = (Nn, Fo, OH, OW)
    acc = _as_init(init, out_shape)
    R = C * KH * KW
    if acc.size == 0 or R == 0:
        return acc
    npos = OH * OW

    # Tap geometry, positions p = (oh, ow) row-major, taps r = (c, kh, kw).
    c_r, kh_r, kw_r = (a.reshape(-1) for a in np.meshgrid(
        np.arange(C), np.arange(KH), np.arange(KW), indexing="ij"))
    oh_p, ow_p = (a.reshape(-1) for a in np.meshgrid(
        np.arange(OH), np.arange(OW), indexing="ij"))
    ih = oh_p[:, None] * sh - ph + kh_r[None, :] * dh          # [P, R]
    iw = ow_p[:, None] * sw - pw + kw_r[None, :] * dw
    valid = (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
    ihc = np.clip(ih, 0, max(H - 1, 0))
    iwc = np.clip(iw, 0, max(W - 1, 0))

    # Block keys along the reduction (the batch and filter-output blocks do
    # not change along r, so run boundaries depend on the position only).
    bx = x_q.tiles
    bw = w_q.tiles
    in_key = np.stack(np.broadcast_arrays(c_r[None, :] // bx[1], ihc // bx[2],
                                          iwc // bx[3]), axis=-1)       # [P,R,3]
    w_key = np.stack([c_r // bw[1], kh_r // bw[2], kw_r // bw[3]], axis=-1)  # [R,3]
    key = np.concatenate([in_key, np.broadcast_to(w_key, in_key.shape)], axis=-1)

    # Run starts: a valid tap whose key differs from the previous valid tap's.
    idx = np.where(valid, np.arange(R)[None, :], -1)
    prev_valid = np.maximum.accumulate(idx, axis=1)      # last valid tap <= r
    prev_valid = np.concatenate([np.full((npos, 1), -1), prev_valid[:, :-1]], axis=1)
    pv = np.maximum(prev_valid, 0)
    prev_key = np.take_along_axis(key, pv[:, :, None], axis=1)
    differs = np.any(prev_key != key, axis=-1) | (prev_valid < 0)
    start = valid & differs
    # Runs in flat (p, r) order: position, first tap, index j within the
    # position (the order in which the position adds them), length.
    start_f = start.reshape(-1)
    run_start = np.nonzero(start_f)[0]                   # flat p*R + r
    if run_start.size == 0:
        return acc
    run_pos = run_start // R
    run_r = run_start % R
    first_of_pos = np.searchsorted(run_pos, np.arange(npos))
    run_j = np.arange(run_start.size) - first_of_pos[run_pos]
    run_of_tap = np.cumsum(start_f) - 1
    run_len = np.bincount(run_of_tap[valid.reshape(-1)], minlength=run_start.size)
    exact64 = _product_fits_int64(x_q.fmt, w_q.fmt, int(run_len.max()))

    qx = _int_operand(x_q, exact64)
    qw = _int_operand(w_q, exact64).reshape(Fo, R)
    # im2col of x: [N, P, R], zero on padding taps. Every valid tap lies
    # between its run's start and the next run's start, so a segmented sum
    # over the flat (p, r) axis from run start to run start is P of the run
    # (the zero padding taps add nothing).
    cols = qx[:, c_r[None, :], ihc, iwc]
    cols = np.where(valid[None], cols, 0).astype(qx.dtype)
    Pr = np.empty((Nn, Fo, run_start.size), dtype=qx.dtype)
    chunk = max(1, (1 << 22) // max(1, Fo * npos * R))
    for n0 in range(0, Nn, chunk):
        prod = cols[n0:n0 + chunk, None, :, :] * qw[None, :, None, :]  # [n,F,P,R]
        prod = prod.reshape(prod.shape[0], Fo, npos * R)
        Pr[n0:n0 + chunk] = np.add.reduceat(prod, run_start, axis=2)

    # Scales and finiteness of each run (from its first tap).
    sx = x_q.element_scale() + x_q.fmt.c
    fx = x_q.element_finite()
    sw_ = (w_q.element_scale() + w_q.fmt.c).reshape(Fo, R)
    fw = w_q.element_finite().reshape(Fo, R)
    ih_f = ihc[run_pos, run_r]
    iw_f = iwc[run_pos, run_r]
    sx_run = sx[:, c_r[run_r], ih_f, iw_f]                   # [N, runs]
    fx_run = fx[:, c_r[run_r], ih_f, iw_f]
    sw_run = sw_[:, run_r]                                   # [F, runs]
    fw_run = fw[:, run_r]

    # Add the runs of every position in order: the j-th runs of all
    # positions at once.
    acc_v = acc.reshape(Nn, Fo, npos)
    order = np.argsort(run_j, kind="stable")
    bounds = np.searchsorted(run_j[order], np.arange(int(run_j.max()) + 2))
    for j in range(int(run_j.max()) + 1):
        sel = order[bounds[j]:bounds[j + 1]]
        pos = run_pos[sel]                                   # distinct
        cur = acc_v[:, :, pos]
        scale = sx_run[:, None, sel] + sw_run[None, :, sel]
        finite = fx_run[:, None, sel] & fw_run[None, :, sel]
        _accumulate(cur, Pr[:, :, sel], scale, finite)
        acc_v[:, :, pos] = cur
    return _canonical_nan(acc_v.reshape(out_shape))
