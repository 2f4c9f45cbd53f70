// Hessian-vector products through the C++ and C APIs: a function's and an objective's H v (one
// row, a batch, and a large objective at the array level) against the compiled Hessian times v
// and against central differences of the gradient; Options::hvp off is Unavailable.
#include "api_test_util.h"

#include "nabla/nabla.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

namespace {

/// Row i of H times v.
std::vector<double> times(const std::vector<double> &h, const std::vector<double> &v) {
  const std::size_t n = v.size();
  std::vector<double> out(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) out[i] += h[i * n + j] * v[j];
  return out;
}

void requireClose(const std::vector<double> &got, const std::vector<double> &want, double tol) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("entry " << i << ": " << got[i] << ", want " << want[i]);
    CHECK(std::abs(got[i] - want[i]) <= tol * (1 + std::abs(want[i])));
  }
}

}  // namespace

TEST_CASE("a function's H v equals its Hessian times v", "[api][hvp]") {
  nabla::Module m = nabla::compile("f(x, y, z) = exp(x*y) * sin(z) + x^3 / (1 + y^2)");
  const nabla::Function f = m.function("f");
  REQUIRE(f.has_hvp());
  const std::vector<double> at{0.3, -1.2, 0.7}, v{1.5, -0.5, 2};
  requireClose(f.hvp(at, v), times(f.hessian(at), v), 1e-14);
  std::vector<double> wrong(2);
  CHECK_THROWS_AS(f.hvp(at, wrong), nabla::Error);

  nabla::Options o;
  o.hvp = false;
  const nabla::Function g = nabla::compile("f(x, y) = x * y", o).function("f");
  CHECK_FALSE(g.has_hvp());
  try {
    (void)g.hvp(std::vector<double>{1, 2}, std::vector<double>{1, 0});
    FAIL("hvp without it must throw");
  } catch (const nabla::Error &e) {
    CHECK(e.kind() == nabla::Error::Kind::Unavailable);
  }
}

TEST_CASE("an objective's H v over one row and a batch equals its Hessian times v",
          "[api][hvp]") {
  nabla::Objective L = nabla::compile("param w[3]\nparam b\ninput x[3]\ninput y\n"
                                      "minimize log(1 + exp(-y * (dot(w, x) + b))) + 0.1 * sum(w^4)")
                           .objective();
  REQUIRE(L.has_hvp());
  const std::vector<double> params{0.2, -0.4, 0.6, 0.1}, v{1, -2, 0.5, 3};
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  const std::size_t n = 9;
  std::vector<std::vector<double>> columns(4, std::vector<double>(n));
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < 3; ++k) columns[k][r] = normal(rng);
    columns[3][r] = r % 2 ? 1 : -1;
  }
  std::vector<double> mean(4, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    const std::vector<double> row{columns[0][r], columns[1][r], columns[2][r], columns[3][r]};
    const std::vector<double> want = times(L.hessian(params, row), v);
    requireClose(L.hvp(params, v, row), want, 1e-14);
    for (std::size_t i = 0; i < 4; ++i) mean[i] += want[i] / static_cast<double>(n);
  }
  const std::vector<const double *> pointers{columns[0].data(), columns[1].data(),
                                             columns[2].data(), columns[3].data()};
  std::vector<double> out(4);
  L.hvp_batch(params, v, n, pointers, out);
  requireClose(out, mean, 1e-13);
  CHECK_THROWS_AS(L.hvp_batch(params, v, 0, pointers, out), nabla::Error);
}

TEST_CASE("a large objective at the array level has H v, equal to differences of its gradient",
          "[api][hvp]") {
  // The chained Rosenbrock function of 5000 variables: with hessian off it runs at the array
  // level, where H v is forward mode over the gradient's graph.
  const std::size_t n = 5000;
  nabla::Options o;
  o.hessian = false;
  nabla::Objective L = nabla::compile("param x[5000]\n"
                                      "minimize sum(100*(x[1:] - x[:-1]^2)^2 + (1 - x[:-1])^2)\n",
                                      o)
                           .objective();
  REQUIRE(L.has_hvp());
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> uniform(-1.5, 1.5);
  std::vector<double> x(n), v(n);
  for (double &e : x) e = uniform(rng);
  for (double &e : v) e = uniform(rng);
  const std::vector<double> hv = L.hvp(x, v);
  // The tridiagonal Hessian by hand.
  std::vector<double> want(n, 0.0);
  for (std::size_t i = 0; i + 1 < n; ++i) {
    want[i] += (1200 * x[i] * x[i] - 400 * x[i + 1] + 2) * v[i] - 400 * x[i] * v[i + 1];
    want[i + 1] += 200 * v[i + 1] - 400 * x[i] * v[i];
  }
  requireClose(hv, want, 1e-12);
  // And central differences of the gradient along v.
  const double h = 1e-6;
  std::vector<double> xp(x), xm(x);
  for (std::size_t i = 0; i < n; ++i) {
    xp[i] += h * v[i];
    xm[i] -= h * v[i];
  }
  const std::vector<double> gp = L.value_and_grad(xp).second, gm = L.value_and_grad(xm).second;
  for (std::size_t i = 0; i < n; i += 97) {
    INFO("entry " << i);
    CHECK(std::abs((gp[i] - gm[i]) / (2 * h) - hv[i]) <= 1e-4 * (1 + std::abs(hv[i])));
  }
}

TEST_CASE("the C API's nabla_hvp and nabla_objective_hvp", "[api][hvp][c]") {
  nabla_module *m = nullptr;
  REQUIRE(nabla_compile("f(x, y) = x^2 * y + y^3\nparam a\nparam b\ninput t\n"
                        "minimize (a * t + b)^4",
                        nullptr, &m) == NABLA_OK);
  nabla_function *f = nullptr;
  REQUIRE(nabla_module_function(m, "f", &f) == NABLA_OK);
  const double args[2] = {1.5, -2}, v[2] = {1, 3};
  double out[2];
  REQUIRE(nabla_hvp(f, args, 2, v, out) == NABLA_OK);
  // H = [[2y, 2x], [2x, 6y]] = [[-4, 3], [3, -12]].
  CHECK(out[0] == -4 * 1 + 3 * 3);
  CHECK(out[1] == 3 * 1 - 12 * 3);
  CHECK(nabla_hvp(f, args, 2, nullptr, out) == NABLA_ERROR_ARGUMENT);

  nabla_objective *L = nullptr;
  REQUIRE(nabla_module_objective(m, &L) == NABLA_OK);
  const double params[2] = {0.5, 0.25}, t = 2, dir[2] = {1, -1};
  double hv[2], hess[4];
  REQUIRE(nabla_objective_hvp(L, params, 2, &t, 1, dir, hv) == NABLA_OK);
  REQUIRE(nabla_objective_hessian(L, params, 2, &t, 1, hess) == NABLA_OK);
  CHECK(std::abs(hv[0] - (hess[0] - hess[1])) <= 1e-13);
  CHECK(std::abs(hv[1] - (hess[2] - hess[3])) <= 1e-13);
  const double ts[3] = {2, -1, 0.5};
  const double *columns[1] = {ts};
  double mean[2];
  REQUIRE(nabla_objective_hvp_batch(L, params, 2, dir, 3, columns, 1, mean) == NABLA_OK);
  double want[2] = {0, 0};
  for (double tr : ts) {
    REQUIRE(nabla_objective_hvp(L, params, 2, &tr, 1, dir, hv) == NABLA_OK);
    want[0] += hv[0] / 3;
    want[1] += hv[1] / 3;
  }
  CHECK(std::abs(mean[0] - want[0]) <= 1e-13 * (1 + std::abs(want[0])));
  CHECK(std::abs(mean[1] - want[1]) <= 1e-13 * (1 + std::abs(want[1])));
  nabla_objective_free(L);
  nabla_function_free(f);
  nabla_module_free(m);
}
