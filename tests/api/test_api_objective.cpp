// The objective through the C++ API: params and inputs described, one row against hand-derived
// values, and batches against the row formula summed here and against the interpreter.
#include "api_test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

using namespace nabla::apitest;

namespace {

const char *const kLinear =
    "param w[2]\n"
    "param b = 0.5\n"
    "input x[2]\n"
    "input y from (target)\n"
    "minimize (dot(w, x) + b - y)^2\n";

template <class F>
nabla::Error errorOf(F &&call) {
  try {
    call();
  } catch (const nabla::Error &e) {
    return e;
  }
  FAIL("the call must throw nabla::Error");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("an objective's params and inputs: names, shapes, offsets, columns", "[api][objective]") {
  nabla::Objective L = nabla::compile(kLinear).objective();
  CHECK(L.name() == "L");
  CHECK_FALSE(L.maximize());
  CHECK(L.param_count() == 3);
  CHECK(L.input_count() == 3);
  REQUIRE(L.params().size() == 2);
  const nabla::Variable &w = L.params()[0];
  CHECK(w.name == "w");
  CHECK(w.shape == std::vector<std::size_t>{2});
  CHECK(w.offset == 0);
  CHECK(w.size == 2);
  CHECK(w.elements == std::vector<std::string>{"w[0]", "w[1]"});
  const nabla::Variable &b = L.params()[1];
  CHECK(b.name == "b");
  CHECK(b.shape.empty());
  CHECK(b.offset == 2);
  CHECK(b.elements == std::vector<std::string>{"b"});
  REQUIRE(L.inputs().size() == 2);
  CHECK(L.inputs()[0].elements == std::vector<std::string>{"x[0]", "x[1]"});
  CHECK(L.inputs()[0].columns == std::vector<std::string>{"x0", "x1"});
  CHECK(L.inputs()[1].offset == 2);
  CHECK(L.inputs()[1].columns == std::vector<std::string>{"target"});
  CHECK_FALSE(L.inputs()[1].column_range);

  // The name follows the command line's: `loss` when a function is called L.
  CHECK(nabla::compile("param a\nL(t) = t\nmaximize -a^2").objective().name() == "loss");
  CHECK(nabla::compile("param a\nmaximize -a^2").objective().maximize());

  nabla::Objective logistic =
      nabla::compile_file(std::string(NABLA_SOURCE_DIR) + "/samples/logistic.nabla").objective();
  CHECK(logistic.param_count() == 31);
  CHECK(logistic.input_count() == 31);
  CHECK(logistic.inputs()[0].column_range);
  CHECK(logistic.inputs()[0].columns ==
        std::vector<std::string>{"radius_mean", "fractal_dimension_worst"});
}

TEST_CASE("one row: value, gradient over the params and Hessian, by hand", "[api][objective]") {
  nabla::Objective L = nabla::compile(kLinear).objective();
  // w = (1, 2), b = 0.5, x = (3, 4), y = 1: r = 3 + 8 + 0.5 - 1 = 10.5, L = r^2,
  // dL/dw = 2 r x, dL/db = 2 r, Hessian 2 [x; 1][x; 1]^T.
  const std::vector<double> params{1, 2, 0.5}, inputs{3, 4, 1};
  CHECK(L.value(params, inputs) == 110.25);
  auto [v, grad] = L.value_and_grad(params, inputs);
  CHECK(v == 110.25);
  CHECK(grad == std::vector<double>{63, 84, 21});
  CHECK(L.hessian(params, inputs) == std::vector<double>{18, 24, 6, 24, 32, 8, 6, 8, 2});

  CHECK(errorOf([&] { (void)L.value(params); }).kind() == nabla::Error::Kind::Argument);
  const std::vector<double> oneInput{1};
  CHECK(std::string(errorOf([&] { (void)L.value(params, oneInput); }).what()) ==
        "'L' takes 3 inputs, got 1");
  std::vector<double> shortGrad(2);
  CHECK(std::string(errorOf([&] { (void)L.value_and_grad(params, inputs, shortGrad); }).what()) ==
        "'L' takes 3 gradient entries, got 2");
}

TEST_CASE("a batch gives the mean loss and mean gradient of its rows", "[api][objective]") {
  nabla::Objective L = nabla::compile(kLinear).objective();
  const Interpreted oracle(kLinear, "");
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  for (std::size_t n : {1u, 2u, 7u, 100u}) {
    INFO(n << " rows");
    std::vector<std::vector<double>> data(3, std::vector<double>(n));
    for (auto &column : data)
      for (double &value : column) value = normal(rng);
    const std::vector<double> params{normal(rng), normal(rng), normal(rng)};
    std::vector<const double *> columns{data[0].data(), data[1].data(), data[2].data()};

    std::vector<double> grad(3);
    const double loss = L.batch(params, n, columns, grad);

    // The same mean from the formula, and from the interpreter row by row.
    double wantLoss = 0, oracleLoss = 0;
    std::vector<double> wantGrad(3), oracleGrad(3);
    for (std::size_t r = 0; r < n; ++r) {
      const double x0 = data[0][r], x1 = data[1][r], y = data[2][r];
      const double res = params[0] * x0 + params[1] * x1 + params[2] - y;
      wantLoss += res * res / static_cast<double>(n);
      wantGrad[0] += 2 * res * x0 / static_cast<double>(n);
      wantGrad[1] += 2 * res * x1 / static_cast<double>(n);
      wantGrad[2] += 2 * res / static_cast<double>(n);
      const std::vector<double> args{params[0], params[1], params[2], x0, x1, y};
      const std::vector<double> row = oracle.at(args);
      oracleLoss += row[0] / static_cast<double>(n);
      for (std::size_t i = 0; i < 3; ++i) oracleGrad[i] += row[1 + i] / static_cast<double>(n);
    }
    CHECK(loss == Approx(wantLoss).epsilon(1e-12));
    CHECK(loss == Approx(oracleLoss).epsilon(1e-12));
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(grad[i] == Approx(wantGrad[i]).epsilon(1e-12).margin(1e-14));
      CHECK(grad[i] == Approx(oracleGrad[i]).epsilon(1e-12).margin(1e-14));
    }
    // One row's batch is that row.
    if (n == 1) {
      auto [v, g] = L.value_and_grad(params, std::vector<double>{data[0][0], data[1][0], data[2][0]});
      CHECK(loss == v);
      CHECK(grad == g);
    }
  }
}

TEST_CASE("a batch of the logistic sample matches the hand-derived logistic gradient",
          "[api][objective]") {
  // loss = -(y log p + (1-y) log(1-p)) + lambda sum(w^2), p = sigmoid(w.x + b):
  // dloss/dw = (p - y) x + 2 lambda w, dloss/db = p - y.
  nabla::Objective L =
      nabla::compile_file(std::string(NABLA_SOURCE_DIR) + "/samples/logistic.nabla").objective();
  const std::size_t n = 50, k = 30;
  const double lambda = 1e-3;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> data(k + 1, std::vector<double>(n));
  for (std::size_t j = 0; j < k; ++j)
    for (double &v : data[j]) v = normal(rng);
  for (double &y : data[k]) y = normal(rng) > 0 ? 1 : 0;
  std::vector<double> params(k + 1);
  for (double &p : params) p = 0.3 * normal(rng);
  std::vector<const double *> columns;
  for (const auto &c : data) columns.push_back(c.data());

  std::vector<double> grad(k + 1);
  const double loss = L.batch(params, n, columns, grad);

  double wantLoss = 0;
  std::vector<double> wantGrad(k + 1);
  for (std::size_t r = 0; r < n; ++r) {
    double z = params[k];
    for (std::size_t j = 0; j < k; ++j) z += params[j] * data[j][r];
    const double p = 1 / (1 + std::exp(-z)), y = data[k][r];
    double penalty = 0;
    for (std::size_t j = 0; j < k; ++j) penalty += params[j] * params[j];
    wantLoss += (-(y * std::log(p) + (1 - y) * std::log(1 - p)) + lambda * penalty) / n;
    for (std::size_t j = 0; j < k; ++j)
      wantGrad[j] += ((p - y) * data[j][r] + 2 * lambda * params[j]) / n;
    wantGrad[k] += (p - y) / n;
  }
  CHECK(loss == Approx(wantLoss).epsilon(1e-12));
  for (std::size_t j = 0; j <= k; ++j) {
    INFO("entry " << j);
    CHECK(grad[j] == Approx(wantGrad[j]).epsilon(1e-11).margin(1e-14));
  }
}

TEST_CASE("bad batches are Argument errors", "[api][objective]") {
  nabla::Objective L = nabla::compile(kLinear).objective();
  const std::vector<double> params{1, 2, 0.5}, column{1, 2};
  std::vector<double> grad(3);
  std::vector<const double *> columns{column.data(), column.data(), column.data()};
  CHECK(std::string(errorOf([&] { (void)L.batch(params, 0, columns, grad); }).what()) ==
        "a batch of 'L' needs at least one row");
  std::vector<const double *> two{column.data(), column.data()};
  CHECK(std::string(errorOf([&] { (void)L.batch(params, 2, two, grad); }).what()) ==
        "'L' takes 3 input columns, got 2");
  std::vector<const double *> withNull{column.data(), nullptr, column.data()};
  CHECK(std::string(errorOf([&] { (void)L.batch(params, 2, withNull, grad); }).what()) ==
        "input column 1 of a batch of 'L' is a null pointer");
  std::vector<double> shortGrad(1);
  CHECK(errorOf([&] { (void)L.batch(params, 2, columns, shortGrad); }).kind() ==
        nabla::Error::Kind::Argument);
}

TEST_CASE("a large objective without Hessians runs at the array level with the same values",
          "[api][objective]") {
  // 40 x 30 weights: about 1,200 multiply-adds unrolled, above driver::kArrayLevelSize, so with
  // hessian off the objective runs at the array level (no scalar code: it is ready at once).
  // Values against the formula computed here: L = sum_i tanh(z_i)^2 + 0.5 c^2, z = W x + c,
  // dL/dW_ij = 2 t_i (1 - t_i^2) x_j, dL/dc = sum_i 2 t_i (1 - t_i^2) + c.
  const std::size_t m = 40, k = 30;
  const std::string text = "param W[40][30]\nparam c\ninput x[30]\n"
                            "h(u) = u^2\n"  // a function too: the scalar level compiles it
                            "minimize sum(tanh(W @ x + c)^2) + 0.5*c^2\n";
  nabla::Options options;
  options.hessian = false;
  nabla::Module module = nabla::compile(text, options);
  nabla::Objective L = module.objective();
  CHECK_FALSE(L.has_hessian());
  REQUIRE(L.param_count() == m * k + 1);
  REQUIRE(L.input_count() == k);
  CHECK(L.params()[0].elements.size() == m * k);
  CHECK(L.params()[0].elements[31] == "W[1][1]");
  CHECK(module.function("h").value({3.0}) == 9);

  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  std::vector<double> params(m * k + 1);
  for (double &p : params) p = u(rng);
  const std::size_t rows = 5;
  std::vector<std::vector<double>> columns(k, std::vector<double>(rows));
  for (auto &col : columns)
    for (double &v : col) v = 3 * u(rng);
  auto byHand = [&](std::size_t r, std::vector<double> &grad) {
    const double c = params.back();
    double loss = 0.5 * c * c;
    grad.assign(params.size(), 0.0);
    grad.back() = c;
    for (std::size_t i = 0; i < m; ++i) {
      double z = c;
      for (std::size_t j = 0; j < k; ++j) z += params[i * k + j] * columns[j][r];
      const double t = std::tanh(z), dz = 2 * t * (1 - t * t);
      loss += t * t;
      for (std::size_t j = 0; j < k; ++j) grad[i * k + j] += dz * columns[j][r];
      grad.back() += dz;
    }
    return loss;
  };
  auto close = [](double got, double want) {
    return std::abs(got - want) <= 1e-12 * std::max(1.0, std::abs(want));
  };
  // One row.
  std::vector<double> row(k), want, grad(params.size());
  for (std::size_t j = 0; j < k; ++j) row[j] = columns[j][0];
  const double wantValue = byHand(0, want);
  CHECK(close(L.value(params, row), wantValue));
  CHECK(close(L.value_and_grad(params, row, grad), wantValue));
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(close(grad[i], want[i]));
  // A batch: the means.
  std::vector<double> meanGrad(params.size(), 0.0), g;
  double meanLoss = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    meanLoss += byHand(r, g) / rows;
    for (std::size_t i = 0; i < g.size(); ++i) meanGrad[i] += g[i] / rows;
  }
  std::vector<const double *> pointers;
  for (const auto &col : columns) pointers.push_back(col.data());
  CHECK(close(L.batch(params, rows, pointers, grad), meanLoss));
  for (std::size_t i = 0; i < params.size(); ++i) CHECK(close(grad[i], meanGrad[i]));
  // Wrong sizes are Argument errors, as at the scalar level.
  CHECK(errorOf([&] { L.value(std::vector<double>(3), row); }).kind() == nabla::Error::Kind::Argument);
  CHECK(errorOf([&] { L.hessian(params, row); }).kind() == nabla::Error::Kind::Unavailable);
}
