// Newton's method with the Hessian, damped where the Hessian is not positive definite, with a line
// search along the Newton direction.
//
// The direction solves (H + tau I) d = -g by Cholesky: tau = 0 when H is positive definite (the
// pure Newton step), else the first of tau_0, max(2 tau_0, beta), ... for which the factorization
// succeeds, with tau_0 = 0 if every H_ii > 0, else beta - min H_ii, and beta = 1e-3 max |H_ij|
// (Nocedal and Wright, Numerical Optimization, Algorithm 3.3). Damping is what makes d a descent direction at
// a saddle or a maximum, where the undamped step would head for that stationary point; a line
// search alone cannot repair an ascent direction. The step length then comes from torch's strong
// Wolfe search (the default, starting at t = lr = 1, which near a minimum accepts the full step at
// one evaluation and keeps Newton's quadratic convergence) or is lr with line_search "none".
//
// One step() evaluates once and makes up to max_iter (default 1) Newton iterations, each with one
// Hessian, stopping early when max |g| <= tolerance_grad.
#include "optim/line_search.h"
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>

namespace nabla::optim::detail {
namespace {

struct NewtonOptions {
  double lr;
  int maxIter;
  double toleranceGrad;
  bool strongWolfe;
};

/// Cholesky factor L (row-major, lower) of A + tau I from A's lower triangle; false unless every
/// pivot is positive.
bool cholesky(std::span<const double> a, std::size_t n, double tau, std::vector<double> &l) {
  for (std::size_t j = 0; j < n; ++j) {
    double s = a[j * n + j] + tau;
    for (std::size_t k = 0; k < j; ++k) s -= l[j * n + k] * l[j * n + k];
    if (!(s > 0)) return false;
    const double pivot = std::sqrt(s);
    l[j * n + j] = pivot;
    for (std::size_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) v -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = v / pivot;
    }
  }
  return true;
}

class Newton final : public Optimizer {
public:
  Newton(std::size_t n, const NewtonOptions &o)
      : Optimizer(n, o.lr), o_(o), g_(n), d_(n), h_(n * n), l_(n * n) {}
  std::string_view name() const override { return "newton"; }

  double step(std::span<double> params, const Closure &) override {
    checkSize(*this, params);
    fail("newton needs the Hessian: call step(params, closure, hessian)");
  }
  double step(std::span<double> params, const Closure &closure,
              const HessianClosure &hessian) override;

  State state() const override {
    State s;
    putCommon(s, lr_, last_);
    return s;
  }
  void set_state(const State &s) override { readCommon(s, "newton", {}, lr_, last_); }

private:
  /// d = -(H + tau I)^-1 g for the symmetric part of the Hessian in h_, tau as above.
  void direction();

  NewtonOptions o_;
  std::vector<double> g_, d_, h_, l_;
};

void Newton::direction() {
  const std::size_t n = size_;
  double scale = 0, minDiag = INFINITY;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const double v = 0.5 * (h_[i * n + j] + h_[j * n + i]);
      h_[i * n + j] = h_[j * n + i] = v;
    }
    for (std::size_t j = 0; j <= i; ++j) {
      if (!std::isfinite(h_[i * n + j]))
        fail("newton: the Hessian at the current parameters has a non-finite entry (" +
             formatNumber(h_[i * n + j]) + " at row " + std::to_string(i) + ", column " +
             std::to_string(j) + ")");
      scale = std::max(scale, std::abs(h_[i * n + j]));
    }
    minDiag = std::min(minDiag, h_[i * n + i]);
  }
  const double beta = scale > 0 ? 1e-3 * scale : 1e-3;
  double tau = minDiag > 0 ? 0 : beta - minDiag;
  // Gershgorin: tau above n * scale makes H + tau I positive definite, reached in ~log2(n 1000)
  // doublings; the bound only guards against rounding.
  for (int attempt = 0; !cholesky(h_, n, tau, l_); ++attempt) {
    if (attempt == 200) fail("newton: cannot factor the damped Hessian");
    tau = std::max(2 * tau, beta);
  }
  // L L^T d = -g: forward, then backward substitution.
  for (std::size_t i = 0; i < n; ++i) {
    double v = -g_[i];
    for (std::size_t k = 0; k < i; ++k) v -= l_[i * n + k] * d_[k];
    d_[i] = v / l_[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {
    double v = d_[i];
    for (std::size_t k = i + 1; k < n; ++k) v -= l_[k * n + i] * d_[k];
    d_[i] = v / l_[i * n + i];
  }
}

double Newton::step(std::span<double> params, const Closure &closure,
                    const HessianClosure &hessian) {
  checkSize(*this, params);
  if (!hessian) fail("newton needs the Hessian: its Hessian closure is empty");
  const std::size_t n = size_;
  const double origLoss = closure(params, g_);
  double loss = origLoss;
  ++last_.evaluations;
  ++last_.steps;
  last_.loss = origLoss;
  last_.grad_norm = norm(g_);

  for (int iter = 1; iter <= o_.maxIter; ++iter) {
    if (maxAbs(g_) <= o_.toleranceGrad) break;
    hessian(params, h_);
    ++last_.iterations;
    direction();
    const double gtd = dot(g_, d_);
    if (!(gtd < 0)) break;  // only at rounding level (or NaN): no descent to be had
    if (o_.strongWolfe) {
      const std::vector<double> x(params.begin(), params.end());
      const LineSearch ls = strongWolfe(closure, x, lr_, d_, loss, g_, gtd, g_);
      loss = ls.loss;
      last_.evaluations += ls.evaluations;
      for (std::size_t i = 0; i < n; ++i) params[i] = params[i] + ls.t * d_[i];
    } else {
      for (std::size_t i = 0; i < n; ++i) params[i] = params[i] + lr_ * d_[i];
      if (iter == o_.maxIter) break;
      loss = closure(params, g_);
      ++last_.evaluations;
    }
  }
  return origLoss;
}

}  // namespace

std::unique_ptr<Optimizer> makeNewton(std::size_t n, const Hyper &h) {
  const std::string &ls = h.line_search.value();
  if (ls != "none" && ls != "strong_wolfe")
    fail("newton: unknown line_search '" + ls + "' (it must be none or strong_wolfe)");
  const NewtonOptions o{.lr = h.lr.value(),
                        .maxIter = h.max_iter.value(),
                        .toleranceGrad = h.tolerance_grad.value(),
                        .strongWolfe = ls == "strong_wolfe"};
  require(o.lr >= 0, "newton", "learning rate", "lr", o.lr, ">= 0");
  require(o.maxIter >= 1, "newton", "max_iter", "max_iter", o.maxIter, ">= 1");
  require(o.toleranceGrad >= 0, "newton", "tolerance_grad", "tolerance_grad", o.toleranceGrad,
          ">= 0");
  return std::make_unique<Newton>(n, o);
}

}  // namespace nabla::optim::detail
