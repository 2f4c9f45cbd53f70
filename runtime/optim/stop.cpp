// When a run should stop early: no progress for `patience` steps, or divergence
// (include/nabla/optim.hpp, StopRule; docs/optim.md, "When a run stops").
#include "optim/optimizer.h"

#include <bit>
#include <cmath>
#include <cstdint>

namespace nabla::optim {

StopRule::StopRule(Options options) : options_(options) {
  if (!(options.growth > 0))
    detail::fail("a stop rule's growth must be > 0, not " + formatNumber(options.growth));
}

void StopRule::resume(double start, double previous) {
  reason_ = StopReason::None;
  message_.clear();
  observed_ = 1;
  stalled_ = unchangedParams_ = 0;
  start_ = start;
  previous_ = previous;
}

StopReason StopRule::observe(double loss, std::span<const double> before,
                             std::span<const double> after) {
  if (reason_ != StopReason::None) return reason_;
  if (before.size() != after.size())
    detail::fail("a stop rule observed " + std::to_string(before.size()) + " params before a step and " +
                 std::to_string(after.size()) + " after it");
  if (observed_++ == 0) {
    start_ = loss;
    previous_ = loss;
  }
  if (!std::isfinite(loss)) {
    reason_ = StopReason::Diverged;
    message_ = "the loss is " + formatNumber(loss);
    return reason_;
  }
  // The loss can be negative (a log-likelihood): the margin is relative to max(|start|, 1).
  const double limit = start_ + options_.growth * std::fmax(std::fabs(start_), 1.0);
  if (loss > limit) {
    reason_ = StopReason::Diverged;
    message_ = "the loss grew from " + formatNumber(start_) + " to " + formatNumber(loss) +
               ", more than " + formatNumber(options_.growth) + " times its start";
    return reason_;
  }

  bool unchanged = true;
  for (std::size_t i = 0; i < before.size() && unchanged; ++i)
    unchanged = std::bit_cast<std::uint64_t>(before[i]) == std::bit_cast<std::uint64_t>(after[i]);
  const bool sameLoss = observed_ > 1 && loss == previous_;
  previous_ = loss;
  if (!unchanged && !sameLoss) {
    stalled_ = unchangedParams_ = 0;
    return reason_;
  }
  ++stalled_;
  if (unchanged) ++unchangedParams_;
  if (options_.patience > 0 && stalled_ >= options_.patience) {
    reason_ = StopReason::NoProgress;
    message_ = "no progress in the last " + std::to_string(stalled_) +
               (stalled_ == 1 ? " step" : " steps") + ": " +
               (unchangedParams_ == stalled_ ? std::string("no step changed a parameter")
                                             : "the loss stayed " + formatNumber(loss));
  }
  return reason_;
}

}  // namespace nabla::optim
