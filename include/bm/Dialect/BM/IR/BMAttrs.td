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

#endif // BM_DIALECT_BM_IR_BMATTRS_TD
