//===- BMOps.td - Block Minifloat operations ---------------*- tablegen -*-===//

#ifndef BM_DIALECT_BM_IR_BMOPS_TD
#define BM_DIALECT_BM_IR_BMOPS_TD

include "bm/Dialect/BM/IR/BMDialect.td"
include "bm/Dialect/BM/IR/BMAttrs.td"
include "bm/Dialect/BM/IR/BMTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"

def BM_AnyBMTensor : Type<CPred<"::llvm::isa<::mlir::bm::BMTensorType>($_self)">,
    "Block Minifloat tensor", "::mlir::bm::BMTensorType">;
def BM_AnyKulisch : Type<CPred<"::llvm::isa<::mlir::bm::KulischType>($_self)">,
    "Kulisch accumulator", "::mlir::bm::KulischType">;
def BM_F32Tensor : RankedTensorOf<[F32]>;
def BM_CodeOperand : AnyTypeOf<[AnySignlessInteger, VectorOfAnyRankOf<[AnySignlessInteger]>],
    "integer or vector of integers">;

//===----------------------------------------------------------------------===//
// Conversions between float32 and BM
//===----------------------------------------------------------------------===//

def BM_QuantizeOp : BM_Op<"quantize", [Pure]> {
  let summary = "Quantize a float32 tensor to a Block Minifloat tensor";
  let description = [{
    Chooses each block's shared exponent bias from the exact binary exponent
    of the block's largest magnitude (numerics.md section 2) and rounds every
    element to the format's grid (section 3):

    * `nearest`: round to nearest, ties to even;
    * `zero`: truncate towards zero;
    * `stochastic`: round up with probability equal to the fraction, using
      the random word of Philox4x32-10 keyed by `seed` (an `i64` operand)
      and counted by the element's row-major linear index, so the result is
      identical on every machine.

    Values saturate at the format's largest magnitude. A block holding a NaN
    or an infinity is non-finite: its bias is -128 and it dequantizes to NaN.

    The shared exponent follows the `scale` rule (numerics.md section 2):

    * `floor` (the default, elided; the paper's): `s = floor(log2 M)` for
      the block's largest magnitude `M`. A maximum in the top band
      `(qmax * 2^(s+c), 2^(s+1))` of its binade saturates to
      `qmax * 2^(s+c)`: by up to 25% for e2m1, 50% for e3m0, always
      downwards, which stochastic rounding cannot average out;
    * `fit`: `s + 1` for such a block (compared exactly), so that no element
      saturates unless the bias clamp to [-127, 127] applies, at the cost of
      one bit of precision for the blocks it raises. Dequantizing does not
      depend on the rule.

    ```mlir
    %q = bm.quantize %x nearest : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
    %r = bm.quantize %x stochastic seed %s : tensor<64x96xf32> -> !bm.tensor<64x96xe2m3, block = [48, 48]>
    %f = bm.quantize %x stochastic seed %s scale(fit) : tensor<64x96xf32> -> !bm.tensor<64x96xe2m1, block = [48, 48]>
    ```

    `quantize(dequantize(%q))` folds to `%q` when both have the same type
    and the format's values are all exact in float32, under either rule:
    the values of `%q` lie on its blocks' grids, where neither rule moves
    them (a requantized block may get a smaller bias with the same values).
    The opposite order, `dequantize(quantize(%x))`, is a rounding of `%x`
    and never folds.
  }];
  let arguments = (ins BM_F32Tensor:$input, BM_RoundingAttr:$rounding,
                       Optional<I64>:$seed,
                       DefaultValuedAttr<BM_ScaleRuleAttr,
                                         "::mlir::bm::ScaleRule::floor">:$scale);
  let results = (outs BM_AnyBMTensor:$result);
  let assemblyFormat = [{
    $input custom<RoundingKeyword>($rounding) (`seed` $seed^)?
    custom<ScaleRuleKeyword>($scale) attr-dict `:`
    type($input) `->` qualified(type($result))
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BM_DequantizeOp : BM_Op<"dequantize", [Pure]> {
  let summary = "Convert a Block Minifloat tensor to float32";
  let description = [{
    Each element becomes `q * 2^(s + c)` rounded once to float32
    (numerics.md section 4); the sign of a zero is kept and a non-finite
    block gives NaN.

    ```mlir
    %x = bm.dequantize %q : !bm.tensor<64x96xe2m3, block = [48, 48]> -> tensor<64x96xf32>
    ```
  }];
  let arguments = (ins BM_AnyBMTensor:$input);
  let results = (outs BM_F32Tensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` qualified(type($input)) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def BM_MatmulOp : BM_Op<"matmul", [Pure]> {
  let summary = "Exact BM matrix product accumulated onto a float32 tensor";
  let description = [{
    `result = init + lhs x rhs` for `lhs: MxK`, `rhs: KxN` (rank 2), or for
    each batch index `b` of `lhs: BxMxK`, `rhs: BxKxN` (rank 3, batched).
    `transpose_lhs` means `lhs` is stored as `KxM` (`BxKxM`), and
    `transpose_rhs` that `rhs` is stored as `NxK` (`BxNxK`); blocks are those
    of the stored layout.

    Numerics (section 5): the K dimension is cut into runs, the pieces of the
    common refinement of both operands' K blockings. Each run's products of
    integer forms are summed exactly in a Kulisch accumulator, converted to
    float32 once, and added to the float32 accumulator (initially `init`)
    in ascending K order. A run touching a non-finite block yields NaN.
    `relaxed` allows the run terms to be added in any order (split-K,
    parallel reductions); the result may then differ from the canonical one
    in the float32 rounding of the cross-run sum only.

    The verifier derives the accumulator width from the formats and the
    longest run and rejects operands that no 64-bit accumulator holds.

    ```mlir
    %c = bm.matmul %a, %b, %init : !bm.tensor<64x96xe2m3, block = [48, 48]>,
           !bm.tensor<96x32xe2m3, block = [48, 48]>, tensor<64x32xf32> -> tensor<64x32xf32>
    ```
  }];
  let arguments = (ins BM_AnyBMTensor:$lhs, BM_AnyBMTensor:$rhs,
                       BM_F32Tensor:$init, UnitAttr:$transpose_lhs,
                       UnitAttr:$transpose_rhs, UnitAttr:$relaxed);
  let results = (outs BM_F32Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs `,` $init attr-dict `:` qualified(type($lhs)) `,`
    qualified(type($rhs)) `,` type($init) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Size of the contracted dimension.
    int64_t getReductionSize();
    /// Block sizes of lhs and rhs along the contracted dimension.
    std::pair<int64_t, int64_t> getReductionBlockSizes();
    /// Length of the longest run (numerics.md section 5).
    int64_t getMaxRunLength();
    /// Bits the exact per-run accumulator needs.
    int getKulischWidth();
  }];
}

def BM_Conv2DOp : BM_Op<"conv2d", [Pure]> {
  let summary = "Exact BM 2-D convolution (NCHW input, FCHW filter)";
  let description = [{
    `result[n, f, oh, ow] = init[n, f, oh, ow] + sum over (c, kh, kw) of
    input[n, c, oh*sh + kh*dh - ph, ow*sw + kw*dw - pw] * filter[f, c, kh, kw]`,
    with `strides = [sh, sw]`, `padding = [ph, pw]` (zeros on both sides),
    `dilations = [dh, dw]`.

    Numerics (section 5): the reduction indices `(c, kh, kw)` are walked in
    row-major order and cut into runs on which both the input block and the
    filter block stay the same; each run is summed exactly in a Kulisch
    accumulator and converted once. Terms reading the zero padding belong to
    no block: they are skipped and neither start nor end a run.

    ```mlir
    %y = bm.conv2d %x, %w, %init {strides = array<i64: 2, 2>, padding = array<i64: 1, 1>}
         : !bm.tensor<8x3x32x32xe2m3, block = [1, 3, 32, 32]>,
           !bm.tensor<16x3x3x3xe2m3, block = [16, 3, 3, 3]>, tensor<8x16x16x16xf32>
         -> tensor<8x16x16x16xf32>
    ```
  }];
  let arguments = (ins BM_AnyBMTensor:$input, BM_AnyBMTensor:$filter,
                       BM_F32Tensor:$init,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0}">:$padding,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       UnitAttr:$relaxed);
  let results = (outs BM_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $filter `,` $init attr-dict `:` qualified(type($input)) `,`
    qualified(type($filter)) `,` type($init) `->` type($result)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// An upper bound on the length of a run (numerics.md section 5).
    int64_t getMaxRunLength();
    /// Bits the exact per-run accumulator needs.
    int getKulischWidth();
  }];
}

//===----------------------------------------------------------------------===//
// Data movement and interop
//===----------------------------------------------------------------------===//

def BM_TransposeOp : BM_Op<"transpose", [Pure]> {
  let summary = "Permute the dimensions of a BM tensor, exactly";
  let description = [{
    Permutes codes and block biases together: no element is requantized, so
    the result holds exactly the same values. The result's shape and block
    shape are the input's, permuted (`result dim i = input dim perm[i]`).

    ```mlir
    %t = bm.transpose %q [1, 0] : !bm.tensor<64x96xe2m3, block = [48, 32]>
                                -> !bm.tensor<96x64xe2m3, block = [32, 48]>
    ```
  }];
  let arguments = (ins BM_AnyBMTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs BM_AnyBMTensor:$result);
  let assemblyFormat = [{
    $input $permutation attr-dict `:` qualified(type($input)) `->`
    qualified(type($result))
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BM_PackOp : BM_Op<"pack", [Pure]> {
  let summary = "Build a BM tensor from its codes and block biases";
  let description = [{
    The inverse of `bm.unpack`, for interop with code that stores BM data
    itself. `codes` has the tensor's shape and an integer type of the
    format's code width (see `!bm.tensor`); `biases` has the block-grid
    shape and type `i8`. Codes hold `sign << (e+m) | E << m | F`
    (numerics.md section 1) in their low bits; a bias of -128 marks a
    non-finite block. Biases must lie in `[emax - 127, 127]` (the range
    `bm.quantize` produces, whose values are all finite in float32) or be
    -128; other biases are undefined behavior.

    ```mlir
    %q = bm.pack %codes, %biases : tensor<64x96xi8>, tensor<2x2xi8>
         -> !bm.tensor<64x96xe2m3, block = [48, 48]>
    ```
  }];
  let arguments = (ins RankedTensorOf<[AnySignlessInteger]>:$codes,
                       RankedTensorOf<[I8]>:$biases);
  let results = (outs BM_AnyBMTensor:$result);
  let assemblyFormat = [{
    $codes `,` $biases attr-dict `:` type($codes) `,` type($biases) `->`
    qualified(type($result))
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def BM_UnpackOp : BM_Op<"unpack", [Pure]> {
  let summary = "Split a BM tensor into its codes and block biases";
  let description = [{
    Returns the two runtime parts of a BM tensor (see `bm.pack`).

    ```mlir
    %codes, %biases = bm.unpack %q : !bm.tensor<64x96xe2m3, block = [48, 48]>
                      -> tensor<64x96xi8>, tensor<2x2xi8>
    ```
  }];
  let arguments = (ins BM_AnyBMTensor:$input);
  let results = (outs RankedTensorOf<[AnySignlessInteger]>:$codes,
                      RankedTensorOf<[I8]>:$biases);
  let assemblyFormat = [{
    $input attr-dict `:` qualified(type($input)) `->` type($codes) `,`
    type($biases)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// The arithmetic unit: exact FMA into a Kulisch accumulator
//===----------------------------------------------------------------------===//

def BM_KulischZeroOp : BM_Op<"kulisch.zero", [Pure]> {
  let summary = "A zero Kulisch accumulator";
  let description = [{
    Starts a run (numerics.md section 5).

    ```mlir
    %acc = bm.kulisch.zero : !bm.kulisch<19>
    ```
  }];
  let results = (outs BM_AnyKulisch:$result);
  let assemblyFormat = "attr-dict `:` qualified(type($result))";
}

def BM_DecodeOp : BM_Op<"decode", [Pure, SameOperandsAndResultShape]> {
  let summary = "Integer form of element codes";
  let description = [{
    `q` of each code of `format` (numerics.md section 1): with sign bit `S`,
    exponent field `E` and fraction `F`, `|q| = F` if `E = 0`, else
    `(2^m + F) * 2^(E-1)` (`|q| = F` for `e = 0`), negated if `S` is set.
    The block scale is not applied. Works on scalars and vectors; the result
    must be a signed integer wide enough for `qmax` and a sign.

    ```mlir
    %q = bm.decode %codes format(e2m3) : vector<16xi8> -> vector<16xi8>
    %r = bm.decode %code format(e3m2) : i8 -> i16
    ```
  }];
  let arguments = (ins BM_CodeOperand:$code, BM_FormatAttr:$format);
  let results = (outs BM_CodeOperand:$result);
  let assemblyFormat = [{
    $code `format` `(` custom<FormatKeyword>($format) `)` attr-dict `:`
    type($code) `->` type($result)
  }];
  let hasVerifier = 1;
}

def BM_FmaOp : BM_Op<"fma", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "Multiply BM elements and add the products exactly";
  let description = [{
    The paper's FMA unit. `lhs` and `rhs` are integer forms (see
    `bm.decode`) of elements of `lhs_format` and `rhs_format`: scalars, or
    vectors of the same shape. The result is `acc + sum_i lhs_i * rhs_i`,
    computed exactly (numerics.md section 5). The block scales are not
    involved: all elements of a run share them, and `bm.kulisch.to_f32`
    applies them once per run.

    The accumulator type must be wide enough for the whole run; its producer
    (e.g. the lowering of `bm.matmul`) derives the width from the formats and
    the run length. The verifier checks that one fma alone fits.

    ```mlir
    %acc1 = bm.fma %acc, %a, %b formats(e2m3, e2m3)
            : !bm.kulisch<19>, vector<16xi8>, vector<16xi8>
    ```
  }];
  let arguments = (ins BM_AnyKulisch:$acc, BM_CodeOperand:$lhs,
                       BM_CodeOperand:$rhs, BM_FormatAttr:$lhs_format,
                       BM_FormatAttr:$rhs_format);
  let results = (outs BM_AnyKulisch:$result);
  let assemblyFormat = [{
    $acc `,` $lhs `,` $rhs `formats` `(` custom<FormatKeyword>($lhs_format)
    `,` custom<FormatKeyword>($rhs_format) `)` attr-dict `:`
    qualified(type($acc)) `,` type($lhs) `,` type($rhs)
  }];
  let hasVerifier = 1;
}

def BM_KulischToF32Op : BM_Op<"kulisch.to_f32", [Pure]> {
  let summary = "Convert a Kulisch accumulator to float32 with a run's scale";
  let description = [{
    `result = acc * 2^scale`, rounded once to float32 (round to nearest,
    ties to even; numerics.md section 5). `scale` is the run's combined
    exponent `sA + cA + sB + cB`.

    ```mlir
    %term = bm.kulisch.to_f32 %acc, %scale : !bm.kulisch<19>
    ```
  }];
  let arguments = (ins BM_AnyKulisch:$acc, I32:$scale);
  let results = (outs F32:$result);
  let assemblyFormat = [{
    $acc `,` $scale attr-dict `:` qualified(type($acc))
  }];
}

#endif // BM_DIALECT_BM_IR_BMOPS_TD
