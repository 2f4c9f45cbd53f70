// Adam's update, shared by adam.cpp and adamw.cpp (AdamW is Adam with decoupled weight decay).
#pragma once

#include "optim/optimizer.h"

#include <array>

namespace nabla::optim::detail {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8, weightDecay = 0;
  bool amsgrad = false;
  bool decoupled = false;  // AdamW: p <- p (1 - lr weight_decay) before the update, no L2
};

/// Reads lr, betas, eps, weight_decay, amsgrad from `h` over `o` (the defaults) and validates
/// them as torch does; `name` is the optimizer's for messages.
AdamOptions adamOptions(std::string_view name, const Hyper &h, AdamOptions o);
/// Checks betas in [0, 1) and eps >= 0, as Adam, AdamW and NAdam do.
void requireBetasEps(std::string_view name, const std::array<double, 2> &betas, double eps);

std::unique_ptr<Optimizer> makeAdamFamily(std::string_view name, std::size_t n,
                                          const AdamOptions &o);

}  // namespace nabla::optim::detail
