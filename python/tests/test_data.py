"""Fashion-MNIST loader tests, on the real files of the Debian package and on
small files written here (malformed input must fail clearly)."""

import gzip
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from bm.train import data  # noqa: E402


class RealFiles(unittest.TestCase):
    def test_train_and_test_splits(self):
        x, y = data.load("train")
        self.assertEqual(x.shape, (60000, 1, 28, 28))
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(y.shape, (60000,))
        self.assertGreaterEqual(x.min(), 0.0)
        self.assertLessEqual(x.max(), 1.0)
        # Balanced classes: 6000 of each in train.
        self.assertEqual(np.bincount(y).tolist(), [6000] * 10)
        xt, yt = data.load("test")
        self.assertEqual(xt.shape, (10000, 1, 28, 28))
        self.assertEqual(np.bincount(yt).tolist(), [1000] * 10)

    def test_limit_and_batches(self):
        x, y = data.load("test", limit=100)
        self.assertEqual(len(x), 100)
        got = list(data.batches(x, y, 32))
        self.assertEqual(len(got), 3)  # the short last batch is dropped
        self.assertTrue(all(b[0].shape == (32, 1, 28, 28) for b in got))
        shuffled = list(data.batches(x, y, 32, rng=np.random.default_rng(0)))
        self.assertFalse(np.array_equal(shuffled[0][1], got[0][1]))


class WrittenFiles(unittest.TestCase):
    def write(self, directory, name, payload):
        with gzip.open(os.path.join(directory, name), "wb") as f:
            f.write(payload)

    def test_round_trip_of_a_small_dataset(self):
        with tempfile.TemporaryDirectory() as d:
            images = np.arange(2 * 28 * 28, dtype=np.uint32) % 256
            self.write(d, "t10k-images-idx3-ubyte.gz",
                       struct.pack(">HBBIII", 0, 8, 3, 2, 28, 28) +
                       images.astype(np.uint8).tobytes())
            self.write(d, "t10k-labels-idx1-ubyte.gz",
                       struct.pack(">HBBI", 0, 8, 1, 2) + bytes([7, 3]))
            x, y = data.load("test", directory=d)
            self.assertEqual(y.tolist(), [7, 3])
            self.assertEqual(x[0, 0, 0, 1], np.float32(1 / 255))

    def test_malformed_files_fail_clearly(self):
        with tempfile.TemporaryDirectory() as d:
            self.write(d, "t10k-images-idx3-ubyte.gz",
                       struct.pack(">HBBIII", 0, 8, 3, 2, 28, 28) + b"\0" * 10)
            self.write(d, "t10k-labels-idx1-ubyte.gz",
                       struct.pack(">HBBI", 0, 8, 1, 2) + bytes([7, 3]))
            with self.assertRaisesRegex(data.DatasetError, "expected 1568 bytes"):
                data.load("test", directory=d)
            with self.assertRaisesRegex(data.DatasetError, "not found; install"):
                data.load("train", directory=d)
            with self.assertRaisesRegex(ValueError, "split must be"):
                data.load("validation", directory=d)


if __name__ == "__main__":
    unittest.main()
