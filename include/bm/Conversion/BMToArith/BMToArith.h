//===- BMToArith.h - The BM FMA unit as integer arith -----------*- C++ -*-===//

#ifndef BM_CONVERSION_BMTOARITH_BMTOARITH_H
#define BM_CONVERSION_BMTOARITH_BMTOARITH_H

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bm {

/// !bm.kulisch<W> -> i16/i32/i64, also as the element type of tensors,
/// vectors and memrefs; every other type is kept.
class BMToArithTypeConverter : public TypeConverter {
public:
  BMToArithTypeConverter();
};

/// Patterns lowering bm.decode, bm.fma and bm.kulisch.* (scalars) to arith,
/// and rebuilding every other op (linalg, tensor, scf, func) whose types
/// mention !bm.kulisch.
void populateBMToArithConversionPatterns(const TypeConverter &converter,
                                         RewritePatternSet &patterns);

} // namespace mlir::bm

#endif // BM_CONVERSION_BMTOARITH_BMTOARITH_H
