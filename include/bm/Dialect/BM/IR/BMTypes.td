//===- BMTypes.td - Block Minifloat types ------------------*- tablegen -*-===//

#ifndef BM_DIALECT_BM_IR_BMTYPES_TD
#define BM_DIALECT_BM_IR_BMTYPES_TD

include "bm/Dialect/BM/IR/BMAttrs.td"
include "mlir/IR/AttrTypeBase.td"

class BM_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<BM_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def BM_TensorType : BM_Type<"BMTensor", "tensor"> {
  let summary = "A statically shaped tensor of Block Minifloat elements";
  let description = [{
    A tensor whose elements share one 8-bit exponent bias per block
    (numerics.md section 2). The type carries the shape, the element format
    and the block shape; its runtime data are two parts:

    * codes: one integer per element (`i8`, `i16` or `i32`, the narrowest
      that holds the `1 + e + m` bit code), in a tensor of the same shape;
    * biases: one `i8` per block, in a tensor of the block-grid shape
      (`ceildiv(dim, block)` per dimension).

    Blocks tile the tensor from index 0; edge blocks may be partial. A block
    size of 0 or -1, or one larger than its dimension, means the whole
    dimension; the type stores the normalized size, so equal blockings are
    equal types. `block` may be omitted: the whole tensor is then one block.

    ```mlir
    !bm.tensor<64x96xe2m3, block = [48, 48]>
    !bm.tensor<8x3x32x32xe4m3, block = [1, 3, 32, 32]>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$shape,
    "FormatAttr":$format,
    ArrayRefParameter<"int64_t">:$block);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    // Normalizes the block shape (0, -1 or oversize -> the whole dimension).
    TypeBuilderWithInferredContext<(ins "::llvm::ArrayRef<int64_t>":$shape,
        "FormatAttr":$format, "::llvm::ArrayRef<int64_t>":$block), [{
      auto normalized = normalizeBlockShape(shape, block);
      return $_get(format.getContext(), shape, format, normalized);
    }]>
  ];
  let extraClassDeclaration = [{
    /// Block sizes as written by a user -> the stored form.
    static ::llvm::SmallVector<int64_t>
    normalizeBlockShape(::llvm::ArrayRef<int64_t> shape,
                        ::llvm::ArrayRef<int64_t> block);

    int64_t getRank() const { return getShape().size(); }
    int64_t getNumElements() const;
    /// Number of blocks along each dimension.
    ::llvm::SmallVector<int64_t> getBlockGridShape() const;
    int64_t getNumBlocks() const;
    /// Bit width of one stored code: 8, 16 or 32.
    unsigned getCodeBitWidth() const;
    /// `tensor<shape x iN>`: the codes part of the runtime data.
    ::mlir::RankedTensorType getCodesType() const;
    /// `tensor<grid x i8>`: the biases part of the runtime data.
    ::mlir::RankedTensorType getBiasesType() const;
    /// Same format and blocking as `this`, shape and blocks permuted.
    BMTensorType getTransposed(::llvm::ArrayRef<int64_t> permutation) const;
  }];
}

def BM_KulischType : BM_Type<"Kulisch", "kulisch"> {
  let summary = "An exact fixed-width integer (Kulisch) accumulator";
  let description = [{
    The accumulator of BM's FMA unit: an integer of `width` bits (sign
    included) that holds a sum of products of element integer forms exactly
    (numerics.md section 5). The width is part of the type, so the IR states
    the hardware's accumulator size; it lowers to the narrowest of
    `i16`, `i32` or `i64` that holds it. `2 <= width <= 64`.

    ```mlir
    !bm.kulisch<19>
    ```
  }];
  let parameters = (ins "unsigned":$width);
  let assemblyFormat = "`<` $width `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The integer type it is stored in: i16, i32 or i64.
    ::mlir::IntegerType getStorageType() const;
  }];
}

#endif // BM_DIALECT_BM_IR_BMTYPES_TD
