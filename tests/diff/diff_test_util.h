// Helpers for the derivative tests: variables, evaluation at a point, and finite differences that
// serve as the independent oracle.
#pragma once

#include "diff/reverse.h"
#include "graph/graph.h"
#include "graph/interp.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace nabla::difftest {

/// A graph with variables x0, x1, ... (or given names), one Var node each.
struct Vars {
  Graph g;
  std::vector<NodeId> v;
  explicit Vars(int n) {
    for (int i = 0; i < n; ++i)
      v.push_back(g.variable(g.addSymbol("x" + std::to_string(i))));
  }
  NodeId c(double value) { return g.constant(value); }
  NodeId op(Op o, NodeId a, NodeId b = {}, NodeId c = {}) { return g.make(o, a, b, c); }
  double eval(NodeId root, const std::vector<double> &at) const {
    return evaluate(g, {root}, at)[0];
  }
  std::vector<double> eval(const std::vector<NodeId> &roots, const std::vector<double> &at) const {
    return evaluate(g, roots, at);
  }
};

/// d/d at[i] of fn by central differences at h, h/2, h/4 combined by Richardson extrapolation:
/// truncation error O(h^6), rounding about 1e-12 relative for smooth, well-scaled functions.
inline double finiteDifference(const std::function<double(const std::vector<double> &)> &fn,
                               std::vector<double> at, std::size_t i) {
  const double x = at[i];
  const double h = 1e-3 * std::max(1.0, std::fabs(x));
  auto central = [&](double step) {
    at[i] = x + step;
    double up = fn(at);
    at[i] = x - step;
    double down = fn(at);
    at[i] = x;
    return (up - down) / (2 * step);
  };
  return (64 * central(h / 4) - 20 * central(h / 2) + central(h)) / 45;
}

/// |got - want| <= tol * max(1, |want|).
inline bool near(double got, double want, double tol) {
  return std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want));
}

} // namespace nabla::difftest
