"""Lowering of a traced aten graph (torch.fx, from :mod:`bm.frontend.trace`)
to MLIR: linalg on tensors, tensor and arith ops.

The graph holds core aten ops only: PyTorch's decompositions
(:data:`bm.frontend.trace.DECOMPOSITIONS`) have already turned batch norm,
layer norm, softmax, GELU, addmm and the like into elementwise math,
reductions and views, and functionalization has made every op
out-of-place. This module lowers that core set (:data:`SUPPORTED_OPS`):

* **elementwise** ops (arithmetic, math functions, comparisons, ``where``,
  broadcasts by ``aten.expand``): fused. An elementwise value that has one
  consumer, itself elementwise over the same shape or a reduction (``sum``,
  ``mean``, ``amax``), is not emitted on its own: it becomes part of its
  consumer's ``linalg.generic`` body. Every other elementwise value is one
  ``linalg.generic`` whose inputs are the tensors its fused tree reads;
  a bare broadcast or copy is tagged ``bm.data_movement``.
* **reductions**: a ``linalg.generic`` onto a ``linalg.fill``.
* **views** (view, reshape, squeeze, unsqueeze, transpose, permute, slice,
  select, split, cat, scatter into slices): ``tensor.collapse_shape`` /
  ``expand_shape``, ``linalg.transpose``, ``tensor.extract_slice`` /
  ``insert_slice``.

Contractions follow the conventions that bm-quantize-training relies on:

* ``aten.mm`` -> ``linalg.matmul`` on 2-D tensors onto a zero
  ``linalg.fill``; a transposed operand is an explicit ``linalg.transpose``
  (permutation [1, 0]), which the rewrite reads through. Double transposes
  cancel.
* ``aten.bmm`` -> ``linalg.batch_matmul``; an operand that is a transpose
  of the last two dims of a rank-3 tensor is read through the op's indexing
  map instead (``linalg.batch_matmul indexing_maps = [...]``, batch dim
  first), so no transposed copy is made.
* ``aten.convolution`` -> ``tensor.pad`` (0.0 on H and W, low == high) +
  ``linalg.conv_2d_nchw_fchw``; bias by an elementwise op.
* ``aten.convolution_backward`` -> ``linalg.conv_2d_nchw_fchw`` ops too:

  - data gradient: the output gradient, zero-inserted (stride > 1, as a
    strided ``tensor.insert_slice`` into zeros, which also adds the rows and
    columns the forward convolution did not reach), padded by
    ``k_eff - 1 - p`` (``tensor.pad``), convolved with the filter flipped in
    H and W and with its two channel dimensions swapped (one
    ``linalg.generic`` tagged ``bm.data_movement``; for dilation d the
    flipped filter is zero-inserted too, ``k_eff = d (k - 1) + 1``), stride 1;
  - weight gradient: the input with batch and channel swapped
    (``linalg.transpose`` [1, 0, 2, 3]), padded by p, convolved with the
    output gradient with batch and channel swapped as the filter, strides =
    the forward dilation, dilations = the forward stride; the result is
    sliced to the kernel size (when the forward convolution left rows or
    columns unread) and transposed back [1, 0, 2, 3]. Taps that read only
    padding (a 3x3 kernel on a 1x1 image) have a zero gradient: the
    convolution then computes the other taps only, from the rows they
    read, and a zero tensor.pad restores the kernel size, so every window
    of the convolution holds data;
  - bias gradient: a sum over N, H, W.
* Pooling (max with indices, average) and their backward passes are
  ``linalg.generic`` window ops.

Ops whose results are never used are dropped from the function
(:meth:`bm.frontend.mlir.FunctionBuilder.finish`).
"""

from __future__ import annotations

import operator
from typing import Dict, List, Optional, Sequence, Tuple

from .mlir import FunctionBuilder, Val

__all__ = ["UnsupportedOpError", "AtenLowering", "SUPPORTED_OPS", "Lazy"]


class UnsupportedOpError(NotImplementedError):
    """An aten op (or an argument of one) that the front end cannot lower."""

    def __init__(self, message, op=None, module=None):
        super().__init__(message)
        self.op = op
        self.module = module


_HANDLERS: Dict[str, str] = {}
_ELEMENTWISE = set()   # ops whose lowering is elementwise (fusable consumers)
_REDUCTIONS = set()    # reductions that fuse an elementwise input


def _handles(*names, elementwise=False, reduction=False):
    def deco(fn):
        for n in names:
            _HANDLERS[n] = fn.__name__
            if elementwise:
                _ELEMENTWISE.add(n)
            if reduction:
                _REDUCTIONS.add(n)
        return fn
    return deco


def _ids(rank: int) -> List[str]:
    return ["d%d" % i for i in range(rank)]


def _bcast_map(shape, out_shape) -> List[str]:
    off = len(out_shape) - len(shape)
    return ["0" if d == 1 and out_shape[i + off] != 1 else "d%d" % (i + off)
            for i, d in enumerate(shape)]


def _broadcast_shapes(*shapes):
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        ds = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0}
        ds.discard(1)
        if len(ds) > 1:
            raise UnsupportedOpError("shapes do not broadcast: %s" % (shapes,))
        out.append(ds.pop() if ds else 1)
    return tuple(out)


def _pair(v, what="argument"):
    if isinstance(v, int):
        return (v, v)
    v = list(v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise UnsupportedOpError("expected 1 or 2 values for %s, got %r" % (what, v))
    return tuple(v)


def _prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


_TORCH_DTYPES = {"torch.float32": "f32", "torch.bool": "i1", "torch.int64": "i64"}


def _dtype_name(torch_dtype) -> Optional[str]:
    return _TORCH_DTYPES.get(str(torch_dtype))


# ---------------------------------------------------------------------------
# Fused elementwise values
# ---------------------------------------------------------------------------

class _Leaf:
    """A tensor read through a map: one affine expression ("dK" or "0")
    per dim of `val`, over the dims of the value being built."""
    __slots__ = ("val", "map")

    def __init__(self, val: Val, map_: Sequence[str]):
        self.val, self.map = val, tuple(map_)


class _Const:
    __slots__ = ("value", "dtype")

    def __init__(self, value, dtype="f32"):
        self.value, self.dtype = value, dtype


class _Op:
    """`fn(bb, *operand scalars) -> scalar` of the kids' values."""
    __slots__ = ("fn", "kids")

    def __init__(self, fn, kids):
        self.fn, self.kids = fn, list(kids)


class Lazy:
    """An elementwise value not emitted yet: a tree of ops over leaves
    (tensors read through broadcasting maps) and constants, with the shape
    and element type of the result. :meth:`AtenLowering.val` emits it."""

    def __init__(self, shape, dtype, tree, fused=()):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.tree = tree
        self.fused = list(fused)   # the graph nodes computed in the tree

    @property
    def rank(self) -> int:
        return len(self.shape)

    def is_cheap(self) -> bool:
        """A constant or a plain (broadcast) read: free to recompute."""
        return isinstance(self.tree, (_Leaf, _Const))


def _fused(xs) -> List[str]:
    out: List[str] = []
    for x in xs:
        out.extend(f for f in x.fused if f not in out)
    return out


def _remap(tree, m: Sequence[str]):
    """The tree with every leaf map rewritten through m (old dim i -> m[i])."""
    if isinstance(tree, _Leaf):
        return _Leaf(tree.val, [e if e == "0" else m[int(e[1:])] for e in tree.map])
    if isinstance(tree, _Op):
        return _Op(tree.fn, [_remap(k, m) for k in tree.kids])
    return tree


def _leaves(tree, out: Dict):
    if isinstance(tree, _Leaf):
        out.setdefault((tree.val.name, tree.map), tree)
    elif isinstance(tree, _Op):
        for k in tree.kids:
            _leaves(k, out)
    return out


def _const_text(value, dtype) -> Tuple[str, str]:
    if dtype == "i1":
        return ("true" if value else "false"), "i1"
    if dtype in ("i64", "i32"):
        return "%d" % int(value), dtype
    from .mlir import f32_literal
    return f32_literal(value), "f32"


def _consts(tree, out: Dict):
    if isinstance(tree, _Const):
        out.setdefault(_const_text(tree.value, tree.dtype), tree)
    elif isinstance(tree, _Op):
        for k in tree.kids:
            _consts(k, out)
    return out


def _eval(bb, tree, slots: Dict, memo: Dict = None) -> str:
    """Emits the scalar ops of `tree` into a body (its constants first, one
    per value); `slots` maps leaf keys to block arguments."""
    if memo is None:
        memo = {}
        for (text, ty) in _consts(tree, {}):
            memo[(text, ty)] = bb.op("arith.constant %s : %s" % (text, ty), "cst")
    key = id(tree)
    if key in memo:
        return memo[key]
    if isinstance(tree, _Leaf):
        r = slots[(tree.val.name, tree.map)]
    elif isinstance(tree, _Const):
        r = memo[_const_text(tree.value, tree.dtype)]
    else:
        r = tree.fn(bb, *[_eval(bb, k, slots, memo) for k in tree.kids])
    memo[key] = r
    return r


class AtenLowering:
    """Lowers the live nodes of an fx graph of core aten ops into a
    FunctionBuilder.

    ``env`` maps fx nodes to Val (or tuples, or python values); placeholders
    must be bound by the caller. ``grad_seed`` is the node whose op gets the
    ``bm.grad_seed`` attribute. ``module_of`` maps an op name to a module
    description, for error messages (or is a callable returning that map).
    """

    def __init__(self, fb: FunctionBuilder, env, grad_seed=None, module_of=None):
        self.fb = fb
        self.env = env
        self.grad_seed = grad_seed
        self.module_of = module_of or {}
        self._users: Dict = {}
        self._barriers = set()

    # -- driver -----------------------------------------------------------

    @staticmethod
    def op_name(node) -> str:
        if node.target is operator.getitem:
            return "getitem"
        return str(node.target)

    def _where(self, name):
        m = self.module_of
        if callable(m):
            m = self.module_of = m()
        return (m or {}).get(name)

    def check_supported(self, nodes):
        ops = [n for n in nodes if n.op == "call_function"
               and self.op_name(n) not in _HANDLERS]
        other = [n for n in nodes
                 if n.op not in ("call_function", "placeholder", "output")]
        if ops:
            name = self.op_name(ops[0])
            where = self._where(name)
            rest = sorted({self.op_name(m) for m in ops[1:]} - {name})
            msg = "bm.frontend: unsupported aten op %s" % name
            if where:
                msg += " (in module %s)" % where
            msg += ("; the front end lowers the core ops listed in "
                    "bm.frontend.SUPPORTED_OPS, after PyTorch's decompositions "
                    "of the composite ops in bm.frontend.DECOMPOSITIONS (Linear, "
                    "Conv2d with groups=1, pooling, BatchNorm, LayerNorm, "
                    "GroupNorm, multi-head attention, ReLU/GELU/SiLU/Tanh/"
                    "Sigmoid and similar activations, softmax cross-entropy)")
            if rest:
                msg += "; other unsupported ops: " + ", ".join(rest)
            raise UnsupportedOpError(msg, op=name, module=where)
        if other:
            n = other[0]
            raise UnsupportedOpError(
                "bm.frontend: the traced step reads a tensor that is not an "
                "argument (%s %s): a constant or a parameter used outside "
                "functional_call, which is not supported" % (n.op, n.target),
                op="%s %s" % (n.op, n.target))

    def run(self, nodes):
        self.check_supported(nodes)
        live = set(nodes)
        self._users = {n: [u for u in n.users if u in live or u.op == "output"]
                       for n in nodes}
        self._barriers = self._seed_inputs()
        for n in nodes:
            if n.op != "call_function":
                continue
            self._node = n
            name = self.op_name(n)
            args = [self._resolve(a) for a in n.args]
            kwargs = {k: self._resolve(v) for k, v in n.kwargs.items()}
            if name not in _ELEMENTWISE and name not in _REDUCTIONS:
                args = [self._emit_lazy(a) for a in args]
                kwargs = {k: self._emit_lazy(v) for k, v in kwargs.items()}
            fn = getattr(self, _HANDLERS[name])
            seed = n is self.grad_seed
            mark = len(self.fb.stmts)
            fused = _fused([a for a in args if isinstance(a, Lazy)])
            try:
                out = fn(n, *args, **kwargs)
                if isinstance(out, Lazy):
                    fused = _fused([Lazy((), "f32", None, fused), out])
                    if self._defer(n, out):
                        out = Lazy(out.shape, out.dtype, out.tree,
                                   fused + ["%s (%s)" % (n.name, name)])
                    else:
                        out = self.val(out, attrs=("bm.grad_seed",) if seed else (),
                                       force_op=seed)
                elif seed:
                    raise RuntimeError("bm.frontend: the loss gradient (%s) did "
                                       "not lower to one tagged op" % name)
            except UnsupportedOpError as e:
                if e.op is None:
                    where = self._where(name)
                    msg = "bm.frontend: %s: %s" % (name, e)
                    if where:
                        msg += " (in module %s)" % where
                    raise UnsupportedOpError(msg, op=name, module=where) from None
                raise
            self._check_shape(n, out)
            self.env[n] = out
            if len(self.fb.stmts) > mark:
                text = "%s: %s%s" % (n.name, name, " (the loss gradient: "
                                     "bm.grad_seed)" if seed else "")
                if fused:
                    text += "\n  with " + ", ".join(fused)
                self.fb.comment(text, at=mark)

    def _seed_inputs(self):
        """The tensors the loss gradient (p - y) / N reads: they are emitted
        on their own, so that the bm.grad_seed op computes exactly that."""
        n = self.grad_seed
        if n is None:
            return set()
        out = set(a for a in n.args if hasattr(a, "op"))
        for a in list(out):
            if (self.op_name(a) == "aten.sub.Tensor"
                    and len(self._users.get(a, ())) == 1):
                out.discard(a)
                out.update(b for b in a.args if hasattr(b, "op"))
        return out

    def _defer(self, n, out: Lazy) -> bool:
        """Whether node n's elementwise value fuses into its one consumer."""
        if n is self.grad_seed or n in self._barriers:
            return False
        users = self._users.get(n, [])
        if len(users) != 1 or users[0].op != "call_function":
            return False
        u = users[0]
        name = self.op_name(u)
        if name in _REDUCTIONS:
            return u.args[0] is n
        if name not in _ELEMENTWISE:
            return False
        return out.is_cheap() or self._out_shape(u) == out.shape

    def _emit_lazy(self, a):
        if isinstance(a, Lazy):
            return self.val(a)
        if isinstance(a, (list, tuple)):
            return type(a)(self._emit_lazy(x) for x in a)
        return a

    def _resolve(self, a):
        import torch.fx
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self._resolve(x) for x in a)
        return a

    def _check_shape(self, n, out):
        tm = n.meta.get("tensor_meta")
        if tm is None or not isinstance(out, (Val, Lazy)) or not hasattr(tm, "shape"):
            return
        if tuple(tm.shape) != out.shape:
            raise RuntimeError("bm.frontend: internal error: %s gave shape %s, "
                               "torch %s" % (self.op_name(n), out.shape, tuple(tm.shape)))

    def _out_shape(self, n):
        tm = n.meta.get("tensor_meta")
        return tuple(tm.shape) if tm is not None and hasattr(tm, "shape") else None

    def _out_dtype(self, n, default="f32"):
        tm = n.meta.get("tensor_meta")
        if tm is None or not hasattr(tm, "dtype"):
            return default
        d = _dtype_name(tm.dtype)
        if d is None:
            raise UnsupportedOpError("element type %s is not supported" % tm.dtype)
        return d

    # -- fused elementwise values -------------------------------------------

    def val(self, x, attrs: Sequence[str] = (), force_op=False, hint="ew") -> Val:
        """`x` as an emitted tensor: a Lazy value becomes one linalg.generic
        (or a linalg.fill for a constant; nothing for a plain read of a
        whole tensor unless `force_op`); python numbers a rank-0 fill."""
        if isinstance(x, Val):
            return x
        if not isinstance(x, Lazy):
            return self.fb.fill(x, ())
        t = x.tree
        if isinstance(t, _Const) and not attrs:
            return self.fb.fill(t.value, x.shape, t.dtype)
        if (isinstance(t, _Leaf) and not force_op and t.val.shape == x.shape
                and t.map == tuple(_ids(x.rank))):
            return t.val
        if isinstance(t, _Leaf) and not attrs:
            attrs = ("bm.data_movement",)   # a broadcast or copy
        leaves = list(_leaves(t, {}).values())
        init = self.fb.empty(x.shape, x.dtype)

        def body(bb, args):
            slots = {(l.val.name, l.map): a for l, a in zip(leaves, args)}
            return [_eval(bb, t, slots)]
        return self.fb.generic([(l.val, l.map) for l in leaves],
                               [(init, _ids(x.rank))], ["parallel"] * x.rank,
                               body, attrs=attrs, hint=hint)[0]

    @staticmethod
    def lazy(x) -> "Lazy":
        """A Val, Lazy or number as a Lazy over its own shape."""
        if isinstance(x, Lazy):
            return x
        if isinstance(x, Val):
            return Lazy(x.shape, x.dtype, _Leaf(x, _ids(x.rank)))
        if isinstance(x, bool):
            return Lazy((), "i1", _Const(x, "i1"))
        return Lazy((), "f32", _Const(float(x)))

    def elementwise(self, operands, fn, out_shape=None, dtype="f32") -> Lazy:
        """Broadcasting elementwise op (numpy rules); operands are Vals,
        Lazy values or python numbers; `fn(bb, *scalars)` returns the result
        scalar."""
        xs = [self.lazy(o) for o in operands]
        if out_shape is None:
            out_shape = _broadcast_shapes(*[x.shape for x in xs]) if xs else ()
        kids = [_remap(x.tree, _bcast_map(x.shape, out_shape)) for x in xs]
        return Lazy(out_shape, dtype, _Op(fn, kids), _fused(xs))

    def mapped(self, operands, fn, out_shape, dtype="f32") -> Lazy:
        """An elementwise op over `out_shape` whose operands are (Val or
        Lazy, map) pairs: explicit maps, e.g. a per-channel vector read as
        ("d1",)."""
        xs = [self.lazy(x) for x, _ in operands]
        kids = [_remap(x.tree, list(m)) for x, (_, m) in zip(xs, operands)]
        return Lazy(out_shape, dtype, _Op(fn, kids), _fused(xs))

    def reduce(self, x, dims, fn="addf", init=0.0, pre=None) -> Val:
        """Reduces `x` (Val or Lazy) over `dims` (result drops them); a Lazy
        input is computed inside the reduction. `pre(bb, v)` maps each
        element first."""
        x = self.lazy(x)
        dims = sorted(d % x.rank for d in dims) if x.rank else []
        keep = [i for i in range(x.rank) if i not in dims]
        out_shape = tuple(x.shape[i] for i in keep)
        acc = self.fb.fill(init, out_shape)
        tree = x.tree
        leaves = list(_leaves(tree, {}).values())

        def body(bb, args):
            slots = {(l.val.name, l.map): a for l, a in zip(leaves, args)}
            v = _eval(bb, tree, slots)
            if pre:
                v = pre(bb, v)
            return [bb.f(fn, args[-1], v)]
        return self.fb.generic(
            [(l.val, l.map) for l in leaves], [(acc, ["d%d" % i for i in keep])],
            ["reduction" if i in dims else "parallel" for i in range(x.rank)],
            body, hint="red")[0]

    # -- identities ------------------------------------------------------------

    @_handles("aten.detach.default", "aten.alias.default", "aten.clone.default",
              "aten.lift_fresh_copy.default", elementwise=True)
    def _identity(self, n, x, *rest, **kw):
        return x

    @_handles("aten._to_copy.default", "prims.convert_element_type.default",
              elementwise=True)
    def _convert(self, n, x, *rest, **kw):
        src = x.dtype if isinstance(x, (Val, Lazy)) else "f32"
        dst = self._out_dtype(n, src)
        if src == dst:
            return x
        if src == "i1" and dst == "f32":
            return self.elementwise([x], lambda bb, v: bb.op(
                "arith.uitofp %s : i1 to f32" % v))
        raise UnsupportedOpError("conversion from %s to %s is not supported"
                                 % (src, dst))

    @_handles("getitem")
    def _getitem(self, n, xs, i):
        return xs[i]

    @_handles("aten.is_same_size.default")
    def _is_same_size(self, n, a, b):
        return a.shape == b.shape

    # -- constants -------------------------------------------------------------

    @_handles("aten.scalar_tensor.default", elementwise=True)
    def _scalar_tensor(self, n, value, **kw):
        dtype = self._out_dtype(n)
        return Lazy((), dtype, _Const(value, dtype))

    @_handles("aten.new_zeros.default", "aten.zeros_like.default",
              "aten.zeros.default", "aten.new_ones.default", "aten.ones_like.default",
              "aten.ones.default", "aten.new_full.default", "aten.full_like.default",
              "aten.full.default", "aten.new_empty.default", "aten.empty_like.default",
              "aten.empty.memory_format", elementwise=True)
    def _constant(self, n, *args, **kw):
        name = self.op_name(n)
        if "zeros" in name or "empty" in name:
            value = 0.0
        elif "ones" in name:
            value = 1.0
        else:   # full(size, value), new_full(self, size, value), full_like(self, value)
            value = args[-1]
        dtype = self._out_dtype(n)
        shape = self._out_shape(n)
        if shape is None:
            raise UnsupportedOpError("no static shape recorded")
        return Lazy(shape, dtype, _Const(value, dtype))

    # -- elementwise -----------------------------------------------------------

    def _f32(self, *xs):
        for x in xs:
            if isinstance(x, (Val, Lazy)) and x.dtype != "f32":
                raise UnsupportedOpError("arithmetic on %s tensors is not "
                                         "supported (float32 only)" % x.dtype)

    def _binary(self, a, b, op, alpha=1):
        self._f32(a, b)

        def fn(bb, x, y):
            if alpha != 1:
                y = bb.f("mulf", y, bb.cf(alpha))
            return bb.f(op, x, y)
        return self.elementwise([a, b], fn)

    @_handles("aten.add.Tensor", "aten.add.Scalar", elementwise=True)
    def _add(self, n, a, b, alpha=1):
        return self._binary(a, b, "addf", alpha)

    @_handles("aten.sub.Tensor", "aten.sub.Scalar", elementwise=True)
    def _sub(self, n, a, b, alpha=1):
        return self._binary(a, b, "subf", alpha)

    @_handles("aten.mul.Tensor", "aten.mul.Scalar", elementwise=True)
    def _mul(self, n, a, b):
        self._f32(a, b)
        # x * 1 is x exactly (decompositions scale by constant 1s).
        for x, y in ((a, b), (b, a)):
            if isinstance(y, (int, float)) and not isinstance(y, bool) and y == 1:
                if isinstance(x, (Val, Lazy)) and x.shape == self._out_shape(n):
                    return self.lazy(x)
        return self._binary(a, b, "mulf")

    @_handles("aten.div.Tensor", "aten.div.Scalar", elementwise=True)
    def _div(self, n, a, b):
        return self._binary(a, b, "divf")

    def _unary(self, a, fn):
        self._f32(a)
        return self.elementwise([a], fn)

    @_handles("aten.neg.default", elementwise=True)
    def _neg(self, n, a):
        return self._unary(a, lambda bb, x: bb.f("negf", x))

    @_handles("aten.reciprocal.default", elementwise=True)
    def _reciprocal(self, n, a):
        return self._unary(a, lambda bb, x: bb.f("divf", bb.cf(1.0), x))

    @_handles("aten.exp.default", "aten.log.default", "aten.log1p.default",
              "aten.sqrt.default", "aten.rsqrt.default", "aten.erf.default",
              "aten.tanh.default", "aten.abs.default", elementwise=True)
    def _math(self, n, a):
        fn = self.op_name(n).split(".")[1]
        name = {"abs": "absf"}.get(fn, fn)
        return self._unary(a, lambda bb, x: bb.math(name, x))

    @_handles("aten.sigmoid.default", elementwise=True)
    def _sigmoid(self, n, a):
        return self._unary(a, lambda bb, x: bb.f("divf", bb.cf(1.0), bb.f(
            "addf", bb.cf(1.0), bb.math("exp", bb.f("negf", x)))))

    @_handles("aten.relu.default", elementwise=True)
    def _relu(self, n, a):
        # NaN stays NaN, as in torch (clamp_min).
        def fn(bb, x):
            z = bb.cf(0.0)
            return bb.select(bb.cmpf("olt", x, z), z, x)
        return self._unary(a, fn)

    @_handles("aten.clamp.default", elementwise=True)
    def _clamp(self, n, a, min=None, max=None):
        # maximumf / minimumf propagate NaN, as torch.clamp does.
        def fn(bb, x):
            if min is not None:
                x = bb.f("maximumf", x, bb.cf(min))
            if max is not None:
                x = bb.f("minimumf", x, bb.cf(max))
            return x
        return self._unary(a, fn)

    @_handles("aten.maximum.default", "aten.minimum.default", elementwise=True)
    def _maximum(self, n, a, b):
        op = "maximumf" if "maximum" in self.op_name(n) else "minimumf"
        return self._binary(a, b, op)

    @_handles("aten.pow.Tensor_Scalar", elementwise=True)
    def _pow(self, n, a, e):
        if e == 1:
            return self.lazy(a)
        if e == 2:
            return self._unary(a, lambda bb, x: bb.f("mulf", x, x))
        if e == 0.5:
            return self._unary(a, lambda bb, x: bb.math("sqrt", x))
        return self._unary(a, lambda bb, x: bb.op("math.powf %s, %s : f32"
                                                  % (x, bb.cf(e))))

    _CMP = {"gt": "ogt", "ge": "oge", "lt": "olt", "le": "ole", "eq": "oeq",
            "ne": "une"}

    @_handles(*["aten.%s.%s" % (c, k) for c in ("gt", "ge", "lt", "le", "eq", "ne")
                for k in ("Scalar", "Tensor")], elementwise=True)
    def _compare(self, n, a, b):
        self._f32(a, b)
        pred = self._CMP[self.op_name(n).split(".")[1]]
        return self.elementwise([a, b], lambda bb, x, y: bb.cmpf(pred, x, y),
                                dtype="i1")

    @_handles("aten.bitwise_and.Tensor", "aten.bitwise_or.Tensor",
              "aten.logical_and.default", "aten.logical_or.default",
              elementwise=True)
    def _logical(self, n, a, b):
        for x in (a, b):
            if not isinstance(x, (Val, Lazy)) or x.dtype != "i1":
                raise UnsupportedOpError("only boolean operands are supported")
        op = "andi" if "and" in self.op_name(n) else "ori"
        return self.elementwise([a, b], lambda bb, x, y: bb.op(
            "arith.%s %s, %s : i1" % (op, x, y)), dtype="i1")

    @_handles("aten.bitwise_not.default", "aten.logical_not.default",
              elementwise=True)
    def _not(self, n, a):
        if not isinstance(a, (Val, Lazy)) or a.dtype != "i1":
            raise UnsupportedOpError("only boolean operands are supported")
        return self.elementwise([a], lambda bb, x: bb.op(
            "arith.xori %s, %s : i1" % (x, bb.op("arith.constant true : i1", "cst"))),
            dtype="i1")

    @_handles("aten.where.self", elementwise=True)
    def _where_self(self, n, c, a, b):
        self._f32(a, b)
        if not isinstance(c, (Val, Lazy)) or c.dtype != "i1":
            raise UnsupportedOpError("the condition must be a boolean tensor")
        return self.elementwise([c, a, b], lambda bb, k, x, y: bb.select(k, x, y))

    # -- reductions --------------------------------------------------------------

    def _dims(self, x, dims):
        if dims is None or (isinstance(dims, (list, tuple)) and not dims):
            return list(range(x.rank))
        if isinstance(dims, int):
            dims = [dims]
        return sorted({d % x.rank for d in dims}) if x.rank else []

    def _keepdim(self, r: Val, x, dims, keepdim) -> Val:
        if not keepdim:
            return r
        return self.fb.reshape(r, tuple(1 if i in dims else d
                                        for i, d in enumerate(x.shape)))

    @_handles("aten.sum.default", reduction=True)
    def _sum(self, n, x, dtype=None):
        self._f32(x)
        return self.reduce(x, range(x.rank))

    @_handles("aten.sum.dim_IntList", reduction=True)
    def _sum_dims(self, n, x, dims, keepdim=False, dtype=None):
        self._f32(x)
        dims = self._dims(x, dims)
        return self._keepdim(self.reduce(x, dims), x, dims, keepdim)

    @_handles("aten.mean.dim", "aten.mean.default", reduction=True)
    def _mean(self, n, x, dims=None, keepdim=False, dtype=None):
        self._f32(x)
        dims = self._dims(x, dims)
        count = float(_prod(x.shape[i] for i in dims))
        r = self._keepdim(self.reduce(x, dims), x, dims, keepdim)
        return self.elementwise([r, count], lambda bb, a, c: bb.f("divf", a, c))

    @_handles("aten.amax.default", reduction=True)
    def _amax(self, n, x, dims=(), keepdim=False):
        self._f32(x)
        dims = self._dims(x, dims)
        return self._keepdim(self.reduce(x, dims, fn="maximumf", init=float("-inf")),
                             x, dims, keepdim)

    # -- shapes ------------------------------------------------------------------

    @_handles("aten.view.default", "aten._reshape_alias.default",
              "aten._unsafe_view.default", "aten.reshape.default",
              "aten.squeeze.dim", "aten.squeeze.default", "aten.squeeze.dims",
              "aten.unsqueeze.default", "aten.flatten.using_ints")
    def _view(self, n, x, *rest):
        shape = self._out_shape(n)
        if shape is None:
            raise UnsupportedOpError("no static shape recorded")
        return self.fb.reshape(x, shape)

    @_handles("aten.transpose.int")
    def _transpose(self, n, x, d0, d1):
        perm = list(range(x.rank))
        d0, d1 = d0 % x.rank, d1 % x.rank
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return self.fb.transpose(x, perm)

    @_handles("aten.permute.default")
    def _permute(self, n, x, perm):
        return self.fb.transpose(x, [p % x.rank for p in perm])

    @_handles("aten.expand.default", elementwise=True)
    def _expand(self, n, x, sizes, implicit=False):
        out = self._out_shape(n)
        if out is None:
            raise UnsupportedOpError("no static shape recorded")
        if isinstance(x, (int, float)):
            return Lazy(out, "f32", _Const(float(x)))
        x = self.lazy(x)
        if x.shape == out:
            return x
        return Lazy(out, x.dtype, _remap(x.tree, _bcast_map(x.shape, out)), x.fused)

    def _slice_bounds(self, size, start, end, step):
        start = 0 if start is None else start
        end = size if end is None else end
        if start < 0:
            start += size
        if end < 0:
            end += size
        start = min(max(start, 0), size)
        end = min(max(end, start), size)
        if step < 1:
            raise UnsupportedOpError("slice step %d is not supported" % step)
        return start, (end - start + step - 1) // step, step

    @_handles("aten.slice.Tensor")
    def _slice(self, n, x, dim=0, start=None, end=None, step=1):
        dim %= x.rank
        start, count, step = self._slice_bounds(x.shape[dim], start, end, step)
        offsets = [0] * x.rank
        sizes = list(x.shape)
        strides = [1] * x.rank
        offsets[dim], sizes[dim], strides[dim] = start, count, step
        return self.fb.extract_slice(x, offsets, sizes, strides)

    @_handles("aten.select.int")
    def _select(self, n, x, dim, index):
        dim %= x.rank
        index %= x.shape[dim]
        offsets = [0] * x.rank
        sizes = list(x.shape)
        offsets[dim], sizes[dim] = index, 1
        s = self.fb.extract_slice(x, offsets, sizes)
        return self.fb.reshape(s, tuple(d for i, d in enumerate(x.shape) if i != dim))

    @_handles("aten.split_with_sizes.default")
    def _split(self, n, x, sizes, dim=0):
        dim %= x.rank
        out, start = [], 0
        for s in sizes:
            offsets = [0] * x.rank
            shape = list(x.shape)
            offsets[dim], shape[dim] = start, s
            out.append(self.fb.extract_slice(x, offsets, shape))
            start += s
        return tuple(out)

    @_handles("aten.cat.default")
    def _cat(self, n, xs, dim=0):
        xs = [x for x in xs if not (x.rank == 1 and x.shape[0] == 0)]
        shape = self._out_shape(n)
        dim %= len(shape)
        out = self.fb.empty(shape, xs[0].dtype)
        start = 0
        for x in xs:
            offsets = [0] * len(shape)
            offsets[dim] = start
            out = self.fb.insert_slice(x, out, offsets, [1] * len(shape))
            start += x.shape[dim]
        return out

    @_handles("aten.slice_scatter.default")
    def _slice_scatter(self, n, base, src, dim=0, start=None, end=None, step=1):
        dim %= base.rank
        start, count, step = self._slice_bounds(base.shape[dim], start, end, step)
        offsets = [0] * base.rank
        strides = [1] * base.rank
        offsets[dim], strides[dim] = start, step
        return self.fb.insert_slice(src, base, offsets, strides)

    @_handles("aten.select_scatter.default")
    def _select_scatter(self, n, base, src, dim, index):
        dim %= base.rank
        index %= base.shape[dim]
        shape = list(base.shape)
        shape[dim] = 1
        offsets = [0] * base.rank
        offsets[dim] = index
        return self.fb.insert_slice(self.fb.reshape(src, shape), base, offsets,
                                    [1] * base.rank)

    # -- matmul ------------------------------------------------------------------

    @_handles("aten.mm.default")
    def _mm(self, n, a, b):
        return self.fb.matmul(a, b)

    @_handles("aten.bmm.default")
    def _bmm(self, n, a, b):
        def read(v, plain, swapped):
            t = v.transpose_of
            if t is not None and t[1] == (0, 2, 1):
                return t[0], swapped
            return v, plain
        a, amap = read(a, ("d0", "d1", "d3"), ("d0", "d3", "d1"))
        b, bmap = read(b, ("d0", "d3", "d2"), ("d0", "d2", "d3"))
        return self.fb.batch_matmul(a, amap, b, bmap)

    # -- convolution ---------------------------------------------------------------

    @staticmethod
    def _conv_params(stride, padding, dilation, transposed, output_padding, groups):
        if transposed:
            raise UnsupportedOpError("transposed convolution is not supported")
        if groups != 1:
            raise UnsupportedOpError("grouped convolution (groups=%d) is not "
                                     "supported; use groups=1" % groups)
        if isinstance(padding, str):
            raise UnsupportedOpError("padding=%r is not supported; give "
                                     "integers" % padding)
        return (_pair(stride, "stride"), _pair(padding, "padding"),
                _pair(dilation, "dilation"))

    @_handles("aten.convolution.default")
    def _convolution(self, n, x, w, b, stride, padding, dilation, transposed,
                     output_padding, groups):
        if x.rank != 4:
            raise UnsupportedOpError("only 2-D convolutions (NCHW) are supported")
        s, p, d = self._conv_params(stride, padding, dilation, transposed,
                                    output_padding, groups)
        k = w.shape[2:]
        xp = self.fb.pad(x, [0, 0, p[0], p[1]], [0, 0, p[0], p[1]], 0.0)
        out_hw = [(x.shape[2 + i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1
                  for i in range(2)]
        y = self.fb.conv2d(xp, w, out_hw, s, d)
        if b is not None:
            return self.mapped([(y, _ids(4)), (b, ["d1"])],
                               lambda bb, v, c: bb.f("addf", v, c), y.shape)
        return y

    @_handles("aten.convolution_backward.default")
    def _convolution_backward(self, n, gy, x, w, bias_sizes, stride, padding,
                              dilation, transposed, output_padding, groups, mask):
        s, p, d = self._conv_params(stride, padding, dilation, transposed,
                                    output_padding, groups)
        N, C, H, W = x.shape
        F, _, KH, KW = w.shape
        OH, OW = gy.shape[2:]
        k = (KH, KW)
        hw = (H, W)
        dx = dw = db = None
        if mask[0]:
            keff = [d[i] * (k[i] - 1) + 1 for i in range(2)]
            # Rows/cols of the padded input the forward conv did not reach.
            r = [hw[i] + 2 * p[i] - keff[i] - ((OH, OW)[i] - 1) * s[i]
                 for i in range(2)]
            g = gy
            if s != (1, 1) or any(r):
                size = [(((OH, OW)[i] - 1) * s[i] + 1 + r[i]) for i in range(2)]
                z = self.fb.fill(0.0, (N, F, size[0], size[1]))
                g = self.fb.insert_slice(gy, z, [0, 0, 0, 0], [1, 1, s[0], s[1]])
            q = [keff[i] - 1 - p[i] for i in range(2)]
            if any(v < 0 for v in q):
                crop = [max(0, -v) for v in q]
                g = self.fb.extract_slice(
                    g, [0, 0, crop[0], crop[1]],
                    [N, F, g.shape[2] - 2 * crop[0], g.shape[3] - 2 * crop[1]])
                q = [max(0, v) for v in q]
            g = self.fb.pad(g, [0, 0, q[0], q[1]], [0, 0, q[0], q[1]], 0.0)
            wf = self._flip_filter(w)
            if d != (1, 1):
                z = self.fb.fill(0.0, (C, F, keff[0], keff[1]))
                wf = self.fb.insert_slice(wf, z, [0, 0, 0, 0], [1, 1, d[0], d[1]])
            dx = self.fb.conv2d(g, wf, (H, W), (1, 1), (1, 1))
        if mask[1]:
            xu = self.fb.transpose(x, [1, 0, 2, 3])                 # C N H W
            xt = self.fb.pad(xu, [0, 0, p[0], p[1]], [0, 0, p[0], p[1]], 0.0)
            gt = self.fb.transpose(gy, [1, 0, 2, 3])                # F N OH OW
            # The taps whose rows (columns) of the padded input hold data.
            taps = [[t for t in range(k[i]) if any(
                        p[i] <= t * d[i] + o * s[i] < hw[i] + p[i]
                        for o in range((OH, OW)[i]))] for i in range(2)]
            lo = [t[0] for t in taps]
            hi = [t[-1] for t in taps]
            if lo == [0, 0] and hi == [KH - 1, KW - 1]:
                out_hw = [(xt.shape[2 + i] - s[i] * ((OH, OW)[i] - 1) - 1) // d[i] + 1
                          for i in range(2)]
                dwt = self.fb.conv2d(xt, gt, out_hw, d, s)          # C F kh' kw'
                dwt = self.fb.extract_slice(dwt, [0, 0, 0, 0], [C, F, KH, KW])
            else:
                # The other taps read padding only (e.g. a 3x3 kernel on a
                # 1x1 image): their gradient is zero. The convolution
                # computes the taps lo..hi from the rows they read, so that
                # every one of its windows holds data.
                size = [(hi[i] - lo[i]) * d[i] + ((OH, OW)[i] - 1) * s[i] + 1
                        for i in range(2)]
                start = [lo[i] * d[i] for i in range(2)]
                if all(p[i] <= start[i] and start[i] + size[i] <= hw[i] + p[i]
                       for i in range(2)):
                    # Those rows are all inside the image: no padding.
                    xs = self.fb.extract_slice(
                        xu, [0, 0, start[0] - p[0], start[1] - p[1]],
                        [C, N, size[0], size[1]])
                else:
                    xs = self.fb.extract_slice(
                        xt, [0, 0, start[0], start[1]], [C, N, size[0], size[1]])
                dwt = self.fb.conv2d(xs, gt, [hi[i] - lo[i] + 1 for i in range(2)], d, s)
                if lo == hi:
                    # One tap: dw[f, c, i, j] = dwt[c, f, 0, 0] at that tap,
                    # zero elsewhere, as one elementwise op that fuses into
                    # its users (the update) instead of a padded copy and
                    # its transpose.
                    dw = self._one_tap_gradient(dwt, (KH, KW), lo)
                else:
                    dwt = self.fb.pad(dwt, [0, 0, lo[0], lo[1]],
                                      [0, 0, KH - 1 - hi[0], KW - 1 - hi[1]], 0.0)
            if dw is None:
                dw = self.fb.transpose(dwt, [1, 0, 2, 3])
        if mask[2]:
            db = self.reduce(gy, [0, 2, 3])
        return (dx, dw, db)

    def _one_tap_gradient(self, dwt: Val, k, tap) -> Val:
        """dw[f, c, i, j] = dwt[c, f, 0, 0] if (i, j) == tap else 0."""
        C, F = dwt.shape[:2]
        e = self.fb.empty((F, C, k[0], k[1]))

        def body(bb, a):
            at = bb.i("andi", bb.cmpi("eq", bb.index(2), bb.ci(tap[0])),
                      bb.cmpi("eq", bb.index(3), bb.ci(tap[1])), ty="i1")
            return [bb.select(at, a[0], bb.cf(0.0))]
        return self.fb.generic(
            [(dwt, ["d1", "d0", "0", "0"])], [(e, _ids(4))], ["parallel"] * 4,
            body, attrs=["bm.data_movement"], hint="tap")[0]

    def _flip_filter(self, w: Val) -> Val:
        """wf[c, f, i, j] = w[f, c, KH-1-i, KW-1-j]."""
        F, C, KH, KW = w.shape
        e = self.fb.empty((C, F, KH, KW))
        return self.fb.generic(
            [(w, ["d1", "d0", "%d - d2" % (KH - 1), "%d - d3" % (KW - 1)])],
            [(e, _ids(4))], ["parallel"] * 4, lambda bb, a: [a[0]],
            attrs=["bm.data_movement"], hint="flip")[0]

    # -- pooling ---------------------------------------------------------------------

    @staticmethod
    def _pool_params(kernel, stride, padding, dilation=1, ceil_mode=False):
        k = _pair(kernel, "kernel_size")
        s = _pair(stride, "stride") if stride not in (None, [], ()) else k
        p = _pair(padding, "padding")
        d = _pair(dilation, "dilation")
        if ceil_mode:
            raise UnsupportedOpError("ceil_mode=True is not supported")
        return k, s, p, d

    def _window_loops(self, x_shape, k, s, p, d):
        N, C, H, W = x_shape
        OH = (H + 2 * p[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
        OW = (W + 2 * p[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
        return OH, OW

    @_handles("aten.max_pool2d_with_indices.default")
    def _max_pool(self, n, x, kernel, stride=(), padding=0, dilation=1, ceil_mode=False):
        if x.rank != 4:
            raise UnsupportedOpError("only NCHW inputs are supported")
        k, s, p, d = self._pool_params(kernel, stride, padding, dilation, ceil_mode)
        N, C, H, W = x.shape
        OH, OW = self._window_loops(x.shape, k, s, p, d)
        xp = self.fb.pad(x, [0, 0, p[0], p[1]], [0, 0, p[0], p[1]], float("-inf"))
        win = self.fb.empty(k)
        m0 = self.fb.fill(float("-inf"), (N, C, OH, OW))
        i0 = self.fb.fill(0, (N, C, OH, OW), "i64")
        out = ["d0", "d1", "d2", "d3"]

        def body(bb, a):
            xv, _, mv, iv = a
            h = bb.iadd(bb.i("addi", bb.imul(bb.index(2), s[0]), bb.imul(bb.index(4), d[0])), -p[0])
            w_ = bb.iadd(bb.i("addi", bb.imul(bb.index(3), s[1]), bb.imul(bb.index(5), d[1])), -p[1])
            lin = bb.i("addi", bb.imul(h, W), w_)
            lin = bb.op("arith.index_cast %s : index to i64" % lin)
            take = bb.op("arith.ori %s, %s : i1" % (bb.cmpf("ogt", xv, mv),
                                                   bb.cmpf("uno", xv, xv)))
            return [bb.select(take, xv, mv), bb.select(take, lin, iv, "i64")]
        vals, idx = self.fb.generic(
            [(xp, ["d0", "d1", "d2 * %d + d4 * %d" % (s[0], d[0]),
                   "d3 * %d + d5 * %d" % (s[1], d[1])]), (win, ["d4", "d5"])],
            [(m0, out), (i0, out)],
            ["parallel"] * 4 + ["reduction"] * 2, body, hint="maxpool")
        return (vals, idx)

    def _window_sources(self, t: Val, x_shape, k, s, p, d, fill):
        """`t` (N, C, OH, OW) laid out on the input grid for the backward of
        a pooling window: zero-inserted by the stride (`fill` between and
        after), then padded (`fill`) so that out[h + p + L - kh*d] is the
        value of the window whose tap kh reads input row h (L = (k-1)*d),
        and likewise for columns. Returns the tensor and the offsets
        p + L per spatial dim."""
        N, C, H, W = x_shape
        hw = (H, W)
        OHW = t.shape[2:]
        g = t
        size = [(OHW[i] - 1) * s[i] + 1 for i in range(2)]
        if s != (1, 1):
            z = self.fb.fill(fill, (N, C, size[0], size[1]), t.dtype)
            g = self.fb.insert_slice(t, z, [0, 0, 0, 0], [1, 1, s[0], s[1]])
        low = [(k[i] - 1) * d[i] for i in range(2)]
        high = [max(0, hw[i] - 1 + p[i] - (size[i] - 1)) for i in range(2)]
        g = self.fb.pad(g, [0, 0, low[0], low[1]], [0, 0, high[0], high[1]], fill)
        return g, [p[i] + low[i] for i in range(2)]

    def _pool_backward(self, gy: Val, x_shape, k, s, p, d, indices=None,
                       divisor=None):
        """dx[n,c,h,w] = sum over the taps (kh, kw) of the window that reads
        (h, w) through that tap: gy / divisor (average), or gy where the
        window's argmax is (h, w) (max). One linalg.generic whose operands
        are the output gradient (and the indices) laid out on the input grid
        (`_window_sources`): every value it reads is an operand."""
        if tuple(k) == tuple(s) and not any(p) and tuple(d) == (1, 1):
            return self._tiled_pool_backward(gy, x_shape, k, indices, divisor)
        N, C, H, W = x_shape
        g, off = self._window_sources(gy, x_shape, k, s, p, d, 0.0)
        m = ["d0", "d1", "d2 + %d - d4 * %d" % (off[0], d[0]),
             "d3 + %d - d5 * %d" % (off[1], d[1])]
        ins = [(g, m)]
        if indices is not None:
            ix, off2 = self._window_sources(indices, x_shape, k, s, p, d, -1)
            assert off2 == off
            ins.append((ix, m))
        ins.append((self.fb.empty(k), ["d4", "d5"]))
        acc = self.fb.fill(0.0, x_shape)

        def body(bb, a):
            if indices is None:
                return [bb.f("addf", a[2], bb.f("divf", a[0], bb.cf(divisor)))]
            lin = bb.i("addi", bb.imul(bb.index(2), W), bb.index(3))
            lin = bb.op("arith.index_cast %s : index to i64" % lin)
            hit = bb.cmpi("eq", a[1], lin, "i64")
            return [bb.f("addf", a[3], bb.select(hit, a[0], bb.cf(0.0)))]
        return self.fb.generic(ins, [(acc, ["d0", "d1", "d2", "d3"])],
                               ["parallel"] * 4 + ["reduction"] * 2, body,
                               hint="poolgrad")[0]

    def _tiled_pool_backward(self, gy: Val, x_shape, k, indices=None,
                             divisor=None):
        """_pool_backward where the windows tile the input (kernel = stride,
        no padding, no dilation): input (h, w) is tap (h mod kh, w mod kw)
        of window (h div kh, w div kw) alone, or of none past the last
        window. One elementwise generic over the covered input as [N, C,
        OH, kh, OW, kw], reshaped to [N, C, OH*kh, OW*kw] and padded with
        zeros to [N, C, H, W]: no window-sized copies of the gradient and
        indices, no loop over the taps. The values are those of the general
        form bit for bit: there the taps of other windows add +0.0, so a
        -0.0 gradient becomes +0.0, and here the one value is added to
        +0.0 likewise."""
        N, C, H, W = x_shape
        OH, OW = gy.shape[2:]
        kh, kw = k
        at = ["d0", "d1", "d2", "d4"]
        ins = [(gy, at)]
        if indices is not None:
            ins.append((indices, at))

        def body(bb, a):
            zero = bb.cf(0.0)
            if indices is None:
                v = bb.f("divf", a[0], bb.cf(divisor))
            else:
                h = bb.i("addi", bb.imul(bb.index(2), kh), bb.index(3))
                w = bb.i("addi", bb.imul(bb.index(4), kw), bb.index(5))
                lin = bb.op("arith.index_cast %s : index to i64"
                            % bb.i("addi", bb.imul(h, W), w))
                v = bb.select(bb.cmpi("eq", a[1], lin, "i64"), a[0], zero)
            return [bb.f("addf", zero, v)]
        out = self.fb.empty((N, C, OH, kh, OW, kw))
        dx = self.fb.generic(ins, [(out, ["d0", "d1", "d2", "d3", "d4", "d5"])],
                             ["parallel"] * 6, body, hint="poolgrad")[0]
        dx = self.fb.reshape(dx, (N, C, OH * kh, OW * kw))
        return self.fb.pad(dx, [0, 0, 0, 0], [0, 0, H - OH * kh, W - OW * kw],
                           0.0)

    @_handles("aten.max_pool2d_with_indices_backward.default")
    def _max_pool_backward(self, n, gy, x, kernel, stride, padding, dilation,
                           ceil_mode, indices):
        k, s, p, d = self._pool_params(kernel, stride, padding, dilation, ceil_mode)
        return self._pool_backward(gy, x.shape, k, s, p, d, indices=indices)

    def _avg_divisor(self, k, p, count_include_pad, divisor_override):
        if divisor_override:
            return float(divisor_override)
        if not count_include_pad and any(p):
            raise UnsupportedOpError("count_include_pad=False with padding is "
                                     "not supported")
        return float(k[0] * k[1])

    @_handles("aten.avg_pool2d.default")
    def _avg_pool(self, n, x, kernel, stride=(), padding=0, ceil_mode=False,
                  count_include_pad=True, divisor_override=None):
        if x.rank != 4:
            raise UnsupportedOpError("only NCHW inputs are supported")
        k, s, p, d = self._pool_params(kernel, stride, padding, 1, ceil_mode)
        div = self._avg_divisor(k, p, count_include_pad, divisor_override)
        N, C, H, W = x.shape
        OH, OW = self._window_loops(x.shape, k, s, p, d)
        xp = self.fb.pad(x, [0, 0, p[0], p[1]], [0, 0, p[0], p[1]], 0.0)
        win = self.fb.empty(k)
        z = self.fb.fill(0.0, (N, C, OH, OW))
        out = ["d0", "d1", "d2", "d3"]
        total = self.fb.generic(
            [(xp, ["d0", "d1", "d2 * %d + d4" % s[0], "d3 * %d + d5" % s[1]]),
             (win, ["d4", "d5"])], [(z, out)],
            ["parallel"] * 4 + ["reduction"] * 2,
            lambda bb, a: [bb.f("addf", a[2], a[0])], hint="avgpool")[0]
        return self.elementwise([total, div], lambda bb, a, b: bb.f("divf", a, b))

    @_handles("aten._adaptive_avg_pool2d_backward.default")
    def _adaptive_avg_pool_backward(self, n, gy, x):
        N, C, H, W = x.shape
        OH, OW = gy.shape[2:]
        if H % OH or W % OW:
            raise UnsupportedOpError(
                "adaptive average pooling from %dx%d to %dx%d: only output sizes "
                "that divide the input are supported" % (H, W, OH, OW))
        k = (H // OH, W // OW)
        return self._pool_backward(gy, x.shape, k, k, (0, 0), (1, 1),
                                   divisor=float(k[0] * k[1]))

    @_handles("aten.avg_pool2d_backward.default")
    def _avg_pool_backward(self, n, gy, x, kernel, stride, padding, ceil_mode,
                           count_include_pad, divisor_override):
        k, s, p, d = self._pool_params(kernel, stride, padding, 1, ceil_mode)
        div = self._avg_divisor(k, p, count_include_pad, divisor_override)
        return self._pool_backward(gy, x.shape, k, s, p, d, divisor=div)


SUPPORTED_OPS = sorted(_HANDLERS)
