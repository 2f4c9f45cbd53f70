// optim::StopRule (include/nabla/optim.hpp; docs/optim.md, "When a run stops"): no progress for
// `patience` steps, divergence, and every optimizer driven into each, through libnabla.so's API.
#include "optim_test_util.h"

#include <catch2/catch.hpp>

#include <limits>

using namespace nabla::optimtest;
namespace optim = nabla::optim;
using Catch::Matchers::Contains;

namespace {

/// Observes `steps` steps of the given losses with params that move (or not).
optim::StopReason feed(optim::StopRule &rule, const std::vector<double> &losses, bool move) {
  std::vector<double> x{1.0, 2.0};
  optim::StopReason r = optim::StopReason::None;
  for (double loss : losses) {
    std::vector<double> before = x;
    if (move) x[1] = std::nextafter(x[1], 10.0);
    r = rule.observe(loss, before, x);
  }
  return r;
}

/// Runs `name` on the 2-variable Rosenbrock function from (-1.2, 1) with `hyper` until the rule
/// stops it or `limit` steps; returns the reason and the steps.
std::pair<optim::StopReason, std::size_t> runUntilStop(const std::string &name, optim::Hyper hyper,
                                                       std::size_t limit, optim::StopRule &rule) {
  std::vector<double> x = Rosenbrock::start(2);
  auto opt = optim::make(name, x.size(), hyper);
  optim::Closure f = [](std::span<const double> p, std::span<double> g) {
    return Rosenbrock::value(p, g);
  };
  optim::HessianClosure h = [](std::span<const double> p, std::span<double> hess) {
    Rosenbrock::hessian(p, hess);
  };
  for (std::size_t k = 1; k <= limit; ++k) {
    std::vector<double> before = x;
    const double loss = opt->step(x, f, h);
    if (rule.observe(loss, before, x) != optim::StopReason::None) return {rule.reason(), k};
  }
  return {optim::StopReason::None, limit};
}

} // namespace

TEST_CASE("stop rule: steps that change no parameter stop the run after the patience",
          "[optim][stop]") {
  optim::StopRule rule;
  std::vector<double> x{1.0, -0.0};
  for (int k = 1; k < 10; ++k) {
    CHECK(rule.observe(5.0 - k, x, x) == optim::StopReason::None);
    CHECK(rule.message().empty());
  }
  CHECK(rule.observe(-4.0, x, x) == optim::StopReason::NoProgress);
  CHECK_THAT(rule.message(), Contains("no progress in the last 10 steps: no step changed a parameter"));
  // It stays stopped.
  std::vector<double> y{2.0, 3.0};
  CHECK(rule.observe(0.0, x, y) == optim::StopReason::NoProgress);

  // -0 and +0 are different doubles: a step from one to the other moved.
  optim::StopRule signs({.patience = 2});
  std::vector<double> minus{-0.0}, plus{0.0};
  CHECK(signs.observe(1, minus, plus) == optim::StopReason::None);
  CHECK(signs.observe(2, plus, minus) == optim::StopReason::None);
  CHECK(signs.observe(3, minus, minus) == optim::StopReason::None);
  CHECK(signs.observe(4, minus, minus) == optim::StopReason::NoProgress);
}

TEST_CASE("stop rule: an unchanged loss counts, a step that makes progress starts the count again",
          "[optim][stop]") {
  optim::StopRule rule({.patience = 3});
  // Moving params, the same loss: the first step has nothing to compare with.
  CHECK(feed(rule, {7, 7, 7}, true) == optim::StopReason::None);
  CHECK(feed(rule, {7}, true) == optim::StopReason::NoProgress);
  CHECK_THAT(rule.message(), Contains("the loss stayed 7"));

  optim::StopRule again({.patience = 3});
  CHECK(feed(again, {1, 1, 1, 0.5, 0.5, 0.5, 0.25}, true) == optim::StopReason::None);
  CHECK(feed(again, {0.25, 0.25}, true) == optim::StopReason::None);
  CHECK(feed(again, {0.25}, true) == optim::StopReason::NoProgress);

  optim::StopRule never({.patience = 0});
  std::vector<double> x{1.0};
  for (int k = 0; k < 1000; ++k) CHECK(never.observe(1.0, x, x) == optim::StopReason::None);
}

TEST_CASE("stop rule: a loss that grows past the limit or is not finite diverges", "[optim][stop]") {
  // start 12.5: the limit is 12.5 + 1e10 * 12.5.
  optim::StopRule rule;
  CHECK(feed(rule, {12.5, 1e6, 1.25e11 + 12.5}, true) == optim::StopReason::None);
  CHECK(feed(rule, {1.26e11}, true) == optim::StopReason::Diverged);
  CHECK_THAT(rule.message(), Contains("the loss grew from 12.5 to 126000000000, more than 10000000000 times its start"));

  // A negative start (a log-likelihood): the margin is relative to max(|start|, 1).
  optim::StopRule negative({.growth = 100});
  CHECK(feed(negative, {-0.5, 99.4}, true) == optim::StopReason::None);
  CHECK(feed(negative, {99.6}, true) == optim::StopReason::Diverged);

  for (double bad : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    optim::StopRule r;
    CHECK(feed(r, {1, bad}, true) == optim::StopReason::Diverged);
    CHECK_THAT(r.message(), Contains("the loss is"));
  }
  optim::StopRule off({.growth = std::numeric_limits<double>::infinity()});
  CHECK(feed(off, {1, 1e300}, true) == optim::StopReason::None);

  // Arguments.
  CHECK(errorOf([] { optim::StopRule({.growth = 0}); }).kind() == nabla::Error::Kind::Argument);
  CHECK(errorOf([] { optim::StopRule({.growth = std::nan("")}); }).kind() ==
        nabla::Error::Kind::Argument);
  std::vector<double> one{1.0}, two{1.0, 2.0};
  CHECK(errorOf([&] { optim::StopRule().observe(1, one, two); }).kind() ==
        nabla::Error::Kind::Argument);
}

TEST_CASE("stop rule: resume starts from the first and the last loss of the run", "[optim][stop]") {
  optim::StopRule rule({.patience = 2});
  rule.resume(10, 3);
  CHECK(feed(rule, {3}, true) == optim::StopReason::None); // equal to the last: one
  CHECK(feed(rule, {3}, true) == optim::StopReason::NoProgress);
  optim::StopRule grows;
  grows.resume(10, 3);
  CHECK(feed(grows, {1.1e11}, true) == optim::StopReason::Diverged); // above 10 + 1e10 * 10
}

TEST_CASE("stop rule: every optimizer with a step too small to move a parameter stops",
          "[optim][stop]") {
  for (const std::string &name : optim::names()) {
    INFO(name);
    optim::Hyper h;
    if (name == "newton-cg")
      h.trust_radius = 1e-300;  // it has no lr: a trust region too small to move a parameter
    else
      h.lr = 1e-300;
    optim::StopRule rule;
    auto [reason, steps] = runUntilStop(name, h, 1000, rule);
    CHECK(reason == optim::StopReason::NoProgress);
    CHECK(steps == 10);
    CHECK_THAT(rule.message(), Contains("no step changed a parameter"));
  }
}

TEST_CASE("stop rule: Newton and L-BFGS stop once rounding stops them short of a tolerance",
          "[optim][stop]") {
  for (const std::string name : {"newton", "lbfgs"}) {
    INFO(name);
    optim::Hyper h;
    h.tolerance_grad = 0; // never met: the gradient stops at rounding level
    if (name == "lbfgs") h.tolerance_change = 0;
    optim::StopRule rule;
    auto [reason, steps] = runUntilStop(name, h, 100000, rule);
    CHECK(reason == optim::StopReason::NoProgress);
    CHECK(steps < 1000);
  }
}

TEST_CASE("stop rule: optimizers driven to divergence stop with Diverged", "[optim][stop]") {
  // L-BFGS without a line search at lr 3 and 10, SGD and Adam with a huge rate, Newton without a
  // line search at a huge rate.
  struct Run {
    std::string name;
    double lr;
    std::optional<std::string> lineSearch;
  };
  for (const Run &r : {Run{"lbfgs", 3, "none"}, Run{"lbfgs", 10, "none"}, Run{"sgd", 0.01, {}},
                       Run{"adam", 1e6, {}}, Run{"newton", 1e8, "none"}}) {
    INFO(r.name << " lr " << r.lr);
    optim::Hyper h;
    h.lr = r.lr;
    h.line_search = r.lineSearch;
    optim::StopRule rule;
    auto [reason, steps] = runUntilStop(r.name, h, 10000, rule);
    CHECK(reason == optim::StopReason::Diverged);
  }
}
