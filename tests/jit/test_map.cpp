// The map kernels (codegen::emitMapKernel, jit::CompiledFunction::map): a function's value, value
// and gradient, and Hessian at many points, vectorized across points. Every point must equal the
// scalar entry points at that point: bit for bit where the function is arithmetic alone, within a
// few ulps where the vector math library computes exp, log, sin, ... in every layout, for every
// count of points (whole vector blocks and the partial last one), split over threads or not, and
// before the optimized tier is installed (point by point) as after.
#include "jit_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace nabla;
using namespace nabla::jittest;

namespace {

struct Mapped {
  Differentiated diff;
  jit::CompiledFunction f;
};

Mapped compileMapped(jit::Session &session, const std::string &text,
                     const std::vector<std::string> &vars, jit::FunctionOptions options = {}) {
  std::optional<Differentiated> diff = differentiateText(text, vars, true, true);
  REQUIRE(diff);
  Mapped m{std::move(*diff), {}};
  options.mapped = true;
  m.f = jit::compileFunction(session, m.diff.program.graph, "f", m.diff.args, m.diff.d, options);
  return m;
}

/// n random points of k coordinates, row-major (point r, argument c at [r * k + c]).
std::vector<double> randomPoints(std::size_t n, std::size_t k, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  std::vector<double> p(n * k);
  for (double &x : p) x = u(rng);
  return p;
}

/// The same points by column (argument c of point r at [c * n + r]).
std::vector<double> byColumns(const std::vector<double> &rows, std::size_t n, std::size_t k) {
  std::vector<double> out(rows.size());
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < k; ++c) out[c * n + r] = rows[r * k + c];
  return out;
}

/// `tolerance` 0: the same bits; else |got - want| <= tolerance * max(1, |want|) (the vector
/// math library's few ulps, grown by what the function does with them).
bool agrees(double got, double want, double tolerance) {
  if (tolerance == 0) return sameDouble(got, want);
  return std::fabs(got - want) <= tolerance * std::max(1.0, std::fabs(want));
}

/// Every kind of map at n points, rows and columns in and out (in every combination), against the
/// scalar entry points point by point, to the tolerance `ulps` (see agrees).
void checkMaps(const jit::CompiledFunction &f, std::size_t n, double ulps,
               unsigned threads = 1, std::uint64_t seed = 7) {
  const std::size_t k = f.arity(), g = f.gradSize();
  const std::vector<double> rows = randomPoints(n, k, seed);
  const std::vector<double> columns = byColumns(rows, n, k);
  // The scalar results.
  std::vector<double> value(n), grad(n * g), hess(f.hasHessian() ? n * g * g : 0);
  std::vector<double> args(k), gradAt(g), hessAt(g * g);
  for (std::size_t r = 0; r < n; ++r) {
    std::copy(rows.begin() + static_cast<std::ptrdiff_t>(r * k),
              rows.begin() + static_cast<std::ptrdiff_t>((r + 1) * k), args.begin());
    const double v = f(args);
    CHECK(sameDouble(f.valueAndGrad(args, gradAt), v));
    value[r] = v;
    std::copy(gradAt.begin(), gradAt.end(), grad.begin() + static_cast<std::ptrdiff_t>(r * g));
    if (f.hasHessian()) {
      f.hessian(args, hessAt);
      std::copy(hessAt.begin(), hessAt.end(), hess.begin() + static_cast<std::ptrdiff_t>(r * g * g));
    }
  }
  for (bool inColumns : {false, true})
    for (bool outColumns : {false, true}) {
      INFO("n " << n << ", points by " << (inColumns ? "column" : "row") << ", results by "
                << (outColumns ? "column" : "row") << ", threads " << threads);
      jit::MapArrays a;
      a.in = n == 0 ? nullptr : (inColumns ? columns.data() : rows.data());
      a.inLd = inColumns ? n : 0;
      const std::uint64_t ld = outColumns ? n : 0;
      // Entry j of a group of width w at point r, in the layout of the results.
      auto at = [&](const std::vector<double> &out, std::size_t w, std::size_t r, std::size_t j) {
        return outColumns ? out[j * n + r] : out[r * w + j];
      };
      std::vector<double> v(n, -7.0), gr(n * g, -7.0), h(n * g * g, -7.0);
      a.out[0] = v.data();
      a.outLd[0] = ld;
      f.map(jit::MapKind::Value, n, a, threads);
      for (std::size_t r = 0; r < n; ++r) {
        INFO("value at point " << r << ": " << show(v[r]) << " want " << show(value[r]));
        CHECK(agrees(v[r], value[r], ulps));
      }
      std::fill(v.begin(), v.end(), -7.0);
      a.out[1] = gr.data();
      a.outLd[1] = ld;
      f.map(jit::MapKind::ValueAndGrad, n, a, threads);
      for (std::size_t r = 0; r < n; ++r) {
        CHECK(agrees(v[r], value[r], ulps));
        for (std::size_t i = 0; i < g; ++i) {
          INFO("gradient " << i << " at point " << r << ": " << show(at(gr, g, r, i)) << " want "
                           << show(grad[r * g + i]));
          CHECK(agrees(at(gr, g, r, i), grad[r * g + i], ulps));
        }
      }
      if (f.hasHessian()) {
        a.out[0] = h.data();
        a.out[1] = nullptr;
        f.map(jit::MapKind::Hessian, n, a, threads);
        for (std::size_t r = 0; r < n; ++r)
          for (std::size_t e = 0; e < g * g; ++e) {
            INFO("Hessian entry " << e << " at point " << r);
            CHECK(agrees(at(h, g * g, r, e), hess[r * g * g + e], ulps));
          }
      }
    }
}

const std::vector<std::size_t> kCounts = {0, 1, 3, 7, 8, 9, 15, 16, 17, 64, 1001};

jit::SessionOptions untiered(jit::OptLevel level) { return {level, false}; }

}  // namespace

TEST_CASE("maps of arithmetic equal the scalar entry points bit for bit", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  Mapped seed = compileMapped(session, "(x^2 + y)^2 * (y - x*y)", {"x", "y"});
  // Compiled on the first map of each kind, in the calling thread.
  CHECK_FALSE(seed.f.mapFn(jit::MapKind::Value));
  REQUIRE(seed.f.waitMap(jit::MapKind::Value));
  REQUIRE(seed.f.mapFn(jit::MapKind::Value));
  CHECK_FALSE(seed.f.mapFn(jit::MapKind::ValueAndGrad));
  REQUIRE(seed.f.waitMap(jit::MapKind::ValueAndGrad));
  REQUIRE(seed.f.waitMap(jit::MapKind::Hessian));
  Mapped rosenbrock = compileMapped(session, "(1-x)^2 + 100*(y-x^2)^2 + (1-y)^2 + 100*(z-y^2)^2",
                                    {"x", "y", "z"});
  // x^3 is pow (libmvec's in the vector code): x*x*x is arithmetic.
  Mapped one = compileMapped(session, "x*x*x - 2*x + 1/x", {"x"});
  for (std::size_t n : kCounts) {
    checkMaps(seed.f, n, 0);
    checkMaps(rosenbrock.f, n, 0);
    checkMaps(one.f, n, 0);
  }
}

TEST_CASE("maps of a function of no arguments write its value at every point", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O0));
  jit::FunctionOptions fast;
  fast.fastMath = true;
  for (const jit::FunctionOptions &options : {jit::FunctionOptions{}, fast}) {
    Mapped m = compileMapped(session, "2*3 + 4/8 - 1e-3", {}, options);
    REQUIRE(m.f.arity() == 0);
    for (std::size_t n : {1, 8, 19}) checkMaps(m.f, n, 0);
  }
}

TEST_CASE("maps with vector math are within a few ulps of the scalar entry points", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  Mapped m = compileMapped(session, "exp(x) * sin(y) + log(1 + x^2) * tanh(y) + sqrt(x^2 + y^2 + 1)",
                           {"x", "y"});
  for (std::size_t n : kCounts) checkMaps(m.f, n, 1e-13);
  Mapped logistic = compileMapped(session, "softplus(w*x + b) - t*(w*x + b)", {"w", "b", "x", "t"});
  checkMaps(logistic.f, 333, 1e-13);
}

TEST_CASE("maps of many arguments gather and scatter instead of shuffling", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  // 12 arguments: the row-major block (12 x lanes) is beyond one wide load on 8 lanes, and the
  // Hessian's 144 entries per point always are; 70 arguments: the columns move by loops.
  for (int k : {12, 70}) {
    std::ostringstream text;
    std::vector<std::string> vars;
    for (int i = 0; i < k; ++i) {
      vars.push_back("a" + std::to_string(i));
      text << (i ? " + " : "") << "a" << i << "*a" << (i + 1) % k;
    }
    Mapped m = compileMapped(session, "(" + text.str() + ")^2", vars);
    for (std::size_t n : {1, 9, 130}) checkMaps(m.f, n, 0);
  }
}

TEST_CASE("maps of bodies split into parts equal the scalar entry points", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O2));
  jit::FunctionOptions tiny;
  tiny.maxPartSize = 3;
  Mapped m = compileMapped(session, "(x^2 + y)^2 * (y - x*y) + x*y*z - z*z*z", {"x", "y", "z"}, tiny);
  for (std::size_t n : {1, 17, 200}) checkMaps(m.f, n, 0);
}

TEST_CASE("threaded maps equal the calling thread's bit for bit", "[jit][map][threads]") {
  jit::Session session(jit::SessionOptions{.optLevel = jit::OptLevel::O2, .tiered = false, .threads = 2});
  Mapped m = compileMapped(session, "exp(x) * sin(y) + (x^2 + y)^2", {"x", "y"});
  const std::size_t n = 50003;
  const std::vector<double> points = randomPoints(n, 2, 3);
  std::vector<double> v1(n), g1(2 * n), v2(n), g2(2 * n);
  jit::MapArrays a;
  a.in = points.data();
  a.out[0] = v1.data();
  a.out[1] = g1.data();
  m.f.map(jit::MapKind::ValueAndGrad, n, a, 1);
  a.out[0] = v2.data();
  a.out[1] = g2.data();
  m.f.map(jit::MapKind::ValueAndGrad, n, a, 2);
  CHECK(v1 == v2);
  CHECK(g1 == g2);
  checkMaps(m.f, 20011, 1e-13, 2);
}

TEST_CASE("in a tiered session the first map compiles its kernel, which agrees with both tiers",
          "[jit][map][tiers]") {
  jit::Session session;
  Mapped m = compileMapped(session, "(x^2 + y)^2 * (y - x*y)", {"x", "y"});
  // The one-point code may still be nabla's baseline code here, a few ulps from LLVM's.
  checkMaps(m.f, 37, 1e-13);
  REQUIRE(m.f.mapFn(jit::MapKind::Value));
  REQUIRE(m.f.mapFn(jit::MapKind::ValueAndGrad));
  REQUIRE(m.f.mapFn(jit::MapKind::Hessian));
  REQUIRE(m.f.waitOptimized());
  checkMaps(m.f, 37, 0);
  // Threads that map at once share one compilation of a kernel.
  Mapped other = compileMapped(session, "x*y - y^2", {"x", "y"});
  std::vector<std::thread> callers;
  std::vector<int> installed(3, 0);  // Catch's assertions are for the main thread only
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&, t] { installed[t] = other.f.waitMap(jit::MapKind::ValueAndGrad); });
  for (std::thread &c : callers) c.join();
  CHECK(installed == std::vector<int>{1, 1, 1});
  CHECK(other.f.mapFn(jit::MapKind::ValueAndGrad));
}

TEST_CASE("without the mapped option a function maps point by point", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O1));
  std::optional<Differentiated> diff = differentiateText("x*y + sin(x)", {"x", "y"}, true, true);
  REQUIRE(diff);
  jit::CompiledFunction f =
      jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d, {});
  checkMaps(f, 21, 0);  // the scalar code itself, point by point
  CHECK_FALSE(f.mapFn(jit::MapKind::Value));
  CHECK_FALSE(f.waitMap(jit::MapKind::Value));
}

TEST_CASE("map calls check their arrays and the Hessian", "[jit][map]") {
  jit::Session session(untiered(jit::OptLevel::O0));
  std::optional<Differentiated> diff = differentiateText("x*y", {"x", "y"}, false, true);
  REQUIRE(diff);
  jit::FunctionOptions options;
  options.mapped = true;
  jit::CompiledFunction f =
      jit::compileFunction(session, diff->program.graph, "f", diff->args, diff->d, options);
  std::vector<double> points{1, 2}, out(2);
  jit::MapArrays a;
  a.in = points.data();
  a.out[0] = out.data();
  CHECK_THROWS_AS(f.map(jit::MapKind::Hessian, 1, a), std::logic_error);
  CHECK_THROWS_AS(f.map(jit::MapKind::ValueAndGrad, 1, a), std::invalid_argument);  // no gradient array
  a.in = nullptr;
  CHECK_THROWS_AS(f.map(jit::MapKind::Value, 1, a), std::invalid_argument);
  f.map(jit::MapKind::Value, 0, a);  // no points: nothing is read
  a.in = points.data();
  f.map(jit::MapKind::Value, 1, a);
  CHECK(out[0] == 2.0);
  jit::CompiledFunction empty;
  CHECK_THROWS_AS(empty.map(jit::MapKind::Value, 1, a), std::logic_error);
}
