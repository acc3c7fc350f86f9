//===- BMAttrs.td - Block Minifloat attributes -------------*- tablegen -*-===//

#ifndef BM_DIALECT_BM_IR_BMATTRS_TD
#define BM_DIALECT_BM_IR_BMATTRS_TD

include "bm/Dialect/BM/IR/BMDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

class BM_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<BM_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def BM_FormatAttr : BM_Attr<"Format", "format"> {
  let summary = "A minifloat element format X<e,m>";
  let description = [{
    One sign bit, `e` exponent bits and `m` mantissa bits, with
    0 <= e <= 8, 0 <= m <= 23 and e + m >= 1 (numerics.md section 1). `e = 0`
    is block floating point (fixed point within a block). Written as a single
    token: `#bm.format<e2m3>`.
  }];
  let parameters = (ins "unsigned":$exponentBits, "unsigned":$mantissaBits);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The format as the reference numerics library sees it.
    ::bm::numerics::Format getNumerics() const {
      return {static_cast<int>(getExponentBits()),
              static_cast<int>(getMantissaBits())};
    }
    /// "e2m3".
    std::string getName() const { return getNumerics().name(); }
  }];
}

def BM_Rounding : I32EnumAttr<"Rounding", "how an element is rounded to the grid", [
    I32EnumAttrCase<"nearest", 0>,
    I32EnumAttrCase<"stochastic", 1>,
    I32EnumAttrCase<"zero", 2>]> {
  let cppNamespace = "::mlir::bm";
  let genSpecializedAttr = 0;
}

def BM_RoundingAttr : EnumAttr<BM_Dialect, BM_Rounding, "rounding"> {
  let summary = "Rounding mode of bm.quantize (numerics.md section 3)";
  let assemblyFormat = "`<` $value `>`";
}

def BM_ScaleRule : I32EnumAttr<"ScaleRule",
    "how a block's shared exponent follows from its largest magnitude", [
    I32EnumAttrCase<"floor", 0>,
    I32EnumAttrCase<"fit", 1>]> {
  let cppNamespace = "::mlir::bm";
  let genSpecializedAttr = 0;
}

def BM_ScaleRuleAttr : EnumAttr<BM_Dialect, BM_ScaleRule, "scale"> {
  let summary = "Shared-exponent rule of bm.quantize (numerics.md section 2)";
  let description = [{
    `floor` (the paper's): `s = floor(log2 M)` for the block's largest
    magnitude `M`. `fit`: `s + 1` instead when `M` exceeds the largest
    element magnitude `qmax * 2^(s + c)` of that scale, so that no element
    of the block saturates. Written `#bm.scale<fit>`; `bm.quantize` spells
    it `scale(fit)` and elides the default, `floor`.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def BM_Role : I32EnumAttr<"Role",
    "what a value is in a training step", [
    I32EnumAttrCase<"activation", 0>,
    I32EnumAttrCase<"weight", 1>,
    I32EnumAttrCase<"error", 2>,
    I32EnumAttrCase<"seed", 3>,
    I32EnumAttrCase<"state", 4>,
    I32EnumAttrCase<"label", 5>,
    I32EnumAttrCase<"loss", 6>,
    I32EnumAttrCase<"grad", 7>]> {
  let cppNamespace = "::mlir::bm";
  let genSpecializedAttr = 0;
}

def BM_RoleAttr : EnumAttr<BM_Dialect, BM_Role, "role"> {
  let summary = "Role of a training-step argument, result or contraction operand";
  let description = [{
    Written `#bm.role<weight>`. On a function argument (`bm.role`):
    `weight`, `error` and `activation` seed the role dataflow of
    `bm-quantize-training` (docs/training.md, "Roles"), `seed` marks the
    `i64` Philox seed of stochastic rounding; the front end also marks
    `state` (optimizer and batch-norm buffers) and `label` arguments. On a
    function result: `loss`, `weight`, `state` or `grad`. In `bm.roles` (the
    two operands of a contraction that `bm-quantize-training` made):
    `weight`, `activation` or `error` only.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def BM_QuantCodesAttr : BM_Attr<"QuantCodes", "quant_codes"> {
  let summary = "The quantize that a codes generic computes";
  let description = [{
    Set by `convert-bm-to-linalg` on the generic that computes the element
    codes of a lowered `bm.quantize`, and read by `bm-vectorize-quantize`,
    which rebuilds that generic and the two before it (block maxima, biases)
    as vector loops. It records what the generics no longer say plainly: the
    element format, the block shape, the rounding mode and the scale rule.

    ```mlir
    #bm.quant_codes<e2m1, block = [8, 8], rounding = nearest, scale = fit>
    ```
  }];
  let parameters = (ins "FormatAttr":$format,
                        ArrayRefParameter<"int64_t">:$block,
                        EnumParameter<BM_Rounding>:$rounding,
                        EnumParameter<BM_ScaleRule>:$scale);
  let assemblyFormat = [{
    `<` custom<ElementFormat>($format) `,` `block` `=` `[` $block `]` `,`
        `rounding` `=` $rounding `,` `scale` `=` $scale `>`
  }];
  let genVerifyDecl = 1;
}

#endif // BM_DIALECT_BM_IR_BMATTRS_TD
