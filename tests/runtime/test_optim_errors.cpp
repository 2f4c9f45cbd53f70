// Hyperparameter validation: unknown optimizers, options an optimizer does not have (checked for
// every optimizer against torch's constructor arguments, listed here), values torch rejects, and
// calls with the wrong number of parameters.
#include "optim_test_util.h"

#include <map>
#include <set>

using namespace nabla::optimtest;
namespace optim = nabla::optim;

namespace {

/// Each Hyper field set to a valid value for every optimizer that has it.
const std::map<std::string, void (*)(optim::Hyper &)> kSetters = {
    {"lr", [](optim::Hyper &h) { h.lr = 0.01; }},
    {"momentum", [](optim::Hyper &h) { h.momentum = 0.5; }},
    {"dampening", [](optim::Hyper &h) { h.dampening = 0.1; }},
    {"nesterov", [](optim::Hyper &h) { h.nesterov = false; }},
    {"weight_decay", [](optim::Hyper &h) { h.weight_decay = 0.1; }},
    {"lr_decay", [](optim::Hyper &h) { h.lr_decay = 0.1; }},
    {"initial_accumulator_value", [](optim::Hyper &h) { h.initial_accumulator_value = 0.1; }},
    {"eps", [](optim::Hyper &h) { h.eps = 1e-6; }},
    {"alpha", [](optim::Hyper &h) { h.alpha = 0.9; }},
    {"centered", [](optim::Hyper &h) { h.centered = true; }},
    {"rho", [](optim::Hyper &h) { h.rho = 0.95; }},
    {"betas", [](optim::Hyper &h) { h.betas = std::array<double, 2>{0.8, 0.99}; }},
    {"amsgrad", [](optim::Hyper &h) { h.amsgrad = true; }},
    {"momentum_decay", [](optim::Hyper &h) { h.momentum_decay = 1e-3; }},
    {"max_iter", [](optim::Hyper &h) { h.max_iter = 5; }},
    {"max_eval", [](optim::Hyper &h) { h.max_eval = 7; }},
    {"tolerance_grad", [](optim::Hyper &h) { h.tolerance_grad = 1e-9; }},
    {"tolerance_change", [](optim::Hyper &h) { h.tolerance_change = 1e-12; }},
    {"history_size", [](optim::Hyper &h) { h.history_size = 5; }},
    {"line_search", [](optim::Hyper &h) { h.line_search = "strong_wolfe"; }},
    {"trust_radius", [](optim::Hyper &h) { h.trust_radius = 0.5; }},
    {"max_trust_radius", [](optim::Hyper &h) { h.max_trust_radius = 10; }},
    {"eta", [](optim::Hyper &h) { h.eta = 0.1; }},
};

/// torch.optim's constructor arguments (less params, maximize, foreach, capturable,
/// differentiable, fused), line_search_fn as line_search; Newton's own; lbfgs-mt's and
/// newton-cg's (SciPy's L-BFGS-B and trust-ncg under these names; newton-cg has no lr).
const std::map<std::string, std::set<std::string>> kTorchOptions = {
    {"sgd", {"lr", "momentum", "dampening", "weight_decay", "nesterov"}},
    {"adagrad", {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"}},
    {"rmsprop", {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}},
    {"adadelta", {"lr", "rho", "eps", "weight_decay"}},
    {"adam", {"lr", "betas", "eps", "weight_decay", "amsgrad"}},
    {"adamw", {"lr", "betas", "eps", "weight_decay", "amsgrad"}},
    {"nadam", {"lr", "betas", "eps", "weight_decay", "momentum_decay"}},
    {"lbfgs",
     {"lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size",
      "line_search"}},
    {"lbfgs-mt",
     {"lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size"}},
    {"newton", {"lr", "max_iter", "tolerance_grad", "line_search"}},
    {"newton-cg", {"max_iter", "tolerance_grad", "trust_radius", "max_trust_radius", "eta"}},
};

std::string messageOf(const std::string &name, const optim::Hyper &h, std::size_t n = 2) {
  const nabla::Error e = errorOf([&] { optim::make(name, n, h); });
  CHECK(e.kind() == nabla::Error::Kind::Argument);
  return e.what();
}

}  // namespace

TEST_CASE("the optimizers by name", "[optim][errors]") {
  CHECK(optim::names() == std::vector<std::string>{"sgd", "adagrad", "rmsprop", "adadelta", "adam",
                                                   "nadam", "adamw", "lbfgs", "lbfgs-mt", "newton",
                                                   "newton-cg"});
  for (const std::string &name : optim::names()) {
    auto o = optim::make(name, 3);
    CHECK(o->name() == name);
    CHECK(o->size() == 3);
  }
  const std::string m = messageOf("adm", {});
  CHECK(m == "unknown optimizer 'adm'; the optimizers are sgd, adagrad, rmsprop, adadelta, adam, "
             "nadam, adamw, lbfgs, lbfgs-mt, newton, newton-cg");
  messageOf("Adam", {});  // names are lower-case, as on the command line
  messageOf("", {});
}

TEST_CASE("each optimizer takes exactly torch's options", "[optim][errors]") {
  for (const auto &[name, options] : kTorchOptions) {
    for (const auto &[option, set] : kSetters) {
      INFO(name << " with " << option);
      optim::Hyper h;
      set(h);
      if (name == "sgd" && option == "dampening") h.momentum = 0.9;
      if (options.count(option)) {
        CHECK_NOTHROW(optim::make(name, 2, h));
      } else {
        const std::string m = messageOf(name, h);
        CHECK(m.rfind(name + " has no option " + option + "; its options are ", 0) == 0);
        for (const std::string &o : options) CHECK(m.find(o) != std::string::npos);
      }
    }
  }
  optim::Hyper h;
  h.momentum = 0.9;
  h.amsgrad = true;
  CHECK(messageOf("adagrad", h) == "adagrad has no options momentum, amsgrad; its options are lr, "
                                   "lr_decay, weight_decay, initial_accumulator_value, eps");
}

TEST_CASE("values torch rejects", "[optim][errors]") {
  const double nan = std::nan("");
  for (const std::string &name : optim::names()) {
    if (name == "newton-cg") continue;  // it has no lr: below
    INFO(name);
    optim::Hyper h;
    h.lr = -0.1;
    CHECK(messageOf(name, h) == name + ": invalid learning rate -0.1 (lr must be >= 0)");
    h.lr = nan;
    CHECK(messageOf(name, h) == name + ": invalid learning rate nan (lr must be >= 0)");
    h.lr = 0;  // a rate of 0 is allowed, as in torch
    CHECK_NOTHROW(optim::make(name, 2, h));
  }
  {
    // newton-cg has no learning rate: setting one, even a valid one, is an error naming it.
    const std::string cgOptions = "; its options are max_iter, tolerance_grad, trust_radius, "
                                  "max_trust_radius, eta";
    for (const double lr : {1.0, 0.0, -0.1}) {
      INFO("newton-cg with lr " << lr);
      optim::Hyper h;
      h.lr = lr;
      CHECK(messageOf("newton-cg", h) == "newton-cg has no option lr" + cgOptions);
    }
    optim::Hyper h;
    h.lr = 1;
    h.eta = 0.1;
    CHECK(messageOf("newton-cg", h) == "newton-cg has no option lr" + cgOptions);
  }
  for (const std::string name : {"sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam"}) {
    INFO(name);
    optim::Hyper h;
    h.weight_decay = -1e-4;
    CHECK(messageOf(name, h) ==
          std::string(name) + ": invalid weight_decay value -0.0001 (weight_decay must be >= 0)");
  }
  for (const std::string name : {"adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam"}) {
    INFO(name);
    optim::Hyper h;
    h.eps = -1e-8;
    CHECK(messageOf(name, h) == std::string(name) + ": invalid epsilon value -1e-8 (eps must be >= 0)");
    h.eps = 0;
    CHECK_NOTHROW(optim::make(name, 2, h));
  }
  for (const std::string name : {"adam", "adamw", "nadam"}) {
    INFO(name);
    optim::Hyper h;
    h.betas = std::array<double, 2>{1.0, 0.999};
    CHECK(messageOf(name, h) == std::string(name) +
                                    ": invalid beta parameter at index 0 1 (betas[0] must be in [0, 1))");
    h.betas = std::array<double, 2>{0.9, -0.5};
    CHECK(messageOf(name, h) ==
          std::string(name) + ": invalid beta parameter at index 1 -0.5 (betas[1] must be in [0, 1))");
    h.betas = std::array<double, 2>{0.9, 1.0};
    messageOf(name, h);
    h.betas = std::array<double, 2>{0.0, 0.0};
    CHECK_NOTHROW(optim::make(name, 2, h));
  }

  optim::Hyper h;
  h.momentum = -0.5;
  CHECK(messageOf("sgd", h) == "sgd: invalid momentum value -0.5 (momentum must be >= 0)");
  CHECK(messageOf("rmsprop", h) == "rmsprop: invalid momentum value -0.5 (momentum must be >= 0)");
  h = {};
  h.nesterov = true;
  CHECK(messageOf("sgd", h) ==
        "sgd: Nesterov momentum requires a momentum and zero dampening (momentum 0, dampening 0)");
  h.momentum = 0.9;
  CHECK_NOTHROW(optim::make("sgd", 2, h));
  h.dampening = 0.1;
  messageOf("sgd", h);
  h = {};
  h.alpha = -0.1;
  CHECK(messageOf("rmsprop", h) == "rmsprop: invalid alpha value -0.1 (alpha must be >= 0)");
  h = {};
  h.rho = 1.5;
  CHECK(messageOf("adadelta", h) == "adadelta: invalid rho value 1.5 (rho must be in [0, 1])");
  h.rho = 1;
  CHECK_NOTHROW(optim::make("adadelta", 2, h));
  h = {};
  h.lr_decay = -1;
  CHECK(messageOf("adagrad", h) == "adagrad: invalid lr_decay value -1 (lr_decay must be >= 0)");
  h = {};
  h.initial_accumulator_value = -1;
  messageOf("adagrad", h);
  h = {};
  h.momentum_decay = -1;
  CHECK(messageOf("nadam", h) ==
        "nadam: invalid momentum_decay value -1 (momentum_decay must be >= 0)");
  for (const std::string name : {"lbfgs", "newton"}) {
    INFO(name);
    h = {};
    h.line_search = "armijo";
    CHECK(messageOf(name, h) ==
          name + ": unknown line_search 'armijo' (it must be none or strong_wolfe)");
    h = {};
    h.max_iter = 0;
    CHECK(messageOf(name, h) == name + ": invalid max_iter 0 (max_iter must be >= 1)");
    h = {};
    h.tolerance_grad = -1;
    messageOf(name, h);
  }
  for (const std::string name : {"lbfgs-mt", "newton-cg"}) {
    INFO(name);
    h = {};
    h.max_iter = 0;
    CHECK(messageOf(name, h) == name + ": invalid max_iter 0 (max_iter must be >= 1)");
    h = {};
    h.tolerance_grad = -1;
    messageOf(name, h);
  }
  h = {};
  h.history_size = 0;
  CHECK(messageOf("lbfgs", h) == "lbfgs: invalid history_size 0 (history_size must be >= 1)");
  CHECK(messageOf("lbfgs-mt", h) ==
        "lbfgs-mt: invalid history_size 0 (history_size must be >= 1)");
  h = {};
  h.max_eval = 0;
  messageOf("lbfgs-mt", h);
  h = {};
  h.tolerance_change = -1;
  messageOf("lbfgs-mt", h);
  h = {};
  h.trust_radius = 0;
  CHECK(messageOf("newton-cg", h) ==
        "newton-cg: invalid trust radius 0 (trust_radius must be > 0 and finite)");
  h.trust_radius = 2000;  // above the default max_trust_radius, 1000
  messageOf("newton-cg", h);
  h = {};
  h.max_trust_radius = 0.5;  // below the default trust_radius, 1
  messageOf("newton-cg", h);
  h = {};
  h.eta = 0.25;
  CHECK(messageOf("newton-cg", h) == "newton-cg: invalid eta 0.25 (eta must be in [0, 0.25))");
  h.eta = -0.1;
  messageOf("newton-cg", h);
  h.eta = 0;
  CHECK_NOTHROW(optim::make("newton-cg", 2, h));
  h = {};
  h.max_eval = 0;
  messageOf("lbfgs", h);
  h = {};
  h.tolerance_change = nan;
  messageOf("lbfgs", h);
}

TEST_CASE("steps with the wrong number of parameters, Newton without its Hessian",
          "[optim][errors]") {
  auto closure = [](std::span<const double>, std::span<double> g) {
    std::fill(g.begin(), g.end(), 0.0);
    return 0.0;
  };
  for (const std::string &name : optim::names()) {
    INFO(name);
    auto o = optim::make(name, 3);
    std::vector<double> x(2);
    const nabla::Error e = errorOf([&] { o->step(x, closure); });
    CHECK(e.kind() == nabla::Error::Kind::Argument);
    CHECK(std::string(e.what()) == name + " was made for 3 parameters, not 2");
    CHECK(o->last().steps == 0);
  }
  auto newton = optim::make("newton", 2);
  std::vector<double> x(2);
  const nabla::Error e = errorOf([&] { newton->step(x, closure); });
  CHECK(e.kind() == nabla::Error::Kind::Argument);
  CHECK(std::string(e.what()) == "newton needs the Hessian: call step(params, closure, hessian)");
  errorOf([&] { newton->step(x, closure, optim::HessianClosure()); });
  // newton-cg without Hessian-vector products (or a Hessian to take them from).
  auto cg = optim::make("newton-cg", 2);
  CHECK(std::string(errorOf([&] { cg->step(x, closure); }).what()) ==
        "newton-cg needs Hessian-vector products: call step(params, closure, curvature) with "
        "curvature.hvp (or a sparse or dense Hessian)");
  CHECK(std::string(errorOf([&] { cg->step(x, closure, optim::Curvature()); }).what()) ==
        "newton-cg needs Hessian-vector products: its curvature has no hvp, sparse or dense "
        "Hessian closure");
  CHECK(cg->last().steps == 0);
  // A Hessian that is not finite is refused rather than turned into a step.
  auto slope = [](std::span<const double>, std::span<double> g) {
    g[0] = 1;
    g[1] = 0;
    return 0.0;
  };
  auto nanHessian = [](std::span<const double>, std::span<double> h) {
    std::fill(h.begin(), h.end(), std::nan(""));
  };
  CHECK(std::string(errorOf([&] { newton->step(x, slope, nanHessian); }).what()) ==
        "newton: the Hessian at the current parameters has a non-finite entry (nan at row 0, "
        "column 0)");
  CHECK(x == std::vector<double>{0, 0});
}
