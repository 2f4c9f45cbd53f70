// The reference rejections (tests/reference/bad_inputs.{txt,json}): each input, as a bare
// expression and as a line of a program, is either a located parse error or one of the few inputs
// that are grammatical and only wrong for sema (listed below; the sema and CLI tests check those).
#include "parse_test_util.h"
#include "support/reference.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <set>

using namespace nabla;
using nabla::test::parseText;

namespace {

struct BadInput {
  std::string name;  // the text itself for bad_inputs.txt; the JSON name otherwise
  std::string text;
};

std::string repeatParts(const llvm::json::Array &parts) {
  std::string out;
  for (const llvm::json::Value &part : parts) {
    const llvm::json::Array &pc = *part.getAsArray();
    std::string piece = pc[0].getAsString()->str();
    std::int64_t count = *pc[1].getAsInteger();
    for (std::int64_t i = 0; i < count; ++i) out += piece;
  }
  return out;
}

llvm::json::Object loadJson() {
  auto parsed = llvm::json::parse(nabla::test::readTestFile("reference/bad_inputs.json"));
  REQUIRE(static_cast<bool>(parsed));
  return std::move(*parsed->getAsObject());
}

std::vector<BadInput> loadRejects() {
  std::vector<BadInput> cases;
  std::string txt = nabla::test::readTestFile("reference/bad_inputs.txt");
  std::size_t start = 0;
  while (start < txt.size()) {
    std::size_t nl = txt.find('\n', start);
    if (nl == std::string::npos) nl = txt.size();
    std::string line = txt.substr(start, nl - start);
    cases.push_back({line, line});
    start = nl + 1;
  }
  llvm::json::Object json = loadJson();
  int escaped = 0;
  for (const llvm::json::Value &v : *json.getArray("escaped"))
    cases.push_back({"escaped #" + std::to_string(escaped++), v.getAsString()->str()});
  for (const llvm::json::Value &v : *json.getArray("bytes_hex")) {
    const llvm::json::Object &o = *v.getAsObject();
    std::string hex = o.getString("hex")->str(), bytes;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    cases.push_back({o.getString("name")->str(), bytes});
  }
  for (const llvm::json::Value &v : *json.getArray("generated_reject")) {
    const llvm::json::Object &o = *v.getAsObject();
    cases.push_back({o.getString("name")->str(), repeatParts(*o.getArray("parts"))});
  }
  return cases;
}

// Grammatical, wrong only in meaning: unknown functions, arity, a subscripted function name.
const std::set<std::string> kSemanticOnly = {
    "x(y)",   "sin()",        "sin(x, y)", "exp(1, 2)", "log()",
    "pow(x)", "pow(x, y, z)", "pow()",     "max()",     "atan(y, x)",
    "foo(x)", "bar(1, 2)",    "sinx(x)",   "expp(x)",   "Sin(x)",
    "EXP(x)", "x(1)",         "sin[x]",    "sin( )",    "unknown_function_long_name",
    "min[x, y]",  // a subscript per dimension: grammatical since `W[i, j]`
};

// As a line of a program these are blank lines, which a program may have.
const std::set<std::string> kBlankInProgram = {"escaped #0", "escaped #1", "escaped #2",
                                               "escaped #3", "escaped #4", "escaped #5"};

void requireLocatedErrors(const nabla::test::Parsed &p, std::size_t size, std::uint32_t minOffset) {
  REQUIRE(!p.ok());
  REQUIRE(p.sink->hasErrors());
  for (const Diagnostic &d : p.sink->diagnostics()) {
    INFO(d.message);
    REQUIRE(d.range.valid());
    CHECK(d.range.begin <= d.range.end);
    CHECK(d.range.end <= size);
    CHECK(d.range.begin >= minOffset);
    CHECK(!d.message.empty());
    CHECK(std::islower(static_cast<unsigned char>(d.message[0])));
    CHECK(d.message.back() != '.');
  }
}

}  // namespace

TEST_CASE("every reference bad input is rejected, as an expression and as a program line",
          "[parse]") {
  std::vector<BadInput> cases = loadRejects();
  REQUIRE(cases.size() == 159 + 24 + 6 + 12);
  std::set<std::string> acceptedBare;
  for (const BadInput &c : cases) {
    INFO("input: " << c.name);
    auto bare = parseText(c.text, true);
    INFO(bare.rendered());
    if (kSemanticOnly.count(c.name)) {
      REQUIRE(bare.ok());
      CHECK(nabla::test::checkInvariants(*bare.program, c.text.size()).empty());
      acceptedBare.insert(c.name);
    } else {
      requireLocatedErrors(bare, c.text.size(), 0);
    }
    const std::string prefix = "param a\n";
    std::string program = prefix + c.text + "\n";
    auto line = parseText(program, false);
    INFO(line.rendered());
    if (kBlankInProgram.count(c.name)) {
      CHECK(line.ok());
    } else {
      requireLocatedErrors(line, program.size(), static_cast<std::uint32_t>(prefix.size()));
    }
  }
  // The list of semantic-only inputs is exact: each of them is in the reference data.
  CHECK(acceptedBare == kSemanticOnly);
}

TEST_CASE("generated stress inputs neither crash nor overflow the stack", "[parse]") {
  llvm::json::Object json = loadJson();
  int seen = 0;
  for (const llvm::json::Value &v : *json.getArray("generated_no_crash")) {
    const llvm::json::Object &o = *v.getAsObject();
    std::string name = o.getString("name")->str();
    std::string text = repeatParts(*o.getArray("parts"));
    INFO(name);
    auto p = parseText(text, true);
    ++seen;
    if (name == "balanced_parens_100k" || name == "nested_sin_100k") {
      // Deeper than the default nesting limit: a clean error at the 257th bracket.
      requireLocatedErrors(p, text.size(), 0);
      REQUIRE(p.sink->diagnostics().size() == 1);
      const Diagnostic &d = p.sink->diagnostics()[0];
      CHECK(d.message == "nesting deeper than 256 levels (raise the limit with --max-nesting)");
      CHECK(text[d.range.begin] == '(');
      std::size_t opens = 0;
      for (std::size_t i = 0; i <= d.range.begin; ++i) opens += text[i] == '(';
      CHECK(opens == 257);
      continue;
    }
    INFO(p.rendered());
    REQUIRE(p.ok());
    CHECK(nabla::test::checkInvariants(*p.program, text.size()).empty());
    const ast::ExprId body = p.program->stmts[0].body;
    if (name == "unary_minus_100k")
      CHECK(nabla::test::evaluate(*p.program, body, {{"x", 2.5}}) == 2.5);
    if (name == "long_sum_100k")
      CHECK(nabla::test::evaluate(*p.program, body, {{"x", 0.5}}) == 50'000);
    if (name == "long_product_100k")
      CHECK(nabla::test::evaluate(*p.program, body, {{"x", -1.0}}) == 1);
    if (name == "pow_chain_10k") CHECK(nabla::test::evaluate(*p.program, body, {{"x", 1.0}}) == 1);
    if (name == "long_identifier_1M") CHECK((*p.program)[body].name.size() == 1'000'000);
    if (name == "long_number_100k_zeros") CHECK(nabla::test::evaluate(*p.program, body, {}) == 0.0);
  }
  CHECK(seen == 8);
}
