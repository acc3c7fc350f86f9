//===- BMToLinalg.h - BM tensor ops to linalg -------------------*- C++ -*-===//

#ifndef BM_CONVERSION_BMTOLINALG_BMTOLINALG_H
#define BM_CONVERSION_BMTOLINALG_BMTOLINALG_H

#include "bm/Codegen/CPU/KernelPlan.h"
#include "bm/Dialect/BM/Utils/ParallelLoops.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::bm {

/// !bm.tensor -> (codes tensor, biases tensor); every other type is kept.
class BMToLinalgTypeConverter : public TypeConverter {
public:
  BMToLinalgTypeConverter();
};

/// Which CPU kernels the patterns may emit.
struct BMToLinalgKernelOptions {
  /// bm.matmul ops in the domain of the register-tiled CPU kernel (i16
  /// integer forms, Kulisch width <= 32) use it: scf.forall over tiles with
  /// vector arithmetic, same bits as the generic lowering. On by default,
  /// as the pass option `vector-kernels` is.
  bool vectorKernels = true;
  /// The CPU the kernel is generated for (bm/Codegen/CPU/KernelPlan.h):
  /// with Avx2 it may call x86 AVX2 intrinsics (declarations named
  /// llvm.x86.*), the u8 x s8 step (pmaddubsw) for narrow forms such as
  /// e2m3 x e2m3. The compiled code then needs an x86 target with AVX2.
  cpu::CpuTarget cpuTarget = cpu::CpuTarget::Generic;
  /// 0: bm.quantize becomes three linalg.generic ops (block maxima, biases,
  /// codes), as the GPU lowering maps them. 256 or 512: the CPU quantize
  /// kernel for vectors of that many bits (Codegen/CPU/QuantizeKernel.h),
  /// for statically shaped inputs. Off by default, as the pass option
  /// `vector-quantize-bits` is.
  unsigned vectorQuantizeBits = 0;
  /// Multiply-adds from which a matmul kernel's loops are scf.forall
  /// (cpu::MatmulKernelOptions::minParallelMacs).
  int64_t minParallelMacs = ::mlir::bm::kMinParallelMacs;
};

/// Patterns lowering bm.quantize, bm.dequantize, bm.matmul, bm.conv2d,
/// bm.transpose, bm.pack and bm.unpack to linalg/tensor/arith (the FMA-unit
/// ops they emit are lowered by populateBMToArithConversionPatterns).
void populateBMToLinalgConversionPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns,
    const BMToLinalgKernelOptions &options = {});

} // namespace mlir::bm

#endif // BM_CONVERSION_BMTOLINALG_BMTOLINALG_H
