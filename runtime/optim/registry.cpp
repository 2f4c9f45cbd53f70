// make() and names(): the optimizers by name, and the options each one has. An option set in
// Hyper that the chosen optimizer lacks is an error naming the optimizer and its options (torch
// would raise a TypeError for the unexpected keyword).
#include "optim/optimizer.h"

#include <algorithm>

namespace nabla::optim {
namespace {

struct OptionName {
  std::string_view name;
  bool (*isSet)(const Hyper &);
};

#define NABLA_OPTION(field) {#field, [](const Hyper &h) { return h.field.has_value(); }}
const OptionName kOptions[] = {
    NABLA_OPTION(lr),           NABLA_OPTION(momentum),
    NABLA_OPTION(dampening),    NABLA_OPTION(nesterov),
    NABLA_OPTION(weight_decay), NABLA_OPTION(lr_decay),
    NABLA_OPTION(initial_accumulator_value), NABLA_OPTION(eps),
    NABLA_OPTION(alpha),        NABLA_OPTION(centered),
    NABLA_OPTION(rho),          NABLA_OPTION(betas),
    NABLA_OPTION(amsgrad),      NABLA_OPTION(momentum_decay),
    NABLA_OPTION(max_iter),     NABLA_OPTION(max_eval),
    NABLA_OPTION(tolerance_grad), NABLA_OPTION(tolerance_change),
    NABLA_OPTION(history_size), NABLA_OPTION(line_search),
};
#undef NABLA_OPTION

struct Entry {
  std::string_view name;
  std::vector<std::string_view> options;  // in torch's constructor order
  std::unique_ptr<Optimizer> (*make)(std::size_t, const Hyper &);
};

const std::vector<Entry> &registry() {
  static const std::vector<Entry> kEntries = {
      {"sgd", {"lr", "momentum", "dampening", "weight_decay", "nesterov"}, detail::makeSgd},
      {"adagrad", {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"},
       detail::makeAdagrad},
      {"rmsprop", {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"},
       detail::makeRmsprop},
      {"adadelta", {"lr", "rho", "eps", "weight_decay"}, detail::makeAdadelta},
      {"adam", {"lr", "betas", "eps", "weight_decay", "amsgrad"}, detail::makeAdam},
      {"nadam", {"lr", "betas", "eps", "weight_decay", "momentum_decay"}, detail::makeNadam},
      {"adamw", {"lr", "betas", "eps", "weight_decay", "amsgrad"}, detail::makeAdamw},
      {"lbfgs",
       {"lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size",
        "line_search"},
       detail::makeLbfgs},
      {"newton", {"lr", "max_iter", "tolerance_grad", "line_search"}, detail::makeNewton},
  };
  return kEntries;
}

std::string joined(const std::vector<std::string_view> &items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const Entry &e : registry()) out.emplace_back(e.name);
  return out;
}

std::unique_ptr<Optimizer> make(std::string_view name, std::size_t size, const Hyper &hyper) {
  const auto &entries = registry();
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry &e) { return e.name == name; });
  if (it == entries.end()) {
    std::vector<std::string_view> all;
    for (const Entry &e : entries) all.push_back(e.name);
    detail::fail("unknown optimizer '" + std::string(name) + "'; the optimizers are " + joined(all));
  }
  std::vector<std::string_view> unknown;
  for (const OptionName &option : kOptions)
    if (option.isSet(hyper) &&
        std::find(it->options.begin(), it->options.end(), option.name) == it->options.end())
      unknown.push_back(option.name);
  if (!unknown.empty())
    detail::fail(std::string(name) + " has no option" + (unknown.size() > 1 ? "s " : " ") +
                 joined(unknown) + "; its options are " + joined(it->options));
  return it->make(size, hyper);
}

}  // namespace nabla::optim
