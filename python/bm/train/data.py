"""Fashion-MNIST loading from the files of the Debian package
``dataset-fashion-mnist`` (``/usr/share/datasets/fashion-mnist``).

The files are the original gzipped IDX files: a big-endian header (magic
number, then one 32-bit size per dimension) followed by unsigned bytes.
"""

import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class DatasetError(RuntimeError):
    """The data files are missing or malformed."""


def read_idx(path):
    """Reads one (optionally gzipped) IDX file into a uint8 numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise DatasetError(
            f"{path} not found; install the Debian package "
            f"dataset-fashion-mnist (scripts/bootstrap.sh does) or pass "
            f"another data directory") from None
    except (OSError, EOFError) as e:
        raise DatasetError(f"{path}: cannot read: {e}") from None
    if len(data) < 4:
        raise DatasetError(f"{path}: too short for an IDX header")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise DatasetError(
            f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    header = 4 + 4 * ndim
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    count = int(np.prod(dims)) if dims else 1
    if len(data) != header + count:
        raise DatasetError(f"{path}: expected {count} bytes of data for shape "
                           f"{dims}, found {len(data) - header}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def load(split="train", directory=None, limit=None):
    """Returns (images, labels) of a split: images float32 [N, 1, 28, 28]
    scaled to [0, 1], labels int64 [N]. ``limit`` keeps the first N."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    directory = directory or os.environ.get("BM_FASHION_MNIST", DEFAULT_DIR)
    image_file, label_file = _FILES[split]
    images = read_idx(os.path.join(directory, image_file))
    labels = read_idx(os.path.join(directory, label_file))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{directory}: {split} images {images.shape} and "
                           f"labels {labels.shape} do not match")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return x, labels.astype(np.int64)


def batches(x, y, batch_size, rng=None):
    """Yields (x, y) minibatches, shuffled when an ``rng`` is given. The
    compiled step has a fixed batch size, so a short last batch is
    dropped."""
    order = np.arange(len(x)) if rng is None else rng.permutation(len(x))
    stop = len(x) - len(x) % batch_size
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]
