//===- ArithNumerics.cpp - BM numerics as integer arith IR ----------------===//
//
// Every shift amount below is clamped into [0, width) before it is used:
// LLVM gives poison for larger shifts.
//
//===----------------------------------------------------------------------===//

#include "bm/Conversion/BMToArith/ArithNumerics.h"
#include "bm/Dialect/BM/Utils/IntIR.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::bm;
using ::bm::numerics::Format;
using ::bm::numerics::Rounding;
using ::bm::numerics::ScaleRule;

IntegerType mlir::bm::getIntegerFormType(MLIRContext *context, Format format) {
  int bits = format.qmaxBits() + 1;
  for (unsigned w : {8u, 16u, 32u, 64u})
    if (bits <= static_cast<int>(w))
      return IntegerType::get(context, w);
  return nullptr;
}

Value mlir::bm::emitBlockBeta(OpBuilder &b, Location loc, Value maxAbsBits,
                              Format format, ScaleRule rule) {
  IntIR ir{b, loc};
  Value nonFinite = ir.uge(maxAbsBits, ir.c32(0x7f800000));
  Value isZero = ir.eq(maxAbsBits, ir.c32(0));
  Value expField = ir.lshr(maxAbsBits, ir.c32(23));
  Value isSubnormal = ir.eq(expField, ir.c32(0));
  // floor(log2 M): from the exponent field, or for subnormals from the
  // position of the leading one: -149 + (31 - ctlz) = -118 - ctlz.
  Value leadingZeros = ir.ctlz(maxAbsBits);
  Value normalLog = ir.sub(expField, ir.c32(127));
  Value subnormalLog = ir.sub(ir.c32(-118), leadingZeros);
  Value log2 = ir.select(isSubnormal, subnormalLog, normalLog);
  if (rule == ScaleRule::Fit) {
    // s + 1 when M > qmax * 2^(s+c), i.e. when M's significand normalized
    // to 24 bits is above the format's threshold: the fraction field with
    // the implicit one for normals; a subnormal shifted up by ctlz - 8
    // (in [1, 23] for a nonzero one; clamped for the other lanes).
    Value normalSig =
        ir.bor(ir.band(maxAbsBits, ir.c32(0x7fffff)), ir.c32(0x800000));
    Value subnormalSig =
        ir.shl(maxAbsBits, ir.clampShift(ir.sub(leadingZeros, ir.c32(8)), 31));
    Value sig = ir.select(isSubnormal, subnormalSig, normalSig);
    Value exceeds = ir.ugt(sig, ir.c32(format.fitThreshold()));
    log2 = ir.add(log2, ir.zext(exceeds, ir.i32()));
  }
  Value beta = ir.sub(ir.c32(format.emax()), log2);
  beta = ir.smin(ir.smax(beta, ir.c32(-127)), ir.c32(127));
  beta = ir.select(isZero, ir.c32(0), beta);
  beta = ir.select(nonFinite, ir.c32(-128), beta);
  return ir.trunc(beta, ir.i8());
}

Value mlir::bm::emitUnitExponent(OpBuilder &b, Location loc, Value beta,
                                 Format format) {
  IntIR ir = IntIR::like(b, loc, beta);
  // s + c = emax - beta + c.
  return ir.sub(ir.c32(format.emax() + format.c()), ir.sext(beta, ir.i32()));
}

Value mlir::bm::emitQuantizeElement(OpBuilder &b, Location loc, Value xBits,
                                    Value beta, Format format,
                                    Rounding rounding, Value randomWord) {
  IntIR ir = IntIR::like(b, loc, xBits);
  const int e = format.e, m = format.m;
  Type codeType = ir.shaped(b.getIntegerType(format.storageBits()));

  // Everything below fits 32 bits: |x| = mant * 2^exp exactly with
  // mant < 2^24, and the rounded integer r (before saturation) is at most
  // 2^24 (it has at most m + 1 <= 24 significant bits for e >= 1, and
  // t < 2^m for e = 0, because beta is never clamped below the block's
  // own exponent).
  Value sign = ir.lshr(xBits, ir.c32(31));
  Value absBits = ir.band(xBits, ir.c32(0x7fffffff));
  // exp = max(expField, 1) - 150 (-149 for subnormals); mant = |x| / 2^exp
  // = fraction | 2^23 for normals, the fraction for subnormals.
  Value expField = ir.lshr(absBits, ir.c32(23));
  Value expClamped = ir.smax(expField, ir.c32(1));
  Value mant =
      ir.sub(absBits, ir.shl(ir.sub(expClamped, ir.c32(1)), ir.c32(23)));

  // t = |x| / 2^(s+c) = mant * 2^k, k = exp - (s + c); negK = -k.
  Value negK = ir.sub(
      ir.add(emitUnitExponent(b, loc, beta, format), ir.c32(150)), expClamped);
  // The grid quantum 2^g keeps m+1 significant bits of t (e >= 1) or
  // units (e = 0): g = max(0, bitlen(mant) + k - (m + 1)). The right shift
  // of mant onto the grid is sh = g - k = max(-k, bitlen(mant) - m - 1).
  Value sh = negK;
  if (e >= 1) {
    Value topBit; // bitlen(mant) - 1, any value for mant = 0 (r = 0 then)
    if (ir.isVector()) {
      // Without a vector ctlz: the exponent of mant's exact conversion.
      Value asFloat = arith::SIToFPOp::create(b, loc, ir.f32(), mant);
      Value fBits = arith::BitcastOp::create(b, loc, ir.i32(), asFloat);
      topBit = ir.sub(ir.lshr(fBits, ir.c32(23)), ir.c32(127));
    } else {
      topBit = ir.sub(ir.c32(31), ir.ctlz(mant));
    }
    sh = ir.smax(negK, ir.sub(topBit, ir.c32(m)));
  }
  // g = sh + k >= 0; it matters below only for e >= 1, where a nonzero
  // mant with g > 0 rounds to r >= 2^m. For mant = 0 (r = 0) g must be 0.
  Value g = ir.sub(sh, negK);
  if (e >= 1)
    g = ir.select(ir.eq(mant, ir.c32(0)), ir.c32(0), g);

  // sh <= 0: exact, r = mant << -sh. For nonzero mant -sh <= 23; clamping
  // only affects mant = 0, whose result is 0 anyway.
  Value exact = ir.shl(mant, ir.clampShift(ir.sub(ir.c32(0), sh), 31));
  // sh > 0: truncate, then round up as the mode says. From 24 on the
  // quotient is 0 and the remainder is mant, so clamping at 31 changes
  // neither.
  Value shC = ir.clampShift(sh, 31);
  Value truncated = ir.lshr(mant, shC);
  Value rounded;
  switch (rounding) {
  case Rounding::Zero:
    rounded = truncated;
    break;
  case Rounding::Nearest: {
    // Ties to even: (mant + 2^(sh-1) - 1 + odd) >> sh, for 1 <= sh <= 31
    // (below 2^31: mant < 2^24, 2^(sh-1) <= 2^30). From sh = 25 on it is 0.
    Value half = ir.lshr(ir.shl(ir.c32(1), shC), ir.c32(1));
    Value odd = ir.band(truncated, ir.c32(1));
    Value sum = ir.add(ir.add(mant, ir.sub(half, ir.c32(1))), odd);
    rounded = ir.lshr(sum, shC);
    break;
  }
  case Rounding::Stochastic: {
    // D = floor(frac * 2^32) = floor(rem * 2^(32 - sh)) < 2^32, rem the
    // low sh bits of mant: for sh <= 32 the bits of mant above them shift
    // out of 32 bits. Round up iff D + r >= 2^32, i.e. iff D > ~r
    // (unsigned, 32 bits).
    Value left = ir.clampShift(ir.sub(ir.c32(32), sh), 31);
    Value right = ir.clampShift(ir.sub(sh, ir.c32(32)), 31);
    Value d = ir.lshr(ir.shl(mant, left), right);
    Value up = ir.ugt(d, ir.not_(randomWord));
    rounded = ir.add(truncated, ir.zext(up, ir.i32()));
    break;
  }
  }
  Value r = ir.select(ir.sgt(sh, ir.c32(0)), rounded, exact);

  Value magnitude;
  if (e == 0) {
    // |q| = r saturated at qmax = 2^m - 1; code = sign << m | F.
    magnitude = ir.smin(r, ir.c32((int64_t(1) << m) - 1));
  } else {
    // E << m | F = (g << m) + r: for r >= 2^m, E = g + 1 and F = r - 2^m;
    // below, g = 0 and E = 0 (subnormal: r < 2^m with g > 0 cannot happen
    // for a nonzero mant, and g is 0 for mant = 0); a round-up to 2^(m+1)
    // carries into E. Saturating at qmax (E = 2^e - 1, F = 2^m - 1) is a
    // minimum with the largest code, as codes grow with |q|. g < 2^e, so no
    // overflow.
    magnitude = ir.smin(ir.add(ir.shl(g, ir.c32(m)), r),
                        ir.c32((int64_t(1) << (e + m)) - 1));
  }
  Value code = ir.bor(ir.shl(sign, ir.c32(e + m)), magnitude);
  Value nonFinite = ir.eq(beta, ir.c(ir.i8(), -128));
  code = ir.select(nonFinite, ir.c32(0), code);
  return ir.resize(code, codeType);
}

bool mlir::bm::hasScaledNearestPath(Format format) {
  // The magic number below, 2^(23 + floor(log2 t) - m) with
  // t < 2^(1-c) = 2^(2^e + m - 1), and twice it must be finite floats
  // (2^e <= 104), and it needs m <= 22.
  return format.e >= 1 && format.e <= 6 && format.m <= 22;
}

Value mlir::bm::emitQuantizeNearestScaled(OpBuilder &b, Location loc,
                                          Value xBits, Value scale,
                                          Format format) {
  IntIR ir = IntIR::like(b, loc, xBits);
  const int e = format.e, m = format.m;
  Type codeType = ir.shaped(b.getIntegerType(format.storageBits()));
  auto toF32 = [&](Value v) {
    return arith::BitcastOp::create(b, loc, ir.f32(), v).getResult();
  };
  auto toI32 = [&](Value v) {
    return arith::BitcastOp::create(b, loc, ir.i32(), v).getResult();
  };
  // y = |x| * 2^-(s+c) = t, exact: a product with a power of two is exact
  // unless it falls below 2^-126, and then t < 2^-2 rounds to 0 either way
  // (also where the hardware flushes subnormals); t < 2^(2^e + m - 1) stays
  // finite.
  Value y = arith::MulFOp::create(
      b, loc, toF32(ir.band(xBits, ir.c32(0x7fffffff))), scale);
  // Round t to its grid (step 2^max(0, floor(log2 t) - m)), ties to even,
  // by adding and subtracting M = 2^23 * step: in [M, 2M) float32 steps
  // are exactly `step`, and M / step = 2^23 is even. t < 2^(floor(log2 t)
  // + 1) <= M needs m <= 22. Biased exponent of M:
  // 150 + max(0, expY - 127 - m) = max(expY, 127 + m) + 23 - m.
  Value expY = ir.lshr(toI32(y), ir.c32(23));
  Value magic = toF32(ir.shl(
      ir.add(ir.smax(expY, ir.c32(127 + m)), ir.c32(23 - m)), ir.c32(23)));
  Value z = arith::SubFOp::create(
      b, loc, arith::AddFOp::create(b, loc, y, magic), magic);
  // z = |q| exactly. From 2^m on its float bits hold the code:
  // (biased exponent - 126 - m) << m | top m fraction bits = E << m | F;
  // below, |q| itself is the code (E = 0).
  Value zBits = toI32(z);
  Value twoM = ir.c32((127 + m) << 23);
  Value small =
      arith::FPToSIOp::create(b, loc, ir.i32(), toF32(ir.smin(zBits, twoM)));
  Value large = ir.sub(ir.lshr(zBits, ir.c32(23 - m)), ir.c32((126 + m) << m));
  Value magnitude = ir.select(ir.slt(zBits, twoM), small, large);
  // Saturate at qmax: the largest code.
  magnitude = ir.smin(magnitude, ir.c32((int64_t(1) << (e + m)) - 1));
  Value code =
      ir.bor(ir.shl(ir.lshr(xBits, ir.c32(31)), ir.c32(e + m)), magnitude);
  return ir.resize(code, codeType);
}

std::array<Value, 4> mlir::bm::emitPhilox4x32(OpBuilder &b, Location loc,
                                              Value c0, Value c1, Value k0,
                                              Value k1) {
  IntIR ir = IntIR::like(b, loc, c0);
  Value c2 = ir.c32(0), c3 = ir.c32(0);
  Value m0 = ir.c32(static_cast<int32_t>(0xD2511F53u));
  Value m1 = ir.c32(static_cast<int32_t>(0xCD9E8D57u));
  Value w0 = ir.c32(static_cast<int32_t>(0x9E3779B9u));
  Value w1 = ir.c32(static_cast<int32_t>(0xBB67AE85u));
  for (int round = 0; round < 10; ++round) {
    auto p0 = arith::MulUIExtendedOp::create(b, loc, m0, c0);
    auto p1 = arith::MulUIExtendedOp::create(b, loc, m1, c2);
    Value n0 = ir.bxor(ir.bxor(p1.getHigh(), c1), k0);
    Value n1 = p1.getLow();
    Value n2 = ir.bxor(ir.bxor(p0.getHigh(), c3), k1);
    Value n3 = p0.getLow();
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    if (round < 9) {
      k0 = ir.add(k0, w0);
      k1 = ir.add(k1, w1);
    }
  }
  return {c0, c1, c2, c3};
}

std::array<Value, 4> mlir::bm::emitPhilox4x32InI64(OpBuilder &b, Location loc,
                                                   Value c0, Value c1, Value k0,
                                                   Value k1) {
  IntIR ir = IntIR::like(b, loc, c0);
  Value low = ir.c64(0xffffffffLL), thirtyTwo = ir.c64(32);
  Value c2 = ir.c64(0), c3 = ir.c64(0);
  Value m0 = ir.c64(0xD2511F53LL), m1 = ir.c64(0xCD9E8D57LL);
  Value w0 = ir.c64(0x9E3779B9LL), w1 = ir.c64(0xBB67AE85LL);
  for (int round = 0; round < 10; ++round) {
    // The full 64-bit products of the low words: exact, no wrap.
    Value p0 = ir.mul(ir.band(c0, low), m0);
    Value p1 = ir.mul(ir.band(c2, low), m1);
    Value n0 = ir.bxor(ir.bxor(ir.lshr(p1, thirtyTwo), c1), k0);
    Value n2 = ir.bxor(ir.bxor(ir.lshr(p0, thirtyTwo), c3), k1);
    c0 = n0, c1 = p1, c2 = n2, c3 = p0;
    if (round < 9) {
      k0 = ir.add(k0, w0);
      k1 = ir.add(k1, w1);
    }
  }
  return {c0, c1, c2, c3};
}

Value mlir::bm::emitRandomWord(OpBuilder &b, Location loc, Value seed,
                               Value index) {
  IntIR ir{b, loc};
  Value group = ir.lshr(index, ir.c64(2));
  Value c0 = ir.trunc(group, ir.i32());
  Value c1 = ir.trunc(ir.lshr(group, ir.c64(32)), ir.i32());
  Value k0 = ir.trunc(seed, ir.i32());
  Value k1 = ir.trunc(ir.lshr(seed, ir.c64(32)), ir.i32());
  std::array<Value, 4> w = emitPhilox4x32(b, loc, c0, c1, k0, k1);
  Value lane = ir.trunc(ir.band(index, ir.c64(3)), ir.i32());
  Value word = ir.select(ir.eq(lane, ir.c32(0)), w[0], w[1]);
  word = ir.select(ir.eq(lane, ir.c32(2)), w[2], word);
  return ir.select(ir.eq(lane, ir.c32(3)), w[3], word);
}

namespace {
/// Sign bit, significand and binade shift of a code: |q| = sig << shift.
struct DecodedCode {
  Value negative;    // i1
  Value significand; // i32
  Value shift;       // i32
};

DecodedCode decodeFields(IntIR &ir, Value code, Format format) {
  const int e = format.e, m = format.m;
  Value c = ir.resize(code, ir.i32());
  Value negative =
      ir.ne(ir.band(ir.lshr(c, ir.c32(e + m)), ir.c32(1)), ir.c32(0));
  Value f = ir.band(c, ir.c32((1 << m) - 1));
  if (e == 0)
    return {negative, f, ir.c32(0)};
  Value bigE = ir.band(ir.lshr(c, ir.c32(m)), ir.c32((1 << e) - 1));
  Value isSubnormal = ir.eq(bigE, ir.c32(0));
  Value sig = ir.select(isSubnormal, f, ir.bor(f, ir.c32(1 << m)));
  Value shift = ir.select(isSubnormal, ir.c32(0), ir.sub(bigE, ir.c32(1)));
  return {negative, sig, shift};
}
} // namespace

Value mlir::bm::emitDecode(OpBuilder &b, Location loc, Value code,
                           Format format, Type formType) {
  IntIR ir = IntIR::like(b, loc, code);
  DecodedCode d = decodeFields(ir, code, format);
  unsigned width = getElementTypeOrSelf(formType).getIntOrFloatBitWidth();
  Value sig = ir.resize(d.significand, formType);
  Value shift = ir.resize(d.shift, formType);
  // The verifier guarantees |q| < 2^(width-1), so the shift is in range.
  Value magnitude = ir.shl(sig, ir.clampShift(shift, width - 1));
  Value negated = ir.sub(ir.c(formType, 0), magnitude);
  return ir.select(d.negative, negated, magnitude);
}

Value mlir::bm::emitFloat32FromScaled(OpBuilder &b, Location loc,
                                      Value negative, Value magnitude,
                                      Value exponent) {
  IntIR ir{b, loc};
  // L = bit length of the magnitude; keep 24 significant bits, or fewer
  // where the value is below float32's normal range (lsb weight 2^-149).
  Value bitlen = ir.sub(ir.c32(64), ir.trunc(ir.ctlz(magnitude), ir.i32()));
  Value drop =
      ir.smax(ir.sub(bitlen, ir.c32(24)), ir.sub(ir.c32(-149), exponent));
  // drop <= 0: exact, q = mag << -drop (< 2^24).
  Value left = ir.zext(ir.clampShift(ir.sub(ir.c32(0), drop), 63), ir.i64());
  Value exact = ir.shl(magnitude, left);
  // drop > 0: round to nearest, ties to even.
  Value dC = ir.zext(ir.clampShift(drop, 63), ir.i64());
  Value truncated = ir.lshr(magnitude, dC);
  Value rem = ir.band(magnitude, ir.sub(ir.shl(ir.c64(1), dC), ir.c64(1)));
  Value half = ir.shl(ir.c64(1), ir.sub(dC, ir.c64(1)));
  Value odd = ir.eq(ir.band(truncated, ir.c64(1)), ir.c64(1));
  Value up = ir.bor(ir.ugt(rem, half), ir.band(ir.eq(rem, half), odd));
  Value rounded = ir.add(truncated, ir.zext(up, ir.i64()));
  // Beyond 63 dropped bits the value (< 2^63) rounds to zero.
  rounded = ir.select(ir.sgt(drop, ir.c32(63)), ir.c64(0), rounded);
  Value q = ir.select(ir.sgt(drop, ir.c32(0)), rounded, exact);
  // value = q * 2^e2 with e2 >= -149 and q <= 2^24; its bits are
  // ((e2 + 150) << 23) + q - 2^23, which also covers subnormals (e2 = -149)
  // and the carry of q = 2^24 into the exponent.
  Value e2 = ir.sext(ir.add(exponent, drop), ir.i64());
  Value bits = ir.sub(ir.add(ir.shl(ir.add(e2, ir.c64(150)), ir.c64(23)), q),
                      ir.c64(1 << 23));
  bits = ir.select(ir.eq(q, ir.c64(0)), ir.c64(0), bits);
  bits = ir.smin(bits, ir.c64(0x7f800000)); // overflow -> Inf
  Value bits32 = ir.trunc(bits, ir.i32());
  bits32 = ir.bor(bits32, ir.shl(ir.zext(negative, ir.i32()), ir.c32(31)));
  return arith::BitcastOp::create(b, loc, b.getF32Type(), bits32);
}

Value mlir::bm::emitScaledIntToFloat32(OpBuilder &b, Location loc, Value value,
                                       Value exponent) {
  IntIR ir{b, loc};
  Value v = ir.sext(value, ir.i64());
  Value negative = ir.slt(v, ir.c64(0));
  Value magnitude = ir.select(negative, ir.sub(ir.c64(0), v), v);
  return emitFloat32FromScaled(b, loc, negative, magnitude, exponent);
}

Value mlir::bm::emitDequantizeElement(OpBuilder &b, Location loc, Value code,
                                      Value beta, Format format) {
  IntIR ir{b, loc};
  DecodedCode d = decodeFields(ir, code, format);
  Value exponent = ir.add(d.shift, emitUnitExponent(b, loc, beta, format));
  Value value = emitFloat32FromScaled(
      b, loc, d.negative, ir.zext(d.significand, ir.i64()), exponent);
  Value nan = arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(llvm::bit_cast<float>(kCanonicalNaNBits)));
  Value nonFinite = ir.eq(beta, ir.c(ir.i8(), -128));
  return ir.select(nonFinite, nan, value);
}
