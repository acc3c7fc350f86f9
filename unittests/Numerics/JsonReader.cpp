//===- JsonReader.cpp - Minimal JSON reader for the golden vectors --------===//

#include "JsonReader.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace bm::numerics::test {

const JsonValue *JsonValue::find(std::string_view key) const {
  for (const auto &[name, value] : members)
    if (name == key)
      return &value;
  return nullptr;
}

std::optional<int64_t> JsonValue::asInt64() const {
  if (!isNumber() || text.empty() ||
      text.find_first_of(".eE") != std::string::npos)
    return std::nullopt;
  errno = 0;
  char *end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return std::nullopt;
  return int64_t(v);
}

std::optional<uint64_t> JsonValue::asUint64() const {
  if (!isNumber() || text.empty() || text[0] == '-' ||
      text.find_first_of(".eE") != std::string::npos)
    return std::nullopt;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return std::nullopt;
  return uint64_t(v);
}

namespace {
class Parser {
public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::optional<JsonValue> parseDocument(std::string *error) {
    JsonValue value;
    bool ok = parseValue(value, 0);
    skipSpace();
    if (ok && pos_ != text_.size())
      ok = fail("trailing characters after the document");
    if (!ok) {
      if (error)
        *error = error_ + " at byte " + std::to_string(pos_);
      return std::nullopt;
    }
    return value;
  }

private:
  bool fail(const std::string &message) {
    if (error_.empty())
      error_ = message;
    return false;
  }

  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\t'))
      ++pos_;
  }

  bool consume(char c) {
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool parseLiteral(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word)
      return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool parseValue(JsonValue &out, int depth) {
    if (depth > 64)
      return fail("nesting too deep");
    skipSpace();
    if (pos_ >= text_.size())
      return fail("unexpected end of input");
    char c = text_[pos_];
    if (c == '{')
      return parseObject(out, depth);
    if (c == '[')
      return parseArray(out, depth);
    if (c == '"') {
      out.kind = JsonValue::Kind::String;
      return parseString(out.text);
    }
    if (c == 't' || c == 'f') {
      out.kind = JsonValue::Kind::Bool;
      out.text = c == 't' ? "true" : "false";
      return parseLiteral(out.text);
    }
    if (c == 'n') {
      out.kind = JsonValue::Kind::Null;
      return parseLiteral("null");
    }
    return parseNumber(out);
  }

  // Validates the JSON number grammar and keeps the text verbatim.
  bool parseNumber(JsonValue &out) {
    size_t start = pos_;
    auto digits = [&] {
      size_t s = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      return pos_ - s;
    };
    if (pos_ < text_.size() && text_[pos_] == '-')
      ++pos_;
    size_t intStart = pos_;
    size_t n = digits();
    if (n == 0)
      return fail("invalid value");
    if (n > 1 && text_[intStart] == '0')
      return fail("number with a leading zero");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0)
        return fail("number without digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
        ++pos_;
      if (digits() == 0)
        return fail("number without exponent digits");
    }
    out.kind = JsonValue::Kind::Number;
    out.text = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  static void appendUtf8(std::string &s, uint32_t cp) {
    if (cp < 0x80) {
      s += char(cp);
    } else if (cp < 0x800) {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += char(0xE0 | (cp >> 12));
      s += char(0x80 | ((cp >> 6) & 0x3F));
      s += char(0x80 | (cp & 0x3F));
    } else {
      s += char(0xF0 | (cp >> 18));
      s += char(0x80 | ((cp >> 12) & 0x3F));
      s += char(0x80 | ((cp >> 6) & 0x3F));
      s += char(0x80 | (cp & 0x3F));
    }
  }

  bool parseHex4(uint32_t &cp) {
    if (pos_ + 4 > text_.size())
      return fail("truncated \\u escape");
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = text_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9')
        cp |= uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f')
        cp |= uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        cp |= uint32_t(h - 'A' + 10);
      else
        return fail("invalid \\u escape");
    }
    return true;
  }

  bool parseString(std::string &out) {
    ++pos_; // opening quote
    out.clear();
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"')
        return true;
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        break;
      char esc = text_[pos_++];
      switch (esc) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t cp;
        if (!parseHex4(cp))
          return false;
        if (cp >= 0xD800 && cp < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
          pos_ += 2;
          uint32_t low;
          if (!parseHex4(low))
            return false;
          if (low < 0xDC00 || low >= 0xE000)
            return fail("invalid surrogate pair");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        appendUtf8(out, cp);
        break;
      }
      default:
        return fail("invalid escape in string");
      }
    }
    return fail("unterminated string");
  }

  bool parseArray(JsonValue &out, int depth) {
    ++pos_;
    out.kind = JsonValue::Kind::Array;
    if (consume(']'))
      return true;
    do {
      out.items.emplace_back();
      if (!parseValue(out.items.back(), depth + 1))
        return false;
    } while (consume(','));
    return consume(']') || fail("expected ',' or ']' in array");
  }

  bool parseObject(JsonValue &out, int depth) {
    ++pos_;
    out.kind = JsonValue::Kind::Object;
    if (consume('}'))
      return true;
    do {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        return fail("expected a string key in object");
      std::string key;
      if (!parseString(key))
        return false;
      if (!consume(':'))
        return fail("expected ':' after object key");
      out.members.emplace_back(std::move(key), JsonValue());
      if (!parseValue(out.members.back().second, depth + 1))
        return false;
    } while (consume(','));
    return consume('}') || fail("expected ',' or '}' in object");
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};
} // namespace

std::optional<JsonValue> parseJson(std::string_view text, std::string *error) {
  return Parser(text).parseDocument(error);
}

std::optional<JsonValue> readJsonFile(const std::string &path,
                                      std::string *error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error)
      *error = "cannot open " + path;
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string parseError;
  std::optional<JsonValue> value = parseJson(buffer.str(), &parseError);
  if (!value && error)
    *error = path + ": " + parseError;
  return value;
}

} // namespace bm::numerics::test
