//===- Passes.td - bm conversion passes --------------------*- tablegen -*-===//

#ifndef BM_CONVERSION_PASSES_TD
#define BM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertBMToLinalg : Pass<"convert-bm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower BM tensor ops to linalg/tensor/arith on codes and biases";
  let description = [{
    Every `!bm.tensor` value becomes its two runtime parts (1:N type
    conversion, function signatures included): a codes tensor of the
    format's storage integer type and an `i8` biases tensor of the block-grid
    shape. Then:

    * `bm.quantize`: a block-max reduction over the float bits, the block
      biases from the exact exponent, and an elementwise rounding with
      Philox-based stochastic rounding (numerics.md sections 2-3), all in
      integer `arith` inside `linalg.generic`s;
    * `bm.dequantize`: elementwise, exactly rounded (section 4);
    * `bm.matmul`: operands are decoded once (`bm.decode`) and laid out run
      by run; each run is one exact `bm.fma` reduction into a
      `!bm.kulisch<W>` accumulator whose width W comes from the formats and
      the longest run, converted once with `bm.kulisch.to_f32` and added to
      the float32 result in ascending run order (section 5);
    * `bm.conv2d`: a scan of each output's reduction that opens a new run
      whenever the input or filter block changes and skips zero padding;
    * `bm.transpose`: `linalg.transpose` of codes and biases;
    * `bm.pack` / `bm.unpack`: forwarding of the two parts.

    The FMA-unit ops (`bm.decode`, `bm.fma`, `bm.kulisch.*`) remain;
    `convert-bm-to-arith` lowers them. An op this pass cannot lower is
    reported by name and the pass fails.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::scf::SCFDialect",
    "::mlir::math::MathDialect", "::mlir::bm::BMDialect"
  ];
}

def ConvertBMToArith : Pass<"convert-bm-to-arith", "::mlir::ModuleOp"> {
  let summary = "Lower the BM FMA unit (decode, fma, Kulisch) to integer arith";
  let description = [{
    `!bm.kulisch<W>` becomes the narrowest of `i16`/`i32`/`i64` holding W
    bits, wherever it appears (scalars, tensor elements, region arguments,
    loop-carried values). `bm.decode` becomes bit manipulation,
    `bm.fma` sign-extends, multiplies and adds exactly, and
    `bm.kulisch.to_f32` rounds `acc * 2^scale` once to float32 with integer
    operations only (numerics.md section 5). Scalar operands only; vector
    operands are reported as unsupported.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

def BMEmitCInterface : Pass<"bm-emit-c-interface", "::mlir::ModuleOp"> {
  let summary = "Mark every public function with llvm.emit_c_interface";
  let description = [{
    So that the lowered module exports `_mlir_ciface_<name>` wrappers taking
    memref descriptors by pointer, callable from C or Python (ctypes). Its
    tensor arguments are also marked `bufferization.writable = false`: the
    caller owns those buffers, so bufferization must not compute in place in
    them (e.g. a matmul into its `init`). Run it before bufferization.
  }];
}

#endif // BM_CONVERSION_PASSES_TD
