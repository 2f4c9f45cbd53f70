// Every case and point of the gradient reference data, compiled by the JIT: value, gradient and
// Hessian equal to the interpreter's within 4 ulps (IEEE mode), and within the reference
// tolerance of the reference values themselves.
#include "jit_test_util.h"

#include "graph/interp.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

using namespace nabla;
using namespace nabla::jittest;
using namespace nabla::test;

namespace {

constexpr std::uint64_t kMaxUlps = 4;

/// Checks every point of one case; returns the number of points checked.
std::size_t checkCase(jit::Session &session, const ReferenceCase &c, bool simplifyOn,
                      const jit::FunctionOptions &options = {}) {
  std::string diagnostics;
  std::optional<Differentiated> diff = differentiateText(c.expr, c.vars, true, simplifyOn, &diagnostics);
  INFO(c.name << " (" << c.expr << ")" << (simplifyOn ? "" : " [simplify off]") << "\n" << diagnostics);
  if (!diff) {
    FAIL_CHECK("no scalar bare entry point");
    return 0;
  }
  const Graph &graph = diff->program.graph;
  jit::CompiledFunction f = jit::compileFunction(session, graph, c.name, diff->args, diff->d, options);
  REQUIRE(f.arity() == c.vars.size());
  REQUIRE(f.hasHessian());
  const std::vector<NodeId> roots = allRoots(diff->d);
  const std::size_t n = c.vars.size();

  auto checkPoints = [&](const char *tier) {
    INFO(tier);
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      std::vector<double> at;
      std::vector<double> symbols(graph.symbolCount(), std::nan(""));
      for (std::size_t i = 0; i < n; ++i) {
        at.push_back(p.at.at(c.vars[i]));
        symbols[diff->args[i]] = at.back();
      }
      const std::vector<double> want = evaluate(graph, roots, symbols);

      // The three entry points, each against the interpreter.
      const double value = f(at);
      auto [fusedValue, grad] = f.valueAndGrad(at);
      const std::vector<double> hess = f.hessian(at);
      INFO("value: jit " << value << ", fused " << fusedValue << ", interpreter " << want[0]);
      CHECK(ulpDistance(value, want[0]) <= kMaxUlps);
      CHECK(ulpDistance(fusedValue, want[0]) <= kMaxUlps);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << ": jit " << grad[i] << ", interpreter " << want[1 + i]);
        CHECK(ulpDistance(grad[i], want[1 + i]) <= kMaxUlps);
      }
      for (std::size_t k = 0; k < n * n; ++k) {
        INFO("hessian[" << k / n << "][" << k % n << "]: jit " << hess[k] << ", interpreter "
                        << want[1 + n + k]);
        CHECK(ulpDistance(hess[k], want[1 + n + k]) <= kMaxUlps);
      }

      // And against the reference values, with the reference's own tolerance rule.
      CHECK(valueMatches(value, p.value));
      const auto [gScale, hScale] = scalesOf(p);
      for (std::size_t i = 0; i < n; ++i) {
        INFO("d/d" << c.vars[i] << " = " << grad[i] << " want " << p.grad.at(c.vars[i]));
        CHECK(entryMatches(grad[i], p.grad.at(c.vars[i]), gScale));
        for (std::size_t j = 0; j < n; ++j) {
          INFO("d2/d" << c.vars[i] << "d" << c.vars[j] << " = " << hess[i * n + j] << " want "
                      << p.hessian[i][j]);
          CHECK(entryMatches(hess[i * n + j], p.hessian[i][j], hScale));
        }
      }
    }
  };
  // In a tiered session the points are checked with the code installed at first (usually the O0
  // tier) and again once the optimized tier is in.
  checkPoints("first code");
  if (session.tiered()) {
    REQUIRE(f.waitOptimized());
    checkPoints("optimized tier");
  }
  return c.points.size();
}

jit::SessionOptions untiered(jit::OptLevel level) { return {level, false}; }

}  // namespace

TEST_CASE("JIT equals the interpreter and the reference on every gradient case", "[jit][reference]") {
  std::vector<ReferenceCase> cases = loadGradientCases();
  REQUIRE(cases.size() >= 305);
  jit::Session session;  // tiered: O0 at once, then O2 from the background thread
  REQUIRE(session.tiered());
  std::size_t points = 0;
  for (const ReferenceCase &c : cases) points += checkCase(session, c, true);
  CHECK(points >= 607);
}

TEST_CASE("JIT with LLVM at O0 as its first tier equals the interpreter on every gradient case",
          "[jit][reference]") {
  jit::SessionOptions options;
  options.baseline = false;
  jit::Session session(options);
  REQUIRE(session.tiered());
  REQUIRE_FALSE(session.baselineFirstTier());
  const CaseSweep sweep = gradientSweep();
  std::size_t points = 0;
  for (const ReferenceCase &c : sweep.cases) points += checkCase(session, c, true);
  CHECK(points == sweep.points);
}

TEST_CASE("JIT equals the interpreter on unsimplified derivatives", "[jit][reference]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  const CaseSweep sweep = gradientSweep();
  std::size_t points = 0;
  for (const ReferenceCase &c : sweep.cases) points += checkCase(session, c, false);
  CHECK(points == sweep.points);
}

TEST_CASE("JIT at O0, O2 and O3 without tiers equals the interpreter on every gradient case",
          "[jit][reference]") {
  for (jit::OptLevel level : {jit::OptLevel::O0, jit::OptLevel::O2, jit::OptLevel::O3}) {
    INFO("opt level " << static_cast<int>(level));
    jit::Session session(untiered(level));
    REQUIRE_FALSE(session.tiered());
    const CaseSweep sweep = gradientSweep();
    std::size_t points = 0;
    for (const ReferenceCase &c : sweep.cases) points += checkCase(session, c, true);
    CHECK(points == sweep.points);
  }
}

TEST_CASE("JIT split into parts of a few tape entries equals the interpreter", "[jit][reference]") {
  // Tiny parts force every value through the frame between part functions; the values must not
  // change. The frame is on the stack here; the malloc path is taken by the 10^5-node test.
  jit::FunctionOptions options;
  options.maxPartSize = 3;
  jit::Session session(untiered(jit::OptLevel::O2));
  const CaseSweep sweep = gradientSweep();
  std::size_t points = 0;
  for (const ReferenceCase &c : sweep.cases) points += checkCase(session, c, true, options);
  CHECK(points == sweep.points);
}
