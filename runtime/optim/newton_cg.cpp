// newton-cg: truncated Newton, the trust-region method with Steihaug–Toint conjugate gradients
// on Hessian-vector products (Nocedal and Wright, Numerical Optimization, Algorithms 4.1 and 7.2;
// SciPy's minimize(method="trust-ncg"), whose rules it follows), for problems too large to form
// or factor the Hessian.
//
// Each iteration minimizes the model m(p) = f + gᵀp + pᵀHp / 2 within |p| <= Δ by CG from p = 0,
// stopping once the residual |g + Hp| < min(0.5, sqrt|g|) |g| (superlinear convergence), or going
// to the boundary along the current CG direction on negative curvature (the crossing with the
// lower model value) or when the next iterate would leave the region. The point x + p is then
// evaluated: with rho = (f(x) - f(x + p)) / (m(0) - m(p)), Δ shrinks to Δ / 4 when rho < 0.25 and
// doubles (up to max_trust_radius) when rho > 0.75 and p reached the boundary; the point is taken
// when rho > eta, or when f's rounding hides its decrease (roundingHidesDecrease: f(x + p) <=
// f(x) + 1e-6 |f(x)| and |g(x + p)| <= |g(x)| / 2; SciPy would reject it). A model that predicts
// no decrease ends the step (rounding at convergence).
//
// One step() evaluates once and makes up to max_iter (default 1) iterations, each evaluating the
// trial point once, stopping early when max |g| <= tolerance_grad. Δ persists across steps
// (state "trust_radius"). The products come from Curvature::hvp, else from the sparse Hessian
// (with its pattern) or the dense one, evaluated once per iteration.
#include "optim/line_search.h"
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>

namespace nabla::optim::detail {
namespace {

/// CG's bound on its iterations, per param (see solve()).
constexpr std::size_t kCgIterationsPerParam = 50;

struct NewtonCgOptions {
  int maxIter;
  double toleranceGrad;
  double trustRadius, maxTrustRadius, eta;
};

class NewtonCg final : public Optimizer {
public:
  NewtonCg(std::size_t n, const NewtonCgOptions &o)
      : Optimizer(n, 1.0), o_(o), radius_(o.trustRadius), g_(n), gTrial_(n), x_(n), p_(n),
        hp_(n), r_(n), d_(n), hd_(n) {}
  std::string_view name() const override { return "newton-cg"; }

  double step(std::span<double> params, const Closure &) override {
    checkSize(*this, params);
    fail("newton-cg needs Hessian-vector products: call step(params, closure, curvature) with "
         "curvature.hvp (or a sparse or dense Hessian)");
  }
  double step(std::span<double> params, const Closure &closure,
              const Curvature &curvature) override;

  State state() const override {
    State s;
    putCommon(s, lr_, last_);
    s["trust_radius"] = {radius_};
    return s;
  }
  void set_state(const State &s) override {
    double lr = 0;
    StepInfo info;
    readCommon(s, "newton-cg", {{"trust_radius", 1}}, lr, info);
    const double radius = entry(s, "trust_radius")[0];
    if (!(radius > 0))
      fail("newton-cg: the state has 'trust_radius' = " + formatNumber(radius) +
           ", not a positive radius");
    radius_ = radius;
    lr_ = lr;
    last_ = info;
  }

private:
  /// out = H v at x_, from what `curvature` offers (the Hessian formed once per iteration).
  void product(const Curvature &c, std::span<const double> v, std::span<double> out);
  /// Prepares product() at x_: evaluates the Hessian where only a Hessian is given.
  void prepare(const Curvature &c);
  /// Steihaug–Toint CG: p_ minimizing the model within radius_; true when it reached the
  /// boundary. hp_ holds H p_.
  bool solve(const Curvature &c, double gNorm);
  /// The model's decrease m(0) - m(p) = -(gᵀp + pᵀHp / 2).
  double decrease(std::span<const double> p, std::span<const double> hp) const {
    return -(dot(g_, p) + 0.5 * dot(p, hp));
  }

  NewtonCgOptions o_;
  double radius_;
  std::vector<double> g_, gTrial_, x_, p_, hp_, r_, d_, hd_;
  std::vector<double> hessian_;  // the dense or sparse Hessian's values, when products come from it
};

void NewtonCg::prepare(const Curvature &c) {
  const std::size_t n = size_;
  if (c.hvp) return;
  if (c.sparse && c.pattern) {
    const SparsePattern &p = *c.pattern;
    if (p.n != n || p.row_start.size() != n + 1 ||
        p.row_start[n] != static_cast<std::int64_t>(p.columns.size()))
      fail("newton-cg: the sparse Hessian's pattern does not fit " + std::to_string(n) +
           " parameters");
    hessian_.resize(p.nonzeros());
    c.sparse(x_, hessian_);
  } else {
    hessian_.resize(n * n);
    c.dense(x_, hessian_);
  }
}

void NewtonCg::product(const Curvature &c, std::span<const double> v, std::span<double> out) {
  const std::size_t n = size_;
  if (c.hvp) {
    c.hvp(x_, v, out);
    return;
  }
  if (c.sparse && c.pattern) {
    const SparsePattern &p = *c.pattern;
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0;
      for (std::int64_t k = p.row_start[i]; k < p.row_start[i + 1]; ++k)
        s += hessian_[k] * v[static_cast<std::size_t>(p.columns[k])];
      out[i] = s;
    }
    return;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = dot({hessian_.data() + i * n, n}, v);
}

/// The steps t1 <= t2 at which |z + t d| = radius (z inside), as SciPy computes them.
std::pair<double, double> boundary(std::span<const double> z, std::span<const double> d,
                                   double radius) {
  const double a = dot(d, d), b = 2 * dot(z, d), c = dot(z, z) - radius * radius;
  const double root = std::sqrt(b * b - 4 * a * c);
  const double aux = b + std::copysign(root, b);
  const double ta = -aux / (2 * a), tb = -2 * c / aux;
  return {std::min(ta, tb), std::max(ta, tb)};
}

/// |z + t d|², in four partial sums as dot() adds.
double squaredNorm(std::span<const double> z, double t, std::span<const double> d) {
  double s[4] = {0, 0, 0, 0};
  const std::size_t n = z.size();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (std::size_t j = 0; j < 4; ++j) s[j] += (z[i + j] + t * d[i + j]) * (z[i + j] + t * d[i + j]);
  for (; i < n; ++i) s[0] += (z[i] + t * d[i]) * (z[i] + t * d[i]);
  return (s[0] + s[1]) + (s[2] + s[3]);
}

bool NewtonCg::solve(const Curvature &c, double gNorm) {
  const std::size_t n = size_;
  const double tolerance = std::min(0.5, std::sqrt(gNorm)) * gNorm;
  std::fill(p_.begin(), p_.end(), 0.0);
  std::fill(hp_.begin(), hp_.end(), 0.0);
  if (gNorm < tolerance) return false;  // (only for |g| = 0 or NaN)
  std::copy(g_.begin(), g_.end(), r_.begin());
  for (std::size_t i = 0; i < n; ++i) d_[i] = -r_[i];
  double rr = dot(r_, r_);
  // Conjugate directions are at most n in exact arithmetic, but rounding makes CG on an
  // ill-conditioned H take many more: the discrete BVP at 10^3 params (condition about 10^12)
  // needs up to 28 n, which a bound of 2 n cut short at every iteration, so that newton-cg crawled
  // (8900 iterations in 60 s, where it now converges in 5). The bound only ends a CG whose
  // residual rounding keeps from falling (that BVP at 10^4: 2 million iterations at 1e-10). SciPy
  // has none.
  for (std::size_t k = 0; k < kCgIterationsPerParam * n + 100; ++k) {
    product(c, d_, hd_);
    const double dBd = dot(d_, hd_);
    if (!(dBd > 0)) {
      // Negative (or no) curvature: to the boundary, at whichever crossing the model is lower.
      const auto [ta, tb] = boundary(p_, d_, radius_);
      std::vector<double> pa(n), pb(n), hpa(n), hpb(n);
      for (std::size_t i = 0; i < n; ++i) {
        pa[i] = p_[i] + ta * d_[i];
        pb[i] = p_[i] + tb * d_[i];
        hpa[i] = hp_[i] + ta * hd_[i];
        hpb[i] = hp_[i] + tb * hd_[i];
      }
      const bool a = decrease(pa, hpa) > decrease(pb, hpb);
      p_ = a ? pa : pb;
      hp_ = a ? hpa : hpb;
      return true;
    }
    const double alpha = rr / dBd;
    if (std::sqrt(squaredNorm(p_, alpha, d_)) >= radius_) {
      const double tb = boundary(p_, d_, radius_).second;
      for (std::size_t i = 0; i < n; ++i) {
        p_[i] = p_[i] + tb * d_[i];
        hp_[i] = hp_[i] + tb * hd_[i];
      }
      return true;
    }
    for (std::size_t i = 0; i < n; ++i) {
      p_[i] = p_[i] + alpha * d_[i];
      hp_[i] = hp_[i] + alpha * hd_[i];
      r_[i] = r_[i] + alpha * hd_[i];
    }
    const double rrNext = dot(r_, r_);
    if (std::sqrt(rrNext) < tolerance) return false;
    const double beta = rrNext / rr;
    for (std::size_t i = 0; i < n; ++i) d_[i] = -r_[i] + beta * d_[i];
    rr = rrNext;
  }
  return false;
}

double NewtonCg::step(std::span<double> params, const Closure &closure,
                      const Curvature &curvature) {
  checkSize(*this, params);
  if (!curvature.hvp && !(curvature.sparse && curvature.pattern) && !curvature.dense)
    fail("newton-cg needs Hessian-vector products: its curvature has no hvp, sparse or dense "
         "Hessian closure");
  const std::size_t n = size_;
  double f = closure(params, g_);
  const double origLoss = f;
  ++last_.evaluations;
  ++last_.steps;
  last_.loss = f;
  last_.grad_norm = norm(g_);

  for (int iter = 1; iter <= o_.maxIter; ++iter) {
    if (maxAbs(g_) <= o_.toleranceGrad) break;
    ++last_.iterations;
    std::copy(params.begin(), params.end(), x_.begin());
    prepare(curvature);
    const bool hitsBoundary = solve(curvature, norm(g_));
    const double predicted = decrease(p_, hp_);
    if (!(predicted > 0)) break;  // rounding level (or NaN): the model promises nothing
    for (std::size_t i = 0; i < n; ++i) params[i] = x_[i] + p_[i];
    const double fTrial = closure(params, gTrial_);
    ++last_.evaluations;
    const double rho = (f - fTrial) / predicted;
    if (!(rho >= 0.25))  // a trial where f is not finite (rho NaN or -inf) shrinks it too
      radius_ *= 0.25;
    else if (rho > 0.75 && hitsBoundary)
      radius_ = std::min(2 * radius_, o_.maxTrustRadius);
    // A step whose value the rounding of f cannot tell from f's (as on ARWHEAD near its
    // minimum, where f is -n plus n and a decrease of 1e-11 is below both sums' last bits) is
    // still taken when it halves the gradient: the model's own test, rho, is noise there.
    if (rho > o_.eta || roundingHidesDecrease(f, norm(g_), fTrial, norm(gTrial_))) {
      f = fTrial;
      std::swap(g_, gTrial_);
    } else {
      std::copy(x_.begin(), x_.end(), params.begin());
    }
  }
  return origLoss;
}

}  // namespace

std::unique_ptr<Optimizer> makeNewtonCg(std::size_t n, const Hyper &h) {
  const NewtonCgOptions o{.maxIter = h.max_iter.value(),
                          .toleranceGrad = h.tolerance_grad.value(),
                          .trustRadius = h.trust_radius.value(),
                          .maxTrustRadius = h.max_trust_radius.value(),
                          .eta = h.eta.value()};
  const char *name = "newton-cg";
  require(o.maxIter >= 1, name, "max_iter", "max_iter", o.maxIter, ">= 1");
  require(o.toleranceGrad >= 0, name, "tolerance_grad", "tolerance_grad", o.toleranceGrad, ">= 0");
  require(o.trustRadius > 0 && o.trustRadius < INFINITY, name, "trust radius", "trust_radius",
          o.trustRadius, "> 0 and finite");
  require(o.maxTrustRadius >= o.trustRadius, name, "max trust radius", "max_trust_radius",
          o.maxTrustRadius, ">= trust_radius (" + formatNumber(o.trustRadius) + ")");
  require(o.eta >= 0 && o.eta < 0.25, name, "eta", "eta", o.eta, "in [0, 0.25)");
  return std::make_unique<NewtonCg>(n, o);
}

}  // namespace nabla::optim::detail
