// Values and partial derivatives at extreme arguments against 50-digit references
// (tests/reference/numerics.json, written by tests/reference/numerics.py with mpmath): every op's
// partials, softmax and logsumexp at large and very different logits, norm at huge, tiny and zero
// vectors, and the stable forms of sums that the arithmetic rules reshape first. Each point goes
// through the interpreter and through the JIT (its first code and its optimized tier).
//
// Tolerance (docs/testing.md): where the reference is a normal double, at most kMaxUlps ulps
// from it (for softmax, logsumexp and the stable sums, kMaxUlps times the conditioning below);
// where it is below the normal range, within DBL_MIN of it (0 or a subnormal); where it
// overflows, the same infinity.
#include "jit_test_util.h"

#include "graph/interp.h"
#include "support/reference.h"

#include <catch2/catch.hpp>

#include <cfloat>

using namespace nabla;
using namespace nabla::jittest;
using namespace nabla::test;

namespace {

constexpr std::uint64_t kMaxUlps = 8;

/// `scale` >= 1 widens the tolerance where the function itself moves that many ulps when an
/// argument moves by one rounding (below).
bool matches(double got, double want, double scale = 1) {
  if (std::isinf(want))
    return got == want;
  if (std::fabs(want) < DBL_MIN)
    return std::fabs(got - want) <= DBL_MIN;
  return ulpDistance(got, want) <= kMaxUlps ||
         std::fabs(got - want) <= kMaxUlps * scale * DBL_EPSILON * std::fabs(want);
}

/// softmax and logsumexp are computed from log-odds (differences of the logits, up to their
/// spread): an error of one rounding in a log-odds d is a relative error of |d| ulps in
/// exp(d). The stable forms of sums of exps likewise move by |x| ulps with x. Elsewhere 1.
double scaleOf(const ReferenceCase &c, const ReferencePoint &p) {
  double lo = INFINITY, hi = -INFINITY, top = 0;
  for (const auto &[name, v] : p.at) {
    lo = std::fmin(lo, v);
    hi = std::fmax(hi, v);
    top = std::fmax(top, std::fabs(v));
  }
  if (c.kind == "softmax") return std::fmax(1.0, hi - lo);
  if (c.kind == "stable") return std::fmax(1.0, top);
  return 1;
}

const std::vector<ReferenceCase> &numericsCases() {
  static const std::vector<ReferenceCase> cases = loadGradientCases("reference/numerics.json");
  return cases;
}

} // namespace

TEST_CASE("values and partials at extreme arguments equal the 50-digit references",
          "[jit][reference][numerics]") {
  REQUIRE(numericsCases().size() >= 40);
  jit::Session session; // tiered: the first code, then the optimized tier
  std::size_t checked = 0;
  for (const ReferenceCase &c : numericsCases()) {
    std::string diagnostics;
    std::optional<Differentiated> diff = differentiateText(c.expr, c.vars, false, true, &diagnostics);
    INFO(c.name << " (" << c.expr << ")\n" << diagnostics);
    REQUIRE(diff.has_value());
    const Graph &graph = diff->program.graph;
    jit::CompiledFunction f = jit::compileFunction(session, graph, c.name, diff->args, diff->d);
    const std::vector<NodeId> roots = allRoots(diff->d);
    const std::size_t n = c.vars.size();
    auto check = [&](const char *tier) {
      for (const ReferencePoint &p : c.points) {
        INFO(describe(c, p) << " [" << tier << "]");
        std::vector<double> at, symbols(graph.symbolCount(), std::nan(""));
        for (std::size_t i = 0; i < n; ++i) {
          at.push_back(p.at.at(c.vars[i]));
          symbols[diff->args[i]] = at.back();
        }
        const std::vector<double> interp = evaluate(graph, roots, symbols);
        auto [value, grad] = f.valueAndGrad(at);
        INFO("value: interpreter " << show(interp[0]) << ", jit " << show(value) << ", want "
                                   << show(p.value));
        const double scale = scaleOf(c, p);
        CHECK(matches(interp[0], p.value, scale));
        CHECK(matches(value, p.value, scale));
        CHECK(matches(f(at), p.value, scale));
        for (std::size_t i = 0; i < n; ++i) {
          const double want = p.grad.at(c.vars[i]);
          INFO("d/d" << c.vars[i] << ": interpreter " << show(interp[1 + i]) << ", jit "
                     << show(grad[i]) << ", want " << show(want));
          CHECK(matches(interp[1 + i], want, scale));
          CHECK(matches(grad[i], want, scale));
        }
        ++checked;
      }
    };
    check("first code");
    REQUIRE(f.waitOptimized());
    check("optimized tier");
  }
  CHECK(checked >= 2 * 190);
}

TEST_CASE("derivative conventions at u = 0 of u^v, norm and hypot, interpreter and JIT",
          "[jit][numerics]") {
  // docs/language.md, "Derivative conventions": d/dv u^v = 0 where u = 0 (v -> 0^v is piecewise
  // constant), d/du u^v = 0 where v = 0 (u^0 = 1); norm and hypot have the subgradient 0 at 0.
  struct Convention {
    std::string expr;
    std::vector<std::string> vars;
    std::vector<double> at;
    double value;
    std::vector<double> grad;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Convention> conventions = {
      {"u^v", {"u", "v"}, {0, 0}, 1, {0, 0}},
      {"u^v", {"u", "v"}, {0, 2}, 0, {0, 0}},
      {"u^v", {"u", "v"}, {0, 1}, 0, {1, 0}},
      {"u^v", {"u", "v"}, {0, 0.5}, 0, {inf, 0}},
      {"u^v", {"u", "v"}, {0, -1}, inf, {-inf, 0}},
      {"u^v", {"u", "v"}, {-0.0, 3}, -0.0, {0, 0}},
      {"u^v", {"u", "v"}, {5, 0}, 1, {0, std::log(5.0)}},
      {"0^v", {"v"}, {0}, 1, {0}},
      {"0^v", {"v"}, {2}, 0, {0}},
      {"norm([x, y])", {"x", "y"}, {0, 0}, 0, {0, 0}},
      {"norm([x, y, z])", {"x", "y", "z"}, {0, 0, 0}, 0, {0, 0, 0}},
      {"norm([x])", {"x"}, {0}, 0, {0}},
      {"hypot(x, y)", {"x", "y"}, {0, 0}, 0, {0, 0}},
      {"abs(x)", {"x"}, {0}, 0, {0}},
  };
  jit::Session session(jit::SessionOptions{jit::OptLevel::O2, false});
  for (const Convention &k : conventions) {
    std::optional<Differentiated> diff = differentiateText(k.expr, k.vars, false, true);
    INFO(k.expr << " at " << show(k.at[0]) << (k.at.size() > 1 ? ", " + show(k.at[1]) : ""));
    REQUIRE(diff.has_value());
    const Graph &graph = diff->program.graph;
    std::vector<double> symbols(graph.symbolCount(), std::nan(""));
    for (std::size_t i = 0; i < k.vars.size(); ++i) symbols[diff->args[i]] = k.at[i];
    const std::vector<double> interp = evaluate(graph, allRoots(diff->d), symbols);
    jit::CompiledFunction f = jit::compileFunction(session, graph, "conv", diff->args, diff->d);
    auto [value, grad] = f.valueAndGrad(k.at);
    CHECK(sameDouble(interp[0], k.value));
    CHECK(sameDouble(value, k.value));
    for (std::size_t i = 0; i < k.vars.size(); ++i) {
      INFO("d/d" << k.vars[i] << ": interpreter " << show(interp[1 + i]) << ", jit " << show(grad[i]));
      CHECK(interp[1 + i] == k.grad[i]);
      CHECK(grad[i] == k.grad[i]);
    }
  }
}
