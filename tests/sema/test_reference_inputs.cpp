// The reference corpus of rejected and stress inputs, through parse and sema together: whatever
// the parser lets through, sema must reject (bad inputs) or lower to the right value (stress).
#include "parse/parse.h"
#include "sema/support.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <llvm/Support/JSON.h>

#include <cmath>
#include <sstream>

using namespace nabla;
using namespace nabla::test;

namespace {

/// True if the text ends in an error in parse or sema.
bool rejected(const std::string &text, bool bare) {
  SourceBuffer buffer("input", text);
  DiagnosticSink sink(buffer);
  std::optional<ast::Program> program = parseForTest(buffer, sink, bare);
  if (!program) return sink.hasErrors();
  std::optional<LoweredProgram> lowered = lowerProgram(*program, sink);
  return !lowered && sink.hasErrors();
}

}  // namespace

TEST_CASE("every bad input ends in an error", "[sema]") {
  std::istringstream lines(readTestFile("reference/bad_inputs.txt"));
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    INFO("input: " << line);
    CHECK(rejected(line, true));
    CHECK(rejected(line, false));
    ++count;
  }
  CHECK(count > 100);
}

TEST_CASE("generated stress inputs lower to the right value or are rejected", "[sema]") {
  auto parsed = llvm::json::parse(readTestFile("reference/bad_inputs.json"));
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Array *cases = parsed->getAsObject()->getArray("generated_no_crash");
  REQUIRE(cases);
  for (const llvm::json::Value &c : *cases) {
    const llvm::json::Object &obj = *c.getAsObject();
    std::string name = obj.getString("name")->str();
    std::string text;
    for (const llvm::json::Value &part : *obj.getArray("parts")) {
      const llvm::json::Array &pair = *part.getAsArray();
      std::string piece = pair[0].getAsString()->str();
      for (std::int64_t k = 0; k < *pair[1].getAsInteger(); ++k) text += piece;
    }
    INFO("case " << name);
    SourceBuffer buffer("input", text);
    DiagnosticSink sink(buffer);
    std::optional<ast::Program> program = parseForTest(buffer, sink, true);
    if (!program) continue;  // a parser limit: its own tests cover the message
    std::optional<LoweredProgram> lowered = lowerProgram(*program, sink);
    REQUIRE(lowered);
    REQUIRE(lowered->bare);
    if (name == "long_number_100k_zeros") {  // 1e-100001 underflows to 0
      CHECK(lowered->bare->args.empty());
      CHECK(eval1(*lowered, lowered->bare->result.elems[0]) == 0);
      continue;
    }
    REQUIRE(lowered->bare->args.size() == 1);
    const std::string var = lowered->bare->args[0].name;
    NodeId root = lowered->bare->result.elems[0];
    if (name == "long_sum_100k") {
      CHECK(eval1(*lowered, root, {{var, 0.5}}) == 50000);
    } else if (name == "long_product_100k") {
      CHECK(eval1(*lowered, root, {{var, 1.00001}}) == Approx(std::pow(1.00001, 100000)).epsilon(1e-9));
    } else if (name == "pow_chain_10k") {
      double v = 1.2;
      for (int i = 1; i < 10001; ++i) v = std::pow(1.2, v);
      CHECK(eval1(*lowered, root, {{var, 1.2}}) == Approx(v).epsilon(1e-12));
    } else if (name == "long_identifier_1M") {
      CHECK(var.size() == 1000000);
      CHECK(eval1(*lowered, root, {{var, 3.0}}) == 3.0);
    } else if (name == "balanced_parens_100k" || name == "unary_minus_100k") {
      CHECK(eval1(*lowered, root, {{var, 3.0}}) == 3.0);
    } else if (name == "nested_sin_100k") {
      double v = 1.0;
      for (int i = 0; i < 100000; ++i) v = std::sin(v);
      CHECK(eval1(*lowered, root, {{var, 1.0}}) == v);
    }
  }
}
