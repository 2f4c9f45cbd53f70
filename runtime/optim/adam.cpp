// Adam (torch.optim.Adam), with AMSGrad; AdamW reuses it with decoupled weight decay (adamw.cpp).
//   g <- g + weight_decay p                        (Adam; AdamW: p <- p (1 - lr weight_decay))
//   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
//   vmax <- max(vmax, v), used for v below          (amsgrad, on the raw second moment)
//   p <- p - lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#include "optim/adam.h"

#include <algorithm>
#include <cmath>

namespace nabla::optim::detail {
namespace {

class Adam final : public GradientOptimizer {
public:
  Adam(std::string_view name, std::size_t n, const AdamOptions &o)
      : GradientOptimizer(n, o.lr), name_(name), o_(o), expAvg_(buffer("exp_avg", n)),
        expAvgSq_(buffer("exp_avg_sq", n)),
        maxExpAvgSq_(o.amsgrad ? &buffer("max_exp_avg_sq", n) : nullptr) {}
  std::string_view name() const override { return name_; }

private:
  void update(std::span<double> p, std::span<double> g, std::size_t t) override {
    const auto [beta1, beta2] = o_.betas;
    const double step = static_cast<double>(t);
    const double stepSize = lr_ / (1 - std::pow(beta1, step));
    const double bias2Sqrt = std::sqrt(1 - std::pow(beta2, step));
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (o_.decoupled)
        p[i] = p[i] * (1 - lr_ * o_.weightDecay);
      else if (o_.weightDecay != 0)
        d = d + o_.weightDecay * p[i];
      expAvg_[i] = expAvg_[i] * beta1 + (1 - beta1) * d;
      expAvgSq_[i] = expAvgSq_[i] * beta2 + (1 - beta2) * (d * d);
      double second = expAvgSq_[i];
      if (maxExpAvgSq_) second = (*maxExpAvgSq_)[i] = std::max((*maxExpAvgSq_)[i], second);
      const double denom = std::sqrt(second) / bias2Sqrt + o_.eps;
      p[i] = p[i] + -stepSize * (expAvg_[i] / denom);
    }
  }

  std::string_view name_;
  AdamOptions o_;
  std::vector<double> &expAvg_, &expAvgSq_;
  std::vector<double> *maxExpAvgSq_;
};

}  // namespace

void requireBetasEps(std::string_view name, const std::array<double, 2> &betas, double eps) {
  require(eps >= 0, name, "epsilon value", "eps", eps, ">= 0");
  require(betas[0] >= 0 && betas[0] < 1, name, "beta parameter at index 0", "betas[0]", betas[0],
          "in [0, 1)");
  require(betas[1] >= 0 && betas[1] < 1, name, "beta parameter at index 1", "betas[1]", betas[1],
          "in [0, 1)");
}

AdamOptions adamOptions(std::string_view name, const Hyper &h, bool decoupled) {
  const AdamOptions o{.lr = h.lr.value(),
                      .betas = h.betas.value(),
                      .eps = h.eps.value(),
                      .weightDecay = h.weight_decay.value(),
                      .amsgrad = h.amsgrad.value(),
                      .decoupled = decoupled};
  require(o.lr >= 0, name, "learning rate", "lr", o.lr, ">= 0");
  requireBetasEps(name, o.betas, o.eps);
  require(o.weightDecay >= 0, name, "weight_decay value", "weight_decay", o.weightDecay, ">= 0");
  return o;
}

std::unique_ptr<Optimizer> makeAdamFamily(std::string_view name, std::size_t n,
                                          const AdamOptions &o) {
  return std::make_unique<Adam>(name, n, o);
}

std::unique_ptr<Optimizer> makeAdam(std::size_t n, const Hyper &h) {
  return makeAdamFamily("adam", n, adamOptions("adam", h, false));
}

}  // namespace nabla::optim::detail
