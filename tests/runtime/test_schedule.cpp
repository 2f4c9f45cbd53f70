// Learning-rate schedules and the averaged iterate, against hand computations.
#include "optim_test_util.h"

#include <numbers>

using namespace nabla::optimtest;
namespace optim = nabla::optim;

TEST_CASE("schedules: the rate of step k in epoch e", "[optim][schedule]") {
  const optim::Schedule constant = optim::parse_schedule("constant");
  CHECK(constant.kind == optim::Schedule::Kind::Constant);
  CHECK(constant.rate(0.1, 0, 0) == 0.1);
  CHECK(constant.rate(0.1, 1000, 7) == 0.1);

  const optim::Schedule inv = optim::parse_schedule("inv_sqrt");
  CHECK(inv.rate(0.3, 0, 0) == 0.3);
  CHECK(inv.rate(0.3, 3, 0) == 0.15);   // 0.3 / sqrt(4)
  CHECK(inv.rate(0.3, 99, 5) == Approx(0.03).epsilon(1e-15));  // 0.3 / sqrt(100)

  const optim::Schedule step = optim::parse_schedule("step:2:0.5");
  CHECK(step.kind == optim::Schedule::Kind::Step);
  CHECK(step.step_size == 2);
  CHECK(step.gamma == 0.5);
  // torch's StepLR: lr * gamma^floor(epoch / step_size), the same for every step of an epoch.
  const double expected[] = {0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1};
  for (std::size_t e = 0; e < 7; ++e) CHECK(step.rate(0.8, 123, e) == expected[e]);
  const optim::Schedule steps = optim::parse_schedule("step");
  CHECK(steps.step_size == 1);
  CHECK(steps.gamma == 0.1);
  CHECK(steps.rate(1.0, 0, 2) == Approx(0.01).epsilon(1e-15));
  CHECK(optim::parse_schedule("step:3").step_size == 3);
  CHECK(optim::parse_schedule("step:3").gamma == 0.1);

  optim::Schedule cosine = optim::parse_schedule("cosine:0.1");
  CHECK(cosine.kind == optim::Schedule::Kind::Cosine);
  CHECK(cosine.eta_min == 0.1);
  cosine.total = 100;
  // eta_min + (lr - eta_min) (1 + cos(pi k / total)) / 2
  CHECK(cosine.rate(1.1, 0, 0) == 1.1);
  CHECK(cosine.rate(1.1, 50, 0) == Approx(0.6).epsilon(1e-15));
  CHECK(cosine.rate(1.1, 100, 3) == Approx(0.1).epsilon(1e-15));
  CHECK(cosine.rate(1.1, 25, 0) ==
        Approx(0.1 + 1.0 * (1 + std::sqrt(0.5)) / 2).epsilon(1e-15));
  CHECK(optim::parse_schedule("cosine").eta_min == 0);
  // Without the length of the run the cosine has no period.
  const optim::Schedule unsized = optim::parse_schedule("cosine");
  CHECK(errorOf([&] { unsized.rate(1, 0, 0); }).kind() == nabla::Error::Kind::Argument);
}

TEST_CASE("bad schedules are refused, naming the schedules there are", "[optim][schedule]") {
  for (const char *text : {"", "linear", "Constant", "constant:1", "inv_sqrt:2", "step:0",
                           "step:x", "step:1.5", "step:-1", "step:", "step:2:", "step:2:abc",
                           "step:2:0", "step:2:-0.5", "step:2:0.5:1", "step:2:inf", "cosine:-1",
                           "cosine:nan", "cosine:1:2", "cosine:", "cosine:1e400"}) {
    INFO("'" << text << "'");
    const nabla::Error e = errorOf([&] { optim::parse_schedule(text); });
    CHECK(e.kind() == nabla::Error::Kind::Argument);
    CHECK(std::string(e.what()).find("constant, inv_sqrt, step[:N[:GAMMA]], cosine[:ETA_MIN]") !=
          std::string::npos);
  }
  CHECK(std::string(errorOf([] { optim::parse_schedule("linear"); }).what()) ==
        "unknown schedule 'linear'; the schedules are constant, inv_sqrt, step[:N[:GAMMA]], "
        "cosine[:ETA_MIN]");
  CHECK(std::string(errorOf([] { optim::parse_schedule("step:0"); }).what()) ==
        "invalid schedule 'step:0': the step size '0' is not a whole number of epochs >= 1 (the "
        "schedules are constant, inv_sqrt, step[:N[:GAMMA]], cosine[:ETA_MIN])");
}

TEST_CASE("the averaged iterate", "[optim][average]") {
  optim::Average avg(2);
  CHECK(avg.value().empty());
  CHECK(avg.weight() == 0);
  avg.add(0.5, std::vector<double>{1, 2});
  avg.add(1.5, std::vector<double>{3, 6});
  // (0.5 (1, 2) + 1.5 (3, 6)) / 2
  CHECK(avg.value() == std::vector<double>{2.5, 5});
  CHECK(avg.weight() == 2);
  CHECK(avg.sum() == std::vector<double>{5, 10});

  optim::Average restored(2);
  restored.restore(avg.sum(), avg.weight());
  CHECK(restored.value() == avg.value());

  optim::Average unsized;  // takes the size of the first add
  unsized.add(1, std::vector<double>{4, 5, 6});
  CHECK(unsized.value() == std::vector<double>{4, 5, 6});

  CHECK(std::string(errorOf([&] { avg.add(1, std::vector<double>{1}); }).what()) ==
        "an average of 2 parameters cannot add 1");
  CHECK(std::string(errorOf([&] { avg.add(-1, std::vector<double>{1, 2}); }).what()) ==
        "an average's weight must be finite and >= 0, not -1");
  errorOf([&] { avg.add(std::nan(""), std::vector<double>{1, 2}); });
  CHECK(avg.weight() == 2);
}

TEST_CASE("SGD with a 1/sqrt(k) schedule and its averaged iterate, by hand", "[optim][average]") {
  // f(x) = (x - 3)^2: x_{k+1} = x_k - lr_k 2 (x_k - 3), lr_k = 0.2 / sqrt(k + 1).
  const optim::Schedule schedule = optim::parse_schedule("inv_sqrt");
  optim::Hyper h;
  h.lr = 0.2;
  auto sgd = optim::make("sgd", 1, h);
  optim::Average avg(1);
  std::vector<double> x{0};
  double hand = 0, sum = 0, weight = 0;
  for (std::size_t k = 0; k < 20; ++k) {
    const double rate = schedule.rate(0.2, k, 0);
    sgd->set_lr(rate);
    sgd->step(x, [](std::span<const double> p, std::span<double> g) {
      g[0] = 2 * (p[0] - 3);
      return (p[0] - 3) * (p[0] - 3);
    });
    avg.add(rate, x);
    const double lr = 0.2 / std::sqrt(static_cast<double>(k) + 1);
    hand = hand - lr * (2 * (hand - 3));
    sum += lr * hand;
    weight += lr;
    CHECK(x[0] == Approx(hand).epsilon(1e-14));
  }
  CHECK(avg.value()[0] == Approx(sum / weight).epsilon(1e-14));
  CHECK(avg.weight() == Approx(weight).epsilon(1e-14));
}
