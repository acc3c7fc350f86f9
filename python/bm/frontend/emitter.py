"""Lowering of a traced aten graph (torch.fx, from make_fx) to MLIR: linalg
on tensors, tensor and arith ops, all float32.

Contractions follow the conventions that bm-quantize-training relies on:

* ``aten.mm`` / ``aten.addmm`` -> ``linalg.matmul`` on 2-D tensors onto a
  zero ``linalg.fill``; a transposed operand is an explicit
  ``linalg.transpose`` (permutation [1, 0]); bias and scaling are separate
  ``linalg.generic`` ops. Double transposes cancel.
* ``aten.convolution`` -> ``tensor.pad`` (0.0 on H and W, low == high) +
  ``linalg.conv_2d_nchw_fchw``; bias by a ``linalg.generic``.
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
    columns unread) and transposed back [1, 0, 2, 3];
  - bias gradient: a sum over N, H, W.
* Everything else (ReLU, pooling, batch norm, softmax, loss, optimizer) is
  ``linalg.generic`` / ``tensor`` ops.
"""

from __future__ import annotations

import operator
from typing import Dict, List, Sequence

from .mlir import FunctionBuilder, Val

__all__ = ["UnsupportedOpError", "AtenLowering", "SUPPORTED_OPS"]


class UnsupportedOpError(NotImplementedError):
    """An aten op (or an argument of one) that the front end cannot lower."""

    def __init__(self, message, op=None, module=None):
        super().__init__(message)
        self.op = op
        self.module = module


_HANDLERS: Dict[str, str] = {}


def _handles(*names):
    def deco(fn):
        for n in names:
            _HANDLERS[n] = fn.__name__
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
            raise ValueError("shapes do not broadcast: %s" % (shapes,))
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


class AtenLowering:
    """Lowers the live nodes of an fx graph of aten ops into a
    FunctionBuilder.

    ``env`` maps fx nodes to Val (or tuples, or python values); placeholders
    must be bound by the caller. ``grad_seed`` is the node whose op gets the
    ``bm.grad_seed`` attribute. ``module_of`` maps an op name to a module
    description, for error messages.
    """

    def __init__(self, fb: FunctionBuilder, env, grad_seed=None, module_of=None):
        self.fb = fb
        self.env = env
        self.grad_seed = grad_seed
        self.module_of = module_of or {}
        self._attrs: Sequence[str] = ()
        self._seed_tagged = False

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
            msg += ("; the front end supports Linear, Conv2d (groups=1), ReLU, "
                    "MaxPool2d, AvgPool2d, Flatten, BatchNorm1d/2d (training) and "
                    "softmax cross-entropy")
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

    def _seed_operands(self, n):
        """(p, y, N) when the loss gradient node is (p - y) / N with the
        subtraction used only there: both are then one op."""
        if n is None or self.op_name(n) != "aten.div.Tensor" or len(n.args) != 2:
            return None
        sub, c = n.args
        if (isinstance(c, (int, float)) and hasattr(sub, "target")
                and self.op_name(sub) == "aten.sub.Tensor" and len(sub.users) == 1
                and sub.kwargs.get("alpha", 1) == 1 and len(sub.args) == 2
                and all(hasattr(a, "target") for a in sub.args)):
            return sub.args[0], sub.args[1], c
        return None

    def run(self, nodes):
        self.check_supported(nodes)
        fused = self._seed_operands(self.grad_seed)
        for n in nodes:
            if n.op != "call_function":
                continue
            if fused and n is self.grad_seed.args[0]:
                self.env[n] = None  # folded into the loss gradient op
                continue
            self._node = n
            args = [self._resolve(a) for a in n.args]
            kwargs = {k: self._resolve(v) for k, v in n.kwargs.items()}
            fn = getattr(self, _HANDLERS[self.op_name(n)])
            self._attrs = ("bm.grad_seed",) if n is self.grad_seed else ()
            mark = len(self.fb.lines)
            self.fb.comment("%s: %s%s" % (n.name, self.op_name(n),
                                          " (the loss gradient: bm.grad_seed)"
                                          if n is self.grad_seed else ""))
            try:
                out = fn(n, *args, **kwargs)
            except UnsupportedOpError as e:
                if e.op is None:
                    name = self.op_name(n)
                    where = self._where(name)
                    msg = "bm.frontend: %s: %s" % (name, e)
                    if where:
                        msg += " (in module %s)" % where
                    raise UnsupportedOpError(msg, op=name, module=where) from None
                raise
            if n is self.grad_seed and not self._seed_tagged:
                raise RuntimeError("bm.frontend: the loss gradient (%s) did not "
                                   "lower to one tagged op" % self.op_name(n))
            if len(self.fb.lines) == mark + 1:
                del self.fb.lines[mark]  # nothing emitted (views, identities)
            self._check_shape(n, out)
            self.env[n] = out

    def _resolve(self, a):
        import torch.fx
        if isinstance(a, torch.fx.Node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self._resolve(x) for x in a)
        return a

    def _check_shape(self, n, out):
        tm = n.meta.get("tensor_meta")
        if tm is None or not isinstance(out, Val) or not hasattr(tm, "shape"):
            return
        if tuple(tm.shape) != out.shape:
            raise RuntimeError("bm.frontend: internal error: %s gave shape %s, "
                               "torch %s" % (self.op_name(n), out.shape, tuple(tm.shape)))

    def _out_shape(self, n):
        tm = n.meta.get("tensor_meta")
        return tuple(tm.shape) if tm is not None and hasattr(tm, "shape") else None

    def _take_attrs(self):
        a = self._attrs
        if a:
            self._seed_tagged = True
        self._attrs = ()
        return a

    # -- generic helpers ----------------------------------------------------

    def elementwise(self, operands, fn, out_shape=None, dtype="f32") -> Val:
        """Broadcasting elementwise op; operands are Vals or python numbers;
        `fn(bb, *scalars)` returns the result scalar."""
        vals = [o for o in operands if isinstance(o, Val)]
        if out_shape is None:
            out_shape = _broadcast_shapes(*[v.shape for v in vals]) if vals else ()
        ins = [(v, _bcast_map(v.shape, out_shape)) for v in vals]
        init = self.fb.empty(out_shape, dtype)

        def body(bb, args):
            it = iter(args)
            xs = [next(it) if isinstance(o, Val) else bb.cf(o) for o in operands]
            return [fn(bb, *xs)]
        return self.fb.generic(ins, [(init, _ids(len(out_shape)))],
                               ["parallel"] * len(out_shape), body,
                               attrs=self._take_attrs(), hint="ew")[0]

    def reduce(self, x: Val, dims, fn="addf", init=0.0, pre=None) -> Val:
        """Reduces `x` over `dims` (result drops them). `pre(bb, v)` maps
        each element first."""
        dims = sorted(d % x.rank for d in dims) if x.rank else []
        keep = [i for i in range(x.rank) if i not in dims]
        out_shape = tuple(x.shape[i] for i in keep)
        acc = self.fb.fill(init, out_shape)

        def body(bb, args):
            v = pre(bb, args[0]) if pre else args[0]
            return [bb.f(fn, args[1], v)]
        return self.fb.generic(
            [(x, _ids(x.rank))], [(acc, ["d%d" % i for i in keep])],
            ["reduction" if i in dims else "parallel" for i in range(x.rank)],
            body, attrs=self._take_attrs(), hint="red")[0]

    # -- identities ------------------------------------------------------------

    @_handles("aten.detach.default", "aten.alias.default", "aten.clone.default",
              "aten.lift_fresh_copy.default")
    def _identity(self, n, x, *rest, **kw):
        return x

    @_handles("getitem")
    def _getitem(self, n, xs, i):
        return xs[i]

    @_handles("aten.is_same_size.default")
    def _is_same_size(self, n, a, b):
        return a.shape == b.shape

    # -- elementwise -----------------------------------------------------------

    def _binary(self, a, b, op, alpha=1):
        def fn(bb, x, y):
            if alpha != 1:
                y = bb.f("mulf", y, bb.cf(alpha))
            return bb.f(op, x, y)
        return self.elementwise([a, b], fn)

    @_handles("aten.add.Tensor", "aten.add.Scalar")
    def _add(self, n, a, b, alpha=1):
        return self._binary(a, b, "addf", alpha)

    @_handles("aten.sub.Tensor", "aten.sub.Scalar")
    def _sub(self, n, a, b, alpha=1):
        return self._binary(a, b, "subf", alpha)

    @_handles("aten.rsub.Scalar", "aten.rsub.Tensor")
    def _rsub(self, n, a, b, alpha=1):
        return self._binary(b, a, "subf", alpha)

    @_handles("aten.mul.Tensor", "aten.mul.Scalar")
    def _mul(self, n, a, b):
        return self._binary(a, b, "mulf")

    @_handles("aten.div.Tensor", "aten.div.Scalar")
    def _div(self, n, a, b):
        fused = self._seed_operands(n) if n is self.grad_seed else None
        if fused:
            # The loss gradient (p - y) / N: one op, tagged bm.grad_seed.
            p, y, c = self.env[fused[0]], self.env[fused[1]], fused[2]
            return self.elementwise(
                [p, y, c], lambda bb, x, t, k: bb.f("divf", bb.f("subf", x, t), k))
        return self._binary(a, b, "divf")

    @_handles("aten.neg.default")
    def _neg(self, n, a):
        return self.elementwise([a], lambda bb, x: bb.f("negf", x))

    @_handles("aten.exp.default")
    def _exp(self, n, a):
        return self.elementwise([a], lambda bb, x: bb.math("exp", x))

    @_handles("aten.log.default")
    def _log(self, n, a):
        return self.elementwise([a], lambda bb, x: bb.math("log", x))

    @_handles("aten.sqrt.default")
    def _sqrt(self, n, a):
        return self.elementwise([a], lambda bb, x: bb.math("sqrt", x))

    @_handles("aten.relu.default")
    def _relu(self, n, a):
        # NaN stays NaN, as in torch (clamp_min).
        def fn(bb, x):
            z = bb.cf(0.0)
            return bb.select(bb.cmpf("olt", x, z), z, x)
        return self.elementwise([a], fn)

    @_handles("aten.threshold_backward.default")
    def _threshold_backward(self, n, g, x, threshold):
        def fn(bb, gv, xv):
            return bb.select(bb.cmpf("ole", xv, bb.cf(threshold)), bb.cf(0.0), gv)
        return self.elementwise([g, x], fn)

    # -- reductions --------------------------------------------------------------

    @_handles("aten.sum.default")
    def _sum(self, n, x, dtype=None):
        return self.reduce(x, range(x.rank))

    @_handles("aten.sum.dim_IntList")
    def _sum_dims(self, n, x, dims, keepdim=False, dtype=None):
        dims = list(range(x.rank)) if not dims else [d % x.rank for d in dims]
        r = self.reduce(x, dims)
        if keepdim:
            r = self.fb.reshape(r, tuple(1 if i in dims else d
                                         for i, d in enumerate(x.shape)))
        return r

    @_handles("aten._log_softmax.default", "aten._softmax.default")
    def _softmax(self, n, x, dim, half_to_float=False):
        dim = dim % x.rank
        log = self.op_name(n) == "aten._log_softmax.default"
        attrs, self._attrs = self._attrs, ()
        m = self.reduce(x, [dim], fn="maximumf", init=float("-inf"))
        keep = ["d%d" % i for i in range(x.rank) if i != dim]
        ids = _ids(x.rank)
        e0 = self.fb.empty(x.shape)
        shifted = self.fb.generic(
            [(x, ids), (m, keep)], [(e0, ids)], ["parallel"] * x.rank,
            lambda bb, a: [bb.f("subf", a[0], a[1])], hint="sm")[0]
        s = self.reduce(shifted, [dim], pre=lambda bb, v: bb.math("exp", v))
        self._attrs = attrs
        e1 = self.fb.empty(x.shape)
        if log:
            body = lambda bb, a: [bb.f("subf", a[0], bb.math("log", a[1]))]
        else:
            body = lambda bb, a: [bb.f("divf", bb.math("exp", a[0]), a[1])]
        return self.fb.generic([(shifted, ids), (s, keep)], [(e1, ids)],
                               ["parallel"] * x.rank, body,
                               attrs=self._take_attrs(), hint="sm")[0]

    # -- shapes ------------------------------------------------------------------

    @_handles("aten.view.default", "aten._reshape_alias.default",
              "aten._unsafe_view.default", "aten.reshape.default",
              "aten.squeeze.dim", "aten.squeeze.default", "aten.unsqueeze.default",
              "aten.flatten.using_ints")
    def _view(self, n, x, *rest):
        shape = self._out_shape(n)
        if shape is None:
            raise UnsupportedOpError("no static shape recorded")
        return self.fb.reshape(x, shape)

    @_handles("aten.t.default")
    def _t(self, n, x):
        return x if x.rank < 2 else self.fb.transpose(x, [1, 0])

    @_handles("aten.transpose.int")
    def _transpose(self, n, x, d0, d1):
        perm = list(range(x.rank))
        d0, d1 = d0 % x.rank, d1 % x.rank
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return self.fb.transpose(x, perm)

    @_handles("aten.permute.default")
    def _permute(self, n, x, perm):
        return self.fb.transpose(x, [p % x.rank for p in perm])

    # -- matmul ------------------------------------------------------------------

    @_handles("aten.mm.default")
    def _mm(self, n, a, b):
        return self.fb.matmul(a, b)

    @_handles("aten.addmm.default")
    def _addmm(self, n, bias, a, b, beta=1, alpha=1):
        y = self.fb.matmul(a, b)

        def fn(bb, yv, bv):
            if alpha != 1:
                yv = bb.f("mulf", yv, bb.cf(alpha))
            if beta != 1:
                bv = bb.f("mulf", bv, bb.cf(beta))
            return bb.f("addf", yv, bv)
        return self.elementwise([y, bias], fn, out_shape=y.shape)

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
            y = self._add_channel(y, b)
        return y

    def _add_channel(self, y: Val, b: Val) -> Val:
        e = self.fb.empty(y.shape)
        return self.fb.generic([(y, _ids(y.rank)), (b, ["d1"])], [(e, _ids(y.rank))],
                               ["parallel"] * y.rank,
                               lambda bb, a: [bb.f("addf", a[0], a[1])], hint="bias")[0]

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
            xt = self.fb.transpose(x, [1, 0, 2, 3])                 # C N H W
            xt = self.fb.pad(xt, [0, 0, p[0], p[1]], [0, 0, p[0], p[1]], 0.0)
            gt = self.fb.transpose(gy, [1, 0, 2, 3])                # F N OH OW
            out_hw = [(xt.shape[2 + i] - s[i] * ((OH, OW)[i] - 1) - 1) // d[i] + 1
                      for i in range(2)]
            dwt = self.fb.conv2d(xt, gt, out_hw, d, s)              # C F kh' kw'
            dwt = self.fb.extract_slice(dwt, [0, 0, 0, 0], [C, F, KH, KW])
            dw = self.fb.transpose(dwt, [1, 0, 2, 3])
        if mask[2]:
            db = self.reduce(gy, [0, 2, 3])
        return (dx, dw, db)

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

    @_handles("aten.avg_pool2d_backward.default")
    def _avg_pool_backward(self, n, gy, x, kernel, stride, padding, ceil_mode,
                           count_include_pad, divisor_override):
        k, s, p, d = self._pool_params(kernel, stride, padding, 1, ceil_mode)
        div = self._avg_divisor(k, p, count_include_pad, divisor_override)
        return self._pool_backward(gy, x.shape, k, s, p, d, divisor=div)

    # -- batch norm ---------------------------------------------------------------------

    def _bn_stats(self, x: Val):
        """mean, var_sum (sum of squared deviations) per channel."""
        red = [i for i in range(x.rank) if i != 1]
        count = _prod(x.shape[i] for i in red)
        total = self.reduce(x, red)
        mean = self.elementwise([total, float(count)], lambda bb, a, b: bb.f("divf", a, b))
        cm = ["d1"]
        acc = self.fb.fill(0.0, (x.shape[1],))

        def body(bb, a):
            t = bb.f("subf", a[0], a[1])
            return [bb.f("addf", a[2], bb.f("mulf", t, t))]
        var_sum = self.fb.generic(
            [(x, _ids(x.rank)), (mean, cm)], [(acc, cm)],
            ["parallel" if i == 1 else "reduction" for i in range(x.rank)],
            body, hint="bnvar")[0]
        return mean, var_sum, count

    @_handles("aten.native_batch_norm.default")
    def _batch_norm(self, n, x, w, b, rm, rv, training, momentum, eps):
        if x.rank < 2:
            raise UnsupportedOpError("batch norm needs an (N, C, ...) input")
        ids = _ids(x.rank)
        if training:
            mean, var_sum, count = self._bn_stats(x)
            invstd = self.elementwise(
                [var_sum, float(count), eps],
                lambda bb, v, c, e: bb.f("divf", bb.cf(1.0),
                                         bb.math("sqrt", bb.f("addf", bb.f("divf", v, c), e))))
            if rm is not None:
                if count < 2:
                    raise UnsupportedOpError("training batch norm needs more "
                                             "than one value per channel")
                mu = float(momentum)
                new_rm = self.elementwise(
                    [mean, rm], lambda bb, m_, r: bb.f("addf", bb.f("mulf", m_, bb.cf(mu)),
                                                        bb.f("mulf", r, bb.cf(1.0 - mu))))
                new_rv = self.elementwise(
                    [var_sum, rv], lambda bb, v, r: bb.f("addf", bb.f("mulf", bb.f(
                        "divf", v, bb.cf(count - 1)), bb.cf(mu)), bb.f("mulf", r, bb.cf(1.0 - mu))))
                # In-place update of the running stats (torch mutates them).
                self.env[n.args[3]] = new_rm
                self.env[n.args[4]] = new_rv
            center = mean
        else:
            if rm is None:
                raise UnsupportedOpError("eval-mode batch norm without running stats")
            invstd = self.elementwise(
                [rv, eps], lambda bb, v, e: bb.f("divf", bb.cf(1.0),
                                                 bb.math("sqrt", bb.f("addf", v, e))))
            center = rm
        ins = [(x, ids), (center, ["d1"]), (invstd, ["d1"])]
        if w is not None:
            ins.append((w, ["d1"]))
        if b is not None:
            ins.append((b, ["d1"]))

        def body(bb, a):
            y = bb.f("mulf", bb.f("subf", a[0], a[1]), a[2])
            i = 3
            if w is not None:
                y = bb.f("mulf", y, a[i])
                i += 1
            if b is not None:
                y = bb.f("addf", y, a[i])
            return [y]
        out = self.fb.generic(ins, [(self.fb.empty(x.shape), ids)],
                              ["parallel"] * x.rank, body, hint="bn")[0]
        if not training:
            mean = invstd = self.fb.empty((0,))
        return (out, mean, invstd)

    @_handles("aten.native_batch_norm_backward.default")
    def _batch_norm_backward(self, n, gy, x, w, rm, rv, save_mean, save_invstd,
                             train, eps, mask):
        if not train:
            raise UnsupportedOpError("eval-mode batch norm backward is not "
                                     "supported; trace the model in train()")
        ids = _ids(x.rank)
        red = [i for i in range(x.rank) if i != 1]
        count = float(_prod(x.shape[i] for i in red))
        C = x.shape[1]
        sum_dy = self.reduce(gy, red)
        acc = self.fb.fill(0.0, (C,))

        def dot_body(bb, a):
            return [bb.f("addf", a[3], bb.f("mulf", a[0], bb.f("subf", a[1], a[2])))]
        dot = self.fb.generic(
            [(gy, ids), (x, ids), (save_mean, ["d1"])], [(acc, ["d1"])],
            ["parallel" if i == 1 else "reduction" for i in range(x.rank)],
            dot_body, hint="bndot")[0]
        dx = dw = db = None
        if mask[0]:
            ins = [(gy, ids), (x, ids), (save_mean, ["d1"]), (save_invstd, ["d1"]),
                   (sum_dy, ["d1"]), (dot, ["d1"])]
            if w is not None:
                ins.append((w, ["d1"]))

            def body(bb, a):
                g, xv, m, inv, sdy, dt = a[:6]
                kk = bb.f("divf", bb.f("mulf", bb.f("mulf", dt, inv), inv), bb.cf(count))
                gm = bb.f("divf", sdy, bb.cf(count))
                proj = bb.f("mulf", bb.f("subf", xv, m), kk)
                v = bb.f("mulf", bb.f("subf", bb.f("subf", g, proj), gm), inv)
                if w is not None:
                    v = bb.f("mulf", v, a[6])
                return [v]
            dx = self.fb.generic(ins, [(self.fb.empty(x.shape), ids)],
                                 ["parallel"] * x.rank, body, hint="bngrad")[0]
        if mask[1] and w is not None:
            dw = self.elementwise([dot, save_invstd], lambda bb, a, b: bb.f("mulf", a, b))
        if mask[2] and w is not None:
            db = sum_dy
        return (dx, dw, db)


SUPPORTED_OPS = sorted(_HANDLERS)
