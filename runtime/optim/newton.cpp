// Newton's method with the Hessian, damped where the Hessian is not positive definite, with a line
// search along the Newton direction.
//
// The direction solves (H + tau I) d = -g by Cholesky (Eigen's blocked LLT on the dense path): tau = 0 when H is positive definite (the
// pure Newton step), else the first of tau_0, max(2 tau_0, beta), ... for which the factorization
// succeeds, with tau_0 = 0 if every H_ii > 0, else beta - min H_ii, and beta = 1e-3 max |H_ij|
// (Nocedal and Wright, Numerical Optimization, Algorithm 3.3). A param whose row of H is zero (the
// objective is flat or linear in it at this point; most often a param it does not use) first gets
// beta on its diagonal: its step is then -g_i / beta, 0 for an unused param, and min H_ii is taken
// over the others, so that such a param does not damp every direction (kFlatRowDiagonal).
// Damping is what makes d a descent direction at a saddle or a maximum, where the undamped step
// would head for that stationary point; a line search alone cannot repair an ascent direction. The step length then comes from torch's strong
// Wolfe search (the default, starting at t = lr = 1, which near a minimum accepts the full step at
// one evaluation and keeps Newton's quadratic convergence) or is lr with line_search "none". The
// search also takes a step whose decrease f's rounding hides (roundingHidesDecrease): without
// that, newton stopped on ARWHEAD at max |g| 2e-8 (10^4 params) to 1e-6 (10^5), where f is 0 to
// its last bit at every trial point.
//
// One step() evaluates once and makes up to max_iter (default 1) Newton iterations, each with one
// Hessian, stopping early when max |g| <= tolerance_grad.
//
// The Hessian is dense (n x n, Curvature::dense) or sparse (Curvature::sparse in the CSR order of
// Curvature::pattern, which wins when both are given). The sparse path makes the same iterations
// with Eigen's SimplicialLDLT (AMD ordering, the symbolic analysis once per pattern, a numeric
// factorization per attempt): a factorization succeeds when Eigen reports Success and every
// entry of D is positive, the LDL^T counterpart of every Cholesky pivot being positive. The dense
// buffers (n * n) are allocated at the first dense step only.
#include "optim/line_search.h"
#include "optim/optimizer.h"

#include <Eigen/Cholesky>
#include <Eigen/OrderingMethods>
#include <Eigen/SparseCholesky>
#include <Eigen/SparseCore>

#include <algorithm>
#include <climits>
#include <memory>
#include <cmath>

namespace nabla::optim::detail {
namespace {

struct NewtonOptions {
  double lr;
  int maxIter;
  double toleranceGrad;
  bool strongWolfe;
};

/// Algorithm 3.3 reads a zero diagonal as "not positive definite" and shifts every direction by
/// beta = 1e-3 max |H_ij|. A zero row is no such thing: H is singular there, and nothing else
/// need be damped. On (x_0 - 1)^2 + sum_i 100 (x_0 - x_i^2)^2 over x[:-1] (CUTEst's NONDIA; its
/// last param is unused) the valley's curvature at 10^6 params is about 8e-6 along its unit
/// direction, against beta = 2e5: even a shift of 1e-10 max |H_ij| held newton to a linear crawl.
/// So the rows that are zero get beta on the diagonal instead (their params move by -g_i / beta:
/// an unused param stays), and the others are factored as they are.
constexpr double kFlatRowDiagonal = 1e-3;  // times max |H_ij|: beta's factor

/// The sparse path's fixed part: the pattern analysed, with its diagonal completed, and where
/// each of the pattern's entries goes in the lower triangle that Eigen factors.
class SparseNewton {
public:
  /// Checks the pattern (throws naming what is wrong) and analyses it.
  SparseNewton(std::shared_ptr<const SparsePattern> pattern, std::size_t n);
  const SparsePattern *pattern() const { return pattern_.get(); }
  /// d = -(H + tau I)^-1 g, H symmetrized from `values` (the pattern's order), tau as the dense
  /// path chooses it.
  void direction(std::span<const double> values, std::span<const double> g, std::span<double> d);

private:
  using Matrix = Eigen::SparseMatrix<double, Eigen::ColMajor, int>;
  std::shared_ptr<const SparsePattern> pattern_;
  Matrix lower_;                     // H's lower triangle and diagonal (column-major)
  std::vector<int> slot_;            // per pattern entry: its (or its mirror's) index in lower_
  std::vector<std::int64_t> row_;    // per pattern entry: its row
  std::vector<int> diagonal_;        // per row: the index of its diagonal entry in lower_
  std::vector<unsigned char> curved_;  // per row: whether H has a nonzero in it (kFlatRowDiagonal)
  Eigen::SimplicialLDLT<Matrix, Eigen::Lower, Eigen::AMDOrdering<int>> ldlt_;
};

SparseNewton::SparseNewton(std::shared_ptr<const SparsePattern> pattern, std::size_t n)
    : pattern_(std::move(pattern)) {
  const SparsePattern &p = *pattern_;
  const std::string who = "newton: the sparse Hessian's pattern ";
  if (p.n != n)
    fail(who + "is for " + std::to_string(p.n) + " parameters, not " + std::to_string(n));
  if (p.row_start.size() != n + 1 || p.row_start[0] != 0 ||
      p.row_start[n] != static_cast<std::int64_t>(p.columns.size()))
    fail(who + "has row_start of " + std::to_string(p.row_start.size()) +
         " entries not running from 0 to its " + std::to_string(p.columns.size()) + " columns");
  if (n + p.columns.size() > static_cast<std::size_t>(INT_MAX))
    fail(who + "has too many entries (" + std::to_string(p.columns.size()) + ")");
  for (std::size_t i = 0; i < n; ++i)
    if (p.row_start[i + 1] < p.row_start[i])
      fail(who + "has row_start decreasing at row " + std::to_string(i));
  // The lower triangle and the diagonal, each entry once, with its place in lower_.
  std::vector<Eigen::Triplet<double, int>> entries;
  entries.reserve(p.columns.size() / 2 + n);
  row_.resize(p.columns.size());
  for (std::size_t i = 0; i < n; ++i) {
    bool hasDiagonal = false;
    for (std::int64_t k = p.row_start[i]; k < p.row_start[i + 1]; ++k) {
      const std::int64_t j = p.columns[k];
      if (j < 0 || j >= static_cast<std::int64_t>(n) ||
          (k > p.row_start[i] && j <= p.columns[k - 1]))
        fail(who + "has column " + std::to_string(j) + " in row " + std::to_string(i) +
             " out of range or order");
      row_[k] = static_cast<std::int64_t>(i);
      if (j <= static_cast<std::int64_t>(i))
        entries.emplace_back(static_cast<int>(i), static_cast<int>(j), 0.0);
      hasDiagonal = hasDiagonal || j == static_cast<std::int64_t>(i);
    }
    if (!hasDiagonal) entries.emplace_back(static_cast<int>(i), static_cast<int>(i), 0.0);
  }
  lower_.resize(static_cast<int>(n), static_cast<int>(n));
  lower_.setFromTriplets(entries.begin(), entries.end());
  lower_.makeCompressed();
  // Where (row, column) lives in lower_: column j's rows are ascending.
  auto find = [&](std::int64_t r, std::int64_t c) {
    const int *begin = lower_.innerIndexPtr() + lower_.outerIndexPtr()[c];
    const int *end = lower_.innerIndexPtr() + lower_.outerIndexPtr()[c + 1];
    const int *at = std::lower_bound(begin, end, static_cast<int>(r));
    return at != end && *at == r ? static_cast<int>(at - lower_.innerIndexPtr()) : -1;
  };
  slot_.resize(p.columns.size());
  // The pattern's entries per slot: 2 off the diagonal (both triangles), 1 on it.
  std::vector<int> mirrors(lower_.nonZeros(), 0);
  for (std::size_t k = 0; k < p.columns.size(); ++k) {
    const std::int64_t i = row_[k], j = p.columns[k];
    slot_[k] = i >= j ? find(i, j) : find(j, i);
    if (slot_[k] < 0)
      fail(who + "is not symmetric: it has (" + std::to_string(i) + ", " + std::to_string(j) +
           ") but not (" + std::to_string(j) + ", " + std::to_string(i) + ")");
    ++mirrors[slot_[k]];
  }
  diagonal_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    diagonal_[i] = find(static_cast<std::int64_t>(i), static_cast<std::int64_t>(i));
    if (mirrors[diagonal_[i]] == 0) mirrors[diagonal_[i]] = 1;  // added: no entry of the pattern
  }
  for (std::size_t i = 0; i < n; ++i)
    for (int k = lower_.outerIndexPtr()[i]; k < lower_.outerIndexPtr()[i + 1]; ++k)
      if (lower_.innerIndexPtr()[k] != static_cast<int>(i) && mirrors[k] != 2)
        fail(who + "is not symmetric: it has (" + std::to_string(lower_.innerIndexPtr()[k]) +
             ", " + std::to_string(i) + ") but not (" + std::to_string(i) + ", " +
             std::to_string(lower_.innerIndexPtr()[k]) + ")");
  ldlt_.analyzePattern(lower_);
}

void SparseNewton::direction(std::span<const double> values, std::span<const double> g,
                             std::span<double> d) {
  const SparsePattern &p = *pattern_;
  const std::size_t n = g.size();
  // The symmetric part, as the dense path takes it: (H_ij + H_ji) / 2 off the diagonal.
  double *a = lower_.valuePtr();
  std::fill(a, a + lower_.nonZeros(), 0.0);
  for (std::size_t k = 0; k < p.columns.size(); ++k) {
    const double v = values[k];
    if (!std::isfinite(v))
      fail("newton: the Hessian at the current parameters has a non-finite entry (" +
           formatNumber(v) + " at row " + std::to_string(row_[k]) + ", column " +
           std::to_string(p.columns[k]) + ")");
    a[slot_[k]] += row_[k] == p.columns[k] ? v : 0.5 * v;
  }
  double scale = 0, minDiag = INFINITY;
  for (int k = 0; k < lower_.nonZeros(); ++k) scale = std::max(scale, std::abs(a[k]));
  const double beta = scale > 0 ? kFlatRowDiagonal * scale : kFlatRowDiagonal;
  // Zero rows (kFlatRowDiagonal): beta on the diagonal.
  curved_.assign(n, 0);
  const int *outer = lower_.outerIndexPtr(), *inner = lower_.innerIndexPtr();
  for (std::size_t j = 0; j < n; ++j)
    for (int k = outer[j]; k < outer[j + 1]; ++k)
      if (a[k] != 0) curved_[j] = curved_[static_cast<std::size_t>(inner[k])] = 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (!curved_[i]) a[diagonal_[i]] = beta;
    minDiag = std::min(minDiag, a[diagonal_[i]]);
  }
  double tau = minDiag > 0 ? 0 : beta - minDiag;
  auto factored = [&] {
    ldlt_.setShift(tau);
    ldlt_.factorize(lower_);
    return ldlt_.info() == Eigen::Success && (ldlt_.vectorD().array() > 0).all();
  };
  for (int attempt = 0; !factored(); ++attempt) {
    if (attempt == 200) fail("newton: cannot factor the damped Hessian");
    tau = std::max(2 * tau, beta);
  }
  const Eigen::Map<const Eigen::VectorXd> gv(g.data(), static_cast<Eigen::Index>(n));
  Eigen::Map<Eigen::VectorXd>(d.data(), static_cast<Eigen::Index>(n)) = -ldlt_.solve(gv);
}

class Newton final : public Optimizer {
public:
  Newton(std::size_t n, const NewtonOptions &o) : Optimizer(n, o.lr), o_(o), g_(n), d_(n) {}
  std::string_view name() const override { return "newton"; }

  double step(std::span<double> params, const Closure &) override {
    checkSize(*this, params);
    fail("newton needs the Hessian: call step(params, closure, hessian)");
  }
  double step(std::span<double> params, const Closure &closure,
              const Curvature &curvature) override;

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
  std::vector<double> g_, d_;
  std::vector<double> h_;             // dense: the Hessian, n * n, at first use
  Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt_;  // dense: its Cholesky factor (blocked)
  std::vector<double> values_;        // sparse: the Hessian's values in the pattern's order
  std::unique_ptr<SparseNewton> sparse_;  // sparse: the analysed pattern
};

void Newton::direction() {
  const std::size_t n = size_;
  double scale = 0, minDiag = INFINITY;
  std::vector<unsigned char> curved(n, 0);  // per row: whether it has a nonzero (kFlatRowDiagonal)
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
      if (h_[i * n + j] != 0) curved[i] = curved[j] = 1;
    }
  }
  const double beta = scale > 0 ? kFlatRowDiagonal * scale : kFlatRowDiagonal;
  for (std::size_t i = 0; i < n; ++i) {
    if (!curved[i]) h_[i * n + i] = beta;
    minDiag = std::min(minDiag, h_[i * n + i]);
  }
  double tau = minDiag > 0 ? 0 : beta - minDiag;
  // Eigen's blocked Cholesky of the lower triangle (the matrix is symmetric now, so its storage
  // order does not matter); it fails on the first pivot that is not positive. Gershgorin: tau
  // above n * scale makes H + tau I positive definite, reached in ~log2(n 1000) doublings; the
  // bound only guards against rounding.
  const auto index = static_cast<Eigen::Index>(n);
  const Eigen::Map<const Eigen::MatrixXd> h(h_.data(), index, index);
  auto factored = [&] {
    llt_.compute(h + tau * Eigen::MatrixXd::Identity(index, index));
    return llt_.info() == Eigen::Success;
  };
  for (int attempt = 0; !factored(); ++attempt) {
    if (attempt == 200) fail("newton: cannot factor the damped Hessian");
    tau = std::max(2 * tau, beta);
  }
  const Eigen::Map<const Eigen::VectorXd> g(g_.data(), index);
  Eigen::Map<Eigen::VectorXd>(d_.data(), index) = -llt_.solve(g);
}

double Newton::step(std::span<double> params, const Closure &closure,
                    const Curvature &curvature) {
  checkSize(*this, params);
  const std::size_t n = size_;
  const bool sparse = curvature.sparse && curvature.pattern;
  if (curvature.sparse && !curvature.pattern)
    fail("newton: the sparse Hessian closure needs its pattern (Curvature::pattern is empty)");
  if (!sparse && !curvature.dense) fail("newton needs the Hessian: its Hessian closure is empty");
  if (sparse) {
    if (!sparse_ || sparse_->pattern() != curvature.pattern.get())
      sparse_ = std::make_unique<SparseNewton>(curvature.pattern, n);
    values_.resize(curvature.pattern->nonzeros());
  } else if (h_.size() != n * n) {
    h_.assign(n * n, 0.0);
  }
  const double origLoss = closure(params, g_);
  double loss = origLoss;
  ++last_.evaluations;
  ++last_.steps;
  last_.loss = origLoss;
  last_.grad_norm = norm(g_);

  for (int iter = 1; iter <= o_.maxIter; ++iter) {
    if (maxAbs(g_) <= o_.toleranceGrad) break;
    ++last_.iterations;
    if (sparse) {
      curvature.sparse(params, values_);
      sparse_->direction(values_, g_, d_);
    } else {
      curvature.dense(params, h_);
      direction();
    }
    const double gtd = dot(g_, d_);
    if (!(gtd < 0)) break;  // only at rounding level (or NaN): no descent to be had
    if (o_.strongWolfe) {
      const std::vector<double> x(params.begin(), params.end());
      const LineSearch ls = strongWolfe(closure, x, lr_, d_, loss, g_, gtd, g_, true);
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
