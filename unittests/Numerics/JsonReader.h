//===- JsonReader.h - Minimal JSON reader for the golden vectors -*- C++
//-*-===//
//
// Numbers are kept as their raw text: integer forms q in the vectors exceed
// 64 bits (up to ~2^278 for e8m23) and must be compared exactly.
//
//===----------------------------------------------------------------------===//

#ifndef BM_UNITTESTS_NUMERICS_JSONREADER_H
#define BM_UNITTESTS_NUMERICS_JSONREADER_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bm::numerics::test {

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  /// Raw text of a number, decoded contents of a string, "true"/"false".
  std::string text;
  std::vector<JsonValue> items;                           ///< Array
  std::vector<std::pair<std::string, JsonValue>> members; ///< Object, in order

  bool isNumber() const { return kind == Kind::Number; }
  bool isString() const { return kind == Kind::String; }
  bool isArray() const { return kind == Kind::Array; }
  bool isObject() const { return kind == Kind::Object; }
  /// Member `key` of an object, or nullptr.
  const JsonValue *find(std::string_view key) const;
  /// The number as an integer; nullopt if it is not an integer in range.
  std::optional<int64_t> asInt64() const;
  std::optional<uint64_t> asUint64() const;
};

/// Parses a JSON document; on malformed input returns nullopt and sets
/// *error to a message with the byte offset.
std::optional<JsonValue> parseJson(std::string_view text, std::string *error);

/// Reads and parses a file; nullopt with *error on I/O or syntax errors.
std::optional<JsonValue> readJsonFile(const std::string &path,
                                      std::string *error);

} // namespace bm::numerics::test

#endif // BM_UNITTESTS_NUMERICS_JSONREADER_H
