"""Train a PyTorch model with compiled FP32 or BM training steps.

    from bm.train.runner import Runner
    r = Runner(model, (64, 1, 28, 28), fmt="bm6", lr=0.05, momentum=0.9)
    loss = r.step(x, labels)          # numpy in, numpy weights kept inside
    acc = r.accuracy(x_test, y_test)  # compiled eval-mode forward pass
    r.load_into(model)                # trained weights back into PyTorch

The step is captured once by bm.frontend, compiled through bm-opt (with
``--bm-quantize-training=preset=<fmt>`` for BM formats) into a shared
library, and called through ctypes; weights, momentum buffers and batch-norm
statistics stay in numpy between steps. Stochastic rounding draws a new
Philox stream every step: seed ``run_seed * 1_000_000 + step``.

With ``device="cuda"`` the step and the forward pass are compiled for the
GPU (bm.cuda: ``bm-lower-to-nvvm``) and called on PyTorch's current stream;
weights and state stay in device memory (CUDA tensors) between steps, and
only the batch goes to the device and the loss comes back.
"""

from typing import Dict, Optional, Sequence

import numpy as np

from bm import compiler


class Runner:
    def __init__(self, model, input_shape: Sequence[int], fmt: str = "fp32",
                 lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 5e-4, rounding: str = "stochastic",
                 seed: int = 0, eval_batch: Optional[int] = None,
                 step_module=None, forward_module=None,
                 loss_grad: str = "auto", scale: str = "floor",
                 forward_scale: Optional[str] = None,
                 backward_scale: Optional[str] = None,
                 model_input: str = "bm", device: str = "cpu"):
        from bm import frontend
        if device not in ("cpu", "cuda"):
            raise ValueError("device must be 'cpu' or 'cuda', got %r"
                             % (device,))
        self.device = device
        self.fmt, self.seed, self.steps = fmt, seed, 0
        self.step_module = step_module or frontend.capture_train_step(
            model, input_shape, lr=lr, momentum=momentum,
            weight_decay=weight_decay)
        shape = tuple(input_shape)
        if forward_module is not None:
            eval_batch = forward_module.batch_size
        self.eval_batch = eval_batch or shape[0]
        self.forward_module = forward_module or frontend.capture_forward(
            model, (self.eval_batch,) + shape[1:])
        self.values: Dict[str, np.ndarray] = self.step_module.initial_values(model)
        scales = dict(scale=scale, forward_scale=forward_scale,
                      backward_scale=backward_scale, model_input=model_input)
        if device == "cuda":
            self._init_cuda(fmt, rounding, loss_grad, scales)
            return
        self._step = self.step_module.compile(
            passes=compiler.quantize_training_passes(fmt, rounding, loss_grad,
                                                     **scales))
        # Inference in the trained format and scale rule, deterministic
        # rounding.
        self._forward = self.forward_module.compile(
            passes=compiler.quantize_training_passes(fmt, "nearest", **scales))

    def _init_cuda(self, fmt, rounding, loss_grad, scales):
        import torch
        from bm import cuda
        where = cuda.device()
        self.values = {n: torch.from_numpy(np.ascontiguousarray(v, np.float32))
                       .to(where) for n, v in self.values.items()}
        step = cuda.compile_module(
            self.step_module.mlir,
            passes=compiler.quantize_training_passes(fmt, rounding, loss_grad,
                                                     **scales))
        forward = cuda.compile_module(
            self.forward_module.mlir,
            passes=compiler.quantize_training_passes(fmt, "nearest", **scales))
        self._cuda_step = step[self.step_module.func_name]
        self._cuda_forward = forward["forward"]
        self._where = where

    def _cuda_step_call(self, x, labels, seed):
        import torch
        from bm.frontend.capture import label_rows
        sig = self.step_module.signature
        args = []
        for a in sig["arguments"]:
            role = a["role"]
            if role == "activation":
                args.append(torch.from_numpy(np.ascontiguousarray(
                    x, np.float32)).to(self._where))
            elif role == "label":
                args.append(torch.from_numpy(
                    label_rows(labels, a["shape"])).to(self._where))
            elif role == "seed":
                args.append(int(seed))
            else:
                args.append(self.values[a["name"]])
        res = self._cuda_step(*args)
        if not isinstance(res, tuple):
            res = (res,)
        loss = None
        for r, v in zip(sig["results"], res):
            if r["role"] == "loss":
                loss = v
            elif r["role"] in ("weight", "state"):
                self.values[r["name"]] = v
        return float(loss.item())

    def step(self, x, labels) -> float:
        """One SGD step on a batch; returns the loss."""
        if self.device == "cuda":
            loss = self._cuda_step_call(x, labels,
                                        self.seed * 1_000_000 + self.steps)
            self.steps += 1
            return loss
        out = self._step(self.values, x, labels,
                         seed=self.seed * 1_000_000 + self.steps)
        self.values.update(out["weights"])
        self.values.update(out["state"])
        self.steps += 1
        return out["loss"]

    def logits(self, x) -> np.ndarray:
        if self.device == "cuda":
            import torch
            args = [torch.from_numpy(np.ascontiguousarray(x, np.float32))
                    .to(self._where) if a.role == "activation"
                    else self.values[a.name]
                    for a in self.forward_module.arguments]
            return self._cuda_forward(*args).cpu().numpy()
        return self._forward(self.values, x)

    def numpy_values(self) -> Dict[str, np.ndarray]:
        """The weights and state, as numpy arrays (copied from the device
        with ``device="cuda"``)."""
        if self.device == "cuda":
            return {n: v.cpu().numpy() for n, v in self.values.items()}
        return dict(self.values)

    def accuracy(self, x, y) -> float:
        """Top-1 accuracy over whole eval batches of (x, y)."""
        n = len(x) - len(x) % self.eval_batch
        if n == 0:
            raise ValueError("need at least %d examples" % self.eval_batch)
        correct = 0
        for start in range(0, n, self.eval_batch):
            logits = self.logits(x[start:start + self.eval_batch])
            correct += int((logits.argmax(1) == y[start:start + self.eval_batch]).sum())
        return correct / n

    def load_into(self, model):
        """Copies the trained parameters and statistics into `model`."""
        import torch
        with torch.no_grad():
            values = self.numpy_values()
            for name, t in list(model.named_parameters()) + list(model.named_buffers()):
                if name in values:
                    t.copy_(torch.from_numpy(values[name]))
        return model


class TorchRunner:
    """The FP32 reference trained by PyTorch itself, in eager mode: the
    interface of :class:`Runner` (``step``, ``accuracy``, ``load_into``),
    with ``torch.nn.functional.cross_entropy``, ``loss.backward()`` and
    ``torch.optim.SGD``: the step the compiled FP32 step is tested against
    (python/tests/test_frontend.py). Given the same model (initial weights)
    and batches, a run gives what the compiled FP32 step gives, at
    PyTorch's speed; accuracy uses the eval-mode model."""

    def __init__(self, model, lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 5e-4, eval_batch: int = 500):
        import torch
        self.model = model.train()
        self.opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum,
                                   weight_decay=weight_decay)
        self.eval_batch = eval_batch
        self.steps = 0

    def step(self, x, labels) -> float:
        import torch
        self.model.train()
        self.opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            self.model(torch.from_numpy(np.asarray(x, np.float32))),
            torch.from_numpy(np.asarray(labels, np.int64)))
        loss.backward()
        self.opt.step()
        self.steps += 1
        return float(loss.detach())

    def accuracy(self, x, y) -> float:
        import torch
        n = len(x) - len(x) % self.eval_batch
        if n == 0:
            raise ValueError("need at least %d examples" % self.eval_batch)
        self.model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, n, self.eval_batch):
                logits = self.model(torch.from_numpy(x[start:start + self.eval_batch]))
                correct += int((logits.argmax(1).numpy()
                                == y[start:start + self.eval_batch]).sum())
        return correct / n

    def load_into(self, model):
        model.load_state_dict(self.model.state_dict())
        return model

