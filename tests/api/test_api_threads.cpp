// Threads: calls of one compiled function from several threads at once, and compiles from several
// threads at once. Each thread writes only its own slot of the results, which are read after
// join(), so the test itself has no data races (it is meant to run under ThreadSanitizer too).
#include "api_test_util.h"

#include <nabla/nabla.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

using namespace nabla::apitest;

namespace {
constexpr int kThreads = 4;
}

TEST_CASE("one function called from several threads at once", "[api][threads]") {
  const std::string text = "g(a, b, c) = sigmoid(a*b - c) + logsumexp([a, b, c]) + min(a, c)^3";
  nabla::Module m = nabla::compile(text);
  const nabla::Function g = m.function("g");

  // The interpreter's answers, worked out before any thread starts.
  const Interpreted oracle(text, "g");
  std::vector<std::vector<double>> points, want;
  for (int i = 0; i < 64; ++i) {
    points.push_back({0.1 * i - 3, 0.05 * i, 1.5 - 0.07 * i});
    want.push_back(oracle.at(points.back()));
  }

  std::vector<std::size_t> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t p = static_cast<std::size_t>(t); p < points.size(); p += 2) {
          const std::vector<double> &at = points[p];
          auto [v, grad] = g.value_and_grad(at);
          std::vector<double> hess = g.hessian(at);
          bool ok = ulpDistance(v, want[p][0]) <= 4 && ulpDistance(g(at), want[p][0]) <= 4;
          for (std::size_t i = 0; i < 3; ++i) ok = ok && ulpDistance(grad[i], want[p][1 + i]) <= 4;
          for (std::size_t k = 0; k < 9; ++k) ok = ok && ulpDistance(hess[k], want[p][4 + k]) <= 4;
          if (!ok) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread &th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK(mismatches[static_cast<std::size_t>(t)] == 0);
}

TEST_CASE("modules compiled from several threads at once", "[api][threads]") {
  // Each thread compiles its own texts (C++ and C API alternately), calls them, and keeps its
  // own list of failures.
  const std::vector<std::string> texts = {"x*y + sin(x)", "exp(x) / (1 + y^2)",
                                          "softplus(x - y) * tanh(y)", "sqrt(x^2 + y^2 + 1)"};
  std::vector<std::vector<std::string>> failures(texts.size());
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < texts.size(); ++t) {
    threads.emplace_back([&, t] {
      try {
        const Interpreted oracle(texts[t], "f");
        for (int round = 0; round < 4; ++round) {
          const std::vector<double> at{0.5 + round, -0.25 * round};
          const std::vector<double> want = oracle.at(at);
          double value = 0, grad[2];
          if (round % 2 == 0) {
            nabla::Options o;
            o.opt_level = round == 0 ? 0 : 2;
            nabla::Function f = nabla::compile(texts[t], o).function("f");
            auto [v, g] = f.value_and_grad(at);
            value = v;
            grad[0] = g[0];
            grad[1] = g[1];
          } else {
            nabla_module *m = nullptr;
            nabla_function *f = nullptr;
            if (nabla_compile(texts[t].c_str(), nullptr, &m) != NABLA_OK ||
                nabla_module_function(m, "f", &f) != NABLA_OK ||
                nabla_grad(f, at.data(), 2, &value, grad) != NABLA_OK)
              failures[t].push_back(std::string("C API: ") + nabla_last_error());
            nabla_function_free(f);
            nabla_module_free(m);
          }
          if (ulpDistance(value, want[0]) > 4 || ulpDistance(grad[0], want[1]) > 4 ||
              ulpDistance(grad[1], want[2]) > 4)
            failures[t].push_back(texts[t] + " differs in round " + std::to_string(round));
        }
      } catch (const std::exception &e) {
        failures[t].push_back(texts[t] + ": " + e.what());
      }
    });
  }
  for (std::thread &th : threads) th.join();
  for (const auto &list : failures)
    for (const std::string &f : list) FAIL_CHECK(f);
}

TEST_CASE("one objective's batches from several threads at once", "[api][threads]") {
  nabla::Objective L =
      nabla::compile("param w[2]\nparam b\ninput x[2]\ninput y\nminimize (dot(w, x) + b - y)^2\n")
          .objective();
  const std::size_t n = 200;
  std::vector<std::vector<double>> data(3, std::vector<double>(n));
  for (std::size_t r = 0; r < n; ++r) {
    data[0][r] = 0.01 * static_cast<double>(r);
    data[1][r] = 1 - 0.02 * static_cast<double>(r);
    data[2][r] = static_cast<double>(r % 3);
  }
  const std::vector<const double *> columns{data[0].data(), data[1].data(), data[2].data()};
  const std::vector<double> params{0.5, -1.0, 0.25};
  std::vector<double> wantGrad(3);
  const double want = L.batch(params, n, columns, wantGrad);
  double formula = 0;  // the mean squared residual, summed here
  for (std::size_t r = 0; r < n; ++r) {
    const double res = params[0] * data[0][r] + params[1] * data[1][r] + params[2] - data[2][r];
    formula += res * res;
  }
  CHECK(want == Approx(formula / static_cast<double>(n)).epsilon(1e-12));

  std::vector<int> same(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 100; ++round) {
        std::vector<double> grad(3);
        // The same rows in the same order: the same bits.
        if (L.batch(params, n, columns, grad) == want && grad == wantGrad)
          ++same[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread &th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK(same[static_cast<std::size_t>(t)] == 100);
}

TEST_CASE("an objective at the array level from several threads at once", "[api][threads]") {
  // Large enough for the array level (Hessians off): its buffers are shared, so calls take turns
  // and every thread gets the bits a lone call gets.
  nabla::Options options;
  options.hessian = false;
  nabla::Objective L = nabla::compile("param W[40][30]\nparam c\ninput x[30]\n"
                                      "minimize sum(tanh(W @ x + c)^2)\n", options)
                           .objective();
  const std::size_t n = 50;
  std::vector<std::vector<double>> data(L.input_count(), std::vector<double>(n));
  for (std::size_t k = 0; k < data.size(); ++k)
    for (std::size_t r = 0; r < n; ++r) data[k][r] = std::sin(static_cast<double>(k * n + r));
  std::vector<const double *> columns;
  for (const auto &c : data) columns.push_back(c.data());
  std::vector<double> params(L.param_count());
  for (std::size_t i = 0; i < params.size(); ++i) params[i] = 0.1 * std::cos(static_cast<double>(i));
  std::vector<double> wantGrad(params.size());
  const double want = L.batch(params, n, columns, wantGrad);
  std::vector<double> row(L.input_count());
  for (std::size_t k = 0; k < row.size(); ++k) row[k] = data[k][0];
  const double wantRow = L.value(params, row);

  std::vector<int> same(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        std::vector<double> grad(params.size());
        const bool batch = L.batch(params, n, columns, grad) == want && grad == wantGrad;
        if (batch && L.value(params, row) == wantRow) ++same[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread &th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK(same[static_cast<std::size_t>(t)] == 20);
}
