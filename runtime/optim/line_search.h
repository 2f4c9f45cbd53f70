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

/// Searches along `d` from `x` (loss f, gradient g, gtd = g.d < 0) starting at step t, for a step
/// that meets the strong Wolfe conditions (c1 = 1e-4, c2 = 0.9): bracketing with cubic
/// extrapolation, then zooming by cubic interpolation, at most 25 evaluations, stopping when the
/// bracket is narrower than 1e-9 (scaled by max |d_i|), as torch does whatever tolerance_change is.
/// Writes the gradient at the accepted step to `gOut`, which may be `g` itself (it is written
/// last); x is not changed.
LineSearch strongWolfe(const Closure &closure, std::span<const double> x, double t,
                       std::span<const double> d, double f, std::span<const double> g, double gtd,
                       std::span<double> gOut);

}  // namespace nabla::optim::detail
