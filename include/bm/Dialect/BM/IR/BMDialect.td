//===- BMDialect.td - Block Minifloat dialect --------------*- tablegen -*-===//
//
// The `bm` dialect: Block Minifloat (BM) number formats, tensors and the
// operations that quantize to them, dequantize from them and contract them
// exactly. The numerics are normative in docs/numerics.md (a copy of the
// project specification).
//
//===----------------------------------------------------------------------===//

#ifndef BM_DIALECT_BM_IR_BMDIALECT_TD
#define BM_DIALECT_BM_IR_BMDIALECT_TD

include "mlir/IR/OpBase.td"

def BM_Dialect : Dialect {
  let name = "bm";
  let cppNamespace = "::mlir::bm";
  let summary = "Block Minifloat numbers: types, quantization and exact contractions";
  let description = [{
    Block Minifloat (BM) is the number format of "A Block Minifloat
    Representation for Training Deep Neural Networks" (ICLR 2021). A BM tensor
    holds minifloat elements X<e,m> (1 sign bit, `e` exponent bits, `m`
    mantissa bits, no Inf/NaN codes) that share one signed 8-bit exponent
    bias `beta` per block of values. Dot products of BM elements are summed
    exactly in a narrow integer (Kulisch) accumulator and converted to
    float32 once per run of the reduction.

    The dialect has:

    * `#bm.format<eXmY>`: an element format;
    * `!bm.tensor<RxCxeXmY, block = [r, c]>`: a BM tensor value (shape,
      element format, block shape); its runtime data are the element codes
      and one bias per block, never constants in the type;
    * `!bm.kulisch<W>`: an exact W-bit integer accumulator;
    * operations: `bm.quantize`, `bm.dequantize`, `bm.matmul` (plain,
      transposed, batched), `bm.conv2d`, `bm.transpose`, `bm.pack`,
      `bm.unpack`, and the arithmetic-unit level `bm.decode`,
      `bm.kulisch.zero`, `bm.fma`, `bm.kulisch.to_f32` that contractions
      lower through.

    Every numeric statement in this dialect refers to the normative
    specification, docs/numerics.md.

    ### Discardable attributes

    Passes hand information to later passes, and the front end to the
    training rewrite, in the discardable attributes below. Each is declared
    here (C++ reads and writes it only through the `BMDialect::...AttrHelper`
    that ODS generates) and verified by the dialect: a `bm.*` attribute that
    is not one of these, or that holds the wrong kind of value, is an error.

    | attribute | value | on | set by | read by |
    |---|---|---|---|---|
    | `bm.role` | `#bm.role<...>` | function arguments, results | the front end, the user | `bm-quantize-training` |
    | `bm.name` | string | function arguments, results | the front end | the runner (the tensor's name) |
    | `bm.grad_seed` | unit | the op computing the loss gradient | the front end | `bm-quantize-training` |
    | `bm.data_movement` | unit | an op that only moves data | the front end | `bm-quantize-training` |
    | `bm.roles` | `[#bm.role<a>, #bm.role<b>]` | `bm.matmul`, `bm.conv2d` | `bm-quantize-training` | `bm-report` |
    | `bm.index` | integer >= 0 | `bm.matmul`, `bm.conv2d` | `bm-quantize-training` | `bm-report`, readers of the IR |
    | `bm.quant_codes` | `#bm.quant_codes<...>` | a quantize's codes generic | `convert-bm-to-linalg` | `bm-vectorize-quantize` |
    | `bm.run_sums` | unit | a contraction's run-sum generic | `convert-bm-to-linalg` | `bm-vectorize-run-sums` |
    | `bm.tile_parallel` | integer >= 1 | a linalg op | the CPU kernel lowering | `bm-tile-parallel` |
    | `bm.gpu_fused_matmul` | unit | a fused matmul generic | `convert-bm-to-gpu` | readers of the IR (tests) |
    | `bm.gpu_mma` | unit | a fused matmul generic for the tensor cores | `convert-bm-to-gpu` | `bm-map-to-gpu` |

    Ordering rules that these attributes create (docs/lowering.md lists
    them with the pipeline stages that rely on them):

    * `bm.quant_codes`: `bm-vectorize-quantize` must run before any
      canonicalization. Canonicalization hoists the constants of the three
      generics of a quantize into the function, where the seed can no
      longer be told apart from them; `bm-vectorize-quantize` then leaves
      the generics scalar (same bits, slower) with a remark
      (test/Transforms/vectorize-quantize-fallback.mlir). The pipelines do
      not rely on it: `bm-lower-to-cpu` emits the CPU quantize kernel
      straight from `bm.quantize`, and the GPU maps the generics as they
      are (test/Conversion/pipeline-order.mlir).
    * `bm.gpu_mma`: the fused matmul generic it marks must reach
      `bm-map-to-gpu` with the four run-buffer inputs that the tensor-core
      kernel reads, so between `convert-bm-to-gpu` and bufferization only
      the bm lowerings and `cse` run on tensors. A pass there that dropped
      inputs would make `bm-map-to-gpu` report that the generic "does not
      have the fused matmul operands"
      (test/Conversion/BMToGPU/map-to-gpu-invalid.mlir);
      test/Conversion/pipeline-order.mlir checks the pipeline's order.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let discardableAttrs = (ins
    "::mlir::bm::RoleAttr":$role,
    "::mlir::StringAttr":$name,
    "::mlir::UnitAttr":$grad_seed,
    "::mlir::UnitAttr":$data_movement,
    "::mlir::ArrayAttr":$roles,
    "::mlir::IntegerAttr":$index,
    "::mlir::bm::QuantCodesAttr":$quant_codes,
    "::mlir::UnitAttr":$run_sums,
    "::mlir::IntegerAttr":$tile_parallel,
    "::mlir::UnitAttr":$gpu_fused_matmul,
    "::mlir::UnitAttr":$gpu_mma
  );
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
  }];
}

class BM_Op<string mnemonic, list<Trait> traits = []>
    : Op<BM_Dialect, mnemonic, traits>;

#endif // BM_DIALECT_BM_IR_BMDIALECT_TD
