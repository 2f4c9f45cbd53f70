// torch's strong Wolfe line search (torch.optim.lbfgs._strong_wolfe and _cubic_interpolate, ported
// from minFunc's lswolfe via torch7's optim), shared by L-BFGS and Newton.
#pragma once

#include "nabla/optim.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <utility>

namespace nabla::optim::detail {

/// The minimizer of the cubic through (x1, f1, f1' = g1) and (x2, f2, g2), clamped to
/// [lo, hi] (default: the interval between x1 and x2); the midpoint of it when the cubic has no
/// minimizer.
double cubicInterpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                        std::optional<std::pair<double, double>> bounds = std::nullopt);

struct LineSearch {
  double loss = 0;              // at the accepted step
  double t = 0;                 // the accepted step length
  std::size_t evaluations = 0;  // closure calls made
};

/// Whether a trial point whose value fails a sufficient-decrease test is still to be taken
/// because f's rounding, not the step, is what hides the decrease: its value is at most f plus
/// 1e-6 |f| (the allowance for rounding of Hager and Zhang's approximate Wolfe conditions,
/// CG_DESCENT, SIAM J. Optim. 16, 2005) and its gradient at most half as long as g's. Near a
/// minimum where f is a sum of many large terms (CUTEst's ARWHEAD is -n plus n there) f rounds
/// to the same double, or to a few ulps either side, at points whose gradients differ by orders
/// of magnitude, and a method that insists on a visible decrease stops far from the minimizer.
/// Shared by newton's line search and newton-cg's acceptance, so that both read rounding alike.
bool roundingHidesDecrease(double f, double gNorm, double fTrial, double gTrialNorm);

/// Searches along `d` from `x` (loss f, gradient g, gtd = g.d < 0) starting at step t, for a step
/// that meets the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9): bracketing with cubic
/// extrapolation, then zooming by cubic interpolation, at most 25 evaluations, stopping when the
/// bracket is narrower than 1e-9 (scaled by max |d_i|), as torch does whatever tolerance_change is.
/// With `allowRounding`, a trial that fails the sufficient decrease is also taken when it meets
/// the curvature condition and roundingHidesDecrease holds (newton; lbfgs keeps torch's search
/// bit for bit without it).
/// Writes the gradient at the accepted step to `gOut`, which may be `g` itself (it is written
/// last); x is not changed.
LineSearch strongWolfe(const Closure &closure, std::span<const double> x, double t,
                       std::span<const double> d, double f, std::span<const double> g, double gtd,
                       std::span<double> gOut, bool allowRounding = false);

}  // namespace nabla::optim::detail
