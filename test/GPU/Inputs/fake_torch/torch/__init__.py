"""A stand-in for PyTorch, for device-check-dry-run.test only.

Just enough of torch for device_check.py's cross-checks to run on a machine
without a GPU or PyTorch: "CUDA" tensors are numpy arrays in host memory,
which the CPU-compiled kernels read and write through their data pointers.
"""

import numpy as _np

__version__ = "0.0-fake"


class version:  # noqa: N801
    cuda = "none (fake torch)"


class _Tensor:
    def __init__(self, array):
        self._a = _np.ascontiguousarray(array)

    def cuda(self):
        return _Tensor(self._a.copy())

    def cpu(self):
        return self

    def numpy(self):
        return self._a

    def data_ptr(self):
        return self._a.ctypes.data


def from_numpy(array):
    return _Tensor(array)


def zeros(*shape, device=None, dtype=None):
    return _Tensor(_np.zeros(shape[0] if len(shape) == 1 else shape))


class _Props:
    name = "fake device (CPU)"
    major, minor = 9, 0
    total_memory = 1 << 30


class cuda:  # noqa: N801
    @staticmethod
    def is_available():
        return True

    @staticmethod
    def init():
        pass

    @staticmethod
    def synchronize():
        pass

    @staticmethod
    def get_device_properties(index):
        return _Props()

    @staticmethod
    def get_device_name():
        return _Props.name

    class _Stream:
        cuda_stream = 0

    @staticmethod
    def current_stream():
        return cuda._Stream()
