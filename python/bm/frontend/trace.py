"""Tracing a PyTorch function into a functional graph of core aten ops.

Two passes, the order torch 1.13's own aot_autograd uses for the same
reason:

1. ``make_fx`` with PyTorch's decompositions (:data:`DECOMPOSITIONS`):
   autograd runs above the decompositions, so it differentiates the
   composite op (``aten.native_layer_norm`` gets its own backward,
   ``aten.native_layer_norm_backward``), and both are then decomposed into
   core ops below it;
2. ``functorch.experimental.functionalize`` over a replay of that graph:
   in-place ops become out-of-place (``aten.relu_`` -> ``aten.relu``,
   ``aten.add_`` -> ``aten.add``, the batch-norm decomposition's
   ``running_mean.copy_(...)`` -> the new value). A mutated input gets a
   trailing ``aten.copy_`` into its placeholder, which is dead for the
   values the caller returns.

Decomposing first matters: functionalization in torch 1.13 handles aten
ops only, and the graph it replays must not hold mutations it cannot see
through.

What is *not* decomposed is the set of ops that :mod:`bm.frontend.emitter`
lowers directly (:data:`bm.frontend.SUPPORTED_OPS`): elementwise math,
reductions, views, and the contractions and their backward passes
(``aten.mm``, ``aten.bmm``, ``aten.convolution``,
``aten.convolution_backward``), which must stay contractions for
``bm-quantize-training`` to see them, plus pooling.
"""

from __future__ import annotations

from typing import Callable, Dict, List

__all__ = ["DECOMPOSITIONS", "decomposition_table", "trace_functional"]


def _aten():
    import torch
    return torch.ops.aten


# Composite ops decomposed by PyTorch's own decompositions (torch._decomp);
# each of these decomposes into aten ops only (no prims), which the check in
# python/tests/test_frontend.py verifies.
DECOMPOSITIONS: List[str] = [
    # Normalization, forward and backward.
    "native_batch_norm", "native_batch_norm_backward",
    "native_layer_norm", "native_layer_norm_backward",
    "native_group_norm", "native_group_norm_backward",
    "var.correction", "std.correction",
    # Softmax and log-softmax, forward and backward.
    "_softmax", "_softmax_backward_data",
    "_log_softmax", "_log_softmax_backward_data", "logsumexp",
    # Linear layers: addmm = mm + bias.
    "addmm",
    # Activations and their backward passes.
    "threshold_backward", "gelu", "gelu_backward",
    "silu", "silu_backward", "sigmoid_backward", "tanh_backward",
    "hardtanh", "hardtanh_backward", "leaky_relu", "leaky_relu_backward",
    "elu", "elu_backward", "hardsigmoid", "hardsigmoid_backward",
    "hardswish", "hardswish_backward", "softplus", "softplus_backward",
    "clamp_min", "clamp_max", "masked_fill",
    # Pooling to a size that divides the input: average pooling.
    "_adaptive_avg_pool2d",
    # Shapes.
    "t", "split.Tensor", "unbind", "stack", "rsub", "mse_loss",
    "slice_backward", "select_backward",
]


def _var_mean(x, dim=None, *, correction=None, keepdim=False):
    """aten.var_mean.correction as aten.var.correction and aten.mean.dim
    (torch 1.13's decomposition of var_mean goes through a prims view that
    functionalization rejects; var.correction then decomposes as usual)."""
    aten = _aten()
    dims = list(range(x.dim())) if dim is None else list(dim)
    var = aten.var.correction(x, dims, correction=correction, keepdim=keepdim)
    mean = aten.mean.dim(x, dims, keepdim)
    return var, mean


def decomposition_table() -> Dict[object, Callable]:
    """The decompositions of :data:`DECOMPOSITIONS` from torch._decomp, plus
    the local one for ``aten.var_mean.correction``."""
    from torch._decomp import get_decompositions
    aten = _aten()
    ops = []
    for name in DECOMPOSITIONS:
        base, _, overload = name.partition(".")
        packet = getattr(aten, base)
        ops.append(getattr(packet, overload) if overload else packet)
    table = dict(get_decompositions(ops))
    table[aten.var_mean.correction] = _var_mean
    return table


def trace_functional(fn: Callable, args: list):
    """A functional fx graph (torch.fx.GraphModule) of core aten ops that
    computes ``fn(*args)``: decomposed, then functionalized (see the module
    docstring)."""
    import torch
    from functorch import make_fx
    from functorch.experimental import functionalize

    def replay(*xs):
        return torch.fx.Interpreter(decomposed).run(*xs)

    # The traces compute on real tensors, which only tracing needs: one
    # thread. More threads spin on a busy machine (full-width ResNet-18:
    # 2.8 s of CPU with one thread, 11 s with two).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        decomposed = make_fx(fn, decomposition_table=decomposition_table())(*args)
        return make_fx(functionalize(replay))(*args)
    finally:
        torch.set_num_threads(threads)
