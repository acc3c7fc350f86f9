//===- VectorsTest.cpp - Golden vectors, bit for bit ----------------------===//
//
// Checks every case of quantize.json, quantize_fit.json and matmul.json
// (numerics.md, vectors/README.md) field by field: beta, q (as exact decimal
// integers), code and output float bits. The directory defaults to
// BM_DEFAULT_VECTORS_DIR and is overridden by the environment variable
// BM_VECTORS_DIR, so another vector set in the same format is checked by the
// same binary.
//
//===----------------------------------------------------------------------===//

#include "JsonReader.h"

#include "bm/Numerics/Kulisch.h"
#include "bm/Numerics/Reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>

using namespace bm::numerics;
using bm::numerics::test::JsonValue;

namespace {

std::string vectorsDir() {
  if (const char *env = std::getenv("BM_VECTORS_DIR"); env && *env)
    return env;
  return BM_DEFAULT_VECTORS_DIR;
}

struct VectorFile {
  std::string path;
  std::string error; // non-empty when the file is missing or malformed
  std::vector<JsonValue> cases;
};

// Loaded once: test registration needs the case count before main().
const VectorFile &vectorFile(const std::string &name) {
  static std::map<std::string, VectorFile> cache;
  auto it = cache.find(name);
  if (it != cache.end())
    return it->second;
  VectorFile file;
  file.path = vectorsDir() + "/" + name;
  std::optional<JsonValue> doc =
      bm::numerics::test::readJsonFile(file.path, &file.error);
  if (doc && !doc->isArray())
    file.error = file.path + ": top level is not an array of cases";
  else if (doc)
    file.cases = std::move(doc->items);
  return cache.emplace(name, std::move(file)).first->second;
}

int caseCount(const std::string &name) {
  return int(vectorFile(name).cases.size());
}

std::string hexBits(uint32_t bits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", bits);
  return buf;
}

//===----------------------------------------------------------------------===//
// Case parsing. Each helper returns "" or what is malformed.
//===----------------------------------------------------------------------===//

std::string getIntArray(const JsonValue &c, const char *key,
                        std::vector<int64_t> &out) {
  const JsonValue *v = c.find(key);
  if (!v || !v->isArray())
    return std::string("missing array '") + key + "'";
  out.clear();
  for (const JsonValue &item : v->items) {
    std::optional<int64_t> x = item.asInt64();
    if (!x)
      return std::string("non-integer in '") + key + "': " + item.text;
    out.push_back(*x);
  }
  return "";
}

std::string getHexArray(const JsonValue &c, const char *key,
                        std::vector<uint32_t> &out) {
  const JsonValue *v = c.find(key);
  if (!v || !v->isArray())
    return std::string("missing array '") + key + "'";
  out.clear();
  for (const JsonValue &item : v->items) {
    if (!item.isString() || item.text.size() != 8 ||
        item.text.find_first_not_of("0123456789abcdefABCDEF") !=
            std::string::npos)
      return std::string("bad float32 bits in '") + key + "': " + item.text;
    out.push_back(uint32_t(std::strtoul(item.text.c_str(), nullptr, 16)));
  }
  return "";
}

struct QuantizeCase {
  std::string note;
  Format format;
  std::vector<int64_t> shape, block;
  Rounding rounding = Rounding::Nearest;
  ScaleRule scale = ScaleRule::Floor; // the "scale" key; floor when absent
  uint64_t seed = 0;
  std::vector<float> input;
  // Expected.
  std::vector<int64_t> beta;
  std::vector<std::string> q; // exact decimal text
  std::vector<int64_t> code;
  std::vector<uint32_t> output;
};

std::string parseQuantizeCase(const JsonValue &c, QuantizeCase &qc) {
  if (!c.isObject())
    return "case is not an object";
  if (const JsonValue *note = c.find("note"))
    qc.note = note->text;
  std::vector<int64_t> fmt;
  if (std::string err = getIntArray(c, "format", fmt); !err.empty())
    return err;
  if (fmt.size() != 2)
    return "format is not [e, m]";
  if (std::string err = Format::validate(int(fmt[0]), int(fmt[1]));
      !err.empty())
    return err;
  qc.format = Format{int(fmt[0]), int(fmt[1])};
  if (std::string err = getIntArray(c, "shape", qc.shape); !err.empty())
    return err;
  if (std::string err = getIntArray(c, "block", qc.block); !err.empty())
    return err;
  if (std::string err = validateBlockShape(qc.shape, qc.block); !err.empty())
    return err;
  const JsonValue *rounding = c.find("rounding");
  std::optional<Rounding> r =
      rounding ? parseRounding(rounding->text) : std::nullopt;
  if (!r)
    return "missing or unknown 'rounding'";
  qc.rounding = *r;
  if (const JsonValue *scale = c.find("scale")) {
    std::optional<ScaleRule> rule = parseScaleRule(scale->text);
    if (!scale->isString() || !rule)
      return "unknown 'scale' " + scale->text +
             "; expected \"floor\" or \"fit\"";
    qc.scale = *rule;
  }
  const JsonValue *seed = c.find("seed");
  std::optional<uint64_t> s = seed ? seed->asUint64() : std::nullopt;
  if (!s)
    return "missing or non-uint64 'seed'";
  qc.seed = *s;
  std::vector<uint32_t> inputBits;
  if (std::string err = getHexArray(c, "input", inputBits); !err.empty())
    return err;
  qc.input.clear();
  for (uint32_t bits : inputBits)
    qc.input.push_back(bitsToFloat(bits));
  int64_t numel = 1;
  for (int64_t d : qc.shape)
    numel *= d;
  if (int64_t(qc.input.size()) != numel)
    return "input has " + std::to_string(qc.input.size()) + " values for " +
           std::to_string(numel) + " elements";

  if (std::string err = getIntArray(c, "beta", qc.beta); !err.empty())
    return err;
  if (std::string err = getIntArray(c, "code", qc.code); !err.empty())
    return err;
  if (std::string err = getHexArray(c, "output", qc.output); !err.empty())
    return err;
  const JsonValue *q = c.find("q");
  if (!q || !q->isArray())
    return "missing array 'q'";
  qc.q.clear();
  for (const JsonValue &item : q->items) {
    if (!item.isNumber() || item.text.find_first_of(".eE") != std::string::npos)
      return "non-integer in 'q': " + item.text;
    qc.q.push_back(item.text);
  }
  if (int64_t(qc.q.size()) != numel || int64_t(qc.code.size()) != numel ||
      int64_t(qc.output.size()) != numel)
    return "expected q/code/output do not have one entry per element";
  return "";
}

QuantizedTensor quantizeCase(const QuantizeCase &qc) {
  return quantize(qc.input.data(), qc.shape, qc.format, qc.block, qc.rounding,
                  qc.seed, qc.scale);
}

// Reports at most a few mismatches per field so a failure stays readable.
class MismatchReporter {
public:
  explicit MismatchReporter(std::string field) : field_(std::move(field)) {}
  ~MismatchReporter() {
    if (count_ > kShown)
      ADD_FAILURE() << field_ << ": " << count_ << " mismatches in total";
  }
  void report(int64_t index, const std::string &expected,
              const std::string &actual) {
    if (++count_ <= kShown)
      ADD_FAILURE() << field_ << "[" << index << "]: expected " << expected
                    << ", got " << actual;
  }

private:
  static constexpr int kShown = 8;
  std::string field_;
  int count_ = 0;
};

void expectQuantizeMatches(const QuantizeCase &qc, const QuantizedTensor &t,
                           const std::string &label) {
  ASSERT_EQ(t.verify(), "") << label;
  ASSERT_EQ(int64_t(qc.beta.size()), t.numBlocks())
      << label << ": number of blocks";
  {
    MismatchReporter rep(label + " beta");
    for (int64_t b = 0; b < t.numBlocks(); ++b)
      if (qc.beta[b] != t.beta[b])
        rep.report(b, std::to_string(qc.beta[b]), std::to_string(t.beta[b]));
  }
  std::vector<float> out = dequantize(t);
  MismatchReporter repQ(label + " q"), repCode(label + " code"),
      repOut(label + " output");
  for (int64_t i = 0; i < t.numElements(); ++i) {
    std::string q = t.integerForm(i).toDecimal();
    if (q != qc.q[i])
      repQ.report(i, qc.q[i], q);
    if (qc.code[i] != int64_t(t.codes[i]))
      repCode.report(i, std::to_string(qc.code[i]), std::to_string(t.codes[i]));
    if (qc.output[i] != floatToBits(out[i]))
      repOut.report(i, hexBits(qc.output[i]), hexBits(floatToBits(out[i])));
  }
}

std::string quantizeCaseNameIn(const std::string &fileName, int index) {
  std::string name = "case" + std::to_string(index);
  const VectorFile &file = vectorFile(fileName);
  QuantizeCase qc;
  if (index < int(file.cases.size()) &&
      parseQuantizeCase(file.cases[index], qc).empty())
    name +=
        "_" + qc.format.name() + "_" + std::string(roundingName(qc.rounding));
  return name;
}

std::string quantizeCaseName(const ::testing::TestParamInfo<int> &info) {
  return quantizeCaseNameIn("quantize.json", info.param);
}

std::string quantizeFitCaseName(const ::testing::TestParamInfo<int> &info) {
  return quantizeCaseNameIn("quantize_fit.json", info.param);
}

std::string matmulCaseName(const ::testing::TestParamInfo<int> &info) {
  std::string name = "case" + std::to_string(info.param);
  const VectorFile &file = vectorFile("matmul.json");
  QuantizeCase a, b;
  if (info.param < int(file.cases.size())) {
    const JsonValue &c = file.cases[info.param];
    const JsonValue *ja = c.find("a"), *jb = c.find("b");
    if (ja && jb && parseQuantizeCase(*ja, a).empty() &&
        parseQuantizeCase(*jb, b).empty())
      name += "_" + a.format.name() + "x" + b.format.name() + "_" +
              std::string(roundingName(a.rounding));
  }
  return name;
}

//===----------------------------------------------------------------------===//
// The files must exist and hold cases: a missing file fails, never passes
// vacuously.
//===----------------------------------------------------------------------===//

TEST(VectorFiles, QuantizeLoaded) {
  const VectorFile &file = vectorFile("quantize.json");
  EXPECT_EQ(file.error, "") << "set BM_VECTORS_DIR to the vectors directory";
  EXPECT_GT(file.cases.size(), 0u) << file.path;
}

TEST(VectorFiles, QuantizeFitLoaded) {
  const VectorFile &file = vectorFile("quantize_fit.json");
  EXPECT_EQ(file.error, "") << "set BM_VECTORS_DIR to the vectors directory";
  EXPECT_GT(file.cases.size(), 0u) << file.path;
}

TEST(VectorFiles, MatmulLoaded) {
  const VectorFile &file = vectorFile("matmul.json");
  EXPECT_EQ(file.error, "") << "set BM_VECTORS_DIR to the vectors directory";
  EXPECT_GT(file.cases.size(), 0u) << file.path;
}

//===----------------------------------------------------------------------===//
// quantize.json
//===----------------------------------------------------------------------===//

class QuantizeVectors : public ::testing::TestWithParam<int> {};

TEST_P(QuantizeVectors, BitExact) {
  const VectorFile &file = vectorFile("quantize.json");
  ASSERT_LT(GetParam(), int(file.cases.size()))
      << "no cases loaded from " << file.path << " " << file.error;
  QuantizeCase qc;
  std::string err = parseQuantizeCase(file.cases[GetParam()], qc);
  ASSERT_EQ(err, "") << "malformed case " << GetParam();
  SCOPED_TRACE("case " + std::to_string(GetParam()) + " (" + qc.note + ", " +
               qc.format.name() + ", " +
               std::string(roundingName(qc.rounding)) + ")");
  expectQuantizeMatches(qc, quantizeCase(qc), "quantize");
}

// At least one instance, so a missing file shows up as a failing case too.
INSTANTIATE_TEST_SUITE_P(
    Golden, QuantizeVectors,
    ::testing::Range(0, std::max(1, caseCount("quantize.json"))),
    quantizeCaseName);

//===----------------------------------------------------------------------===//
// quantize_fit.json: the `fit` scale rule (numerics.md section 2)
//===----------------------------------------------------------------------===//

class QuantizeFitVectors : public ::testing::TestWithParam<int> {};

TEST_P(QuantizeFitVectors, BitExact) {
  const VectorFile &file = vectorFile("quantize_fit.json");
  ASSERT_LT(GetParam(), int(file.cases.size()))
      << "no cases loaded from " << file.path << " " << file.error;
  QuantizeCase qc;
  std::string err = parseQuantizeCase(file.cases[GetParam()], qc);
  ASSERT_EQ(err, "") << "malformed case " << GetParam();
  SCOPED_TRACE("case " + std::to_string(GetParam()) + " (" + qc.note + ", " +
               qc.format.name() + ", " +
               std::string(roundingName(qc.rounding)) + ", scale " +
               std::string(scaleRuleName(qc.scale)) + ")");
  expectQuantizeMatches(qc, quantizeCase(qc), "quantize");
}

INSTANTIATE_TEST_SUITE_P(
    Golden, QuantizeFitVectors,
    ::testing::Range(0, std::max(1, caseCount("quantize_fit.json"))),
    quantizeFitCaseName);

// The file tests the rule: most of its cases come out differently under
// `floor` (their block maxima lie in the top band), so a quantizer that
// ignored the rule would fail above.
TEST(QuantizeFitVectorsSet, MostCasesDependOnTheRule) {
  const VectorFile &file = vectorFile("quantize_fit.json");
  ASSERT_GT(file.cases.size(), 0u) << file.error;
  int fit = 0, differ = 0;
  for (const JsonValue &c : file.cases) {
    QuantizeCase qc;
    ASSERT_EQ(parseQuantizeCase(c, qc), "");
    if (qc.scale != ScaleRule::Fit)
      continue;
    ++fit;
    QuantizedTensor floor =
        quantize(qc.input.data(), qc.shape, qc.format, qc.block, qc.rounding,
                 qc.seed, ScaleRule::Floor);
    differ +=
        !std::equal(floor.beta.begin(), floor.beta.end(), qc.beta.begin());
  }
  EXPECT_GT(fit, 0);
  EXPECT_GT(2 * differ, fit)
      << differ << " of " << fit << " fit cases differ from floor";
}

//===----------------------------------------------------------------------===//
// matmul.json
//===----------------------------------------------------------------------===//

class MatmulVectors : public ::testing::TestWithParam<int> {};

TEST_P(MatmulVectors, BitExact) {
  const VectorFile &file = vectorFile("matmul.json");
  ASSERT_LT(GetParam(), int(file.cases.size()))
      << "no cases loaded from " << file.path << " " << file.error;
  const JsonValue &c = file.cases[GetParam()];
  SCOPED_TRACE("matmul case " + std::to_string(GetParam()));
  const JsonValue *ja = c.find("a"), *jb = c.find("b");
  ASSERT_TRUE(ja && jb) << "case lacks 'a' or 'b'";
  QuantizeCase a, b;
  ASSERT_EQ(parseQuantizeCase(*ja, a), "") << "malformed operand A";
  ASSERT_EQ(parseQuantizeCase(*jb, b), "") << "malformed operand B";
  std::vector<uint32_t> initBits, expected;
  ASSERT_EQ(getHexArray(c, "init", initBits), "");
  ASSERT_EQ(getHexArray(c, "output", expected), "");
  std::vector<int64_t> shape;
  ASSERT_EQ(getIntArray(c, "shape", shape), "");
  ASSERT_EQ(shape.size(), 3u) << "shape is [M, K, N]";
  ASSERT_EQ(a.shape, (std::vector<int64_t>{shape[0], shape[1]}));
  ASSERT_EQ(b.shape, (std::vector<int64_t>{shape[1], shape[2]}));
  ASSERT_EQ(int64_t(initBits.size()), shape[0] * shape[2]);
  ASSERT_EQ(int64_t(expected.size()), shape[0] * shape[2]);

  // The operands are themselves quantize cases.
  QuantizedTensor qa = quantizeCase(a), qb = quantizeCase(b);
  expectQuantizeMatches(a, qa, "A");
  expectQuantizeMatches(b, qb, "B");

  std::vector<float> init;
  for (uint32_t bits : initBits)
    init.push_back(bitsToFloat(bits));
  // Every exact accumulator type must give the same bits.
  int width = kulischWidth(a.format, b.format,
                           maxRunLength(shape[1], qa.block[1], qb.block[0]));
  std::vector<std::pair<KulischPath, const char *>> paths = {
      {KulischPath::Auto, "auto"}, {KulischPath::Wide, "wide"}};
  if (width <= 64)
    paths.push_back({KulischPath::Int64, "int64"});
  if (width <= 128)
    paths.push_back({KulischPath::Int128, "int128"});
  for (auto [path, pathName] : paths) {
    std::vector<float> out = matmul(qa, qb, init.data(), path);
    ASSERT_EQ(out.size(), expected.size());
    MismatchReporter rep(std::string("output (") + pathName + " accumulator)");
    for (size_t i = 0; i < out.size(); ++i)
      if (floatToBits(out[i]) != expected[i])
        rep.report(int64_t(i), hexBits(expected[i]),
                   hexBits(floatToBits(out[i])));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Golden, MatmulVectors,
    ::testing::Range(0, std::max(1, caseCount("matmul.json"))), matmulCaseName);

//===----------------------------------------------------------------------===//
// The reader itself.
//===----------------------------------------------------------------------===//

TEST(JsonReader, KeepsHugeIntegersAsText) {
  std::string err;
  auto v = bm::numerics::test::parseJson(
      R"({"q": [-514065142931627196587484974487752558214375303186943586212097872365560447694274560, 0, 7],
          "seed": 16755403067888110323, "s": "a\"b\u00e9", "x": [true, false, null, 1.5e-3]})",
      &err);
  ASSERT_TRUE(v) << err;
  const JsonValue *q = v->find("q");
  ASSERT_TRUE(q && q->isArray());
  EXPECT_EQ(q->items[0].text, "-51406514293162719658748497448775255821437530318"
                              "6943586212097872365560447694274560");
  EXPECT_FALSE(q->items[0].asInt64());
  EXPECT_EQ(q->items[2].asInt64(), 7);
  EXPECT_EQ(v->find("seed")->asUint64(), 16755403067888110323ull);
  EXPECT_EQ(v->find("s")->text, "a\"b\xc3\xa9");
  EXPECT_EQ(v->find("x")->items[3].text, "1.5e-3");
  EXPECT_FALSE(v->find("x")->items[3].asInt64());
}

TEST(JsonReader, RejectsMalformedInput) {
  for (const char *bad : {"[1, 2", "{\"a\" 1}", "[01]", "[1,]", "\"open",
                          "[1] x", "-", "[tru]"}) {
    std::string err;
    EXPECT_FALSE(bm::numerics::test::parseJson(bad, &err)) << bad;
    EXPECT_NE(err, "") << bad;
  }
}

TEST(JsonReader, MissingFileIsAnError) {
  std::string err;
  EXPECT_FALSE(
      bm::numerics::test::readJsonFile("/nonexistent/bm/vectors.json", &err));
  EXPECT_NE(err.find("cannot open"), std::string::npos);
}

} // namespace
