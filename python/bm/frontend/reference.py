"""PyTorch's own training step (torch.optim.SGD), to check a captured step
against: the same named values in, the same structure out as
:class:`bm.frontend.CompiledTrainStep`."""

from __future__ import annotations

import copy
from typing import Dict

import numpy as np

__all__ = ["torch_step", "compare"]


def torch_step(model, values: Dict[str, np.ndarray], x, labels, *, lr,
               momentum=0.0, weight_decay=0.0, nesterov=False) -> dict:
    """One step of `model` (a deep copy, in train mode) loaded with
    `values` (parameters, "<param>.momentum_buffer" momentum buffers, float
    buffers), on `x` and integer `labels` (or probability rows), with
    torch.nn.functional.cross_entropy and torch.optim.SGD. Returns {"loss",
    "weights", "state", "grads"} as numpy arrays."""
    import torch
    m = copy.deepcopy(model)
    m.train()
    params = dict(m.named_parameters())
    with torch.no_grad():
        for n, p in params.items():
            p.copy_(torch.from_numpy(np.asarray(values[n], np.float32)))
        for n, b in m.named_buffers():
            if b.is_floating_point() and n in values:
                b.copy_(torch.from_numpy(np.asarray(values[n], np.float32)))
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=momentum,
                          weight_decay=weight_decay, nesterov=nesterov)
    if momentum:
        for n, p in params.items():
            buf = values.get(n + ".momentum_buffer")
            if buf is not None:
                opt.state[p]["momentum_buffer"] = torch.tensor(
                    np.asarray(buf, np.float32))
    xt = torch.from_numpy(np.asarray(x, np.float32))
    lab = np.asarray(labels)
    yt = torch.from_numpy(lab.astype(np.int64) if lab.ndim == 1 else lab.astype(np.float32))
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(m(xt), yt)
    loss.backward()
    grads = {n: p.grad.detach().numpy().copy() for n, p in params.items()}
    opt.step()
    out = {"loss": float(loss.detach()), "grads": grads,
           "weights": {n: p.detach().numpy().copy() for n, p in params.items()},
           "state": {}}
    if momentum:
        for n, p in params.items():
            out["state"][n + ".momentum_buffer"] = opt.state[p]["momentum_buffer"].numpy().copy()
    for n, b in m.named_buffers():
        if b.is_floating_point():
            out["state"][n] = b.detach().numpy().copy()
    return out


def compare(got: dict, want: dict, rtol=1e-4, atol=1e-5, grads=True):
    """List of mismatch descriptions (empty when everything is within
    rtol/atol, elementwise as numpy.isclose)."""
    bad = []
    if not np.isclose(got["loss"], want["loss"], rtol=rtol, atol=atol):
        bad.append("loss: got %r, want %r" % (got["loss"], want["loss"]))
    kinds = ["weights", "state"] + (["grads"] if grads else [])
    for kind in kinds:
        if set(got[kind]) != set(want[kind]):
            bad.append("%s: names differ: %s vs %s" % (kind, sorted(got[kind]),
                                                         sorted(want[kind])))
            continue
        for n in want[kind]:
            g, w = np.asarray(got[kind][n]), np.asarray(want[kind][n])
            if g.shape != w.shape:
                bad.append("%s %s: shape %s, want %s" % (kind, n, g.shape, w.shape))
                continue
            ok = np.isclose(g, w, rtol=rtol, atol=atol)
            if not ok.all():
                i = np.unravel_index(np.argmin(ok), ok.shape)
                err = np.abs(g - w)
                bad.append("%s %s: %d of %d differ; at %s got %r want %r; max |diff| %.3g"
                           % (kind, n, (~ok).sum(), ok.size, tuple(int(j) for j in i),
                              g[i], w[i], err.max()))
    return bad
