//===- Passes.td - bm dialect passes -----------------------*- tablegen -*-===//

#ifndef BM_DIALECT_BM_TRANSFORMS_PASSES_TD
#define BM_DIALECT_BM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BMReport : Pass<"bm-report", "::mlir::ModuleOp"> {
  let summary = "Print a table of every BM contraction: formats, blocks, "
                "Kulisch accumulator width and operand memory";
  let description = [{
    For each function, lists every `bm.matmul` and `bm.conv2d` with the
    element format and block shape of each operand, the length of the longest
    run, the exact accumulator width (numerics.md section 5) and the integer
    type it is stored in, and the operand memory in bytes as float32 and as
    BM (codes plus one bias byte per block). The IR is not changed.

    The table goes to standard error, or to the file named by `output`.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "File to write the report to ('-' for standard error)">,
  ];
}

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
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"
  ];
}

#endif // BM_DIALECT_BM_TRANSFORMS_PASSES_TD
