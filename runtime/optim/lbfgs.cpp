// L-BFGS (torch.optim.LBFGS): torch's step() line by line, on one flat parameter vector. One
// step() evaluates once, returns at once if max |g| <= tolerance_grad, and otherwise runs up to
// max_iter iterations (max_eval evaluations): the two-loop recursion over the stored pairs (the
// very first iteration: steepest descent with step min(1, 1/|g|_1) lr), then a fixed step lr or
// torch's strong Wolfe line search. History, direction, step and iteration count persist across
// step() calls, as in torch.
#include "optim/line_search.h"
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <deque>

namespace nabla::optim::detail {
namespace {

struct LbfgsOptions {
  double lr;
  int maxIter;
  int maxEval;
  double toleranceGrad, toleranceChange;
  int historySize;
  bool strongWolfe;
};

class Lbfgs final : public Optimizer {
public:
  Lbfgs(std::size_t n, const LbfgsOptions &o)
      : Optimizer(n, o.lr), o_(o), d_(n), prevFlatGrad_(n), flatGrad_(n), q_(n),
        al_(static_cast<std::size_t>(o.historySize)) {}
  std::string_view name() const override { return "lbfgs"; }

  double step(std::span<double> params, const Closure &closure) override;
  State state() const override;
  void set_state(const State &state) override;

private:
  LbfgsOptions o_;
  // torch's state: d, t, old_dirs (y), old_stps (s), ro, H_diag, prev_flat_grad, prev_loss;
  // n_iter and func_evals are last_.iterations and last_.evaluations.
  std::vector<double> d_;
  double t_ = 0;
  std::deque<std::vector<double>> oldDirs_, oldStps_;
  std::deque<double> ro_;
  double hDiag_ = 1;
  std::vector<double> prevFlatGrad_;
  double prevLoss_ = 0;
  std::vector<double> flatGrad_, q_, al_;  // scratch
};

double Lbfgs::step(std::span<double> params, const Closure &closure) {
  checkSize(*this, params);
  const std::size_t n = size_;
  std::vector<double> &g = flatGrad_;
  const double origLoss = closure(params, g);
  double loss = origLoss;
  int currentEvals = 1;
  ++last_.evaluations;
  ++last_.steps;
  last_.loss = origLoss;
  last_.grad_norm = norm(g);

  bool optCond = maxAbs(g) <= o_.toleranceGrad;
  if (optCond) return origLoss;

  int nIter = 0;
  while (nIter < o_.maxIter) {
    ++nIter;
    ++last_.iterations;

    // The direction.
    if (last_.iterations == 1) {
      for (std::size_t i = 0; i < n; ++i) d_[i] = -g[i];
      oldDirs_.clear();
      oldStps_.clear();
      ro_.clear();
      hDiag_ = 1;
    } else {
      // Update the memory with y = g - g_prev, s = t d (only when y.s > 1e-10).
      std::vector<double> y(n), s(n);
      for (std::size_t i = 0; i < n; ++i) {
        y[i] = g[i] - prevFlatGrad_[i];
        s[i] = d_[i] * t_;
      }
      const double ys = dot(y, s);
      if (ys > 1e-10) {
        if (oldDirs_.size() == static_cast<std::size_t>(o_.historySize)) {
          oldDirs_.pop_front();
          oldStps_.pop_front();
          ro_.pop_front();
        }
        hDiag_ = ys / dot(y, y);
        oldDirs_.push_back(std::move(y));
        oldStps_.push_back(std::move(s));
        ro_.push_back(1. / ys);
      }
      // The two-loop recursion: d = -H g with H0 = H_diag I.
      twoLoop(g, oldDirs_, oldStps_, ro_, hDiag_, q_, al_, d_);
    }
    std::copy(g.begin(), g.end(), prevFlatGrad_.begin());
    prevLoss_ = loss;

    // The step length: scaled down on the very first iteration only.
    t_ = last_.iterations == 1 ? std::min(1., 1. / sumAbs(g)) * lr_ : lr_;
    const double gtd = dot(g, d_);
    if (gtd > -o_.toleranceChange) break;  // not a descent direction (to tolerance)

    int lsEvals = 0;
    if (o_.strongWolfe) {
      const std::vector<double> x(params.begin(), params.end());
      const LineSearch ls = strongWolfe(closure, x, t_, d_, loss, g, gtd, g);
      loss = ls.loss;
      t_ = ls.t;
      lsEvals = static_cast<int>(ls.evaluations);
      for (std::size_t i = 0; i < n; ++i) params[i] = params[i] + t_ * d_[i];
      optCond = maxAbs(g) <= o_.toleranceGrad;
    } else {
      for (std::size_t i = 0; i < n; ++i) params[i] = params[i] + t_ * d_[i];
      // torch re-evaluates unless this is the last iteration (no use in a stochastic setting).
      if (nIter != o_.maxIter) {
        loss = closure(params, g);
        optCond = maxAbs(g) <= o_.toleranceGrad;
        lsEvals = 1;
      }
    }
    currentEvals += lsEvals;
    last_.evaluations += static_cast<std::size_t>(lsEvals);

    if (nIter == o_.maxIter) break;
    if (currentEvals >= o_.maxEval) break;
    if (optCond) break;
    double move = 0;  // max |t d|: lack of progress
    for (std::size_t i = 0; i < n; ++i) move = std::max(move, std::abs(d_[i] * t_));
    if (move <= o_.toleranceChange) break;
    if (std::abs(loss - prevLoss_) < o_.toleranceChange) break;
  }
  return origLoss;
}

State Lbfgs::state() const {
  State s;
  putCommon(s, lr_, last_);
  s["d"] = d_;
  s["t"] = {t_};
  std::vector<double> &dirs = s["old_dirs"], &stps = s["old_stps"];
  for (std::size_t k = 0; k < ro_.size(); ++k) {
    dirs.insert(dirs.end(), oldDirs_[k].begin(), oldDirs_[k].end());
    stps.insert(stps.end(), oldStps_[k].begin(), oldStps_[k].end());
  }
  s["ro"] = std::vector<double>(ro_.begin(), ro_.end());
  s["H_diag"] = {hDiag_};
  s["prev_flat_grad"] = prevFlatGrad_;
  s["prev_loss"] = {prevLoss_};
  return s;
}

void Lbfgs::set_state(const State &s) {
  const std::size_t n = size_;
  auto it = s.find("ro");
  const std::size_t pairs = it == s.end() ? 0 : it->second.size();
  if (pairs > static_cast<std::size_t>(o_.historySize))
    fail("lbfgs: the state holds " + std::to_string(pairs) + " pairs, more than history_size " +
         std::to_string(o_.historySize));
  double lr = 0;
  StepInfo info;
  readCommon(s, "lbfgs",
             {{"d", n}, {"t", 1}, {"old_dirs", pairs * n}, {"old_stps", pairs * n}, {"ro", pairs},
              {"H_diag", 1}, {"prev_flat_grad", n}, {"prev_loss", 1}},
             lr, info);
  d_ = entry(s, "d");
  t_ = entry(s, "t")[0];
  const std::vector<double> &dirs = entry(s, "old_dirs"), &stps = entry(s, "old_stps");
  oldDirs_.clear();
  oldStps_.clear();
  for (std::size_t k = 0; k < pairs; ++k) {
    oldDirs_.emplace_back(dirs.begin() + k * n, dirs.begin() + (k + 1) * n);
    oldStps_.emplace_back(stps.begin() + k * n, stps.begin() + (k + 1) * n);
  }
  ro_.assign(entry(s, "ro").begin(), entry(s, "ro").end());
  hDiag_ = entry(s, "H_diag")[0];
  prevFlatGrad_ = entry(s, "prev_flat_grad");
  prevLoss_ = entry(s, "prev_loss")[0];
  lr_ = lr;
  last_ = info;
}

}  // namespace

std::unique_ptr<Optimizer> makeLbfgs(std::size_t n, const Hyper &h) {
  const std::string &ls = h.line_search.value();
  if (ls != "none" && ls != "strong_wolfe")
    fail("lbfgs: unknown line_search '" + ls + "' (it must be none or strong_wolfe)");
  const LbfgsOptions o{
      .lr = h.lr.value(),
      .maxIter = h.max_iter.value(),
      .maxEval = h.max_eval.value(),
      .toleranceGrad = h.tolerance_grad.value(),
      .toleranceChange = h.tolerance_change.value(),
      .historySize = h.history_size.value(),
      .strongWolfe = ls == "strong_wolfe"};
  require(o.lr >= 0, "lbfgs", "learning rate", "lr", o.lr, ">= 0");
  require(o.maxIter >= 1, "lbfgs", "max_iter", "max_iter", o.maxIter, ">= 1");
  require(o.maxEval >= 1, "lbfgs", "max_eval", "max_eval", o.maxEval, ">= 1");
  require(o.historySize >= 1, "lbfgs", "history_size", "history_size", o.historySize, ">= 1");
  require(o.toleranceGrad >= 0, "lbfgs", "tolerance_grad", "tolerance_grad", o.toleranceGrad, ">= 0");
  require(o.toleranceChange >= 0, "lbfgs", "tolerance_change", "tolerance_change",
          o.toleranceChange, ">= 0");
  return std::make_unique<Lbfgs>(n, o);
}

}  // namespace nabla::optim::detail
