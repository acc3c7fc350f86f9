//===- Format.cpp - Block Minifloat element formats -----------------------===//

#include "bm/Numerics/Format.h"

#include <cctype>

namespace bm::numerics {

std::string Format::validate(int e, int m) {
  std::string what = "e" + std::to_string(e) + "m" + std::to_string(m);
  if (e < 0 || e > 8)
    return "format " + what + ": exponent width e = " + std::to_string(e) +
           " is out of range; use 0 <= e <= 8 (numerics.md section 1)";
  if (m < 0 || m > 23)
    return "format " + what + ": mantissa width m = " + std::to_string(m) +
           " is out of range; use 0 <= m <= 23 (numerics.md section 1)";
  if (e + m < 1)
    return "format " + what +
           " has no exponent or mantissa bits; use e + m >= 1, e.g. e0m1 or "
           "e1m0 (numerics.md section 1)";
  return "";
}

std::string Format::name() const {
  return "e" + std::to_string(e) + "m" + std::to_string(m);
}

// Parses a canonical non-negative decimal (no sign, no leading zeros) of at
// most two digits, advancing `pos`; -1 if there is none.
static int parseSmallDecimal(std::string_view text, size_t &pos) {
  size_t start = pos;
  int value = 0;
  while (pos < text.size() &&
         std::isdigit(static_cast<unsigned char>(text[pos]))) {
    if (pos - start >= 2)
      return -1;
    value = value * 10 + (text[pos] - '0');
    ++pos;
  }
  size_t len = pos - start;
  if (len == 0 || (len > 1 && text[start] == '0'))
    return -1;
  return value;
}

std::optional<Format> Format::parse(std::string_view text) {
  size_t pos = 0;
  if (pos >= text.size() || text[pos++] != 'e')
    return std::nullopt;
  int e = parseSmallDecimal(text, pos);
  if (e < 0 || pos >= text.size() || text[pos++] != 'm')
    return std::nullopt;
  int m = parseSmallDecimal(text, pos);
  if (m < 0 || pos != text.size())
    return std::nullopt;
  Format f{e, m};
  if (!f.isValid())
    return std::nullopt;
  return f;
}

std::string_view roundingName(Rounding r) {
  switch (r) {
  case Rounding::Nearest:
    return "nearest";
  case Rounding::Stochastic:
    return "stochastic";
  case Rounding::Zero:
    return "zero";
  }
  return "nearest";
}

std::optional<Rounding> parseRounding(std::string_view text) {
  if (text == "nearest")
    return Rounding::Nearest;
  if (text == "stochastic")
    return Rounding::Stochastic;
  if (text == "zero")
    return Rounding::Zero;
  return std::nullopt;
}

std::string_view scaleRuleName(ScaleRule rule) {
  return rule == ScaleRule::Fit ? "fit" : "floor";
}

std::optional<ScaleRule> parseScaleRule(std::string_view text) {
  if (text == "floor")
    return ScaleRule::Floor;
  if (text == "fit")
    return ScaleRule::Fit;
  return std::nullopt;
}

} // namespace bm::numerics
