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

#endif // BM_DIALECT_BM_TRANSFORMS_PASSES_TD
