// NAdam (torch.optim.NAdam, torch >= 2.0): Adam with Nesterov momentum and a momentum schedule.
//   mu_t = beta1 (1 - 0.5 * 0.96^(t psi)),  Pi_t = mu_1 ... mu_t       (psi: momentum_decay)
//   g <- g + weight_decay p;  m, v as Adam;  denom = sqrt(v / (1 - beta2^t)) + eps
//   p <- p - lr (1 - mu_t) / (1 - Pi_t) g / denom
//   p <- p - lr mu_{t+1} / (1 - Pi_t mu_{t+1}) m / denom
// torch 1.13 wrote 1 - Pi_t mu_t mu_{t+1} in the last denominator, against its documentation;
// 2.0 fixed it, and this is the fixed (documented) rule.
#include "optim/adam.h"

#include <cmath>

namespace nabla::optim::detail {
namespace {

struct NadamOptions {
  double lr;
  std::array<double, 2> betas;
  double eps, weightDecay, momentumDecay;
};

class Nadam final : public GradientOptimizer {
public:
  Nadam(std::size_t n, const NadamOptions &o)
      : GradientOptimizer(n, o.lr), o_(o), expAvg_(buffer("exp_avg", n)),
        expAvgSq_(buffer("exp_avg_sq", n)), muProduct_(buffer("mu_product", 1)) {
    muProduct_[0] = 1;
  }
  std::string_view name() const override { return "nadam"; }

private:
  void update(std::span<double> p, std::span<double> g, std::size_t t) override {
    const auto [beta1, beta2] = o_.betas;
    const double step = static_cast<double>(t);
    const double bias2 = 1 - std::pow(beta2, step);
    const double mu = beta1 * (1. - 0.5 * std::pow(0.96, step * o_.momentumDecay));
    const double muNext = beta1 * (1. - 0.5 * std::pow(0.96, (step + 1) * o_.momentumDecay));
    const double muProduct = muProduct_[0] = muProduct_[0] * mu;
    const double gradScale = -lr_ * (1. - mu) / (1. - muProduct);
    const double avgScale = (-lr_ * muNext) / (1. - muProduct * muNext);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (o_.weightDecay != 0) d = d + o_.weightDecay * p[i];
      expAvg_[i] = expAvg_[i] * beta1 + (1 - beta1) * d;
      expAvgSq_[i] = expAvgSq_[i] * beta2 + (1 - beta2) * (d * d);
      const double denom = std::sqrt(expAvgSq_[i] / bias2) + o_.eps;
      p[i] = p[i] + gradScale * (d / denom);
      p[i] = p[i] + avgScale * (expAvg_[i] / denom);
    }
  }

  NadamOptions o_;
  std::vector<double> &expAvg_, &expAvgSq_, &muProduct_;
};

}  // namespace

std::unique_ptr<Optimizer> makeNadam(std::size_t n, const Hyper &h) {
  const NadamOptions o{.lr = h.lr.value(),
                       .betas = h.betas.value(),
                       .eps = h.eps.value(),
                       .weightDecay = h.weight_decay.value(),
                       .momentumDecay = h.momentum_decay.value()};
  require(o.lr >= 0, "nadam", "learning rate", "lr", o.lr, ">= 0");
  requireBetasEps("nadam", o.betas, o.eps);
  require(o.weightDecay >= 0, "nadam", "weight_decay value", "weight_decay", o.weightDecay, ">= 0");
  require(o.momentumDecay >= 0, "nadam", "momentum_decay value", "momentum_decay",
          o.momentumDecay, ">= 0");
  return std::make_unique<Nadam>(n, o);
}

}  // namespace nabla::optim::detail
