//===- Common.h - Helpers shared by the BM to linalg lowerings --*- C++ -*-===//
//
// Internal to lib/Conversion/BMToLinalg.
//
//===----------------------------------------------------------------------===//

#ifndef BM_LIB_CONVERSION_BMTOLINALG_COMMON_H
#define BM_LIB_CONVERSION_BMTOLINALG_COMMON_H

#include "bm/Conversion/BMToLinalg/BMToLinalg.h"
#include "bm/Conversion/Utils/MatmulOperands.h"
#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Utils/MatmulGeometry.h"
#include "bm/Numerics/Format.h"
#include "bm/Numerics/Kulisch.h"

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"

#include <cstdint>
#include <limits>
#include <vector>

namespace mlir::bm::detail {

/// (d0, ..., dn) -> (d0 floordiv b0, ..., dn floordiv bn): element -> block.
AffineMap getBlockMap(MLIRContext *context, ArrayRef<int64_t> block);

Value filledTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   Value value);
/// kulisch.to_f32(acc, scaleA + scaleB), added to `acc32`; NaN if either
/// scale is the non-finite marker.
Value flushRun(OpBuilder &b, Location loc, Value kulisch, Value scaleA,
               Value scaleB, Value acc32);

//===----------------------------------------------------------------------===//
// The patterns of convert-bm-to-linalg, one file per op family. Together
// they are populateBMToLinalgConversionPatterns (BMToLinalg.cpp).
//===----------------------------------------------------------------------===//

/// bm.quantize, bm.dequantize (QuantizeLowering.cpp).
void populateQuantizeLoweringPatterns(const TypeConverter &converter,
                                      RewritePatternSet &patterns,
                                      const BMToLinalgKernelOptions &options);
/// bm.transpose, bm.pack, bm.unpack (LayoutLowering.cpp).
void populateLayoutLoweringPatterns(const TypeConverter &converter,
                                    RewritePatternSet &patterns);
/// bm.matmul (MatmulLowering.cpp).
void populateMatmulLoweringPatterns(const TypeConverter &converter,
                                    RewritePatternSet &patterns,
                                    const BMToLinalgKernelOptions &options);
/// bm.conv2d (ConvLowering.cpp; bm-conv-to-matmul rewrites the convolutions
/// that an im2col matmul computes before this runs).
void populateConvLoweringPatterns(const TypeConverter &converter,
                                  RewritePatternSet &patterns,
                                  const BMToLinalgKernelOptions &options);

} // namespace mlir::bm::detail

#endif // BM_LIB_CONVERSION_BMTOLINALG_COMMON_H
