// Adagrad (torch.optim.Adagrad): a per-coordinate rate from the sum of squared gradients.
//   g <- g + weight_decay p
//   s <- s + g^2                      (s starts at initial_accumulator_value)
//   p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)
#include "optim/optimizer.h"

#include <cmath>

namespace nabla::optim::detail {
namespace {

struct AdagradOptions {
  double lr, lrDecay, weightDecay, initialAccumulator, eps;
};

class Adagrad final : public GradientOptimizer {
public:
  Adagrad(std::size_t n, const AdagradOptions &o)
      : GradientOptimizer(n, o.lr), o_(o), sum_(buffer("sum", n)) {
    sum_.assign(n, o.initialAccumulator);
  }
  std::string_view name() const override { return "adagrad"; }

private:
  void update(std::span<double> p, std::span<double> g, std::size_t t) override {
    const double clr = lr_ / (1 + static_cast<double>(t - 1) * o_.lrDecay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (o_.weightDecay != 0) d = d + o_.weightDecay * p[i];
      sum_[i] = sum_[i] + d * d;
      p[i] = p[i] + -clr * (d / (std::sqrt(sum_[i]) + o_.eps));
    }
  }

  AdagradOptions o_;
  std::vector<double> &sum_;
};

}  // namespace

std::unique_ptr<Optimizer> makeAdagrad(std::size_t n, const Hyper &h) {
  const AdagradOptions o{.lr = h.lr.value(),
                         .lrDecay = h.lr_decay.value(),
                         .weightDecay = h.weight_decay.value(),
                         .initialAccumulator = h.initial_accumulator_value.value(),
                         .eps = h.eps.value()};
  require(o.lr >= 0, "adagrad", "learning rate", "lr", o.lr, ">= 0");
  require(o.lrDecay >= 0, "adagrad", "lr_decay value", "lr_decay", o.lrDecay, ">= 0");
  require(o.weightDecay >= 0, "adagrad", "weight_decay value", "weight_decay", o.weightDecay, ">= 0");
  require(o.initialAccumulator >= 0, "adagrad", "initial_accumulator_value value",
          "initial_accumulator_value", o.initialAccumulator, ">= 0");
  require(o.eps >= 0, "adagrad", "epsilon value", "eps", o.eps, ">= 0");
  return std::make_unique<Adagrad>(n, o);
}

}  // namespace nabla::optim::detail
