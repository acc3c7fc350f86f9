"""A small textual MLIR builder: tensors, linalg on tensors, arith.

Only what the front end's lowering of aten ops needs. Every SSA name of a
function (its body and the regions nested in it) is unique, so the text
parses regardless of MLIR's scoping rules.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

__all__ = ["Val", "FunctionBuilder", "BodyBuilder", "tensor_type", "f32_literal"]


def tensor_type(shape: Sequence[int], dtype: str = "f32") -> str:
    return "tensor<" + "".join("%dx" % d for d in shape) + dtype + ">"


def f32_literal(value: float) -> str:
    """An exact f32 literal (hex bits for non-finite values)."""
    v = struct.unpack("<f", struct.pack("<f", float(value)))[0]
    if math.isnan(v) or math.isinf(v):
        return "0x%08X" % struct.unpack("<I", struct.pack("<f", v))[0]
    # The shortest repr of the double equal to the f32 value reads back as
    # that f32 value exactly.
    text = repr(v)
    if "e" not in text and "." not in text:
        text += ".0"
    return text


@dataclass
class Val:
    """An SSA tensor value: name, static shape, element type."""
    name: str
    shape: Tuple[int, ...]
    dtype: str = "f32"
    # Set when this value is a linalg.transpose of `source` by `perm`.
    transpose_of: Optional[Tuple["Val", Tuple[int, ...]]] = field(
        default=None, repr=False, compare=False)

    @property
    def type(self) -> str:
        return tensor_type(self.shape, self.dtype)

    @property
    def rank(self) -> int:
        return len(self.shape)


def _affine_map(ndims: int, exprs: Sequence[str]) -> str:
    dims = ", ".join("d%d" % i for i in range(ndims))
    return "affine_map<(%s) -> (%s)>" % (dims, ", ".join(exprs))


class BodyBuilder:
    """Emits the ops of a region (a linalg.generic body, a tensor.pad
    yield)."""

    def __init__(self, fb: "FunctionBuilder", indent: str):
        self.fb = fb
        self.indent = indent
        self.lines: List[str] = []

    def op(self, text: str, hint: str = "t") -> str:
        name = self.fb.fresh(hint)
        self.lines.append("%s%s = %s" % (self.indent, name, text))
        return name

    # arith helpers -------------------------------------------------------
    def cf(self, value: float) -> str:
        return self.op("arith.constant %s : f32" % f32_literal(value), "cst")

    def ci(self, value: int, ty: str = "index") -> str:
        return self.op("arith.constant %d : %s" % (value, ty), "c")

    def index(self, dim: int) -> str:
        return self.op("linalg.index %d : index" % dim, "i")

    def f(self, opname: str, *operands: str) -> str:
        return self.op("arith.%s %s : f32" % (opname, ", ".join(operands)))

    def i(self, opname: str, *operands: str, ty: str = "index") -> str:
        return self.op("arith.%s %s : %s" % (opname, ", ".join(operands), ty))

    def cmpf(self, pred: str, a: str, b: str) -> str:
        return self.op("arith.cmpf %s, %s, %s : f32" % (pred, a, b))

    def cmpi(self, pred: str, a: str, b: str, ty: str = "index") -> str:
        return self.op("arith.cmpi %s, %s, %s : %s" % (pred, a, b, ty))

    def select(self, cond: str, a: str, b: str, ty: str = "f32") -> str:
        return self.op("arith.select %s, %s, %s : %s" % (cond, a, b, ty))

    def math(self, opname: str, a: str) -> str:
        return self.op("math.%s %s : f32" % (opname, a))

    # index arithmetic with constants --------------------------------------
    def iadd(self, a: str, k: int) -> str:
        return a if k == 0 else self.i("addi", a, self.ci(k))

    def imul(self, a: str, k: int) -> str:
        return a if k == 1 else self.i("muli", a, self.ci(k))


_DEF = re.compile(r"^\s*(%[A-Za-z_]\w*)(?::\d+)? = ")
_USE = re.compile(r"%[A-Za-z_]\w*")


@dataclass
class _Stmt:
    """One op of the function body (its text lines), or a comment."""
    lines: List[str]
    defs: Tuple[str, ...] = ()
    comment: bool = False


class FunctionBuilder:
    """Builds one func.func body as text: a list of statements (ops, and
    comments that head the ops of one source node). Every op it emits is
    free of side effects, so :meth:`finish` can drop the ones whose results
    are unused."""

    def __init__(self):
        self.stmts: List[_Stmt] = []
        self._counter = 0
        self._consts = {}
        self.indent = "  "

    @property
    def lines(self) -> List[str]:
        """Every line emitted so far (nothing dropped)."""
        return [l for s in self.stmts for l in s.lines]

    def finish(self, results: Sequence[str]) -> List[str]:
        """The body's lines without the ops whose results reach neither
        `results` nor a kept op, and without comments left heading no op."""
        used = {r.split("#")[0] for r in results}
        keep = [False] * len(self.stmts)
        for i in range(len(self.stmts) - 1, -1, -1):
            s = self.stmts[i]
            if s.comment or not any(d in used for d in s.defs):
                continue
            keep[i] = True
            for line in s.lines:
                used.update(_USE.findall(line.split("//")[0]))
        out: List[str] = []
        pending: List[str] = []
        for s, k in zip(self.stmts, keep):
            if s.comment:
                pending = list(s.lines)
            elif k:
                out.extend(pending)
                pending = []
                out.extend(s.lines)
        return out

    def fresh(self, hint: str = "v") -> str:
        self._counter += 1
        return "%%%s%d" % (hint, self._counter)

    def _stmt(self, lines: List[str]):
        m = _DEF.match(lines[0])
        self.stmts.append(_Stmt(lines, (m.group(1),) if m else ()))

    def emit(self, text: str):
        self._stmt([self.indent + text])

    def comment(self, text: str, at: Optional[int] = None):
        """A comment line (or lines) heading the ops that follow it; `at`
        inserts it before statement number `at` instead of at the end."""
        s = _Stmt([self.indent + "// " + line for line in text.splitlines()],
                  comment=True)
        self.stmts.insert(len(self.stmts) if at is None else at, s)

    # scalars ----------------------------------------------------------------
    def const_f32(self, value: float) -> str:
        lit = f32_literal(value)
        key = ("f32", lit)
        if key not in self._consts:
            name = self.fresh("cst")
            self.emit("%s = arith.constant %s : f32" % (name, lit))
            self._consts[key] = name
        return self._consts[key]

    # tensors ----------------------------------------------------------------
    def empty(self, shape, dtype="f32") -> Val:
        v = Val(self.fresh("e"), tuple(shape), dtype)
        self.emit("%s = tensor.empty() : %s" % (v.name, v.type))
        return v

    def fill(self, value: float, shape, dtype="f32") -> Val:
        e = self.empty(shape, dtype)
        if dtype == "f32":
            c = self.const_f32(value)
        else:
            c = self.fresh("c")
            self.emit("%s = arith.constant %d : %s" % (c, int(value), dtype))
        v = Val(self.fresh("z"), tuple(shape), dtype)
        self.emit("%s = linalg.fill ins(%s : %s) outs(%s : %s) -> %s"
                  % (v.name, c, dtype, e.name, e.type, v.type))
        return v

    def generic(self, ins: Sequence[Tuple[Val, Sequence[str]]],
                outs: Sequence[Tuple[Val, Sequence[str]]],
                iterators: Sequence[str],
                body: Callable[[BodyBuilder, List[str]], Sequence[str]],
                attrs: Sequence[str] = (), hint: str = "g") -> List[Val]:
        """linalg.generic; `body(bb, block_args)` returns the yielded
        names. Maps are lists of affine expressions of d0..d{n-1}."""
        n = len(iterators)
        maps = [_affine_map(n, e) for _, e in list(ins) + list(outs)]
        attr = ["indexing_maps = [%s]" % ", ".join(maps),
                "iterator_types = [%s]" % ", ".join('"%s"' % it for it in iterators)]
        attr += list(attrs)
        name = self.fresh(hint)
        results = [Val(name if len(outs) == 1 else "%s#%d" % (name, i),
                       o.shape, o.dtype) for i, (o, _) in enumerate(outs)]
        head = name if len(outs) == 1 else "%s:%d" % (name, len(outs))
        text = "%s = linalg.generic {%s}" % (head, ", ".join(attr))
        if ins:
            text += " ins(%s : %s)" % (", ".join(v.name for v, _ in ins),
                                       ", ".join(v.type for v, _ in ins))
        text += " outs(%s : %s) {" % (", ".join(v.name for v, _ in outs),
                                      ", ".join(v.type for v, _ in outs))
        lines = [self.indent + text]
        args = [self.fresh("a") for _ in list(ins) + list(outs)]
        types = [v.dtype for v, _ in list(ins) + list(outs)]
        lines.append(self.indent + "^bb0(%s):" % ", ".join(
            "%s: %s" % (a, t) for a, t in zip(args, types)))
        bb = BodyBuilder(self, self.indent + "  ")
        ys = list(body(bb, args))
        lines.extend(bb.lines)
        lines.append(self.indent + "  linalg.yield %s : %s" % (", ".join(ys), ", ".join(
            v.dtype for v, _ in outs)))
        if len(outs) == 1:
            lines.append(self.indent + "} -> %s" % outs[0][0].type)
        else:
            lines.append(self.indent + "} -> (%s)" % ", ".join(v.type for v, _ in outs))
        self._stmt(lines)
        return results

    def named(self, text: str, shape, dtype="f32", hint="r") -> Val:
        """`%r = <text>` for an op whose result type is known."""
        v = Val(self.fresh(hint), tuple(shape), dtype)
        self.emit("%s = %s" % (v.name, text))
        return v

    def transpose(self, x: Val, perm: Sequence[int]) -> Val:
        perm = tuple(perm)
        if perm == tuple(range(x.rank)):
            return x
        if x.transpose_of is not None:
            src, p0 = x.transpose_of
            # x = transpose(src, p0): x[i] = src[p0[i]]; y[j] = x[perm[j]].
            composed = tuple(p0[j] for j in perm)
            if composed == tuple(range(src.rank)):
                return src
        shape = tuple(x.shape[p] for p in perm)
        e = self.empty(shape)
        v = self.named("linalg.transpose ins(%s : %s) outs(%s : %s) permutation = [%s]"
                       % (x.name, x.type, e.name, e.type,
                          ", ".join(map(str, perm))), shape, x.dtype, "tr")
        v.transpose_of = (x, perm)
        return v

    def pad(self, x: Val, low: Sequence[int], high: Sequence[int], value: float) -> Val:
        if not any(low) and not any(high):
            return x
        shape = tuple(d + l + h for d, l, h in zip(x.shape, low, high))
        if x.dtype == "f32":
            c = self.const_f32(value)
        else:
            c = self.fresh("c")
            self.emit("%s = arith.constant %d : %s" % (c, int(value), x.dtype))
        name = self.fresh("pad")
        idx = ", ".join(self.fresh("p") + ": index" for _ in shape)
        v = Val(name, shape, x.dtype)
        self._stmt([
            self.indent + "%s = tensor.pad %s low[%s] high[%s] {" % (
                name, x.name, ", ".join(map(str, low)), ", ".join(map(str, high))),
            self.indent + "^bb0(%s):" % idx,
            self.indent + "  tensor.yield %s : %s" % (c, x.dtype),
            self.indent + "} : %s to %s" % (x.type, v.type)])
        return v

    def extract_slice(self, x: Val, offsets, sizes, strides=None) -> Val:
        strides = strides or [1] * x.rank
        if list(sizes) == list(x.shape) and not any(offsets):
            return x
        return self.named("tensor.extract_slice %s[%s] [%s] [%s] : %s to %s" % (
            x.name, ", ".join(map(str, offsets)), ", ".join(map(str, sizes)),
            ", ".join(map(str, strides)), x.type, tensor_type(sizes, x.dtype)),
            sizes, x.dtype, "sl")

    def insert_slice(self, src: Val, dst: Val, offsets, strides) -> Val:
        return self.named("tensor.insert_slice %s into %s[%s] [%s] [%s] : %s into %s" % (
            src.name, dst.name, ", ".join(map(str, offsets)),
            ", ".join(map(str, src.shape)), ", ".join(map(str, strides)),
            src.type, dst.type), dst.shape, dst.dtype, "ins")

    def reshape(self, x: Val, shape: Sequence[int]) -> Val:
        shape = tuple(shape)
        if shape == x.shape:
            return x
        if len(shape) < x.rank:
            groups = _group(x.shape, shape)
            if groups is not None:
                return self.named("tensor.collapse_shape %s %s : %s into %s" % (
                    x.name, _reassoc(groups), x.type, tensor_type(shape, x.dtype)),
                    shape, x.dtype, "rs")
        elif len(shape) > x.rank:
            groups = _group(shape, x.shape)
            if groups is not None:
                return self.named(
                    "tensor.expand_shape %s %s output_shape [%s] : %s into %s" % (
                        x.name, _reassoc(groups), ", ".join(map(str, shape)),
                        x.type, tensor_type(shape, x.dtype)), shape, x.dtype, "rs")
        # Through 1-D (or rank 0).
        n = 1
        for d in x.shape:
            n *= d
        flat = self.reshape(x, (n,)) if x.rank != 1 else x
        return self.reshape(flat, shape) if shape != (n,) else flat

    def matmul(self, a: Val, b: Val) -> Val:
        m, k = a.shape
        k2, n = b.shape
        assert k == k2, (a.shape, b.shape)
        z = self.fill(0.0, (m, n))
        return self.named("linalg.matmul ins(%s, %s : %s, %s) outs(%s : %s) -> %s" % (
            a.name, b.name, a.type, b.type, z.name, z.type, z.type), (m, n), hint="mm")

    _BMM_MAPS = (("d0", "d1", "d3"), ("d0", "d3", "d2"))

    def batch_matmul(self, a: Val, amap, b: Val, bmap) -> Val:
        """linalg.batch_matmul onto zeros; `amap`/`bmap` are the operands'
        indexing maps over (batch, m, n, k) as tuples of dims, e.g.
        ("d0", "d3", "d1") for an operand stored [batch, k, m]. Default maps
        print as the plain op."""
        amap, bmap = tuple(amap), tuple(bmap)
        pos = {"d%d" % i: i for i in range(4)}
        sizes = [None] * 4
        for v, m in ((a, amap), (b, bmap)):
            for d, e in zip(v.shape, m):
                assert sizes[pos[e]] in (None, d), (a.shape, amap, b.shape, bmap)
                sizes[pos[e]] = d
        shape = tuple(sizes[:3])
        z = self.fill(0.0, shape)
        maps = ""
        if (amap, bmap) != self._BMM_MAPS:
            maps = " indexing_maps = [%s]" % ", ".join(
                _affine_map(4, m) for m in (amap, bmap, ("d0", "d1", "d2")))
        return self.named("linalg.batch_matmul%s ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
                          % (maps, a.name, b.name, a.type, b.type, z.name, z.type,
                             z.type), shape, hint="bmm")

    def conv2d(self, x: Val, w: Val, out_hw, strides, dilations) -> Val:
        """linalg.conv_2d_nchw_fchw of x (already padded) by w onto zeros."""
        shape = (x.shape[0], w.shape[0]) + tuple(out_hw)
        z = self.fill(0.0, shape)
        return self.named(
            "linalg.conv_2d_nchw_fchw {dilations = dense<[%d, %d]> : tensor<2xi64>, "
            "strides = dense<[%d, %d]> : tensor<2xi64>} ins(%s, %s : %s, %s) "
            "outs(%s : %s) -> %s" % (dilations[0], dilations[1], strides[0], strides[1],
                                    x.name, w.name, x.type, w.type, z.name, z.type,
                                    z.type), shape, hint="conv")


def _group(long: Sequence[int], short: Sequence[int]) -> Optional[List[List[int]]]:
    """Groups of consecutive dims of `long` whose products are `short`."""
    groups: List[List[int]] = []
    i = 0
    for d in short:
        if i >= len(long):
            return None
        g = [i]
        p = long[i]
        i += 1
        while p < d and i < len(long):
            g.append(i)
            p *= long[i]
            i += 1
        if p != d:
            return None
        groups.append(g)
    while i < len(long):
        if long[i] != 1 or not groups:
            return None
        groups[-1].append(i)
        i += 1
    return groups


def _reassoc(groups) -> str:
    return "[%s]" % ", ".join("[%s]" % ", ".join(map(str, g)) for g in groups)
