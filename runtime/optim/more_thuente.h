// The Moré–Thuente line search (J. J. Moré and D. J. Thuente, "Line search algorithms with
// guaranteed sufficient decrease", ACM TOMS 20(3), 1994), ported from MINPACK-2's dcsrch and
// dcstep (the code behind L-BFGS-B and SciPy's line_search_wolfe1), used by lbfgs-mt.
//
// It looks for a step stp > 0 along a descent direction that satisfies the strong Wolfe
// conditions
//     phi(stp) <= phi(0) + ftol stp phi'(0)     and     |phi'(stp)| <= gtol |phi'(0)|,
// safeguarding cubic and quadratic interpolation within an interval of uncertainty that it keeps
// (stage 1 on an auxiliary function psi(stp) = phi(stp) - phi(0) - ftol stp phi'(0) until psi <= 0
// and phi' >= 0 somewhere, then on phi). It is a reverse-communication state machine, as
// dcsrch is: the caller evaluates phi and phi' where it asks.
#pragma once

#include <string_view>

namespace nabla::optim::detail {

struct MoreThuenteOptions {
  double ftol = 1e-3;  // sufficient decrease (L-BFGS-B's values)
  double gtol = 0.9;   // curvature
  double xtol = 0.1;   // relative width of the interval of uncertainty at which it gives up
  double stpmin = 0;
  double stpmax = 1e10;
};

class MoreThuente {
public:
  /// dcsrch's task: evaluate phi at step() (Evaluate); step() meets the conditions (Converged);
  /// step() is the best it could do (Warning: rounding errors, xtol, stpmax or stpmin reached;
  /// phi and phi' were evaluated there); the input was invalid (Error).
  enum class Task { Evaluate, Converged, Warning, Error };

  explicit MoreThuente(const MoreThuenteOptions &options = {}) : o_(options) {}

  /// Starts a search from phi(0) = f, phi'(0) = g (< 0) with the first trial step `stp`.
  Task start(double f, double g, double stp);
  /// phi and phi' at step(), as asked; returns the next task (and the next step()).
  Task next(double f, double g);

  double step() const { return stp_; }
  /// MINPACK-2's text of the last task ("FG", "CONVERGENCE", "WARNING: XTOL TEST SATISFIED", ...).
  std::string_view message() const { return message_; }

private:
  MoreThuenteOptions o_;
  double stp_ = 0;
  std::string_view message_ = "START";
  // dcsrch's saved variables.
  bool brackt_ = false;
  int stage_ = 1;
  double ginit_ = 0, gtest_ = 0, gx_ = 0, gy_ = 0, finit_ = 0, fx_ = 0, fy_ = 0;
  double stx_ = 0, sty_ = 0, stmin_ = 0, stmax_ = 0, width_ = 0, width1_ = 0;
};

}  // namespace nabla::optim::detail
