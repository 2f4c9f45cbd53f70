// MINPACK-2's dcsrch and dcstep (Argonne National Laboratory and the University of Minnesota,
// Brett M. Averick, Richard G. Carter and Jorge J. Moré, 1993), statement for statement: the same
// branches, comparisons and order of operations, so that trial steps and evaluation counts are
// MINPACK's. Fortran's max/min of two numbers are std::max/std::min.
#include "optim/more_thuente.h"

#include <algorithm>
#include <cmath>

namespace nabla::optim::detail {
namespace {

constexpr double kP5 = 0.5, kP66 = 0.66, kXtrapl = 1.1, kXtrapu = 4.0;

/// dcstep: updates the interval of uncertainty [stx, sty] (values fx, fy, derivatives dx, dy)
/// with the trial step stp (fp, dp) and computes the next trial step, safeguarded to
/// [stpmin, stpmax].
void dcstep(double &stx, double &fx, double &dx, double &sty, double &fy, double &dy, double &stp,
            double fp, double dp, bool &brackt, double stpmin, double stpmax) {
  const double sgnd = dp * (dx / std::abs(dx));
  double stpf;
  if (fp > fx) {
    // First case: a higher function value. The minimum is bracketed. The cubic step if it is
    // closer to stx than the quadratic step, else their average.
    const double theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const double s = std::max(std::max(std::abs(theta), std::abs(dx)), std::abs(dp));
    double gamma = s * std::sqrt((theta / s) * (theta / s) - (dx / s) * (dp / s));
    if (stp < stx) gamma = -gamma;
    const double p = (gamma - dx) + theta;
    const double q = ((gamma - dx) + gamma) + dp;
    const double r = p / q;
    const double stpc = stx + r * (stp - stx);
    const double stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2) * (stp - stx);
    if (std::abs(stpc - stx) < std::abs(stpq - stx))
      stpf = stpc;
    else
      stpf = stpc + (stpq - stpc) / 2;
    brackt = true;
  } else if (sgnd < 0) {
    // Second case: a lower function value and derivatives of opposite sign. The minimum is
    // bracketed. The cubic step if it is farther from stp than the secant step, else the secant.
    const double theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const double s = std::max(std::max(std::abs(theta), std::abs(dx)), std::abs(dp));
    double gamma = s * std::sqrt((theta / s) * (theta / s) - (dx / s) * (dp / s));
    if (stp > stx) gamma = -gamma;
    const double p = (gamma - dp) + theta;
    const double q = ((gamma - dp) + gamma) + dx;
    const double r = p / q;
    const double stpc = stp + r * (stx - stp);
    const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (std::abs(stpc - stp) > std::abs(stpq - stp))
      stpf = stpc;
    else
      stpf = stpq;
    brackt = true;
  } else if (std::abs(dp) < std::abs(dx)) {
    // Third case: a lower function value, derivatives of the same sign, and the magnitude of the
    // derivative decreases. The cubic step only if the cubic tends to infinity in the direction
    // of the step or its minimum is beyond stp; otherwise the secant step.
    const double theta = 3 * (fx - fp) / (stp - stx) + dx + dp;
    const double s = std::max(std::max(std::abs(theta), std::abs(dx)), std::abs(dp));
    // gamma = 0 only where the cubic does not tend to infinity in the direction of the step.
    double gamma =
        s * std::sqrt(std::max(0.0, (theta / s) * (theta / s) - (dx / s) * (dp / s)));
    if (stp > stx) gamma = -gamma;
    const double p = (gamma - dp) + theta;
    const double q = (gamma + (dx - dp)) + gamma;
    const double r = p / q;
    double stpc;
    if (r < 0 && gamma != 0)
      stpc = stp + r * (stx - stp);
    else if (stp > stx)
      stpc = stpmax;
    else
      stpc = stpmin;
    const double stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (brackt) {
      // Bracketed: the step closer to stp, kept within 0.66 of the way to sty.
      if (std::abs(stpc - stp) < std::abs(stpq - stp))
        stpf = stpc;
      else
        stpf = stpq;
      if (stp > stx)
        stpf = std::min(stp + kP66 * (sty - stp), stpf);
      else
        stpf = std::max(stp + kP66 * (sty - stp), stpf);
    } else {
      // Not bracketed: the step farther from stp, within [stpmin, stpmax].
      if (std::abs(stpc - stp) > std::abs(stpq - stp))
        stpf = stpc;
      else
        stpf = stpq;
      stpf = std::min(stpmax, stpf);
      stpf = std::max(stpmin, stpf);
    }
  } else {
    // Fourth case: a lower function value, derivatives of the same sign, and the magnitude of
    // the derivative does not decrease. Bracketed: the cubic step between stp and sty; else
    // stpmin or stpmax.
    if (brackt) {
      const double theta = 3 * (fp - fy) / (sty - stp) + dy + dp;
      const double s = std::max(std::max(std::abs(theta), std::abs(dy)), std::abs(dp));
      double gamma = s * std::sqrt((theta / s) * (theta / s) - (dy / s) * (dp / s));
      if (stp > sty) gamma = -gamma;
      const double p = (gamma - dp) + theta;
      const double q = ((gamma - dp) + gamma) + dy;
      const double r = p / q;
      stpf = stp + r * (sty - stp);
    } else if (stp > stx) {
      stpf = stpmax;
    } else {
      stpf = stpmin;
    }
  }
  // The interval that contains a minimizer.
  if (fp > fx) {
    sty = stp;
    fy = fp;
    dy = dp;
  } else {
    if (sgnd < 0) {
      sty = stx;
      fy = fx;
      dy = dx;
    }
    stx = stp;
    fx = fp;
    dx = dp;
  }
  stp = stpf;
}

}  // namespace

MoreThuente::Task MoreThuente::start(double f, double g, double stp) {
  stp_ = stp;
  // dcsrch's checks of its input, the last failing one naming the error.
  message_ = "";
  if (stp < o_.stpmin) message_ = "ERROR: STP .LT. STPMIN";
  if (stp > o_.stpmax) message_ = "ERROR: STP .GT. STPMAX";
  if (g >= 0) message_ = "ERROR: INITIAL G .GE. ZERO";
  if (o_.ftol < 0) message_ = "ERROR: FTOL .LT. ZERO";
  if (o_.gtol < 0) message_ = "ERROR: GTOL .LT. ZERO";
  if (o_.xtol < 0) message_ = "ERROR: XTOL .LT. ZERO";
  if (o_.stpmin < 0) message_ = "ERROR: STPMIN .LT. ZERO";
  if (o_.stpmax < o_.stpmin) message_ = "ERROR: STPMAX .LT. STPMIN";
  // (NaN inputs: dcsrch accepts them; so does this, and the search ends in a warning.)
  if (!message_.empty()) return Task::Error;
  brackt_ = false;
  stage_ = 1;
  finit_ = f;
  ginit_ = g;
  gtest_ = o_.ftol * ginit_;
  width_ = o_.stpmax - o_.stpmin;
  width1_ = width_ / kP5;
  stx_ = 0;
  fx_ = finit_;
  gx_ = ginit_;
  sty_ = 0;
  fy_ = finit_;
  gy_ = ginit_;
  stmin_ = 0;
  stmax_ = stp + kXtrapu * stp;
  message_ = "FG";
  return Task::Evaluate;
}

MoreThuente::Task MoreThuente::next(double f, double g) {
  double &stp = stp_;
  // The second stage starts once psi(stp) <= 0 and f'(stp) >= 0 for some step.
  const double ftest = finit_ + stp * gtest_;
  if (stage_ == 1 && f <= ftest && g >= 0) stage_ = 2;

  // Warnings, then convergence (which overrides them).
  Task task = Task::Evaluate;
  if (brackt_ && (stp <= stmin_ || stp >= stmax_)) {
    task = Task::Warning;
    message_ = "WARNING: ROUNDING ERRORS PREVENT PROGRESS";
  }
  if (brackt_ && stmax_ - stmin_ <= o_.xtol * stmax_) {
    task = Task::Warning;
    message_ = "WARNING: XTOL TEST SATISFIED";
  }
  if (stp == o_.stpmax && f <= ftest && g <= gtest_) {
    task = Task::Warning;
    message_ = "WARNING: STP = STPMAX";
  }
  if (stp == o_.stpmin && (f > ftest || g >= gtest_)) {
    task = Task::Warning;
    message_ = "WARNING: STP = STPMIN";
  }
  if (f <= ftest && std::abs(g) <= o_.gtol * (-ginit_)) {
    task = Task::Converged;
    message_ = "CONVERGENCE";
  }
  if (task != Task::Evaluate) return task;

  if (stage_ == 1 && f <= fx_ && f > ftest) {
    // In the first stage, a lower value without sufficient decrease: the step from the modified
    // function psi and its derivative.
    const double fm = f - stp * gtest_;
    double fxm = fx_ - stx_ * gtest_;
    double fym = fy_ - sty_ * gtest_;
    const double gm = g - gtest_;
    double gxm = gx_ - gtest_;
    double gym = gy_ - gtest_;
    dcstep(stx_, fxm, gxm, sty_, fym, gym, stp, fm, gm, brackt_, stmin_, stmax_);
    fx_ = fxm + stx_ * gtest_;
    fy_ = fym + sty_ * gtest_;
    gx_ = gxm + gtest_;
    gy_ = gym + gtest_;
  } else {
    dcstep(stx_, fx_, gx_, sty_, fy_, gy_, stp, f, g, brackt_, stmin_, stmax_);
  }

  // Bisect when the interval has not shrunk enough over two steps.
  if (brackt_) {
    if (std::abs(sty_ - stx_) >= kP66 * width1_) stp = stx_ + kP5 * (sty_ - stx_);
    width1_ = width_;
    width_ = std::abs(sty_ - stx_);
  }
  // The least and greatest steps allowed next.
  if (brackt_) {
    stmin_ = std::min(stx_, sty_);
    stmax_ = std::max(stx_, sty_);
  } else {
    stmin_ = stp + kXtrapl * (stp - stx_);
    stmax_ = stp + kXtrapu * (stp - stx_);
  }
  stp = std::max(stp, o_.stpmin);
  stp = std::min(stp, o_.stpmax);
  // Where no further progress is possible, the best step so far.
  if ((brackt_ && (stp <= stmin_ || stp >= stmax_)) ||
      (brackt_ && stmax_ - stmin_ <= o_.xtol * stmax_))
    stp = stx_;
  message_ = "FG";
  return Task::Evaluate;
}

}  // namespace nabla::optim::detail
