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
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
    void registerTypes();
  }];
}

class BM_Op<string mnemonic, list<Trait> traits = []>
    : Op<BM_Dialect, mnemonic, traits>;

#endif // BM_DIALECT_BM_IR_BMDIALECT_TD
