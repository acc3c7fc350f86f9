"""bm: Block Minifloat for MLIR -- Python reference of the BM numerics.

``bm.numerics`` implements docs/numerics.md bit for bit; its main entry
points are re-exported here.
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
