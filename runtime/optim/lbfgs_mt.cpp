// lbfgs-mt: L-BFGS as L-BFGS-B runs it without bounds (SciPy's minimize(method="L-BFGS-B")), for
// deterministic problems run to convergence: the two-loop recursion over the last history_size
// pairs (initial scaling sᵀy / yᵀy of the newest), a pair kept only when sᵀy > eps (-gᵀs), and the
// Moré–Thuente line search (ftol 1e-3, gtol 0.9, xtol 0.1, steps in [0, 1e10], at most 20
// evaluations), whose first trial step is lr / |g|_2 on the optimizer's very first iteration and lr
// after it.
//
// One step() evaluates once and then iterates until one of L-BFGS-B's tests holds, each of which
// marks the optimizer converged: max |g| <= tolerance_grad; (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1)
// <= tolerance_change (factr eps); a step that changed no parameter; a line search that failed
// with no pairs stored (a failed one with pairs drops them and restarts from -g, as L-BFGS-B
// does). A converged optimizer's step() evaluates once and returns. The step also ends, not
// converged, after max_iter iterations or once it has made max_eval evaluations (checked between
// iterations, as SciPy checks maxiter and maxfun).
#include "optim/more_thuente.h"
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

namespace nabla::optim::detail {
namespace {

struct LbfgsMtOptions {
  double lr;
  int maxIter;
  int maxEval;
  double toleranceGrad, toleranceChange;
  int historySize;
};

constexpr int kMaxSearchEvaluations = 20;  // L-BFGS-B's limit (iback >= 20)

class LbfgsMt final : public Optimizer {
public:
  LbfgsMt(std::size_t n, const LbfgsMtOptions &o)
      : Optimizer(n, o.lr), o_(o), g_(n), gOld_(n), d_(n), x_(n), q_(n),
        al_(static_cast<std::size_t>(o.historySize)) {}
  std::string_view name() const override { return "lbfgs-mt"; }

  double step(std::span<double> params, const Closure &closure) override;
  State state() const override;
  void set_state(const State &state) override;

private:
  void direction();

  LbfgsMtOptions o_;
  std::deque<std::vector<double>> oldDirs_, oldStps_;  // y = g_k+1 - g_k, s = x_k+1 - x_k
  std::deque<double> ro_;                              // 1 / yᵀs
  double hDiag_ = 1;                                   // sᵀy / yᵀy of the newest pair
  bool converged_ = false;
  std::vector<double> g_, gOld_, d_, x_, q_, al_;  // scratch
};

void LbfgsMt::direction() { twoLoop(g_, oldDirs_, oldStps_, ro_, hDiag_, q_, al_, d_); }

double LbfgsMt::step(std::span<double> params, const Closure &closure) {
  checkSize(*this, params);
  const std::size_t n = size_;
  double f = closure(params, g_);
  const double origLoss = f;
  ++last_.evaluations;
  ++last_.steps;
  last_.loss = f;
  last_.grad_norm = norm(g_);
  if (converged_) return origLoss;
  if (maxAbs(g_) <= o_.toleranceGrad) {
    converged_ = true;
    return origLoss;
  }
  constexpr double eps = std::numeric_limits<double>::epsilon();
  int iterations = 0, evaluations = 1;
  while (true) {
    direction();
    const double gd = dot(g_, d_);
    if (!(gd < 0)) {  // rounding (or NaN): no descent along d; as a failed search
      if (ro_.empty()) {
        converged_ = true;
        break;
      }
      oldDirs_.clear(), oldStps_.clear(), ro_.clear(), hDiag_ = 1;
      continue;
    }
    // The line search from x_ (f, g_) along d_, evaluating at params.
    const double fOld = f;
    std::copy(params.begin(), params.end(), x_.begin());
    std::copy(g_.begin(), g_.end(), gOld_.begin());
    double stp = lr_;
    if (last_.iterations == 0) stp = std::min(lr_ / norm(d_), 1e10);
    MoreThuente search;
    MoreThuente::Task task = search.start(f, gd, stp);
    int searchEvaluations = 0;
    while (task == MoreThuente::Task::Evaluate && searchEvaluations < kMaxSearchEvaluations) {
      stp = search.step();
      for (std::size_t i = 0; i < n; ++i) params[i] = x_[i] + stp * d_[i];
      f = closure(params, g_);
      ++searchEvaluations;
      const double gdTrial = dot(g_, d_);
      if (!std::isfinite(f) || !std::isfinite(gdTrial)) {
        // Beyond where the function is finite (an exp that overflows): dcsrch cannot use the
        // values, so the search starts over with a tenth of the step, as a trial inside.
        task = search.start(fOld, gd, stp / 10);
        continue;
      }
      task = search.next(f, gdTrial);
    }
    evaluations += searchEvaluations;
    last_.evaluations += static_cast<std::size_t>(searchEvaluations);
    if (task == MoreThuente::Task::Evaluate || task == MoreThuente::Task::Error) {
      // The search failed: back to where it started. With pairs, drop them and start over from
      // steepest descent; without, nothing is left to try.
      std::copy(x_.begin(), x_.end(), params.begin());
      std::copy(gOld_.begin(), gOld_.end(), g_.begin());
      f = fOld;
      if (ro_.empty()) {
        converged_ = true;
        break;
      }
      oldDirs_.clear(), oldStps_.clear(), ro_.clear(), hDiag_ = 1;
      if (evaluations >= o_.maxEval) break;
      continue;
    }
    // Accepted (converged, or a warning: the best step the search could find), at stp.
    ++iterations;
    ++last_.iterations;
    if (maxAbs(g_) <= o_.toleranceGrad ||
        fOld - f <= o_.toleranceChange * std::max({std::abs(fOld), std::abs(f), 1.0})) {
      converged_ = true;
      break;
    }
    std::vector<double> s(n), y(n);
    double move = 0;
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = stp * d_[i];
      y[i] = g_[i] - gOld_[i];
      move = std::max(move, std::abs(params[i] - x_[i]));
    }
    if (move == 0) {
      converged_ = true;
      break;
    }
    const double ys = dot(y, s);
    if (ys > eps * (-gd * stp)) {
      if (ro_.size() == static_cast<std::size_t>(o_.historySize)) {
        oldDirs_.pop_front();
        oldStps_.pop_front();
        ro_.pop_front();
      }
      hDiag_ = ys / dot(y, y);
      oldDirs_.push_back(std::move(y));
      oldStps_.push_back(std::move(s));
      ro_.push_back(1. / ys);
    }
    if (iterations >= o_.maxIter || evaluations >= o_.maxEval) break;
  }
  return origLoss;
}

State LbfgsMt::state() const {
  State s;
  putCommon(s, lr_, last_);
  std::vector<double> &dirs = s["old_dirs"], &stps = s["old_stps"];
  for (std::size_t k = 0; k < ro_.size(); ++k) {
    dirs.insert(dirs.end(), oldDirs_[k].begin(), oldDirs_[k].end());
    stps.insert(stps.end(), oldStps_[k].begin(), oldStps_[k].end());
  }
  s["ro"] = std::vector<double>(ro_.begin(), ro_.end());
  s["H_diag"] = {hDiag_};
  s["converged"] = {converged_ ? 1.0 : 0.0};
  return s;
}

void LbfgsMt::set_state(const State &s) {
  const std::size_t n = size_;
  auto it = s.find("ro");
  const std::size_t pairs = it == s.end() ? 0 : it->second.size();
  if (pairs > static_cast<std::size_t>(o_.historySize))
    fail("lbfgs-mt: the state holds " + std::to_string(pairs) +
         " pairs, more than history_size " + std::to_string(o_.historySize));
  double lr = 0;
  StepInfo info;
  readCommon(s, "lbfgs-mt",
             {{"old_dirs", pairs * n}, {"old_stps", pairs * n}, {"ro", pairs}, {"H_diag", 1},
              {"converged", 1}},
             lr, info);
  const double converged = entry(s, "converged")[0];
  if (converged != 0 && converged != 1)
    fail("lbfgs-mt: the state has 'converged' = " + formatNumber(converged) + ", not 0 or 1");
  const std::vector<double> &dirs = entry(s, "old_dirs"), &stps = entry(s, "old_stps");
  oldDirs_.clear();
  oldStps_.clear();
  for (std::size_t k = 0; k < pairs; ++k) {
    oldDirs_.emplace_back(dirs.begin() + k * n, dirs.begin() + (k + 1) * n);
    oldStps_.emplace_back(stps.begin() + k * n, stps.begin() + (k + 1) * n);
  }
  ro_.assign(entry(s, "ro").begin(), entry(s, "ro").end());
  hDiag_ = entry(s, "H_diag")[0];
  converged_ = converged == 1;
  lr_ = lr;
  last_ = info;
}

}  // namespace

std::unique_ptr<Optimizer> makeLbfgsMt(std::size_t n, const Hyper &h) {
  const LbfgsMtOptions o{.lr = h.lr.value(),
                         .maxIter = h.max_iter.value(),
                         .maxEval = h.max_eval.value(),
                         .toleranceGrad = h.tolerance_grad.value(),
                         .toleranceChange = h.tolerance_change.value(),
                         .historySize = h.history_size.value()};
  const char *name = "lbfgs-mt";
  require(o.lr >= 0, name, "learning rate", "lr", o.lr, ">= 0");
  require(o.maxIter >= 1, name, "max_iter", "max_iter", o.maxIter, ">= 1");
  require(o.maxEval >= 1, name, "max_eval", "max_eval", o.maxEval, ">= 1");
  require(o.historySize >= 1, name, "history_size", "history_size", o.historySize, ">= 1");
  require(o.toleranceGrad >= 0, name, "tolerance_grad", "tolerance_grad", o.toleranceGrad, ">= 0");
  require(o.toleranceChange >= 0, name, "tolerance_change", "tolerance_change",
          o.toleranceChange, ">= 0");
  return std::make_unique<LbfgsMt>(n, o);
}

}  // namespace nabla::optim::detail
