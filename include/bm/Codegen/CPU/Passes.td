//===- Passes.td - CPU code generation passes of bm --------*- tablegen -*-===//
//
// The passes that generate CPU code for lowered bm ops: the vector loops of
// the run sums of a generic-form contraction and of a quantize lowered in
// its generic form. The matmul and quantize kernels themselves are emitted
// by convert-bm-to-linalg through this library's emitters.
//
//===----------------------------------------------------------------------===//

#ifndef BM_CODEGEN_CPU_PASSES_TD
#define BM_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def BMVectorizeRunSums : Pass<"bm-vectorize-run-sums"> {
  let summary = "Tile and vectorize the exact integer run sums of contractions";
  let description = [{
    `convert-bm-to-linalg` marks the `linalg.generic` that sums each run's
    integer products (`bm.run_sums`). After `convert-bm-to-arith` that op
    is a pure integer contraction; this pass tiles its parallel loops to
    `[1, ..., tile-n, 1]` (the output-column loop gets `tile-n`, or the
    largest power of two dividing N below it) and vectorizes each tile, so
    the products and sums run on vector registers. Integer sums are exact
    in any order, so this never changes a bit; the float32 accumulation of
    run terms, which must stay in run order, is not touched.
  }];
  let options = [
    Option<"tileN", "tile-n", "int64_t", /*default=*/"16",
           "Vector width along the output columns">,
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::bm::BMDialect"
  ];
}


def BMVectorizeQuantize : Pass<"bm-vectorize-quantize"> {
  let summary = "Vectorized CPU loops for the lowered bm.quantize";
  let description = [{
    `convert-bm-to-linalg` lowers `bm.quantize` to three `linalg.generic`
    ops (block maxima, biases, codes) and marks the codes op
    (`bm.quant_codes`). Their element-to-block maps use `floordiv`, so they
    would stay scalar loops. This pass replaces the three ops by one
    `scf.forall` over bands of block rows (the blocks sharing their
    first-dimension index; independent, so `bm-lower-to-cpu{parallel=true}`
    runs them on all cores): the band's block maxima with vector maxima,
    its biases, then its codes, one vector of elements at a time with the
    vector form of the exact integer element math, while the band is still
    in cache. The tensor is viewed as [first dimension, middle, last]
    after merging into the last dimension the trailing dimensions that one
    block spans whole (a conv activation [N, C, H, W] in [1, C, H, W]
    blocks is quantized as [N, C * H * W]), so that block rows are long.
    Vectors have `vector-bits / 32` lanes (8 by default; 16 with
    `vector-bits=512`, which `bm-lower-to-cpu` sets for AVX-512 targets).
    Stochastic rounding fills a row buffer with the row's random words, one
    Philox4x32-10 block per 4 consecutive elements, vectorized over one
    vector of blocks. Nearest rounding of a finite block whose scale 2^-(s+c) is a
    float32 in [2^-126, 2^124] (formats with 1 <= e <= 6, m <= 22) uses
    float32 arithmetic instead: |x| times the scale is exact there, and
    adding and subtracting a power of two rounds it to the grid, ties to
    even. Partial edge blocks and the last `width mod lanes` elements of
    each block row use the scalar element math. The bits are exactly those of
    the generic form (numerics.md sections 2-3), so this is a CPU-only
    optimization; GPU lowering maps the generics themselves.

    The loops are the CPU quantize kernel (Codegen/CPU/QuantizeKernel.h),
    which `bm-lower-to-cpu` emits directly from each `bm.quantize`
    (`convert-bm-to-linalg{vector-quantize-bits=...}`), with no generics in
    between; this pass is for IR lowered in the generic form. It must run
    before any canonicalization: the codes op must still hold its own
    constants, so that the seed is the only i64 its body reads from above.
    A quantize it cannot match keeps the generics (scalar loops, same bits)
    and gets a remark.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "unsigned", /*default=*/"256",
           "Bits of the vectors: 256 or 512 (8 or 16 lanes of 32 bits)">
  ];
  let dependentDialects = [
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::bm::BMDialect"
  ];
}

#endif // BM_CODEGEN_CPU_PASSES_TD
