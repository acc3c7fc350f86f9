"""A tiny training run through the compiled steps lowers the loss, in FP32
and in BM6, and writes the table, log and plot; the scale rule options
reach the compiled step."""

import json
import os
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from bm.train import cli  # noqa: E402


class TinyRun(unittest.TestCase):
    def test_loss_goes_down_in_fp32_and_bm6(self):
        with tempfile.TemporaryDirectory() as out:
            code = cli.main(["--model", "mlp", "--formats", "fp32,bm6",
                            "--epochs", "2", "--batch-size", "32",
                            "--limit", "640", "--test-limit", "500",
                            "--lr", "0.05", "--out", out])
            self.assertEqual(code, 0)
            with open(os.path.join(out, "mlp.json")) as f:
                log = json.load(f)
            self.assertEqual([r["format"] for r in log["runs"]], ["fp32", "bm6"])
            for run in log["runs"]:
                loss = np.array(run["loss"])
                self.assertEqual(len(loss), 40)  # 2 epochs x 20 steps
                self.assertTrue(np.all(np.isfinite(loss)))
                # Cross-entropy starts near ln 10 = 2.30 and must drop well
                # below it within 40 steps on real images.
                self.assertGreater(loss[:3].mean(), 2.0)
                self.assertLess(loss[-5:].mean(), 0.75 * loss[:3].mean())
                self.assertGreater(run["epoch_test_acc"][-1], 0.4)
            with open(os.path.join(out, "mlp.md")) as f:
                table = f.read()
            self.assertIn("| mlp | fp32 |", table)
            self.assertIn("| mlp | bm6 |", table)
            self.assertGreater(os.path.getsize(os.path.join(out, "mlp.png")), 10000)

    def test_torch_format_trains_like_the_compiled_fp32_step(self):
        # Same initial weights, same batches: PyTorch's eager steps and the
        # compiled FP32 steps give the same losses, step by step.
        with tempfile.TemporaryDirectory() as out:
            code = cli.main(["--model", "mlp", "--width", "32",
                            "--formats", "torch,fp32", "--epochs", "1",
                            "--batch-size", "32", "--limit", "320",
                            "--test-limit", "500", "--out", out])
            self.assertEqual(code, 0)
            with open(os.path.join(out, "mlp-w32.json")) as f:
                log = json.load(f)
        runs = {r["format"]: r for r in log["runs"]}
        self.assertEqual(len(runs["torch"]["loss"]), 10)
        np.testing.assert_allclose(runs["fp32"]["loss"], runs["torch"]["loss"],
                                   rtol=1e-4)
        # (at most one of the 500 test images may fall the other way)
        self.assertLessEqual(abs(runs["fp32"]["epoch_test_acc"][0]
                                 - runs["torch"]["epoch_test_acc"][0]), 1 / 500)

    def test_model_names_are_the_models(self):
        from bm.train import models
        self.assertEqual(sorted(cli.MODEL_NAMES), sorted(models.MODELS))

    def test_scale_rule_reaches_the_step(self):
        # BM4 with fit for every quantize, and with fit for the errors
        # only: both train, both differ from floor (the option reaches the
        # compiled step), and the table says which rule ran.
        losses = {}
        for scale in (["--scale", "floor"], ["--scale", "fit"],
                      ["--backward-scale", "fit"]):
            with tempfile.TemporaryDirectory() as out:
                code = cli.main(["--model", "mlp", "--formats", "bm4",
                                "--epochs", "1", "--batch-size", "32",
                                "--limit", "640", "--test-limit", "500",
                                "--out", out] + scale)
                self.assertEqual(code, 0)
                with open(os.path.join(out, "mlp.json")) as f:
                    run = json.load(f)["runs"][0]
                with open(os.path.join(out, "mlp.md")) as f:
                    header = f.readline()
            loss = np.array(run["loss"])
            self.assertEqual(len(loss), 20)
            self.assertTrue(np.all(np.isfinite(loss)))
            self.assertLess(loss[-5:].mean(), loss[:3].mean())
            key = " ".join(scale)
            losses[key] = loss
            self.assertIn({"--scale floor": "scale=floor,",
                           "--scale fit": "scale=fit,",
                           "--backward-scale fit":
                               "scale=floor backward-scale=fit,"}[key], header)
        self.assertFalse(np.array_equal(losses["--scale floor"], losses["--scale fit"]))
        self.assertFalse(np.array_equal(losses["--scale floor"],
                                        losses["--backward-scale fit"]))
        self.assertFalse(np.array_equal(losses["--scale fit"],
                                        losses["--backward-scale fit"]))

    def test_unknown_scale_is_an_error(self):
        with self.assertRaises(SystemExit):
            cli.main(["--formats", "bm4", "--scale", "ceil"])

    def test_unknown_format_is_an_error(self):
        with self.assertRaises(SystemExit):
            cli.main(["--formats", "fp32,bm7"])


if __name__ == "__main__":
    unittest.main()
