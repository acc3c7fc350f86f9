//===- Passes.h - CPU code generation passes of bm ---------------*- C++
//-*-===//

#ifndef BM_CODEGEN_CPU_PASSES_H
#define BM_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

#include "bm/Dialect/BM/IR/BMDialect.h"

namespace mlir::bm {

#define GEN_PASS_DECL
#include "bm/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Codegen/CPU/Passes.h.inc"

} // namespace mlir::bm

#endif // BM_CODEGEN_CPU_PASSES_H
