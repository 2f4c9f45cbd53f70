// Expression swell: the DAG that computes value and gradient together stays within 3x the nodes of
// the function's DAG (`nabla graph --grad --stats --json`), and nested derivatives stay exact.
#include "support/process.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <string>

using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

std::string productOf30() {
  std::string s = "x1";
  for (int i = 2; i <= 30; ++i) s += "*x" + std::to_string(i);
  return s;
}

std::string composition30() {
  std::string s = "x";
  for (int i = 0; i < 30; ++i) s = std::string(i % 2 ? "cos(" : "sin(") + s + ")";
  return s;
}

std::string rosenbrock(int n) {
  std::string s;
  for (int i = 1; i < n; ++i) {
    std::string a = "x" + std::to_string(i), b = "x" + std::to_string(i + 1);
    if (i > 1) s += " + ";
    s += "100*(" + b + " - " + a + "^2)^2 + (1 - " + a + ")^2";
  }
  return s;
}

std::pair<double, double> stats(const std::string &expr) {
  ProcessResult r = runNabla({"graph", expr, "--grad", "--stats", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(r.out);
  REQUIRE(static_cast<bool>(parsed));
  const llvm::json::Object &o = *parsed->getAsObject();
  return {*o.getNumber("nodes"), *o.getNumber("grad_nodes")};
}

}  // namespace

TEST_CASE("gradient DAGs stay within 3x the function's nodes", "[acceptance][swell]") {
  for (const std::string &expr : {productOf30(), composition30(), rosenbrock(100)}) {
    auto [nodes, gradNodes] = stats(expr);
    INFO(expr.substr(0, 60) << ": " << nodes << " nodes, " << gradNodes << " with the gradient");
    CHECK(nodes > 0);
    CHECK(gradNodes > nodes);
    CHECK(gradNodes <= 3 * nodes);
  }
}

TEST_CASE("ten nested derivatives of sin(x)^7", "[acceptance][swell]") {
  std::string expr = "sin(x)^7";
  for (int i = 0; i < 10; ++i) expr = "d(" + expr + ", x)";
  ProcessResult r = runNabla({"eval", expr, "--at", "x=0.7", "--json"});
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto parsed = llvm::json::parse(r.out);
  REQUIRE(static_cast<bool>(parsed));
  double value = *parsed->getAsObject()->getNumber("value");
  CHECK(value == Approx(-3944825.6574424466).epsilon(1e-9));
}
