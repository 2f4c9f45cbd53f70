// RMSprop (torch.optim.RMSprop), optionally centered and with momentum.
//   g <- g + weight_decay p
//   v <- alpha v + (1 - alpha) g^2
//   a  = sqrt(v - m^2) + eps with m <- alpha m + (1 - alpha) g (centered), else sqrt(v) + eps
//   b <- momentum b + g / a, p <- p - lr b (momentum > 0), else p <- p - lr g / a
#include "optim/optimizer.h"

#include <cmath>

namespace nabla::optim::detail {
namespace {

struct RmspropOptions {
  double lr, alpha, eps, weightDecay, momentum;
  bool centered;
};

class Rmsprop final : public GradientOptimizer {
public:
  Rmsprop(std::size_t n, const RmspropOptions &o)
      : GradientOptimizer(n, o.lr), o_(o), squareAvg_(buffer("square_avg", n)),
        momentumBuffer_(o.momentum > 0 ? &buffer("momentum_buffer", n) : nullptr),
        gradAvg_(o.centered ? &buffer("grad_avg", n) : nullptr) {}
  std::string_view name() const override { return "rmsprop"; }

private:
  void update(std::span<double> p, std::span<double> g, std::size_t) override {
    const double a = o_.alpha;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (o_.weightDecay != 0) d = d + o_.weightDecay * p[i];
      squareAvg_[i] = squareAvg_[i] * a + (1 - a) * (d * d);
      double avg;
      if (gradAvg_) {
        double &m = (*gradAvg_)[i];
        m = m * a + (1 - a) * d;
        avg = std::sqrt(squareAvg_[i] + -1 * (m * m));
      } else {
        avg = std::sqrt(squareAvg_[i]);
      }
      avg = avg + o_.eps;
      if (momentumBuffer_) {
        double &b = (*momentumBuffer_)[i];
        b = b * o_.momentum + d / avg;
        p[i] = p[i] + -lr_ * b;
      } else {
        p[i] = p[i] + -lr_ * (d / avg);
      }
    }
  }

  RmspropOptions o_;
  std::vector<double> &squareAvg_;
  std::vector<double> *momentumBuffer_, *gradAvg_;
};

}  // namespace

std::unique_ptr<Optimizer> makeRmsprop(std::size_t n, const Hyper &h) {
  const RmspropOptions o{.lr = h.lr.value(),
                         .alpha = h.alpha.value(),
                         .eps = h.eps.value(),
                         .weightDecay = h.weight_decay.value(),
                         .momentum = h.momentum.value(),
                         .centered = h.centered.value()};
  require(o.lr >= 0, "rmsprop", "learning rate", "lr", o.lr, ">= 0");
  require(o.eps >= 0, "rmsprop", "epsilon value", "eps", o.eps, ">= 0");
  require(o.momentum >= 0, "rmsprop", "momentum value", "momentum", o.momentum, ">= 0");
  require(o.weightDecay >= 0, "rmsprop", "weight_decay value", "weight_decay", o.weightDecay, ">= 0");
  require(o.alpha >= 0, "rmsprop", "alpha value", "alpha", o.alpha, ">= 0");
  return std::make_unique<Rmsprop>(n, o);
}

}  // namespace nabla::optim::detail
