// A faithful port of torch.optim.lbfgs._cubic_interpolate and _strong_wolfe: the same branches,
// comparisons and update order, so that evaluation counts and iterates match torch's. Python's
// min/max of two numbers are std::min/std::max here (both keep the first argument on ties and NaN).
#include "optim/line_search.h"

#include "optim/optimizer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace nabla::optim::detail {

double cubicInterpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                        std::optional<std::pair<double, double>> bounds) {
  const auto [xminBound, xmaxBound] =
      bounds ? *bounds : (x1 <= x2 ? std::pair(x1, x2) : std::pair(x2, x1));
  // The common case: the cubic through two points with values and derivatives; x2 the farther.
  const double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  const double d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const double d2 = std::sqrt(d2Square);
    const double minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                                   : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return std::min(std::max(minPos, xminBound), xmaxBound);
  }
  return (xminBound + xmaxBound) / 2.;
}

bool roundingHidesDecrease(double f, double gNorm, double fTrial, double gTrialNorm) {
  constexpr double allowance = 1e-6;  // Hager and Zhang's epsilon
  return fTrial <= f + allowance * std::abs(f) && gTrialNorm <= 0.5 * gNorm;
}

LineSearch strongWolfe(const Closure &closure, std::span<const double> x, double t,
                       std::span<const double> d, double f, std::span<const double> g, double gtd,
                       std::span<double> gOut, bool allowRounding) {
  constexpr double c1 = 1e-4, c2 = 0.9, toleranceChange = 1e-9;
  constexpr int maxLs = 25;
  const std::size_t n = x.size();
  const double dNorm = maxAbs(d);
  std::vector<double> xt(n), gNew(n);
  auto evaluate = [&](double step) {
    for (std::size_t i = 0; i < n; ++i) xt[i] = x[i] + step * d[i];
    return closure(xt, gNew);
  };

  double fNew = evaluate(t);
  std::size_t evaluations = 1;
  double gtdNew = dot(gNew, d);
  // A trial that fails the sufficient decrease only by f's rounding (allowRounding).
  const double gNorm = allowRounding ? norm(g) : 0;
  auto hidden = [&] {
    return allowRounding && std::abs(gtdNew) <= -c2 * gtd &&
           roundingHidesDecrease(f, gNorm, fNew, norm(gNew));
  };

  // Bracket an interval containing a point that satisfies the Wolfe conditions.
  double tPrev = 0, fPrev = f, gtdPrev = gtd;
  std::vector<double> gPrev(g.begin(), g.end());
  bool done = false;
  int lsIter = 0;
  std::array<double, 2> bracket{}, bracketF{}, bracketGtd{};
  std::array<std::vector<double>, 2> bracketG;
  std::size_t bracketSize = 0;
  auto setBracket = [&] {
    bracket = {tPrev, t};
    bracketF = {fPrev, fNew};
    bracketG = {gPrev, gNew};
    bracketGtd = {gtdPrev, gtdNew};
    bracketSize = 2;
  };
  while (lsIter < maxLs) {
    const bool armijoFails = fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev);
    if (armijoFails && !hidden()) {
      setBracket();
      break;
    }
    if (std::abs(gtdNew) <= -c2 * gtd) {
      bracket[0] = t;
      bracketF[0] = fNew;
      bracketG[0] = gNew;
      bracketSize = 1;
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      setBracket();
      break;
    }
    // Extrapolate by cubic interpolation within [t + 0.01 (t - t_prev), 10 t].
    const double minStep = t + 0.01 * (t - tPrev);
    const double maxStep = t * 10;
    const double tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, std::pair(minStep, maxStep));
    tPrev = tmp;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    fNew = evaluate(t);
    ++evaluations;
    gtdNew = dot(gNew, d);
    ++lsIter;
  }
  if (lsIter == maxLs) {
    bracket = {0, t};
    bracketF = {f, fNew};
    bracketG = {std::vector<double>(g.begin(), g.end()), gNew};
    bracketSize = 2;  // (bracketGtd is never read: the zoom below does not run)
  }

  // Zoom: refine the bracket until a point satisfies the conditions.
  bool insufficientProgress = false;
  int low = bracketF[0] <= bracketF[bracketSize - 1] ? 0 : 1, high = 1 - low;
  while (!done && lsIter < maxLs) {
    if (std::abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1],
                         bracketGtd[1]);
    // A trial point close to an end of the bracket makes little progress: after two such in a
    // row, or one at or beyond an end, move it to 0.1 of the bracket's width from the nearer end.
    const double bmax = std::max(bracket[0], bracket[1]), bmin = std::min(bracket[0], bracket[1]);
    const double eps = 0.1 * (bmax - bmin);
    if (std::min(bmax - t, t - bmin) < eps) {
      if (insufficientProgress || t >= bmax || t <= bmin) {
        t = std::abs(t - bmax) < std::abs(t - bmin) ? bmax - eps : bmin + eps;
        insufficientProgress = false;
      } else {
        insufficientProgress = true;
      }
    } else {
      insufficientProgress = false;
    }

    fNew = evaluate(t);
    ++evaluations;
    gtdNew = dot(gNew, d);
    ++lsIter;

    if ((fNew > f + c1 * t * gtd || fNew >= bracketF[low]) && !hidden()) {
      // Armijo fails, or no lower than the low end: the point becomes the high end.
      bracket[high] = t;
      bracketF[high] = fNew;
      bracketG[high] = gNew;
      bracketGtd[high] = gtdNew;
      low = bracketF[0] <= bracketF[1] ? 0 : 1;
      high = 1 - low;
    } else {
      if (std::abs(gtdNew) <= -c2 * gtd) {
        done = true;
      } else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        // The old low end becomes the high end.
        bracket[high] = bracket[low];
        bracketF[high] = bracketF[low];
        bracketG[high] = bracketG[low];
        bracketGtd[high] = bracketGtd[low];
      }
      bracket[low] = t;
      bracketF[low] = fNew;
      bracketG[low] = gNew;
      bracketGtd[low] = gtdNew;
    }
  }

  std::copy(bracketG[low].begin(), bracketG[low].end(), gOut.begin());
  return {bracketF[low], bracket[low], evaluations};
}

}  // namespace nabla::optim::detail
