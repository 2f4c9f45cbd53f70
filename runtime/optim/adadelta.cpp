// Adadelta (torch.optim.Adadelta); lr multiplies the textbook step.
//   g <- g + weight_decay p
//   v <- rho v + (1 - rho) g^2
//   delta = sqrt(u + eps) / sqrt(v + eps) g        (eps inside both roots)
//   u <- rho u + (1 - rho) delta^2,  p <- p - lr delta
#include "optim/optimizer.h"

#include <cmath>

namespace nabla::optim::detail {
namespace {

struct AdadeltaOptions {
  double lr, rho, eps, weightDecay;
};

class Adadelta final : public GradientOptimizer {
public:
  Adadelta(std::size_t n, const AdadeltaOptions &o)
      : GradientOptimizer(n, o.lr), o_(o), squareAvg_(buffer("square_avg", n)),
        accDelta_(buffer("acc_delta", n)) {}
  std::string_view name() const override { return "adadelta"; }

private:
  void update(std::span<double> p, std::span<double> g, std::size_t) override {
    const double rho = o_.rho;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (o_.weightDecay != 0) d = d + o_.weightDecay * p[i];
      squareAvg_[i] = squareAvg_[i] * rho + (1 - rho) * (d * d);
      const double std = std::sqrt(squareAvg_[i] + o_.eps);
      const double delta = std::sqrt(accDelta_[i] + o_.eps) / std * d;
      accDelta_[i] = accDelta_[i] * rho + (1 - rho) * (delta * delta);
      p[i] = p[i] + -lr_ * delta;
    }
  }

  AdadeltaOptions o_;
  std::vector<double> &squareAvg_, &accDelta_;
};

}  // namespace

std::unique_ptr<Optimizer> makeAdadelta(std::size_t n, const Hyper &h) {
  const AdadeltaOptions o{.lr = h.lr.value(),
                          .rho = h.rho.value(),
                          .eps = h.eps.value(),
                          .weightDecay = h.weight_decay.value()};
  require(o.lr >= 0, "adadelta", "learning rate", "lr", o.lr, ">= 0");
  require(o.rho >= 0 && o.rho <= 1, "adadelta", "rho value", "rho", o.rho, "in [0, 1]");
  require(o.eps >= 0, "adadelta", "epsilon value", "eps", o.eps, ">= 0");
  require(o.weightDecay >= 0, "adadelta", "weight_decay value", "weight_decay", o.weightDecay, ">= 0");
  return std::make_unique<Adadelta>(n, o);
}

}  // namespace nabla::optim::detail
