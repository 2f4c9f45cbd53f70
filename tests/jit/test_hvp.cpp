// Hessian-vector products (addHessianVectorProduct, CompiledFunction::hvp) on every case of the
// gradient reference data: H v from the compiled product equals the reference Hessian times v
// (the reference's tolerance rule, scaled by the product's largest entry), and the JIT's own dense
// Hessian times v to rounding. The product's graph is checked to stay a few times the gradient's
// on a chain of 2,000 variables, where the Hessian would have 4,000,000 entries.
#include "jit_test_util.h"

#include "support/reference.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <span>

using namespace nabla;
using namespace nabla::jittest;
using namespace nabla::test;

namespace {

/// The direction's Var nodes, one fresh symbol per variable.
std::vector<NodeId> directionOf(Graph &graph, const std::vector<SymbolId> &args) {
  std::vector<NodeId> out;
  for (SymbolId s : args) out.push_back(graph.variable(graph.addSymbol("dir(" + graph.symbolName(s) + ")")));
  return out;
}

/// The symbols' values at a reference point: the case's variables, NaN for every other symbol.
std::vector<double> symbolsAt(const Graph &graph, const Differentiated &diff,
                              const ReferenceCase &c, const ReferencePoint &p) {
  std::vector<double> symbols(graph.symbolCount(), std::nan(""));
  for (std::size_t i = 0; i < c.vars.size(); ++i) symbols[diff.args[i]] = p.at.at(c.vars[i]);
  return symbols;
}

std::vector<NodeId> varsOf(Graph &graph, const std::vector<SymbolId> &args) {
  std::vector<NodeId> out;
  for (SymbolId s : args) out.push_back(graph.variable(s));
  return out;
}

}  // namespace

TEST_CASE("Hessian-vector products equal the reference Hessian times v on every gradient case",
          "[jit][hvp][reference]") {
  const CaseSweep sweep = gradientSweep();
  jit::Session session({jit::OptLevel::O1, false});
  std::mt19937_64 rng(21);
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::size_t points = 0;
  for (const ReferenceCase &c : sweep.cases) {
    std::optional<Differentiated> diff = differentiateText(c.expr, c.vars, true, true);
    INFO(c.name << " (" << c.expr << ")");
    REQUIRE(diff);
    Graph &graph = diff->program.graph;
    const std::vector<NodeId> vars = varsOf(graph, diff->args);
    CompileOptions options;
    addHessianVectorProduct(graph, diff->d, vars, directionOf(graph, diff->args), options);
    const jit::CompiledFunction f =
        jit::compileFunction(session, graph, c.name, diff->args, diff->d, {});
    REQUIRE(f.hasHvp());
    const std::size_t n = c.vars.size();
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      std::vector<double> at, v(n), out(n);
      for (std::size_t i = 0; i < n; ++i) at.push_back(p.at.at(c.vars[i]));
      for (double &x : v) x = uniform(rng);
      f.hvp(at, v, out);
      const std::vector<double> hess = f.hessian(at);
      // The reference product and its scale: max |H_ij| |v_j| over the row's terms.
      double scale = 0;
      std::vector<double> want(n, 0), mine(n, 0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
          want[i] += p.hessian[i][j] * v[j];
          mine[i] += hess[i * n + j] * v[j];
          scale = std::max(scale, std::abs(p.hessian[i][j] * v[j]));
        }
      for (std::size_t i = 0; i < n; ++i) {
        INFO("(Hv)[" << i << "]: hvp " << show(out[i]) << ", reference " << show(want[i])
                     << ", jit Hessian times v " << show(mine[i]));
        if (!std::isfinite(want[i])) {
          CHECK(!std::isfinite(out[i]));
          continue;
        }
        // A sum of n terms, each within the reference's tolerance of its own scale.
        CHECK(std::abs(out[i] - want[i]) <= 1e-9 * std::max(scale, 1e-300) * static_cast<double>(n) + 1e-12);
        CHECK(std::abs(out[i] - mine[i]) <= 1e-12 * std::max(scale, 1e-300) * static_cast<double>(n) + 1e-300);
      }
      ++points;
    }
  }
  CHECK(points == sweep.points);
}

TEST_CASE("A Hessian-vector product stays a few times the gradient's size, equal to finite "
          "differences of the gradient",
          "[jit][hvp]") {
  // The chained Rosenbrock function of 2000 variables, unrolled: its Hessian has 4e6 entries.
  const std::size_t n = 2000;
  std::string text = "0";
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back("x" + std::to_string(i));
  for (std::size_t i = 0; i + 1 < n; ++i)
    text += " + 100*(" + names[i + 1] + " - " + names[i] + "^2)^2 + (1 - " + names[i] + ")^2";
  std::optional<Differentiated> diff = differentiateText(text, names, false, true);
  REQUIRE(diff);
  Graph &graph = diff->program.graph;
  const std::size_t before = graph.reachable(diff->d.grad).size();
  addHessianVectorProduct(graph, diff->d, varsOf(graph, diff->args),
                          directionOf(graph, diff->args), {});
  const std::size_t product = graph.reachable(diff->d.hvp).size();
  INFO("gradient " << before << " nodes, product " << product);
  CHECK(product <= 4 * before);

  jit::Session session({jit::OptLevel::O1, false});
  std::vector<SymbolId> args = diff->args;
  const jit::CompiledFunction f = jit::compileFunction(session, graph, "chain", args, diff->d, {});
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> uniform(-1.5, 1.5);
  std::vector<double> x(n), v(n), out(n), gp(n), gm(n);
  for (double &e : x) e = uniform(rng);
  for (double &e : v) e = uniform(rng);
  f.hvp(x, v, out);
  // Central differences of the gradient along v, and the tridiagonal Hessian by hand.
  const double h = 1e-6;
  std::vector<double> xp(x), xm(x);
  for (std::size_t i = 0; i < n; ++i) {
    xp[i] += h * v[i];
    xm[i] -= h * v[i];
  }
  f.valueAndGrad(xp, gp);
  f.valueAndGrad(xm, gm);
  for (std::size_t i = 0; i < n; ++i) {
    double want = 0;
    if (i + 1 < n) {
      want += (1200 * x[i] * x[i] - 400 * x[i + 1] + 2) * v[i] - 400 * x[i] * v[i + 1];
    }
    if (i > 0) want += 200 * v[i] - 400 * x[i - 1] * v[i - 1];
    INFO("i = " << i);
    CHECK(std::abs(out[i] - want) <= 1e-9 * (std::abs(want) + 1e3));
    CHECK(std::abs(out[i] - (gp[i] - gm[i]) / (2 * h)) <= 1e-4 * (std::abs(want) + 1e2));
  }
}

TEST_CASE("Sparse Hessians by star colouring equal the dense symbolic Hessian entry by entry on "
          "every gradient case",
          "[jit][hvp][sparse][reference]") {
  const CaseSweep sweep = gradientSweep();
  std::size_t points = 0;
  for (const ReferenceCase &c : sweep.cases) {
    std::optional<Differentiated> diff = differentiateText(c.expr, c.vars, true, true);
    INFO(c.name << " (" << c.expr << ")");
    REQUIRE(diff);
    Graph &graph = diff->program.graph;
    addSparseHessian(graph, diff->d, varsOf(graph, diff->args), {});
    REQUIRE(diff->d.pattern);
    const HessianPattern &pattern = *diff->d.pattern;
    const std::size_t n = c.vars.size();
    REQUIRE(pattern.n == n);
    REQUIRE(diff->d.sparseHessian.size() == pattern.nonzeros());
    std::vector<NodeId> roots = diff->d.sparseHessian;
    for (const auto &row : diff->d.hessian) roots.insert(roots.end(), row.begin(), row.end());
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      const std::vector<double> v = evaluate(graph, roots, symbolsAt(graph, *diff, c, p));
      const double *sparse = v.data(), *dense = v.data() + pattern.nonzeros();
      std::vector<char> listed(n * n, 0);
      for (std::size_t i = 0; i < n; ++i)
        for (std::int64_t k = pattern.rowStart[i]; k < pattern.rowStart[i + 1]; ++k) {
          const auto j = static_cast<std::size_t>(pattern.columns[k]);
          listed[i * n + j] = 1;
          INFO("H[" << i << "][" << j << "]: sparse " << show(sparse[k]) << ", dense "
                    << show(dense[i * n + j]) << ", reference " << show(p.hessian[i][j]));
          // The same derivative by another sweep order: equal to rounding, and to the reference.
          CHECK((ulpDistance(sparse[k], dense[i * n + j]) <= 64 ||
                 std::abs(sparse[k] - dense[i * n + j]) <= 1e-13 * (1 + std::abs(dense[i * n + j]))));
        }
      // Outside the pattern the Hessian is 0 (or not finite where the function is not).
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
          if (!listed[i * n + j] && std::isfinite(p.hessian[i][j])) {
            INFO("H[" << i << "][" << j << "] = " << show(p.hessian[i][j]) << " is outside the pattern");
            CHECK(p.hessian[i][j] == 0);
          }
      ++points;
    }
  }
  CHECK(points == sweep.points);
}

TEST_CASE("Sparse Hessians by products, where the node limit favours them, equal the symbolic "
          "entries on every reference case",
          "[jit][hvp][sparse][reference]") {
  const CaseSweep sweep = gradientSweep();
  std::size_t products = 0;
  for (const ReferenceCase &c : sweep.cases) {
    INFO(c.name << " (" << c.expr << ")");
    std::optional<Differentiated> diff = differentiateText(c.expr, c.vars, false, true);
    REQUIRE(diff);
    Graph &graph = diff->program.graph;
    const std::vector<NodeId> vars = varsOf(graph, diff->args);
    Derivatives symbolic = diff->d, byProducts = diff->d;
    addSparseHessian(graph, symbolic, vars, {});
    REQUIRE_FALSE(symbolic.sparseProducts);  // small cases: symbolic under the default limit
    if (symbolic.pattern->nonzeros() == 0) continue;
    // A node limit below the nonzeros: products.
    CompileOptions tight;
    tight.lower.maxNodes = symbolic.pattern->nonzeros() - 1;
    addSparseHessian(graph, byProducts, vars, tight);
    REQUIRE(byProducts.sparseProducts);
    CHECK(byProducts.sparseHessian.empty());
    const SparseProducts &sp = *byProducts.sparseProducts;
    const std::vector<NodeId> direction = directionOf(graph, diff->args);
    addHessianVectorProduct(graph, byProducts, vars, direction, {});
    for (const ReferencePoint &p : c.points) {
      INFO(describe(c, p));
      std::vector<double> symbols = symbolsAt(graph, *diff, c, p);
      const std::vector<double> entries = evaluate(graph, symbolic.sparseHessian, symbols);
      // The interpreter's H d for each colour's indicator d, gathered by the shared routine.
      std::vector<double> got(entries.size());
      ProductScratch scratch;
      sparseHessianByProducts(
          sp.colouring, sp.recovery,
          [&](std::span<const double> d, std::span<double> out) {
            for (std::size_t j = 0; j < d.size(); ++j) symbols[graph[direction[j]].symbol] = d[j];
            const std::vector<double> hv = evaluate(graph, byProducts.hvp, symbols);
            std::copy(hv.begin(), hv.end(), out.begin());
          },
          got, scratch);
      for (std::size_t e = 0; e < entries.size(); ++e) {
        INFO("nonzero " << e << ": by products " << show(got[e]) << ", symbolic " << show(entries[e]));
        CHECK((ulpDistance(got[e], entries[e]) <= 64 ||
               std::abs(got[e] - entries[e]) <= 1e-13 * (1 + std::abs(entries[e]))));
      }
    }
    ++products;
  }
  CHECK(products > 0);
}

TEST_CASE("A sparse Hessian by colouring takes a few sweeps and equals the tridiagonal one by hand",
          "[jit][hvp][sparse]") {
  const std::size_t n = 3000;
  std::string text = "0";
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back("x" + std::to_string(i));
  for (std::size_t i = 0; i + 1 < n; ++i)
    text += " + 100*(" + names[i + 1] + " - " + names[i] + "^2)^2 + (1 - " + names[i] + ")^2";
  std::optional<Differentiated> diff = differentiateText(text, names, false, true);
  REQUIRE(diff);
  Graph &graph = diff->program.graph;
  addSparseHessian(graph, diff->d, varsOf(graph, diff->args), {});
  const HessianPattern &pattern = *diff->d.pattern;
  CHECK(pattern.nonzeros() == 3 * n - 2);
  jit::Session session({jit::OptLevel::O1, false});
  const jit::CompiledOutputs h = jit::compileOutputs(session, graph, "hess", diff->args, n,
                                                     diff->d.sparseHessian, {});
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(-1.5, 1.5);
  std::vector<double> x(n);
  for (double &e : x) e = uniform(rng);
  const std::vector<double> values = h.outputs(x);
  for (std::size_t i = 0; i < n; ++i)
    for (std::int64_t k = pattern.rowStart[i]; k < pattern.rowStart[i + 1]; ++k) {
      const auto j = static_cast<std::size_t>(pattern.columns[k]);
      double want = 0;
      if (j == i) want = (i + 1 < n ? 1200 * x[i] * x[i] - 400 * x[i + 1] + 2 : 0) + (i > 0 ? 200 : 0);
      else want = -400 * x[std::min(i, j)];
      INFO("H[" << i << "][" << j << "]");
      CHECK(std::abs(values[k] - want) <= 1e-12 * (1 + std::abs(want)));
    }
}
