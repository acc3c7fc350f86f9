"""bm.frontend: a PyTorch front end that captures a model's whole SGD
training step (forward, softmax cross-entropy, backward, update) as ONE FP32
MLIR function in linalg on tensors, ready for ``bm-opt --bm-lower-to-cpu``
and for ``bm-opt --bm-quantize-training``.

Usage::

    from bm import frontend
    step = frontend.capture_train_step(model, (64, 784), lr=0.1, momentum=0.9,
                                       weight_decay=5e-4)
    step.mlir                      # the module text
    step.signature                 # arguments/results (JSON-able dict)
    step.write("mlp_train.mlir")   # + mlp_train.json (the signature)
    run = step.compile()           # bm.compiler: a CompiledTrainStep
    bm6 = step.compile(passes=["--bm-quantize-training=preset=bm6"])
    values = step.initial_values(model)   # weights, zero momentum, BN stats
    out = run(values, x, labels, seed=0)  # labels: class ids or one-hot rows
    out["loss"], out["weights"], out["state"], out["grads"]

``bm.frontend.reference.torch_step`` runs PyTorch's own step
(cross_entropy, backward, torch.optim.SGD) on the same named values, and
``reference.compare`` lists the differences; python/tests/test_frontend.py
and examples/generate.py --check use them.

Capture (:mod:`bm.frontend.trace`): functorch's make_fx traces ``step(params,
momentum, stats, x, y)`` (functional_call of the model, the loss,
torch.autograd.grad of the logits by the loss gradient, the SGD update) with
PyTorch's own decompositions of the composite ops in :data:`DECOMPOSITIONS`
(batch/layer/group norm, softmax, GELU, addmm, activations: autograd
differentiates the composite op, then both directions decompose), and a
second trace functionalizes that graph (in-place ops become out-of-place).
Each live op of the resulting graph of core aten ops is lowered by
:mod:`bm.frontend.emitter` (:data:`SUPPORTED_OPS`); contractions (mm, bmm,
convolution and its backward) stay contractions. An aten op without a
lowering raises :class:`UnsupportedOpError` naming it and the module that
ran it (or whose decomposition made it), when known. Static shapes: the
batch size is fixed. docs/frontend.md has the details.

The function (``@train_step`` by default):

* arguments, in order: every parameter ``{bm.role = #bm.role<weight>,
  bm.name = "<torch name>"}`` (biases too; ``model.named_parameters()``
  order); the momentum buffers ``{bm.role = #bm.role<state>, bm.name =
  "<param>.momentum_buffer"}`` (same order; none when momentum is 0); the
  float buffers (batch-norm running_mean / running_var) ``{bm.role =
  #bm.role<state>, bm.name = "<torch name>"}`` (``named_buffers()`` order;
  integer buffers such as num_batches_tracked are not carried); the input
  batch ``{bm.role = #bm.role<activation>, bm.name = "input"}``; the labels,
  one-hot (or probability) f32 rows [batch, classes] ``{bm.role =
  #bm.role<label>, bm.name = "labels"}``; and ``%seed: i64 {bm.role =
  #bm.role<seed>}`` (unused by the FP32 graph);
* results, in order (each with ``bm.role`` / ``bm.name`` result attributes):
  the loss ``tensor<f32>`` (role "loss"); the updated parameters (role
  "weight", argument order); the updated state (role "state": momentum
  buffers, then running stats, argument order); with ``return_grads=True``
  the gradients (role "grad", parameter order);
* every tensor is f32 with a static shape; lr, momentum, weight decay and
  nesterov are constants in the body;
* the op that computes d loss / d logits, ``(softmax(logits) - labels) /
  batch``, is one ``linalg.generic`` carrying the unit attribute
  ``bm.grad_seed``; every backward value is computed from it;
* the header comments list the arguments and results, and a line
  ``// bm.signature: {...}`` holds the same as JSON (what
  :meth:`TrainStep.write` also writes as the .json sidecar).
"""

from .capture import (CompiledTrainStep, TrainStep, capture_train_step,
                      signature_from_mlir, SIGNATURE_FORMAT)
from .emitter import SUPPORTED_OPS, UnsupportedOpError
from .forward import Forward, capture_forward
from .trace import DECOMPOSITIONS

__all__ = ["capture_train_step", "TrainStep", "CompiledTrainStep",
           "capture_forward", "Forward",
           "UnsupportedOpError", "SUPPORTED_OPS", "DECOMPOSITIONS",
           "signature_from_mlir", "SIGNATURE_FORMAT"]
