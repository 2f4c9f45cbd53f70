// Adam (torch.optim.Adam), with AMSGrad; AdamW reuses it with decoupled weight decay (adamw.cpp).
//   g <- g + weight_decay p                        (Adam; AdamW: p <- p (1 - lr weight_decay))
//   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
//   vmax <- max(vmax, v), used for v below          (amsgrad, on the raw second moment)
//   p <- p - lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
#include "optim/adam.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace nabla::optim::detail {
namespace {

struct AdamArrays {
  double *p;
  const double *g;
  double *m, *v, *vmax;
  std::size_t n;
};
struct AdamConstants {
  double beta1, beta2, oneMinusBeta1, oneMinusBeta2, keep, decay, eps, stepSize, bias2Sqrt;
};

// The update over every param, one loop per combination of the options: compiled twice, for
// AVX2 (without FMA: no contraction, the same bits) and for the baseline, and chosen by the CPU.
#define NABLA_ADAM_LOOP                                                                            \
  double *__restrict P = a.p;                                                                      \
  const double *__restrict G = a.g;                                                                \
  double *__restrict M = a.m;                                                                      \
  double *__restrict V = a.v;                                                                      \
  double *__restrict Vmax = a.vmax;                                                                \
  for (std::size_t i = 0; i < a.n; ++i) {                                                          \
    double d = G[i];                                                                               \
    if constexpr (Decoupled) P[i] = P[i] * c.keep;                                                 \
    if constexpr (Decayed) d = d + c.decay * P[i];                                                 \
    M[i] = M[i] * c.beta1 + c.oneMinusBeta1 * d;                                                   \
    V[i] = V[i] * c.beta2 + c.oneMinusBeta2 * (d * d);                                             \
    double second = V[i];                                                                          \
    if constexpr (Amsgrad) second = Vmax[i] = std::max(Vmax[i], second);                           \
    const double denom = std::sqrt(second) / c.bias2Sqrt + c.eps;                                  \
    P[i] = P[i] + -c.stepSize * (M[i] / denom);                                                    \
  }

template <bool Decoupled, bool Decayed, bool Amsgrad>
__attribute__((target("avx2"))) void adamLoopAvx2(const AdamArrays &a, const AdamConstants &c) {
  NABLA_ADAM_LOOP
}

template <bool Decoupled, bool Decayed, bool Amsgrad>
void adamLoopBaseline(const AdamArrays &a, const AdamConstants &c) {
  NABLA_ADAM_LOOP
}

#undef NABLA_ADAM_LOOP

template <bool Decoupled, bool Decayed, bool Amsgrad>
void adamLoop(const AdamArrays &a, const AdamConstants &c) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2)
    adamLoopAvx2<Decoupled, Decayed, Amsgrad>(a, c);
  else
    adamLoopBaseline<Decoupled, Decayed, Amsgrad>(a, c);
}

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
    // One loop per combination of the options (adamLoop), over restrict pointers, so that the
    // compiler vectorizes it; every element's arithmetic is as written above (no reassociation,
    // no contraction), so the result is the same bit for bit.
    const AdamArrays arrays{p.data(), g.data(), expAvg_.data(), expAvgSq_.data(),
                            maxExpAvgSq_ ? maxExpAvgSq_->data() : nullptr, p.size()};
    const AdamConstants c{beta1, beta2, 1 - beta1, 1 - beta2, 1 - lr_ * o_.weightDecay,
                          o_.weightDecay, o_.eps, stepSize, bias2Sqrt};
    auto run = [&](auto decoupled, auto decayed, auto amsgrad) {
      adamLoop<decltype(decoupled)::value, decltype(decayed)::value, decltype(amsgrad)::value>(arrays, c);
    };
    using Yes = std::true_type;
    using No = std::false_type;
    const bool decayed = !o_.decoupled && o_.weightDecay != 0;
    if (maxExpAvgSq_) {
      if (o_.decoupled) return run(Yes{}, No{}, Yes{});
      return decayed ? run(No{}, Yes{}, Yes{}) : run(No{}, No{}, Yes{});
    }
    if (o_.decoupled) return run(Yes{}, No{}, No{});
    return decayed ? run(No{}, Yes{}, No{}) : run(No{}, No{}, No{});
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
