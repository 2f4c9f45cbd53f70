// Adam's update, shared by adam.cpp and adamw.cpp (AdamW is Adam with decoupled weight decay).
#pragma once

#include "optim/optimizer.h"

#include <array>

namespace nabla::optim::detail {

struct AdamOptions {
  double lr;
  std::array<double, 2> betas;
  double eps, weightDecay;
  bool amsgrad;
  bool decoupled;  // AdamW: p <- p (1 - lr weight_decay) before the update, no L2
};

/// Reads lr, betas, eps, weight_decay, amsgrad from `h` (each set: see the factories) and
/// validates them as torch does; `name` is the optimizer's for messages.
AdamOptions adamOptions(std::string_view name, const Hyper &h, bool decoupled);
/// Checks betas in [0, 1) and eps >= 0, as Adam, AdamW and NAdam do.
void requireBetasEps(std::string_view name, const std::array<double, 2> &betas, double eps);

std::unique_ptr<Optimizer> makeAdamFamily(std::string_view name, std::size_t n,
                                          const AdamOptions &o);

}  // namespace nabla::optim::detail
