// SGD with momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD).
//   g <- g + weight_decay p
//   b <- g at the first step, else b <- momentum b + (1 - dampening) g     (when momentum != 0)
//   g <- g + momentum b (nesterov), else g <- b
//   p <- p - lr g
#include "optim/optimizer.h"

#include <cmath>

namespace nabla::optim::detail {
namespace {

struct SgdOptions {
  double lr, momentum, dampening, weightDecay;
  bool nesterov;
};

class Sgd final : public GradientOptimizer {
public:
  Sgd(std::size_t n, const SgdOptions &o)
      : GradientOptimizer(n, o.lr), o_(o),
        buf_(o.momentum != 0 ? &buffer("momentum_buffer", n) : nullptr) {}
  std::string_view name() const override { return "sgd"; }

private:
  void update(std::span<double> p, std::span<double> g, std::size_t t) override {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (o_.weightDecay != 0) d = d + o_.weightDecay * p[i];
      if (buf_) {
        // torch starts the buffer at the gradient itself: no dampening on the first step.
        double &b = (*buf_)[i];
        b = t == 1 ? d : o_.momentum * b + (1 - o_.dampening) * d;
        d = o_.nesterov ? d + o_.momentum * b : b;
      }
      p[i] = p[i] + -lr_ * d;
    }
  }

  SgdOptions o_;
  std::vector<double> *buf_;  // momentum_buffer, when momentum != 0
};

}  // namespace

std::unique_ptr<Optimizer> makeSgd(std::size_t n, const Hyper &h) {
  const SgdOptions o{.lr = h.lr.value(),
                     .momentum = h.momentum.value(),
                     .dampening = h.dampening.value(),
                     .weightDecay = h.weight_decay.value(),
                     .nesterov = h.nesterov.value()};
  require(o.lr >= 0, "sgd", "learning rate", "lr", o.lr, ">= 0");
  require(o.momentum >= 0, "sgd", "momentum value", "momentum", o.momentum, ">= 0");
  require(o.weightDecay >= 0, "sgd", "weight_decay value", "weight_decay", o.weightDecay, ">= 0");
  require(std::isfinite(o.dampening), "sgd", "dampening value", "dampening", o.dampening, "finite");
  if (o.nesterov && (o.momentum <= 0 || o.dampening != 0))
    fail("sgd: Nesterov momentum requires a momentum and zero dampening (momentum " +
         formatNumber(o.momentum) + ", dampening " + formatNumber(o.dampening) + ")");
  return std::make_unique<Sgd>(n, o);
}

}  // namespace nabla::optim::detail
