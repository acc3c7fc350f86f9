"""Capture a PyTorch model's SGD training step as one FP32 MLIR function.

See the package docstring (bm/frontend/__init__.py) for the API and the
conventions of the emitted function.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from .emitter import AtenLowering, UnsupportedOpError
from .mlir import FunctionBuilder, Val, tensor_type
from .trace import decomposition_table, trace_functional

__all__ = ["capture_train_step", "TrainStep", "CompiledTrainStep",
           "SIGNATURE_FORMAT"]

SIGNATURE_FORMAT = "bm.train_step/1"


def _torch():
    import torch
    return torch


# ---------------------------------------------------------------------------
# Module attribution of aten ops (for error messages)
# ---------------------------------------------------------------------------

def _ops_by_module(model, x):
    """op name -> "'<path>' (<Type>)" of the innermost module whose forward
    ran it first; a backward op gets its forward op's module (aten.gelu ->
    aten.gelu_backward)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    stack: List[str] = []
    found: Dict[str, str] = {}
    table = decomposition_table()

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = str(func)
            if stack and name not in found:
                found[name] = stack[-1]
            if func in table:
                # The ops of the decomposition, attributed to the same module.
                with self:
                    return table[func](*args, **(kwargs or {}))
            return func(*args, **(kwargs or {}))

    model = copy.deepcopy(model)  # no side effects on the caller's model
    model.train()
    for path, mod in model.named_modules():
        if mod is model:
            continue
        desc = "'%s' (%s)" % (path, type(mod).__name__)

        def pre(m, inp, desc=desc):
            stack.append(desc)

        def post(m, inp, out):
            stack.pop()
        mod.register_forward_pre_hook(pre)
        mod.register_forward_hook(post)
    try:
        with Mode():
            model(x)
    except Exception:
        pass
    # Backward ops: named after their forward op's module when the names
    # match (aten.gelu -> aten.gelu_backward).
    for name, where in list(found.items()):
        base = name.rsplit(".", 1)[0]
        found.setdefault(base + "_backward.default", where)
    return found


# ---------------------------------------------------------------------------
# The signature
# ---------------------------------------------------------------------------

@dataclass
class TensorSpec:
    name: str
    role: str
    shape: List[int]
    dtype: str = "f32"
    updates: Optional[str] = None  # results: the argument this one replaces

    def to_json(self, index):
        d = {"index": index, "name": self.name, "role": self.role,
             "shape": list(self.shape), "dtype": self.dtype}
        if self.updates is not None:
            d["updates"] = self.updates
        return d


@dataclass
class TrainStep:
    """A captured training step: ``mlir`` (the module text), ``signature``
    (the JSON-able description of arguments and results)."""
    mlir: str
    signature: dict
    graph: object = field(default=None, repr=False)

    @property
    def func_name(self) -> str:
        return self.signature["function"]

    def write(self, path: str, sidecar: bool = True):
        """Writes the module to `path` and (if `sidecar`) the signature to
        the same path with the extension .json."""
        with open(path, "w") as f:
            f.write(self.mlir)
        if sidecar:
            with open(os.path.splitext(path)[0] + ".json", "w") as f:
                f.write(json.dumps(self.signature, indent=1) + "\n")

    @classmethod
    def load(cls, path: str) -> "TrainStep":
        """Reads a module written by :meth:`write` (the signature from the
        JSON comment line of the module)."""
        with open(path) as f:
            text = f.read()
        return cls(text, signature_from_mlir(text))

    def initial_values(self, model) -> Dict[str, np.ndarray]:
        """Arguments other than input, labels and seed, from a model:
        parameters, zero momentum buffers, batch-norm running stats."""
        params = {n: p.detach().cpu().numpy().astype(np.float32)
                  for n, p in model.named_parameters()}
        bufs = {n: b.detach().cpu().numpy().astype(np.float32)
                for n, b in model.named_buffers()}
        out = {}
        for a in self.signature["arguments"]:
            if a["role"] == "weight":
                out[a["name"]] = params[a["name"]].copy()
            elif a["role"] == "state":
                if a["name"].endswith(".momentum_buffer"):
                    out[a["name"]] = np.zeros(a["shape"], np.float32)
                else:
                    out[a["name"]] = bufs[a["name"]].copy()
        return out

    def compile(self, **kwargs) -> "CompiledTrainStep":
        """Compiles the step with bm.compiler (bm-opt --bm-lower-to-cpu);
        kwargs go to compiler.compile_module, e.g.
        ``passes=["--bm-quantize-training"]`` for the BM step."""
        from .. import compiler
        lib = compiler.compile_module(self.mlir, **kwargs)
        return CompiledTrainStep(lib[self.func_name], self.signature)


def label_rows(labels, shape) -> np.ndarray:
    """The step's label argument: `labels` as class indices (1-D ints,
    one-hot encoded here into `shape`) or already (N, classes) rows."""
    lab = np.asarray(labels)
    if lab.ndim == 1:
        one = np.zeros(shape, np.float32)
        one[np.arange(lab.shape[0]), lab.astype(np.int64)] = 1.0
        lab = one
    return np.ascontiguousarray(lab, np.float32)


class CompiledTrainStep:
    """Calls a compiled training step with named arrays."""

    def __init__(self, function, signature):
        self.function = function
        self.signature = signature

    def arguments(self, values: Dict[str, np.ndarray], x, labels, seed=0) -> list:
        """The positional arguments: `values` by name for weights and
        state; `labels` as class indices (1-D ints, one-hot encoded here) or
        as an (N, classes) f32 array of one-hot / probability rows."""
        args = []
        for a in self.signature["arguments"]:
            role = a["role"]
            if role == "activation":
                args.append(np.asarray(x, np.float32))
            elif role == "label":
                args.append(label_rows(labels, a["shape"]))
            elif role == "seed":
                args.append(int(seed))
            else:
                args.append(np.asarray(values[a["name"]], np.float32))
        return args

    def __call__(self, values: Dict[str, np.ndarray], x, labels, seed=0) -> dict:
        """Runs one step. Returns {"loss": float, "weights": {name: array},
        "state": {name: array}, "grads": {name: array} (if returned)}; pass
        ``{**values, **out["weights"], **out["state"]}`` to the next step."""
        res = self.function(*self.arguments(values, x, labels, seed))
        if not isinstance(res, tuple):
            res = (res,)
        out = {"loss": None, "weights": {}, "state": {}, "grads": {}}
        for r, v in zip(self.signature["results"], res):
            if r["role"] == "loss":
                out["loss"] = float(np.asarray(v))
            elif r["role"] == "weight":
                out["weights"][r["name"]] = v
            elif r["role"] == "state":
                out["state"][r["name"]] = v
            elif r["role"] == "grad":
                out["grads"][r["name"]] = v
        return out


_JSON_TAG = "// bm.signature: "


def signature_from_mlir(text: str) -> dict:
    for line in text.splitlines():
        if line.startswith(_JSON_TAG):
            return json.loads(line[len(_JSON_TAG):])
    raise ValueError("no '%s' line in the module" % _JSON_TAG.strip())


# ---------------------------------------------------------------------------
# Capture
# ---------------------------------------------------------------------------

def capture_train_step(model, input_shape: Sequence[int], *, lr: float,
                       momentum: float = 0.0, weight_decay: float = 0.0,
                       nesterov: bool = False, dampening: float = 0.0,
                       return_grads: bool = False,
                       func_name: str = "train_step") -> TrainStep:
    """Traces forward + softmax cross-entropy (mean over the batch) +
    backward + SGD update of `model` for a batch of shape `input_shape`
    (static, batch size first) and emits it as one MLIR function.

    The SGD step is torch.optim.SGD's (dampening 0): ``d = g + wd * w;
    v = momentum * v + d; w -= lr * (d + momentum * v if nesterov else v)``;
    with momentum 0 there are no momentum buffers and ``w -= lr * d``. The
    hyperparameters are baked into the module as constants.

    Raises UnsupportedOpError (naming the aten op and, when known, the
    module) for anything the front end cannot lower."""
    torch = _torch()
    from torch.nn.utils.stateless import functional_call

    if dampening:
        raise UnsupportedOpError("bm.frontend: SGD dampening != 0 is not supported")
    if nesterov and not momentum:
        raise UnsupportedOpError("bm.frontend: nesterov needs momentum > 0")
    input_shape = tuple(int(d) for d in input_shape)
    batch = input_shape[0]

    was_training = model.training
    model.train()
    try:
        for path, mod in model.named_modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                if mod.track_running_stats and mod.momentum is None:
                    raise UnsupportedOpError(
                        "bm.frontend: batch norm '%s' has momentum=None "
                        "(cumulative average); give it a float momentum" % path)
        params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        frozen = [(n, p) for n, p in model.named_parameters() if not p.requires_grad]
        if frozen:
            raise UnsupportedOpError("bm.frontend: frozen parameters are not "
                                     "supported (%s)" % frozen[0][0])
        stats = [(n, b) for n, b in model.named_buffers() if b.is_floating_point()]
        others = [(n, b) for n, b in model.named_buffers() if not b.is_floating_point()]

        with torch.no_grad():  # (a copy: leaves batch-norm stats alone)
            probe = copy.deepcopy(model).eval()(torch.zeros(input_shape))
        if probe.dim() != 2 or probe.shape[0] != batch:
            raise UnsupportedOpError("bm.frontend: the model must return "
                                     "(batch, classes) logits; got shape %s"
                                     % (tuple(probe.shape),))
        classes = probe.shape[1]

        np_ = len(params)
        nm = np_ if momentum else 0
        ns = len(stats)
        no = len(others)
        pnames = [n for n, _ in params]
        snames = [n for n, _ in stats]
        onames = [n for n, _ in others]

        unused: List[str] = []

        def step(*flat):
            ps = list(flat[:np_])
            ms = list(flat[np_:np_ + nm])
            ss = list(flat[np_ + nm:np_ + nm + ns])
            os_ = list(flat[np_ + nm + ns:np_ + nm + ns + no])
            x, y = flat[-2], flat[-1]
            tensors = dict(zip(pnames, ps))
            tensors.update(zip(snames, ss))
            tensors.update(zip(onames, os_))
            logits = functional_call(model, tensors, (x,))
            loss = -(y * torch.log_softmax(logits, 1)).sum() / batch
            # d loss / d logits for probability rows y: (softmax - y) / N.
            seed = (torch.softmax(logits.detach(), 1) - y) / batch
            grads = list(torch.autograd.grad(logits, ps, seed, allow_unused=True))
            for i, g in enumerate(grads):
                if g is None:  # reported after the unsupported-op check
                    unused.append(pnames[i])
                    grads[i] = torch.zeros_like(ps[i])
            new_p, new_m = [], []
            with torch.no_grad():
                for i, (w, g) in enumerate(zip(ps, grads)):
                    d = g.add(w, alpha=weight_decay) if weight_decay else g
                    if momentum:
                        v = ms[i].mul(momentum).add(d)
                        new_m.append(v)
                        d = d.add(v, alpha=momentum) if nesterov else v
                    new_p.append(w.add(d, alpha=-lr))
            return tuple([loss] + new_p + new_m + ss + (list(grads) if return_grads else [])
                         + [seed])

        flat = ([p.detach().clone().requires_grad_(True) for _, p in params]
                + [torch.zeros_like(p) for _, p in params][:nm]
                + [b.detach().clone() for _, b in stats]
                + [b.detach().clone() for _, b in others]
                + [torch.randn(input_shape),
                   torch.nn.functional.one_hot(torch.arange(batch) % classes,
                                               classes).float()])
        x_example = flat[-2]
        try:
            gm = trace_functional(step, flat)
        except UnsupportedOpError:
            raise
        except Exception as e:  # a failure inside torch while tracing
            raise UnsupportedOpError("bm.frontend: tracing the training step "
                                     "failed: %s: %s" % (type(e).__name__, e)) from e
    finally:
        model.train(was_training)

    # -- arguments ------------------------------------------------------------
    graph = gm.graph
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    assert len(placeholders) == len(flat), (len(placeholders), len(flat))
    arg_specs: List[TensorSpec] = []
    for n, p in params:
        arg_specs.append(TensorSpec(n, "weight", list(p.shape)))
    for n, p in params[:nm]:
        arg_specs.append(TensorSpec(n + ".momentum_buffer", "state", list(p.shape)))
    for n, b in stats:
        arg_specs.append(TensorSpec(n, "state", list(b.shape)))
    arg_specs.append(TensorSpec("input", "activation", list(input_shape)))
    arg_specs.append(TensorSpec("labels", "label", [batch, classes]))
    seed_spec = TensorSpec("seed", "seed", [], "i64")

    fb = FunctionBuilder()
    env = {}
    arg_vals = []
    traced_ph = placeholders[:np_ + nm + ns] + placeholders[-2:]
    for i, (spec, ph) in enumerate(zip(arg_specs, traced_ph)):
        v = Val("%%arg%d" % i, tuple(spec.shape))
        env[ph] = v
        arg_vals.append(v)
    for ph in placeholders[np_ + nm + ns:np_ + nm + ns + no]:
        env[ph] = None  # integer buffers (num_batches_tracked): not carried

    # -- lowering of the live nodes ---------------------------------------------
    out_node = next(n for n in graph.nodes if n.op == "output")
    outs = list(out_node.args[0])
    seed_node = outs[-1]
    live = set()
    work = list(outs)
    while work:
        n = work.pop()
        if n in live or not hasattr(n, "op"):
            continue
        live.add(n)
        for a in n.all_input_nodes:
            work.append(a)
    nodes = [n for n in graph.nodes if n in live]
    # A node computed from an integer buffer would need that buffer.
    for ph in placeholders[np_ + nm + ns:np_ + nm + ns + no]:
        if ph in live:
            raise UnsupportedOpError("bm.frontend: the step reads the integer "
                                     "buffer %s, which is not supported"
                                     % onames[placeholders.index(ph) - np_ - nm - ns])
    lowering = AtenLowering(fb, env, grad_seed=seed_node,
                            module_of=lambda: _ops_by_module(model, x_example))
    lowering.check_supported(nodes)
    if unused:
        raise UnsupportedOpError(
            "bm.frontend: parameter %s does not reach the loss in the traced "
            "step (unused, or used by a module that bypasses functional_call, "
            "e.g. nn.LSTM's flat weights); every parameter must be used" % unused[0])
    lowering.run(nodes)

    results = outs[:-1]
    res_vals = [env[n] for n in results]
    res_specs: List[TensorSpec] = [TensorSpec("loss", "loss", [])]
    for n, p in params:
        res_specs.append(TensorSpec(n, "weight", list(p.shape), updates=n))
    for n, p in params[:nm]:
        res_specs.append(TensorSpec(n + ".momentum_buffer", "state", list(p.shape),
                                    updates=n + ".momentum_buffer"))
    for n, b in stats:
        res_specs.append(TensorSpec(n, "state", list(b.shape), updates=n))
    if return_grads:
        for n, p in params:
            res_specs.append(TensorSpec(n, "grad", list(p.shape)))
    assert len(res_specs) == len(res_vals)
    for spec, v in zip(res_specs, res_vals):
        if not isinstance(v, Val) or list(v.shape) != spec.shape:
            raise RuntimeError("bm.frontend: internal error: result %s: %r"
                               % (spec.name, v))

    hyper = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
             "nesterov": bool(nesterov), "dampening": 0.0}
    signature = {
        "format": SIGNATURE_FORMAT,
        "function": func_name,
        "batch_size": batch,
        "num_classes": classes,
        "loss": "softmax cross-entropy, mean over the batch",
        "labels": "one-hot (or probability) rows, f32 [batch, classes]",
        "hyperparameters": hyper,
        "arguments": [s.to_json(i) for i, s in enumerate(arg_specs + [seed_spec])],
        "results": [s.to_json(i) for i, s in enumerate(res_specs)],
    }
    body = fb.finish([v.name for v in res_vals])
    text = _module_text(body, func_name, arg_specs + [seed_spec], res_specs,
                        res_vals, signature, type(model).__name__)
    return TrainStep(text, signature, gm)


def _attr_dict(spec: TensorSpec) -> str:
    parts = ['bm.name = "%s"' % spec.name, 'bm.role = #bm.role<%s>' % spec.role]
    return "{%s}" % ", ".join(parts)


def _module_text(body, func_name, arg_specs, res_specs, res_vals, signature,
                 model_name) -> str:
    h = signature["hyperparameters"]
    lines = [
        "// Generated by bm.frontend (python/bm/frontend): one FP32 SGD training",
        "// step of a %s, forward + softmax cross-entropy + backward + update," % model_name,
        "// in linalg on tensors. Lower with `bm-opt --bm-lower-to-cpu`; rewrite",
        "// into BM with `bm-opt --bm-quantize-training`.",
        "//",
        "// Loss: mean softmax cross-entropy over the batch; labels are f32 one-hot",
        "// (or probability) rows. SGD constants baked in (as f32): lr = %r," % h["lr"],
        "// momentum = %r, weight_decay = %r, nesterov = %s, dampening = 0." % (
            h["momentum"], h["weight_decay"], str(h["nesterov"]).lower()),
        "//",
        "// Arguments:",
    ]
    for i, s in enumerate(arg_specs):
        lines.append("//   #%-3d %-10s %-32s %s" % (i, s.role, s.name,
                                                    tensor_type(s.shape, s.dtype)
                                                    if s.dtype != "i64" else "i64"))
    lines.append("// Results:")
    for i, s in enumerate(res_specs):
        lines.append("//   #%-3d %-10s %-32s %s" % (i, s.role, s.name,
                                                    tensor_type(s.shape, s.dtype)))
    lines.append(_JSON_TAG + json.dumps(signature, separators=(",", ":")))
    args = []
    for i, s in enumerate(arg_specs):
        ty = "i64" if s.dtype == "i64" else tensor_type(s.shape, s.dtype)
        name = "%%arg%d" % i if s.role != "seed" else "%seed"
        args.append("    %s: %s %s" % (name, ty, _attr_dict(s)))
    res = ["    %s %s" % (tensor_type(s.shape, s.dtype), _attr_dict(s))
           for s in res_specs]
    lines.append("func.func @%s(\n%s)\n    -> (\n%s) {" % (
        func_name, ",\n".join(args), ",\n".join(res)))
    lines.extend(body)
    lines.append("  return %s\n      : %s" % (", ".join(v.name for v in res_vals),
                                               ", ".join(v.type for v in res_vals)))
    lines.append("}")
    return "\n".join(lines) + "\n"
