#!/usr/bin/env python3
"""Tests of bm.frontend: capture a PyTorch model's SGD training step as one
FP32 MLIR function, compile it with bm.compiler (bm-opt --bm-lower-to-cpu)
and compare one step with PyTorch's own (torch.nn.functional.cross_entropy,
loss.backward(), torch.optim.SGD): the loss, every gradient (returned with
return_grads=True), the updated weights, momentum buffers and batch-norm
running stats. Tolerance: numpy.isclose with rtol 1e-4, atol 1e-5 (float32
sums in another order than PyTorch's). Models: toy MLPs and CNNs,
torchvision's ResNet-18 and its CIFAR-style variant, a ViT encoder, the
activations and norms PyTorch's decompositions reach (docs/frontend.md says
why the deep models run at the batch sizes they do).

Run: /usr/bin/python3 python/tests/test_frontend.py -v
Needs torch 1.13 (with functorch), torchvision, numpy, and the tools of bm.compiler
(bm-opt from $BM_OPT or <repo>/build/bin/bm-opt, mlir-translate, llc, cc).
Compiled libraries go to a fresh cache directory, removed at the end.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..")))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from bm import frontend  # noqa: E402
from bm.frontend import reference  # noqa: E402
from bm.train import models  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10))


def cnn_bn():
    """Strides with rows the forward conv leaves unread, rectangular
    kernels, dilation, padding > k - 1, batch norm, overlapping padded max
    pooling, padded average pooling, a bias-free conv."""
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),                       # 11 -> 6
        nn.Conv2d(4, 5, (3, 2), stride=(2, 3), padding=(1, 1)),     # 6x6 -> 3x3
        nn.ReLU(),
        nn.Conv2d(5, 4, 3, dilation=2, padding=2, bias=False),      # 3x3 -> 3x3
        nn.BatchNorm2d(4, momentum=0.2), nn.ReLU(),
        nn.AvgPool2d(2, stride=1, padding=1),                       # 3x3 -> 4x4
        nn.Conv2d(4, 3, 1, padding=1),                              # 4x4 -> 6x6
        nn.Flatten(), nn.Linear(3 * 6 * 6, 7))


def tiled_pooling():
    """Pooling windows that tile the input (kernel = stride, no padding),
    whose backward takes the elementwise form, on sizes the windows do not
    cover: a 7x7 max pool by 2 leaves row and column 6 unread, a 3x3
    average pool of 8x8 rows and columns 6 and 7."""
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),                                            # 7 -> 3
        nn.Conv2d(4, 3, 2, padding=3), nn.ReLU(),                   # 3 -> 8
        nn.AvgPool2d(3),                                            # 8 -> 2
        nn.Flatten(), nn.Linear(3 * 2 * 2, 5))


def mlp_bn():
    return nn.Sequential(nn.Linear(20, 16, bias=False), nn.BatchNorm1d(16),
                         nn.ReLU(), nn.Linear(16, 5))


def activations():
    """The activations, norms and pooling that reach the core ops through
    PyTorch's decompositions (bm.frontend.DECOMPOSITIONS), with their
    backward passes."""
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.SiLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(),                      # 4x4 -> 2x2
        nn.Linear(16, 12), nn.Tanh(), nn.LayerNorm(12),
        nn.Linear(12, 12), nn.Sigmoid(), nn.Linear(12, 12), nn.LeakyReLU(0.1),
        nn.Linear(12, 12), nn.ELU(), nn.Linear(12, 12), nn.Hardswish(),
        nn.Linear(12, 12), nn.Softplus(), nn.Linear(12, 12),
        nn.GELU(approximate="tanh"), nn.Linear(12, 12), nn.Hardtanh(-0.5, 0.5),
        nn.Linear(12, 12), nn.GELU(), nn.Dropout(0.0), nn.Linear(12, 5))


class InPlace(nn.Module):
    """In-place ops that functionalization makes out-of-place."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 8)
        self.fc2 = nn.Linear(8, 8)
        self.fc3 = nn.Linear(8, 4)

    def forward(self, x):
        h = self.fc1(x)
        h.relu_()
        r = self.fc2(h)
        r.mul_(0.5).add_(h)
        r += 1.0
        return self.fc3(torch.nn.functional.relu(r, inplace=True))


def random_values(step, model, rng, momentum_scale=0.01):
    """Model parameters, random momentum buffers, random (valid) running
    stats."""
    values = step.initial_values(model)
    for k, v in values.items():
        if k.endswith(".momentum_buffer"):
            values[k] = (rng.standard_normal(v.shape) * momentum_scale).astype(np.float32)
        elif k.endswith("running_var"):
            values[k] = rng.uniform(0.5, 2.0, v.shape).astype(np.float32)
        elif k.endswith("running_mean"):
            values[k] = rng.standard_normal(v.shape).astype(np.float32)
    return values


class FrontendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._old_cache = os.environ.get("BM_COMPILER_CACHE")
        cls.cache = tempfile.mkdtemp(prefix="bm-test-frontend-")
        os.environ["BM_COMPILER_CACHE"] = cls.cache
        torch.manual_seed(0)
        cls.mlp = mlp()
        cls.mlp_hyper = dict(lr=0.1, momentum=0.9, weight_decay=5e-4)
        cls.mlp_step = frontend.capture_train_step(cls.mlp, (64, 784),
                                                   return_grads=True, **cls.mlp_hyper)
        cls.cnn = cnn()
        cls.cnn_hyper = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)
        cls.cnn_step = frontend.capture_train_step(cls.cnn, (16, 1, 28, 28),
                                                   return_grads=True, **cls.cnn_hyper)

    @classmethod
    def tearDownClass(cls):
        if cls._old_cache is None:
            os.environ.pop("BM_COMPILER_CACHE", None)
        else:
            os.environ["BM_COMPILER_CACHE"] = cls._old_cache
        shutil.rmtree(cls.cache, ignore_errors=True)

    def assertMatchesTorch(self, got, want, what):
        bad = reference.compare(got, want, RTOL, ATOL)
        if bad:
            self.fail("%s: %d mismatch(es) with PyTorch:\n  %s" % (what, len(bad),
                                                                   "\n  ".join(bad)))

    def assertContractions(self, step, counts):
        body = "\n".join(l for l in step.mlir.splitlines()
                         if not l.lstrip().startswith("//"))
        for op, n in counts.items():
            self.assertEqual(len(re.findall(r"= %s[ {]" % re.escape(op), body)), n, op)

    def run_and_compare(self, step, model, shape, hyper, seed, what, steps=1,
                        **compile_args):
        rng = np.random.default_rng(seed)
        run = step.compile(**compile_args)
        values = random_values(step, model, rng)
        classes = step.signature["num_classes"]
        for i in range(steps):
            x = rng.standard_normal(shape).astype(np.float32)
            labels = rng.integers(0, classes, shape[0])
            got = run(values, x, labels, seed=i)
            want = reference.torch_step(model, values, x, labels, **hyper)
            self.assertMatchesTorch(got, want, "%s, step %d" % (what, i + 1))
            self.assertEqual(len(got["grads"]), len(list(model.parameters())))
            # Continue from PyTorch's values, so that errors do not compound.
            values = {**values, **want["weights"], **want["state"]}
        return got

    # -- numerics against PyTorch --------------------------------------------

    def test_mlp_step_matches_torch(self):
        # Two chained steps: the momentum buffers carry over.
        self.run_and_compare(self.mlp_step, self.mlp, (64, 784), self.mlp_hyper,
                             1, "MLP 784-256-10", steps=2)

    def test_cnn_step_matches_torch(self):
        self.run_and_compare(self.cnn_step, self.cnn, (16, 1, 28, 28),
                             self.cnn_hyper, 2, "CNN")

    def test_conv_bn_pooling_variants_match_torch(self):
        torch.manual_seed(1)
        model = cnn_bn()
        hyper = dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)
        step = frontend.capture_train_step(model, (6, 2, 11, 11),
                                           return_grads=True, **hyper)
        self.run_and_compare(step, model, (6, 2, 11, 11), hyper, 3,
                             "CNN with batch norm, strides, dilation, pooling")

    def test_tiled_pooling_matches_torch(self):
        torch.manual_seed(4)
        model = tiled_pooling()
        hyper = dict(lr=0.1, momentum=0.9)
        step = frontend.capture_train_step(model, (5, 2, 7, 7),
                                           return_grads=True, **hyper)
        self.assertIn("tensor<5x4x3x2x3x2xf32>", step.mlir)  # max, tiled
        self.assertIn("tensor<5x3x2x3x2x3xf32>", step.mlir)  # average, tiled
        self.run_and_compare(step, model, (5, 2, 7, 7), hyper, 3,
                             "tiled max and average pooling")

    def test_one_tap_weight_gradients_match_torch(self):
        # A 3x3 kernel with padding 1 on a 1x1 image reads data with its
        # centre tap only; stride 2 on 2x2 with taps 1..2. The first weight
        # gradient is one elementwise op (zero but at the centre), not a
        # padded 3x3 copy and its transpose; the second is padded.
        torch.manual_seed(6)
        model = nn.Sequential(nn.Conv2d(3, 5, 3, stride=2, padding=1),
                              nn.ReLU(), nn.Conv2d(5, 4, 3, padding=1),
                              nn.Flatten(), nn.Linear(4, 3))
        hyper = dict(lr=0.1, momentum=0.9)
        step = frontend.capture_train_step(model, (6, 3, 2, 2),
                                           return_grads=True, **hyper)
        # The one-tap gradient [5, 4, 1, 1] is not padded to 3x3; the
        # two-tap one [3, 5, 2, 2] is.
        self.assertNotIn("to tensor<5x4x3x3xf32>", step.mlir)
        self.assertIn("tensor<3x5x2x2xf32> to tensor<3x5x3x3xf32>", step.mlir)
        self.run_and_compare(step, model, (6, 3, 2, 2), hyper, 6,
                             "one-tap and two-tap weight gradients", steps=2)

    def test_batchnorm1d_without_momentum_matches_torch(self):
        torch.manual_seed(2)
        model = mlp_bn()
        hyper = dict(lr=0.2)
        step = frontend.capture_train_step(model, (8, 20), return_grads=True, **hyper)
        names = [a["name"] for a in step.signature["arguments"] if a["role"] == "state"]
        self.assertEqual(names, ["1.running_mean", "1.running_var"])
        self.run_and_compare(step, model, (8, 20), hyper, 4, "MLP with BatchNorm1d")

    def test_resnet18_step_matches_torch(self):
        # torchvision's ResNet-18 as shipped (7x7 stride-2 stem, max-pool,
        # batch norm, residual adds, adaptive average pooling, 1 input
        # channel), at width 8. Batch 32 of 16x16 images: 1x1 from layer3 on.
        # llc -O0: the same IEEE float32 arithmetic (no fast-math flags), in
        # a fraction of the compile time of this large function.
        torch.manual_seed(4)
        model = models.resnet18(width=8)
        self.assertEqual(model.conv1.kernel_size, (7, 7))
        self.assertIsInstance(model.maxpool, nn.MaxPool2d)
        hyper = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)
        shape = (32, 1, 16, 16)
        step = frontend.capture_train_step(model, shape, return_grads=True, **hyper)
        self.run_and_compare(step, model, shape, hyper, 6, "ResNet-18 (width 8)",
                             opt_level=0)
        self.assertContractions(step, {"linalg.conv_2d_nchw_fchw": 20 + 19 + 20,
                                       "linalg.matmul": 3})

    def test_resnet18_cifar_step_matches_torch(self):
        # The CIFAR-style variant: 3x3 stride-1 stem, no max-pool; width 4.
        torch.manual_seed(5)
        model = models.resnet18_cifar(width=4)
        self.assertEqual(model.conv1.kernel_size, (3, 3))
        self.assertIsInstance(model.maxpool, nn.Identity)
        hyper = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)
        shape = (16, 1, 12, 12)
        step = frontend.capture_train_step(model, shape, return_grads=True, **hyper)
        self.run_and_compare(step, model, shape, hyper, 7,
                             "CIFAR-style ResNet-18 (width 4)", opt_level=0)

    def test_vit_step_matches_torch(self):
        # Patch embedding, nn.TransformerEncoderLayer (batch_first, GELU,
        # LayerNorm, multi-head attention, dropout 0), mean pooling.
        torch.manual_seed(8)
        model = models.vit(width=16, depth=2, heads=2)
        hyper = dict(lr=0.05, momentum=0.9, weight_decay=5e-4)
        shape = (8, 1, 28, 28)
        step = frontend.capture_train_step(model, shape, return_grads=True, **hyper)
        self.run_and_compare(step, model, shape, hyper, 9, "ViT (mean pooling)",
                             opt_level=0)
        # Per layer: Q K^T and attention x V, and two per backward pass each.
        self.assertContractions(step, {"linalg.batch_matmul": 2 * 6,
                                       "linalg.conv_2d_nchw_fchw": 2})

    def test_vit_class_token_step_matches_torch(self):
        torch.manual_seed(10)
        model = models.vit(width=16, depth=1, heads=4, pool="cls", patch=4,
                           image=12)
        hyper = dict(lr=0.1, momentum=0.9)
        shape = (4, 1, 12, 12)
        step = frontend.capture_train_step(model, shape, return_grads=True, **hyper)
        self.run_and_compare(step, model, shape, hyper, 11, "ViT (class token)",
                             opt_level=0)

    def test_activations_and_norms_match_torch(self):
        torch.manual_seed(12)
        model = activations()
        hyper = dict(lr=0.1, momentum=0.9, weight_decay=1e-3)
        shape = (6, 2, 4, 4)
        step = frontend.capture_train_step(model, shape, return_grads=True, **hyper)
        self.run_and_compare(step, model, shape, hyper, 13,
                             "activations, GroupNorm, LayerNorm, adaptive pooling",
                             opt_level=0)

    def test_inplace_ops_match_torch(self):
        torch.manual_seed(14)
        model = InPlace()
        hyper = dict(lr=0.1, momentum=0.9)
        step = frontend.capture_train_step(model, (5, 10), return_grads=True, **hyper)
        ops = {str(n.target) for n in step.graph.graph.nodes if n.op == "call_function"}
        self.assertFalse({"aten.relu_.default", "aten.mul_.Tensor", "aten.add_.Tensor"}
                         & ops, "in-place ops left in the traced graph")
        self.assertIn("aten.relu.default", ops)
        self.run_and_compare(step, model, (5, 10), hyper, 15, "in-place ops")

    def test_eval_forward_matches_torch(self):
        # capture_forward: eval-mode batch norm from the running stats, and
        # nn.TransformerEncoderLayer through its general path (in eval mode
        # without grad, PyTorch runs a fused inference kernel instead).
        rng = np.random.default_rng(16)
        cases = [("ResNet-18", models.resnet18(width=4), (4, 1, 16, 16)),
                 ("ViT", models.vit(width=16, depth=1, heads=2, pool="cls"),
                  (4, 1, 28, 28))]
        for what, model, shape in cases:
            with torch.no_grad():
                for b in model.buffers():
                    if b.is_floating_point():
                        b.uniform_(0.5, 1.5)
            forward = frontend.capture_forward(model, shape)
            self.assertNotIn("_transformer_encoder_layer_fwd", forward.mlir)
            values = {n: p.detach().numpy() for n, p in model.named_parameters()}
            values.update({n: b.numpy() for n, b in model.named_buffers()
                           if b.is_floating_point()})
            x = rng.standard_normal(shape).astype(np.float32)
            got = forward.compile(opt_level=0)(values, x)
            with torch.no_grad():
                want = model.eval()(torch.from_numpy(x)).numpy()
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)

    def test_one_hot_labels_give_the_same_step(self):
        run = self.mlp_step.compile()
        rng = np.random.default_rng(5)
        values = random_values(self.mlp_step, self.mlp, rng)
        x = rng.standard_normal((64, 784)).astype(np.float32)
        labels = rng.integers(0, 10, 64)
        a = run(values, x, labels)
        b = run(values, x, np.eye(10, dtype=np.float32)[labels], seed=123)
        self.assertEqual(a["loss"], b["loss"])
        for n in a["weights"]:
            np.testing.assert_array_equal(a["weights"][n], b["weights"][n])

    # -- conventions -----------------------------------------------------------

    def test_signature_and_attributes(self):
        sig = self.mlp_step.signature
        args = [(a["role"], a["name"]) for a in sig["arguments"]]
        self.assertEqual(args, [
            ("weight", "0.weight"), ("weight", "0.bias"),
            ("weight", "2.weight"), ("weight", "2.bias"),
            ("state", "0.weight.momentum_buffer"), ("state", "0.bias.momentum_buffer"),
            ("state", "2.weight.momentum_buffer"), ("state", "2.bias.momentum_buffer"),
            ("activation", "input"), ("label", "labels"), ("seed", "seed")])
        res = [(r["role"], r["name"]) for r in sig["results"]]
        self.assertEqual(res[0], ("loss", "loss"))
        self.assertEqual(res[1:5], args[:4])
        self.assertEqual(res[5:9], args[4:8])
        self.assertEqual(res[9:], [("grad", n) for _, n in args[:4]])
        text = self.mlp_step.mlir
        self.assertIn('%arg0: tensor<256x784xf32> {bm.name = "0.weight", '
                      'bm.role = #bm.role<weight>}', text)
        self.assertIn('%arg8: tensor<64x784xf32> {bm.name = "input", '
                      'bm.role = #bm.role<activation>}', text)
        self.assertIn('%arg9: tensor<64x10xf32> {bm.name = "labels", '
                      'bm.role = #bm.role<label>}', text)
        self.assertIn('%seed: i64 {bm.name = "seed", '
                      'bm.role = #bm.role<seed>}', text)
        self.assertIn('tensor<f32> {bm.name = "loss", '
                      'bm.role = #bm.role<loss>}', text)
        self.assertEqual(frontend.signature_from_mlir(text), sig)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "step.mlir")
            self.mlp_step.write(path)
            with open(os.path.join(d, "step.json")) as f:
                self.assertEqual(json.load(f), sig)
            self.assertEqual(frontend.TrainStep.load(path).signature, sig)

    def test_grad_seed_and_contractions(self):
        body = "\n".join(l for l in self.mlp_step.mlir.splitlines()
                         if not l.lstrip().startswith("//"))
        # One loss-gradient op: (softmax - labels) / batch.
        self.assertEqual(body.count("bm.grad_seed"), 1)
        seed = re.search(r"linalg\.generic \{[^\n]*bm\.grad_seed\}[^\n]*\n"
                         r"(?:.*\n){1,3}?.*arith\.subf.*\n.*arith\.divf", body)
        self.assertIsNotNone(seed, "the bm.grad_seed op computes (p - y) / N")
        # Forward 2, weight gradients 2, data gradient of layer 2: 1.
        self.assertEqual(len(re.findall(r"= linalg\.matmul ", body)), 5)
        for m in re.finditer(r"linalg\.matmul ins\((%\w+), (%\w+) :", body):
            for operand in m.groups():
                d = re.search(re.escape(operand) + r" = (\S+)", body)
                if d and d.group(1) == "linalg.transpose":
                    line = body[d.start():body.index("\n", d.start())]
                    self.assertIn("permutation = [1, 0]", line)
        self.assertNotIn("tensor.extract ", body)
        self.assertNotIn("linalg.batch_matmul", body)

        body = "\n".join(l for l in self.cnn_step.mlir.splitlines()
                         if not l.lstrip().startswith("//"))
        self.assertEqual(body.count("bm.grad_seed"), 1)
        # Forward 2; conv1 weight gradient; conv2 data + weight gradients.
        convs = re.findall(r"= linalg\.conv_2d_nchw_fchw \{dilations = dense<\[(\d+), "
                           r"(\d+)\]> : tensor<2xi64>, strides = dense<\[(\d+), (\d+)\]>",
                           body)
        self.assertEqual(len(convs), 5)
        for m in re.finditer(r"tensor\.pad \S+ low\[([\d, ]+)\] high\[([\d, ]+)\]", body):
            self.assertEqual(m.group(1), m.group(2))
        self.assertEqual(len(re.findall(r"= linalg\.matmul ", body)), 3)

    def test_model_left_unchanged(self):
        torch.manual_seed(3)
        model = mlp_bn()
        before = {k: v.clone() for k, v in model.state_dict().items()}
        model.eval()
        frontend.capture_train_step(model, (8, 20), lr=0.1, momentum=0.9)
        self.assertFalse(model.training)
        for k, v in model.state_dict().items():
            self.assertTrue(torch.equal(v, before[k]), k)

    # -- errors ------------------------------------------------------------------

    def test_unsupported_op_is_named(self):
        class CumSum(nn.Module):
            def forward(self, x):
                return torch.cumsum(x, 1)
        model = nn.Sequential(nn.Linear(8, 6), CumSum(), nn.Linear(6, 3))
        with self.assertRaises(frontend.UnsupportedOpError) as cm:
            frontend.capture_train_step(model, (4, 8), lr=0.1)
        msg = str(cm.exception)
        self.assertIn("unsupported aten op aten.cumsum.default", msg)
        self.assertIn("module '1' (CumSum)", msg)
        self.assertIn("bm.frontend.SUPPORTED_OPS", msg)
        self.assertEqual(cm.exception.op, "aten.cumsum.default")
        self.assertEqual(cm.exception.module, "'1' (CumSum)")

    def test_unsupported_op_inside_a_decomposition_is_named(self):
        # Adaptive average pooling to a size that does not divide the input
        # decomposes into index arithmetic (aten.arange, aten.index.Tensor),
        # which the front end does not lower: the error names the first
        # such op and the module whose decomposition made it.
        model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(3),
                              nn.Flatten(), nn.Linear(18, 3))
        with self.assertRaises(frontend.UnsupportedOpError) as cm:
            frontend.capture_train_step(model, (2, 1, 9, 9), lr=0.1)
        msg = str(cm.exception)
        self.assertIn("unsupported aten op aten.arange.default (in module '1' "
                      "(AdaptiveAvgPool2d))", msg)
        self.assertIn("aten.index.Tensor", msg)

    def test_lstm_is_rejected(self):
        class Recurrent(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(8, 6, batch_first=True)
                self.fc = nn.Linear(6, 3)

            def forward(self, x):
                return self.fc(self.lstm(x)[0][:, -1])
        with self.assertRaises(frontend.UnsupportedOpError) as cm:
            frontend.capture_train_step(Recurrent(), (4, 5, 8), lr=0.1)
        self.assertRegex(str(cm.exception), r"unsupported aten op aten\.\w+")
        self.assertIn("'lstm' (LSTM)", str(cm.exception))

    def test_unsupported_arguments_are_named(self):
        model = nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.Flatten(),
                              nn.Linear(4 * 4 * 4, 3))
        with self.assertRaisesRegex(frontend.UnsupportedOpError,
                                    r"aten\.convolution\.default: grouped convolution "
                                    r".*module '0' \(Conv2d\)"):
            frontend.capture_train_step(model, (2, 2, 6, 6), lr=0.1)
        with self.assertRaisesRegex(frontend.UnsupportedOpError, "dampening"):
            frontend.capture_train_step(mlp_bn(), (8, 20), lr=0.1, momentum=0.9,
                                        dampening=0.1)


if __name__ == "__main__":
    unittest.main()
