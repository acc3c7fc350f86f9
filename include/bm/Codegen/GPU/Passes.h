//===- Passes.h - GPU code generation passes of bm ----------*- C++ -*-===//

#ifndef BM_CODEGEN_GPU_PASSES_H
#define BM_CODEGEN_GPU_PASSES_H

#include "bm/Codegen/GPU/MmaMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mlir::bm {

#define GEN_PASS_DECL
#include "bm/Codegen/GPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bm/Codegen/GPU/Passes.h.inc"

} // namespace mlir::bm

#endif // BM_CODEGEN_GPU_PASSES_H
