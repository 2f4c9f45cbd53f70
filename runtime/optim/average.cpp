// The averaged iterate x̂ = Σ α_i x_i / Σ α_i (include/nabla/optim.hpp).
#include "optim/optimizer.h"

#include <cmath>

namespace nabla::optim {

void Average::add(double rate, std::span<const double> x) {
  if (!(rate >= 0) || !std::isfinite(rate))
    detail::fail("an average's weight must be finite and >= 0, not " + formatNumber(rate));
  if (sum_.empty() && weight_ == 0) sum_.assign(x.size(), 0.0);  // a default-made one takes x's size
  if (x.size() != sum_.size())
    detail::fail("an average of " + std::to_string(sum_.size()) + " parameters cannot add " +
                 std::to_string(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) sum_[i] += rate * x[i];
  weight_ += rate;
}

std::vector<double> Average::value() const {
  if (weight_ == 0) return {};
  std::vector<double> out(sum_.size());
  for (std::size_t i = 0; i < sum_.size(); ++i) out[i] = sum_[i] / weight_;
  return out;
}

}  // namespace nabla::optim
