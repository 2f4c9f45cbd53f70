// The C++ embedding API: the documented example, call forms, values, gradients and Hessians
// against the interpreter and finite differences, derivative text against `nabla diff --json`,
// options, and handle lifetimes.
#include "api_test_util.h"
#include "support/process.h"

#include <catch2/catch.hpp>
#include <llvm/Support/JSON.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <thread>

#include <nabla/nabla.h>

using namespace nabla::apitest;
using nabla::test::ProcessResult;
using nabla::test::runNabla;

namespace {

constexpr std::uint64_t kMaxUlps = 4;

/// The seed function f(x, y) = (x^2 + y)^2 * (y - x*y) and its derivatives, by hand.
struct Seed {
  double x, y;
  double a() const { return x * x + y; }  // x^2 + y
  double b() const { return y - x * y; }  // y - x*y
  double f() const { return a() * a() * b(); }
  double fx() const { return 4 * x * a() * b() - a() * a() * y; }
  double fy() const { return 2 * a() * b() + a() * a() * (1 - x); }
};

/// Programs with several functions and the points to check them at.
struct Program {
  std::string text;
  std::vector<std::vector<double>> points;
};

const std::vector<Program> &programs() {
  static const std::vector<Program> kPrograms = {
      {"f(x, y) = (x^2 + y)^2 * (y - x*y)\n"
       "g(a, b, c) = sigmoid(a*b - c) + logsumexp([a, b, c]) + min(a, c)^3\n"
       "h(t) = exp(-t^2) * sin(3*t) + softplus(t)\n",
       {{0.5, -0.5, 0.25}, {1.3, 0.7, -2.0}, {-0.8, 1.9, 0.6}}},
      {"r(x1, x2, x3) = 100*(x2 - x1^2)^2 + (1 - x1)^2 + 100*(x3 - x2^2)^2 + (1 - x2)^2\n"
       "s(u, v) = atan2(u, v) + hypot(u, v) + log1p(u^2) * tanh(v)\n",
       {{-1.2, 1.0, 0.5}, {0.9, 0.8, 0.7}, {2.0, -0.5, 1.5}}},
  };
  return kPrograms;
}

}  // namespace

TEST_CASE("the documented example compiles and runs exactly as written", "[api]") {
  nabla::Module m = nabla::compile("f(x, y) = (x^2 + y)^2 * (y - x*y)");  // throws nabla::Error on bad input
  nabla::Function f = m.function("f");
  double v = f(0.5, -0.5);
  auto [value, grad] = f.value_and_grad({0.5, -0.5});                      // grad: std::vector<double>

  // At (0.5, -0.5) every quantity is a short binary fraction (worked out by hand): exact.
  CHECK(v == -0.015625);
  CHECK(value == -0.015625);
  CHECK(grad == std::vector<double>{0.15625, 0.15625});
  CHECK(f.hessian({0.5, -0.5}) == std::vector<double>{-0.75, -1.0625, -1.0625, -1.0});
  CHECK(f.name() == "f");
  CHECK(f.arity() == 2);
  CHECK(f.arg_names() == std::vector<std::string>{"x", "y"});
  CHECK(f.has_hessian());
  CHECK(m.functions() == std::vector<std::string>{"f"});
  CHECK(m.name() == "<expr>");
  CHECK_FALSE(m.has_objective());
}

TEST_CASE("every call form gives the same value", "[api]") {
  nabla::Function f = nabla::compile("f(x, y) = (x^2 + y)^2 * (y - x*y)").function("f");
  for (Seed s : {Seed{0.5, -0.5}, Seed{1.25, 0.75}, Seed{-2, 3}}) {
    INFO("at " << s.x << ", " << s.y);
    const std::vector<double> at{s.x, s.y};
    const double want = f(s.x, s.y);
    CHECK(want == Approx(s.f()).epsilon(1e-14));
    CHECK(f({s.x, s.y}) == want);
    CHECK(f(std::span<const double>(at)) == want);
    CHECK(f.value(at) == want);
    CHECK(f.value({s.x, s.y}) == want);

    auto [v1, g1] = f.value_and_grad(at);
    std::vector<double> g2(2);
    const double v2 = f.value_and_grad(at, g2);
    CHECK(v1 == want);
    CHECK(v2 == want);
    CHECK(g1 == g2);
    CHECK(g1[0] == Approx(s.fx()).epsilon(1e-13));
    CHECK(g1[1] == Approx(s.fy()).epsilon(1e-13));

    std::vector<double> h(4);
    f.hessian(at, h);
    CHECK(h == f.hessian(at));
  }
  // Integers convert: f(2, 1) = (4 + 1)^2 * (1 - 2) = -25.
  CHECK(f(2, 1) == -25);
}

TEST_CASE("a bare expression is the function f of its free variables in order of first appearance",
          "[api]") {
  nabla::Module m = nabla::compile("y*sin(x) + x");
  CHECK(m.functions() == std::vector<std::string>{"f"});
  nabla::Function f = m.function("f");
  CHECK(f.arg_names() == std::vector<std::string>{"y", "x"});
  CHECK(ulpDistance(f(2.0, 0.5), 2 * std::sin(0.5) + 0.5) <= kMaxUlps);
  auto [v, g] = f.value_and_grad({2.0, 0.5});
  CHECK(ulpDistance(g[0], std::sin(0.5)) <= kMaxUlps);
  CHECK(ulpDistance(g[1], 2 * std::cos(0.5) + 1) <= kMaxUlps);

  // No free variables: a function of no arguments.
  nabla::Function c = nabla::compile("2 + 3*4").function("f");
  CHECK(c.arity() == 0);
  CHECK(c() == 14);
  CHECK(c.value_and_grad({}).second.empty());
  CHECK(c.hessian({}).empty());
}

TEST_CASE("values, gradients and Hessians equal the interpreter's", "[api]") {
  for (const Program &p : programs()) {
    nabla::Module m = nabla::compile(p.text);
    REQUIRE(m.functions().size() >= 2);
    for (const std::string &name : m.functions()) {
      INFO(name);
      nabla::Function f = m.function(name);
      const Interpreted oracle(p.text, name);
      const std::size_t n = f.arity();
      REQUIRE(oracle.gradSize() == n);
      for (const std::vector<double> &point : p.points) {
        const std::vector<double> at(point.begin(), point.begin() + static_cast<std::ptrdiff_t>(n));
        const std::vector<double> want = oracle.at(at);
        auto [v, grad] = f.value_and_grad(at);
        const std::vector<double> hess = f.hessian(at);
        CHECK(ulpDistance(f(at), want[0]) <= kMaxUlps);
        CHECK(ulpDistance(v, want[0]) <= kMaxUlps);
        for (std::size_t i = 0; i < n; ++i) CHECK(ulpDistance(grad[i], want[1 + i]) <= kMaxUlps);
        for (std::size_t k = 0; k < n * n; ++k)
          CHECK(ulpDistance(hess[k], want[1 + n + k]) <= kMaxUlps);
      }
    }
  }
}

TEST_CASE("gradients and Hessians match finite differences", "[api]") {
  for (const Program &p : programs()) {
    nabla::Module m = nabla::compile(p.text);
    for (const std::string &name : m.functions()) {
      nabla::Function f = m.function(name);
      const std::size_t n = f.arity();
      for (const std::vector<double> &point : p.points) {
        const std::vector<double> at(point.begin(), point.begin() + static_cast<std::ptrdiff_t>(n));
        INFO(name << " at point " << at[0]);
        auto [v, grad] = f.value_and_grad(at);
        const std::vector<double> hess = f.hessian(at);
        for (std::size_t i = 0; i < n; ++i) {
          auto value = [&](std::span<const double> x) { return f(x); };
          CHECK(close(grad[i], centralDifference(value, at, i), 1e-6));
          for (std::size_t j = 0; j < n; ++j) {
            auto gradJ = [&](std::span<const double> x) { return f.value_and_grad(x).second[j]; };
            CHECK(close(hess[i * n + j], centralDifference(gradJ, at, i), 1e-5));
          }
        }
      }
    }
  }
}

TEST_CASE("derivative text is the text nabla diff --json prints, and evaluates to the gradient",
          "[api]") {
  for (const std::string expr : {"(x^2 + y)^2 * (y - x*y)", "sigmoid(x*y) + log(1 + exp(x))",
                                 "exp(-t^2) * sin(3*t)"}) {
    INFO(expr);
    nabla::Function f = nabla::compile(expr).function("f");
    ProcessResult r = runNabla({"diff", expr, "--json", "--hessian"});
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    auto parsed = llvm::json::parse(r.out);
    REQUIRE(static_cast<bool>(parsed));
    const llvm::json::Object &o = *parsed->getAsObject();
    const std::vector<std::string> grad = f.gradient_text();
    const std::vector<std::vector<std::string>> hess = f.hessian_text();
    REQUIRE(grad.size() == f.arity());
    REQUIRE(hess.size() == f.arity());
    for (std::size_t i = 0; i < f.arity(); ++i) {
      CHECK(grad[i] == o.getString(f.arg_names()[i])->str());
      const llvm::json::Array &row = *(*o.getArray("hessian"))[i].getAsArray();
      for (std::size_t j = 0; j < f.arity(); ++j) CHECK(hess[i][j] == row[j].getAsString()->str());
    }

    // The text is nabla: compiled again over the same arguments, it gives the gradient.
    std::string args;
    for (const std::string &a : f.arg_names()) args += (args.empty() ? "" : ", ") + a;
    std::vector<double> at;
    for (std::size_t i = 0; i < f.arity(); ++i) at.push_back(0.3 + 0.4 * static_cast<double>(i));
    const std::vector<double> g = f.value_and_grad(at).second;
    for (std::size_t i = 0; i < f.arity(); ++i) {
      nabla::Function di = nabla::compile("deriv(" + args + ") = " + grad[i]).function("deriv");
      CHECK(di(at) == Approx(g[i]).epsilon(1e-13).margin(1e-15));
    }
    nabla::Function value = nabla::compile("v(" + args + ") = " + f.text()).function("v");
    CHECK(value(at) == Approx(f(at)).epsilon(1e-14));
  }
}

TEST_CASE("options: optimization levels, fast math, no Hessian, no simplification", "[api]") {
  const std::string text = "g(a, b, c) = sigmoid(a*b - c) + logsumexp([a, b, c]) + min(a, c)^3";
  const Interpreted oracle(text, "g");
  const std::vector<double> at{1.3, 0.7, -2.0};
  const std::vector<double> want = oracle.at(at);
  for (int level : {0, 1, 2, 3}) {
    INFO("opt level " << level);
    nabla::Options o;
    o.opt_level = level;
    nabla::Function g = nabla::compile(text, o).function("g");
    auto [v, grad] = g.value_and_grad(at);
    CHECK(ulpDistance(v, want[0]) <= kMaxUlps);
    for (std::size_t i = 0; i < 3; ++i) CHECK(ulpDistance(grad[i], want[1 + i]) <= kMaxUlps);
  }

  nabla::Options fast;
  fast.fast_math = true;
  auto [fv, fg] = nabla::compile(text, fast).function("g").value_and_grad(at);
  CHECK(fv == Approx(want[0]).epsilon(1e-12));
  for (std::size_t i = 0; i < 3; ++i) CHECK(fg[i] == Approx(want[1 + i]).epsilon(1e-12).margin(1e-12));

  nabla::Options noHessian;
  noHessian.hessian = false;
  nabla::Function g = nabla::compile(text, noHessian).function("g");
  CHECK_FALSE(g.has_hessian());
  CHECK(ulpDistance(g(at), want[0]) <= kMaxUlps);
  try {
    (void)g.hessian(at);
    FAIL("hessian() without a Hessian must throw");
  } catch (const nabla::Error &e) {
    CHECK(e.kind() == nabla::Error::Kind::Unavailable);
    CHECK(std::string(e.what()).find("'g' was compiled without its Hessian") != std::string::npos);
  }
  CHECK_THROWS_AS(g.hessian_text(), nabla::Error);

  nabla::Options raw;
  raw.simplify = false;
  nabla::Function unsimplified = nabla::compile(text, raw).function("g");
  auto [rv, rg] = unsimplified.value_and_grad(at);
  CHECK(rv == Approx(want[0]).epsilon(1e-13));
  for (std::size_t i = 0; i < 3; ++i) CHECK(rg[i] == Approx(want[1 + i]).epsilon(1e-12).margin(1e-14));
}

TEST_CASE("handles share the compiled program and outlive their module", "[api]") {
  nabla::Function f;
  {
    nabla::Module m = nabla::compile("f(x, y) = (x^2 + y)^2 * (y - x*y)\ng(x) = 2*x");
    f = m.function("f");
    nabla::Module copy = m;
    CHECK(copy.function("g")(4.0) == 8);
  }
  CHECK(f(0.5, -0.5) == -0.015625);
  nabla::Function g = f;
  CHECK(g.value_and_grad({0.5, -0.5}).second == std::vector<double>{0.15625, 0.15625});

  // Empty handles: an empty module has nothing; calls of an empty function throw.
  nabla::Module empty;
  CHECK(empty.functions().empty());
  CHECK_FALSE(empty.has_function("f"));
  CHECK_FALSE(empty.has_objective());
  CHECK(empty.warnings().empty());
  CHECK_THROWS_AS(empty.function("f"), nabla::Error);
  nabla::Function none;
  try {
    (void)none(1.0);
    FAIL("an empty Function must throw");
  } catch (const nabla::Error &e) {
    CHECK(e.kind() == nabla::Error::Kind::Internal);
  }
  CHECK_THROWS_AS(nabla::Objective().param_count(), nabla::Error);
}

TEST_CASE("files: functions and objectives of the samples", "[api]") {
  const std::string samples = std::string(NABLA_SOURCE_DIR) + "/samples/";
  nabla::Module seed = nabla::compile_file(samples + "seed.nabla");
  CHECK(seed.name() == samples + "seed.nabla");
  CHECK(seed.functions() == std::vector<std::string>{"f"});
  CHECK(seed.function("f")(0.5, -0.5) == -0.015625);

  // Rosenbrock, (1 - x)^2 + 100*(y - x^2)^2, at its start (-1.5, 2) and at its minimum (1, 1).
  nabla::Module rosenbrock = nabla::compile_file(samples + "rosenbrock.nabla");
  CHECK(rosenbrock.functions().empty());
  REQUIRE(rosenbrock.has_objective());
  nabla::Objective L = rosenbrock.objective();
  CHECK(L.name() == "L");
  CHECK_FALSE(L.maximize());
  CHECK(L.param_count() == 2);
  CHECK(L.input_count() == 0);
  auto [v, grad] = L.value_and_grad(std::vector<double>{-1.5, 2.0});
  CHECK(v == 12.5);
  CHECK(grad == std::vector<double>{-155, -50});
  CHECK(L.hessian(std::vector<double>{-1.5, 2.0}) == std::vector<double>{1902, 600, 600, 200});
  CHECK(L.value(std::vector<double>{1.0, 1.0}) == 0);
}

TEST_CASE("files: the chained Rosenbrock sample, written with slices", "[api]") {
  // sum over i < n-1 of 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2, compiled from its slices and
  // compared with the formula and its gradient written out here, and with central differences.
  nabla::Module m = nabla::compile_file(std::string(NABLA_SOURCE_DIR) + "/samples/rosenbrock_chain.nabla");
  nabla::Objective L = m.objective();
  const std::size_t n = L.param_count();
  REQUIRE(n == 100);
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = std::sin(1.0 + static_cast<double>(i)) * 1.3;
  double expected = 0;
  std::vector<double> grad(n, 0.0);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const double r = x[i + 1] - x[i] * x[i];
    expected += 100 * r * r + (1 - x[i]) * (1 - x[i]);
    grad[i] += -400 * x[i] * r - 2 * (1 - x[i]);
    grad[i + 1] += 200 * r;
  }
  auto [value, g] = L.value_and_grad(x);
  CHECK(value == Approx(expected).epsilon(1e-13));
  REQUIRE(g.size() == n);
  for (std::size_t i = 0; i < n; ++i) {
    INFO(i);
    CHECK(g[i] == Approx(grad[i]).epsilon(1e-12).margin(1e-12));
    std::vector<double> up = x, down = x;
    const double h = 1e-6;
    up[i] += h;
    down[i] -= h;
    CHECK(g[i] == Approx((L.value(up) - L.value(down)) / (2 * h)).epsilon(1e-6).margin(1e-5));
  }
  CHECK(L.value(std::vector<double>(n, 1.0)) == 0);
}

TEST_CASE("functions whose value is an array are not compiled, and lookups say so", "[api]") {
  nabla::Module m = nabla::compile("v(x) = [x, 2*x]\ng(x) = x^2\n");
  CHECK(m.functions() == std::vector<std::string>{"g"});
  CHECK(m.has_function("g"));
  CHECK_FALSE(m.has_function("v"));
  try {
    (void)m.function("v");
    FAIL("an array-valued function must not be found");
  } catch (const nabla::Error &e) {
    CHECK(e.kind() == nabla::Error::Kind::NotFound);
    CHECK(std::string(e.what()) ==
          "'v' has a value of shape [2]: only scalar functions are differentiated and compiled");
  }
}

namespace {

/// Every vectorized call at n points of `f`, in both layouts, against the one-point calls, within
/// 1e-13 relative (glibc's vector math, and the one-point code may still be nabla's baseline
/// code, a few ulps from LLVM's); and the layouts and thread counts against each other, bit for
/// bit (one compiled kernel computes them all).
void checkVectorized(const nabla::Function &f, std::size_t n, unsigned threads) {
  const std::size_t k = f.arity();
  std::vector<double> rows(n * k), columns(n * k);
  for (std::size_t r = 0; r < n; ++r)
    for (std::size_t c = 0; c < k; ++c)
      rows[r * k + c] = columns[c * n + r] =
          std::sin(1.0 + static_cast<double>(r * k + c)) * 1.25 + 0.1 * static_cast<double>(c);
  auto same = [&](double got, double want) {
    return std::fabs(got - want) <= 1e-13 * std::max(1.0, std::fabs(want));
  };
  // The rows layout on one thread: what every layout and thread count must give bit for bit.
  std::vector<double> oneValues(n), oneGrads(n * k);
  f.values_and_grads(n, rows, oneValues, oneGrads, nabla::Function::Layout::Rows, 1);
  for (auto layout : {nabla::Function::Layout::Rows, nabla::Function::Layout::Columns}) {
    const bool byRows = layout == nabla::Function::Layout::Rows;
    INFO("'" << f.name() << "', n " << n << ", by " << (byRows ? "rows" : "columns") << ", threads " << threads);
    const std::vector<double> &points = byRows ? rows : columns;
    std::vector<double> values(n), values2(n), grads(n * k), hess(n * k * k);
    f.values(n, points, values, layout, threads);
    f.values_and_grads(n, points, values2, grads, layout, threads);
    if (f.has_hessian()) f.hessians(n, points, hess, layout, threads);
    for (std::size_t r = 0; r < n; ++r) {
      CHECK(std::bit_cast<std::uint64_t>(values2[r]) == std::bit_cast<std::uint64_t>(oneValues[r]));
      for (std::size_t i = 0; i < k; ++i)
        CHECK(std::bit_cast<std::uint64_t>(byRows ? grads[r * k + i] : grads[i * n + r]) ==
              std::bit_cast<std::uint64_t>(oneGrads[r * k + i]));
      std::vector<double> at(rows.begin() + static_cast<std::ptrdiff_t>(r * k),
                             rows.begin() + static_cast<std::ptrdiff_t>((r + 1) * k));
      const auto [v, g] = f.value_and_grad(at);
      CHECK(same(values[r], v));
      CHECK(same(values2[r], v));
      for (std::size_t i = 0; i < k; ++i) CHECK(same(byRows ? grads[r * k + i] : grads[i * n + r], g[i]));
      if (!f.has_hessian()) continue;
      const std::vector<double> h = f.hessian(at);
      for (std::size_t e = 0; e < k * k; ++e)
        CHECK(same(byRows ? hess[r * k * k + e] : hess[e * n + r], h[e]));
    }
  }
}

}  // namespace

TEST_CASE("vectorized calls equal the one-point calls at every point", "[api][vectorized]") {
  const nabla::Module m = nabla::compile(programs()[0].text);
  const nabla::Function f = m.function("f"), g = m.function("g"), h = m.function("h");
  for (std::size_t n : {0, 1, 5, 8, 13, 100})
    for (unsigned threads : {1u, 0u}) {
      checkVectorized(f, n, threads);
      checkVectorized(g, n, threads);
      checkVectorized(h, n, threads);
    }
  // Large enough to be split over threads.
  checkVectorized(f, 20000, 0);
  checkVectorized(h, 20000, 2);
}

TEST_CASE("vectorized calls check their sizes and the Hessian", "[api][vectorized]") {
  const nabla::Function f = nabla::compile("f(x, y) = x*y").function("f");
  std::vector<double> points(6), values(3), grads(6), hess(12);
  auto kindOf = [](auto &&call) {
    try {
      call();
    } catch (const nabla::Error &e) {
      return e.kind();
    }
    return nabla::Error::Kind::Internal;  // not thrown
  };
  using Kind = nabla::Error::Kind;
  CHECK(kindOf([&] { f.values(3, std::span<const double>(points).first(5), values); }) == Kind::Argument);
  CHECK(kindOf([&] { f.values(3, points, std::span<double>(values).first(2)); }) == Kind::Argument);
  CHECK(kindOf([&] { f.values_and_grads(3, points, values, std::span<double>(grads).first(4)); }) == Kind::Argument);
  CHECK(kindOf([&] { f.hessians(3, points, std::span<double>(hess).first(11)); }) == Kind::Argument);
  f.hessians(3, points, hess);  // the right sizes
  const nabla::Function noHess =
      nabla::compile("f(x, y) = x*y", nabla::Options{.hessian = false}).function("f");
  CHECK(kindOf([&] { noHess.hessians(3, points, hess); }) == Kind::Unavailable);
  const nabla::Function empty;
  CHECK(kindOf([&] { empty.values(3, points, values); }) == Kind::Internal);
  // Nothing to do: no points.
  f.values_and_grads(0, {}, {}, {});
  // The message names the function and what was wrong.
  try {
    f.values(3, std::span<const double>(points).first(5), values);
  } catch (const nabla::Error &e) {
    CHECK(std::string(e.what()).find("'f' takes 6 point coordinates (n * arity), got 5") != std::string::npos);
  }
}

TEST_CASE("C API: vectorized calls, row-major and by column", "[api][c][vectorized]") {
  nabla_module *m = nullptr;
  REQUIRE(nabla_compile("f(x, y) = (x^2 + y)^2 * (y - x*y)", nullptr, &m) == NABLA_OK);
  nabla_function *f = nullptr;
  REQUIRE(nabla_module_function(m, "f", &f) == NABLA_OK);
  const std::size_t n = 11;
  std::vector<double> rows(2 * n), columns(2 * n);
  for (std::size_t r = 0; r < n; ++r) {
    rows[2 * r] = columns[r] = 0.125 * static_cast<double>(r) - 0.5;
    rows[2 * r + 1] = columns[n + r] = 1.5 - 0.25 * static_cast<double>(r);
  }
  for (int byColumn : {0, 1}) {
    std::vector<double> values(n), values2(n), grads(2 * n), hess(4 * n);
    const double *points = byColumn ? columns.data() : rows.data();
    REQUIRE(nabla_eval_batch(f, n, points, byColumn, values.data()) == NABLA_OK);
    REQUIRE(nabla_grad_batch(f, n, points, byColumn, values2.data(), grads.data()) == NABLA_OK);
    REQUIRE(nabla_hessian_batch(f, n, points, byColumn, hess.data()) == NABLA_OK);
    for (std::size_t r = 0; r < n; ++r) {
      double v = 0, g[2], h[4];
      REQUIRE(nabla_grad(f, &rows[2 * r], 2, &v, g) == NABLA_OK);
      REQUIRE(nabla_hessian(f, &rows[2 * r], 2, h) == NABLA_OK);
      CHECK(values[r] == v);
      CHECK(values2[r] == v);
      for (std::size_t i = 0; i < 2; ++i) CHECK((byColumn ? grads[i * n + r] : grads[2 * r + i]) == g[i]);
      for (std::size_t e = 0; e < 4; ++e) CHECK((byColumn ? hess[e * n + r] : hess[4 * r + e]) == h[e]);
    }
  }
  // Null arrays where there are points, and a function that is null.
  double value = 0;
  CHECK(nabla_eval_batch(f, 1, nullptr, 0, &value) == NABLA_ERROR_ARGUMENT);
  CHECK(std::string(nabla_last_error()).find("'points' is a null pointer") != std::string::npos);
  CHECK(nabla_grad_batch(f, 1, rows.data(), 0, &value, nullptr) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_eval_batch(nullptr, 1, rows.data(), 0, &value) == NABLA_ERROR_ARGUMENT);
  CHECK(nabla_eval_batch(f, 0, nullptr, 0, nullptr) == NABLA_OK);  // no points: nothing read
  // So many points that n * arity doubles overflow.
  CHECK(nabla_eval_batch(f, SIZE_MAX / 2, rows.data(), 0, &value) == NABLA_ERROR_ARGUMENT);
  nabla_function_free(f);
  nabla_module_free(m);
}
