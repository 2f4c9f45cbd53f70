// state() and set_state(): k steps, the state taken, a fresh optimizer given it, and the run
// continued must equal the run that was never interrupted, bit for bit, for every optimizer (with
// the options that add buffers), and a state from another optimizer or size is refused.
#include "optim_test_util.h"

#include <cstring>

using namespace nabla::optimtest;
namespace optim = nabla::optim;

namespace {

struct Config {
  std::string name;
  optim::Hyper hyper;
};

std::vector<Config> configs() {
  std::vector<Config> out;
  for (const std::string &name : optim::names()) out.push_back({name, {}});
  optim::Hyper h;
  h.lr = 1e-4;
  h.momentum = 0.9;
  h.nesterov = true;
  h.weight_decay = 0.01;
  out.push_back({"sgd", h});
  h = {};
  h.lr = 1e-3;
  h.momentum = 0.5;
  h.centered = true;
  out.push_back({"rmsprop", h});
  h = {};
  h.lr = 0.05;
  h.amsgrad = true;
  out.push_back({"adam", h});
  out.push_back({"adamw", h});
  h = {};
  h.lr_decay = 0.01;
  h.initial_accumulator_value = 0.1;
  out.push_back({"adagrad", h});
  h = {};
  h.line_search = "strong_wolfe";
  h.history_size = 3;  // the history fills and rolls over within the run
  h.max_iter = 4;
  out.push_back({"lbfgs", h});
  h = {};
  h.lr = 0.1;
  h.max_iter = 3;
  out.push_back({"lbfgs", h});
  h = {};
  h.line_search = "none";
  h.max_iter = 2;
  out.push_back({"newton", h});
  return out;
}

bool sameBits(const std::vector<double> &a, const std::vector<double> &b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

void run(optim::Optimizer &o, std::vector<double> &x, std::size_t steps) {
  for (std::size_t k = 0; k < steps; ++k) o.step(x, Rosenbrock::value, Rosenbrock::hessian);
}

}  // namespace

TEST_CASE("a restored state continues the same trajectory, bit for bit", "[optim][state]") {
  constexpr std::size_t n = 6, k = 7, more = 9;
  for (const Config &c : configs()) {
    INFO(c.name);
    // Uninterrupted, with a rate changed on the way (as a schedule would).
    auto whole = optim::make(c.name, n, c.hyper);
    std::vector<double> x = Rosenbrock::start(n);
    run(*whole, x, k);
    whole->set_lr(whole->lr() * 0.5);
    run(*whole, x, more);

    auto first = optim::make(c.name, n, c.hyper);
    std::vector<double> y = Rosenbrock::start(n);
    run(*first, y, k);
    first->set_lr(first->lr() * 0.5);
    const optim::State saved = first->state();
    first.reset();

    auto resumed = optim::make(c.name, n, c.hyper);
    resumed->set_state(saved);
    CHECK(resumed->lr() == whole->lr());
    CHECK(resumed->state() == saved);
    run(*resumed, y, more);

    CHECK(sameBits(x, y));
    CHECK(resumed->last().steps == whole->last().steps);
    CHECK(resumed->last().evaluations == whole->last().evaluations);
    CHECK(resumed->last().iterations == whole->last().iterations);
    CHECK(std::memcmp(&resumed->last().loss, &whole->last().loss, sizeof(double)) == 0);
    const optim::State a = whole->state(), b = resumed->state();
    CHECK(a.size() == b.size());
    for (const auto &[key, values] : a) {
      INFO(key);
      REQUIRE(b.count(key));
      CHECK(sameBits(values, b.at(key)));
    }
  }
}

TEST_CASE("the state holds torch's buffers and counters", "[optim][state]") {
  optim::Hyper h;
  h.lr = 0.1;
  auto adam = optim::make("adam", 2, h);
  std::vector<double> x{1, 2};
  // f = x0^2 + x1^2: g = (2, 4) at the start; after one step m = 0.1 g, v = 0.001 g^2.
  auto sphere = [](std::span<const double> p, std::span<double> g) {
    g[0] = 2 * p[0];
    g[1] = 2 * p[1];
    return p[0] * p[0] + p[1] * p[1];
  };
  adam->step(x, sphere);
  const optim::State s = adam->state();
  CHECK(s.at("step") == std::vector<double>{1});
  CHECK(s.at("func_evals") == std::vector<double>{1});
  CHECK(s.at("lr") == std::vector<double>{0.1});
  CHECK(s.at("exp_avg")[0] == Approx(0.2).epsilon(1e-15));
  CHECK(s.at("exp_avg")[1] == Approx(0.4).epsilon(1e-15));
  CHECK(s.at("exp_avg_sq")[0] == Approx(0.004).epsilon(1e-15));
  CHECK(s.at("exp_avg_sq")[1] == Approx(0.016).epsilon(1e-15));
  CHECK(s.count("max_exp_avg_sq") == 0);
  CHECK(optim::make("sgd", 2)->state().count("momentum_buffer") == 0);  // torch's None
  optim::Hyper momentum;
  momentum.momentum = 0.9;
  CHECK(optim::make("sgd", 2, momentum)->state().at("momentum_buffer").size() == 2);
  // The first Adam step moves each coordinate by lr (m / sqrt(v) after bias correction is ±1).
  CHECK(x[0] == Approx(0.9).epsilon(1e-7));
  CHECK(x[1] == Approx(1.9).epsilon(1e-7));
}

TEST_CASE("a state from another optimizer or size is refused", "[optim][state]") {
  auto adam = optim::make("adam", 3);
  auto sgd = optim::make("sgd", 3);
  auto message = [](optim::Optimizer &o, const optim::State &s) {
    const nabla::Error e = errorOf([&] { o.set_state(s); });
    CHECK(e.kind() == nabla::Error::Kind::Argument);
    return std::string(e.what());
  };
  CHECK(message(*adam, sgd->state()) ==
        "adam: the state has no 'exp_avg' (it belongs to another optimizer)");
  CHECK(message(*adam, optim::make("adam", 4)->state()) ==
        "adam: the state has 4 values for 'exp_avg', not 3 (it belongs to another optimizer or size)");
  optim::State s = adam->state();
  s["momentum_buffer"] = {0, 0, 0};
  CHECK(message(*adam, s) == "adam: the state has an unknown entry 'momentum_buffer' (it belongs to "
                             "another optimizer)");
  s = adam->state();
  s["step"] = {1.5};
  CHECK(message(*adam, s) == "adam: the state has 'step' = 1.5, not a count");
  s = adam->state();
  s.erase("lr");
  message(*adam, s);
  // With amsgrad the state has one more buffer.
  optim::Hyper h;
  h.amsgrad = true;
  message(*optim::make("adam", 3, h), adam->state());
  // L-BFGS: a history longer than history_size.
  optim::Hyper longer;
  longer.history_size = 5;
  auto lbfgs = optim::make("lbfgs", 2, longer);
  std::vector<double> x{-1.2, 1};
  for (int k = 0; k < 3; ++k) lbfgs->step(x, Rosenbrock::value);
  REQUIRE(lbfgs->state().at("ro").size() == 5);
  optim::Hyper shorter;
  shorter.history_size = 2;
  CHECK(message(*optim::make("lbfgs", 2, shorter), lbfgs->state()) ==
        "lbfgs: the state holds 5 pairs, more than history_size 2");
  // A refused state leaves the optimizer as it was.
  const optim::State before = adam->state();
  message(*adam, sgd->state());
  CHECK(adam->state() == before);
}
