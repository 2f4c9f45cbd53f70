// Helpers for the optimizer tests: errors, the trajectory tolerance, and objectives written out in
// plain C++ (with hand-derived gradients and Hessians), independent of the compiler.
#pragma once

#include <nabla/optim.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace nabla::optimtest {

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

/// The reference README's rule for trajectories: |got - ref| <= 1e-9 * max(1, |ref|).
inline bool close(double got, double ref) {
  return std::abs(got - ref) <= 1e-9 * std::max(1.0, std::abs(ref));
}

/// The chained Rosenbrock function sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, with gradient
/// and Hessian by hand.
struct Rosenbrock {
  static double value(std::span<const double> x, std::span<double> g) {
    std::fill(g.begin(), g.end(), 0.0);
    double f = 0;
    for (std::size_t i = 0; i + 1 < x.size(); ++i) {
      const double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
      f += 100 * a * a + b * b;
      g[i] += -400 * a * x[i] - 2 * b;
      g[i + 1] += 200 * a;
    }
    return f;
  }
  static void hessian(std::span<const double> x, std::span<double> h) {
    const std::size_t n = x.size();
    std::fill(h.begin(), h.end(), 0.0);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      h[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
      h[(i + 1) * n + i + 1] += 200;
      h[i * n + i + 1] += -400 * x[i];
      h[(i + 1) * n + i] += -400 * x[i];
    }
  }
  /// (-1.2, 1, -1.2, 1, ...)
  static std::vector<double> start(std::size_t n) {
    std::vector<double> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = i % 2 == 0 ? -1.2 : 1.0;
    return x;
  }
};

}  // namespace nabla::optimtest
