"""bm: Block Minifloat for MLIR -- the Python library.

* ``bm.numerics``: the reference of docs/numerics.md, bit for bit; its main
  entry points are re-exported here;
* ``bm.compiler``: compiles modules with bm ops through bm-opt into a shared
  library and calls them from numpy;
* ``bm.frontend``: captures a PyTorch model's training step or forward pass
  as MLIR;
* ``bm.cuda``: compiles modules for NVIDIA GPUs (bm-lower-to-nvvm) and calls
  them with PyTorch CUDA tensors.

``bm.train`` (``python -m bm.train``) is the Fashion-MNIST training
application built on them; the library never imports it.
"""

__version__ = "0.1.0"

from . import numerics
from .numerics import (
    Format, Quantized, batch_matmul, conv2d, dequantize, matmul,
    parse_format, philox4x32_10, quantize, random_words,
)

__all__ = [
    "__version__", "numerics", "Format", "Quantized", "batch_matmul",
    "conv2d", "dequantize", "matmul", "parse_format", "philox4x32_10",
    "quantize", "random_words",
]
