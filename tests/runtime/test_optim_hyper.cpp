// The hyperparameter table (nabla::optim::hyperparameters(), options(), defaults()) against
// torch.optim's constructors as its documentation writes them (2.x, optimtest::kTorchSignatures);
// and make() against the table: each optimizer takes exactly the options the table gives it, each
// value reaches the optimizer, and an unset option behaves as its default.
#include "optim_test_util.h"

#include <set>

using namespace nabla::optimtest;
namespace optim = nabla::optim;

namespace {

/// The parameters after each of four steps on HuberBowl.
std::vector<double> run(const std::string &name, const optim::Hyper &h) {
  std::vector<double> x = HuberBowl::start(), all;
  auto opt = optim::make(name, x.size(), h);
  for (int k = 0; k < 4; ++k) {
    opt->step(x, HuberBowl::value, HuberBowl::hessian);
    all.insert(all.end(), x.begin(), x.end());
  }
  for (double v : all)
    REQUIRE(std::isfinite(v));
  return all;
}

} // namespace

TEST_CASE("the hyperparameter table holds torch's options and defaults", "[optim][hyper]") {
  std::set<std::string> names;
  for (const auto &[optimizer, signature] : kTorchSignatures) {
    INFO(optimizer << "(" << signature << ")");
    const TorchConstructor torch = torchConstructor(optimizer);
    std::vector<std::string> got;
    for (std::string_view o : optim::options(optimizer))
      got.emplace_back(o);
    CHECK(got == torch.arguments); // in the order of torch's constructor
    names.insert(got.begin(), got.end());
    // Each option at torch's default, nothing else set.
    const optim::Hyper d = optim::defaults(optimizer);
    for (const optim::HyperInfo &p : optim::hyperparameters()) {
      INFO(p.name);
      std::visit([&](auto field) { CHECK(d.*field == torch.defaults.*field); }, p.field);
    }
  }
  CHECK(optim::names().size() == kTorchSignatures.size());
  // The table has each hyperparameter once, and each belongs to an optimizer.
  std::set<std::string> table;
  for (const optim::HyperInfo &p : optim::hyperparameters()) {
    CHECK(table.insert(std::string(p.name)).second);
    CHECK_FALSE(p.help.empty());
    CHECK(p.placeholder.empty() ==
          std::holds_alternative<std::optional<bool> optim::Hyper::*>(p.field));
  }
  CHECK(table == names);
  CHECK(table.size() == 23);

  const nabla::Error e = errorOf([] { optim::options("adm"); });
  CHECK(std::string(e.what()) == "unknown optimizer 'adm'; the optimizers are sgd, adagrad, "
                                 "rmsprop, adadelta, adam, nadam, adamw, lbfgs, lbfgs-mt, newton, "
                                 "newton-cg");
  errorOf([] { optim::defaults("Adam"); });
}

TEST_CASE("make() takes the options of the table, and an unset one is its default",
          "[optim][hyper]") {
  for (const std::string &name : optim::names()) {
    const std::vector<std::string_view> options = optim::options(name);
    std::string list;
    for (std::string_view o : options)
      list += (list.empty() ? "" : ", ") + std::string(o);
    const optim::Hyper d = optim::defaults(name);
    CHECK(run(name, d) == run(name, {}));
    for (const optim::HyperInfo &p : optim::hyperparameters()) {
      const std::string option(p.name);
      INFO(name << " with " << option);
      optim::Hyper other;
      setArgument(other, option, otherValue(name, option));
      if (std::find(options.begin(), options.end(), p.name) == options.end()) {
        const nabla::Error e = errorOf([&] { optim::make(name, 3, other); });
        CHECK(std::string(e.what()) ==
              name + " has no option " + option + "; its options are " + list);
        continue;
      }
      // The value reaches the optimizer: with it the iterates differ from the default's.
      const optim::Hyper base = hyperOf(prerequisites(name, option));
      optim::Hyper h = base;
      setArgument(h, option, otherValue(name, option));
      CHECK(run(name, h) != run(name, base));
      // The default given is the default: the iterates are the same.
      optim::Hyper same = base;
      std::visit([&](auto field) { same.*field = d.*field; }, p.field);
      CHECK(run(name, same) == run(name, base));
    }
  }
}
