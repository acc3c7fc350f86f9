//===- BMToLinalg.h - BM tensor ops to linalg -------------------*- C++ -*-===//

#ifndef BM_CONVERSION_BMTOLINALG_BMTOLINALG_H
#define BM_CONVERSION_BMTOLINALG_BMTOLINALG_H

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bm {

/// !bm.tensor -> (codes tensor, biases tensor); every other type is kept.
class BMToLinalgTypeConverter : public TypeConverter {
public:
  BMToLinalgTypeConverter();
};

/// Patterns lowering bm.quantize, bm.dequantize, bm.matmul, bm.conv2d,
/// bm.transpose, bm.pack and bm.unpack to linalg/tensor/arith (the FMA-unit
/// ops they emit are lowered by populateBMToArithConversionPatterns).
/// With `vectorKernels`, bm.matmul ops in the domain of the register-tiled
/// CPU kernel (i16 integer forms, Kulisch width <= 32) use it: scf.forall
/// over tiles with vector arithmetic, same bits.
void populateBMToLinalgConversionPatterns(const TypeConverter &converter,
                                          RewritePatternSet &patterns,
                                          bool vectorKernels = false);

} // namespace mlir::bm

#endif // BM_CONVERSION_BMTOLINALG_BMTOLINALG_H
