// AdamW (torch.optim.AdamW): Adam with decoupled weight decay (0.01 by default). The decay
// multiplies the parameter before this step's update, p <- p (1 - lr weight_decay), and is not
// bias-corrected; the gradient gets no L2 term. The update itself is Adam's (adam.cpp).
#include "optim/adam.h"

namespace nabla::optim::detail {

std::unique_ptr<Optimizer> makeAdamw(std::size_t n, const Hyper &h) {
  return makeAdamFamily("adamw", n, adamOptions("adamw", h, true));
}

}  // namespace nabla::optim::detail
