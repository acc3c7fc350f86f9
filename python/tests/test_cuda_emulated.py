"""The CUDA paths of bm.cuda and the runner, without a GPU.

With BM_CUDA_EMULATE=1, bm.cuda compiles modules through bm-lower-to-gpu
and bm-gpu-launch-to-loops (every GPU kernel run as CPU loops, the
tensor-core kernels emulated lane by lane) and calls them with CPU tensors
through the same calling code as on a GPU: out-params allocated as tensors,
descriptors from data_ptr() and strides, argument checks. Training with
Runner(device="cuda") is compared with Runner(device="cpu") on Fashion-MNIST
batches: the BM6 steps give the same losses, weights and logits bit for bit
(every contraction exact and in canonical order, the rest computed in the
same order); the FP32 steps agree to float32 summation-order differences.
Needs a bm-opt built with the tests ($BM_OPT).
"""
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ["BM_CUDA_EMULATE"] = "1"

import torch  # noqa: E402

from bm import cuda  # noqa: E402
from bm.train import data, models  # noqa: E402
from bm.train.runner import Runner  # noqa: E402

MLP_ADD = """
func.func @add(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<f32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.add ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %z = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%z : f32) outs(%e0 : tensor<f32>) -> tensor<f32>
  %r = linalg.reduce ins(%s : tensor<4x8xf32>) outs(%f : tensor<f32>) dimensions = [0, 1]
    (%x: f32, %y: f32) { %t = arith.addf %x, %y : f32
                         linalg.yield %t : f32 }
  return %s, %r : tensor<4x8xf32>, tensor<f32>
}
"""


class CudaFunctionTest(unittest.TestCase):
    def test_call_and_out_params(self):
        mod = cuda.compile_module(MLP_ADD)
        f = mod["add"]
        a = torch.arange(32, dtype=torch.float32).reshape(4, 8)
        b = torch.ones(4, 8)
        s, r = f(a, b)
        self.assertTrue(torch.equal(s, a + 1))
        self.assertEqual(float(r), float((a + 1).sum()))
        # Into given tensors.
        s2, r2 = torch.empty(4, 8), torch.empty(())
        got = f(a, b, out=(s2, r2))
        self.assertIs(got[0], s2)
        self.assertTrue(torch.equal(s2, a + 1))

    def test_argument_errors(self):
        f = cuda.compile_module(MLP_ADD)["add"]
        a = torch.zeros(4, 8)
        with self.assertRaisesRegex(TypeError, r"argument 1 must be a "
                                    r"contiguous float32 tensor of shape "
                                    r"\(4, 8\) on cpu, got a torch.float64"):
            f(a, torch.zeros(4, 8, dtype=torch.float64))
        with self.assertRaisesRegex(TypeError, "argument 0 must be .* got "
                                    "a torch.float32 tensor of shape \\(8, 4\\)"):
            f(torch.zeros(8, 4), a)
        with self.assertRaisesRegex(TypeError, "argument 0 must be .* got "
                                    "ndarray"):
            f(np.zeros((4, 8), np.float32), a)
        with self.assertRaisesRegex(TypeError, "takes 2 argument"):
            f(a)
        with self.assertRaisesRegex(ValueError, "out tensor 0 is also an "
                                    "argument"):
            f(a, a, out=(a, None))


class CudaBuildTest(unittest.TestCase):
    """The real GPU build (bm-lower-to-nvvm, linked with the runtime): it
    builds here; it can only run on a GPU (scripts/prepare-device-check.sh
    and the device check do that)."""

    def test_links_against_the_runtime(self):
        os.environ["BM_CUDA_EMULATE"] = "0"
        try:
            try:
                cuda.runtime_library()
            except cuda.ToolNotFoundError as e:
                self.skipTest(str(e))
            path = cuda.compile_module(MLP_ADD, load=False)
        finally:
            os.environ["BM_CUDA_EMULATE"] = "1"
        import subprocess
        nm = subprocess.run(["/usr/lib/llvm-22/bin/llvm-nm", "-D", path],
                            capture_output=True, text=True, check=True).stdout
        self.assertIn("T _mlir_ciface_add", nm)
        self.assertIn("U mgpuLaunchKernel", nm)
        self.assertIn("U mgpuModuleLoadJIT", nm)
        readelf = subprocess.run(["readelf", "-d", path], capture_output=True,
                                 text=True, check=True).stdout
        self.assertIn("libbm_cuda_runtime.so", readelf)


class CudaRunnerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        x, y = data.load("train", limit=64 * 4)
        cls.batches = [(x[i:i + 64], y[i:i + 64]) for i in range(0, 256, 64)]

    def train(self, fmt, device, model_fn):
        torch.manual_seed(3)
        model = model_fn()
        r = Runner(model, (64, 1, 28, 28), fmt=fmt, seed=5, device=device)
        losses = [r.step(x, y) for x, y in self.batches[:3]]
        logits = r.logits(self.batches[3][0])
        return losses, r.numpy_values(), logits

    def compare(self, fmt, model_fn, bits):
        want = self.train(fmt, "cpu", model_fn)
        got = self.train(fmt, "cuda", model_fn)
        for w, g in zip(want[0], got[0]):
            if bits:
                self.assertEqual(np.float32(w).tobytes(),
                                 np.float32(g).tobytes())
            else:
                self.assertAlmostEqual(w, g, delta=1e-5 * abs(w))
        self.assertEqual(sorted(want[1]), sorted(got[1]))
        for name in want[1]:
            w, g = want[1][name], got[1][name]
            if bits:
                self.assertEqual(w.tobytes(), g.tobytes(), name)
            else:
                np.testing.assert_allclose(g, w, rtol=0,
                                           atol=1e-5 * np.abs(w).max())
        if bits:
            self.assertEqual(want[2].tobytes(), got[2].tobytes())
        else:
            np.testing.assert_allclose(got[2], want[2], rtol=0,
                                       atol=1e-4 * np.abs(want[2]).max())

    def test_cnn_bm6_bits(self):
        self.compare("bm6", lambda: models.cnn(width=4), bits=True)

    def test_mlp_bm6_bits(self):
        self.compare("bm6", lambda: models.mlp(width=64), bits=True)

    def test_mlp_fp32_close(self):
        self.compare("fp32", lambda: models.mlp(width=64), bits=False)

    def test_device_argument(self):
        with self.assertRaisesRegex(ValueError, "device must be 'cpu' or "
                                    "'cuda'"):
            Runner(models.mlp(width=8), (8, 1, 28, 28), device="gpu")


if __name__ == "__main__":
    unittest.main()
