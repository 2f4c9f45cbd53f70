// The optimizers and their hyperparameters: the one table that make(), options(), defaults(),
// `nabla fit`'s options and help, and its checkpoints' settings read. Each optimizer lists its
// options in the order of torch's constructor arguments with torch's defaults (2.x); an option
// set in Hyper that the chosen optimizer lacks is an error naming the optimizer and its options
// (torch would raise a TypeError for the unexpected keyword). The factories get every option set
// and validate the values.
#include "optim/optimizer.h"

#include <algorithm>
#include <climits>
#include <type_traits>

namespace nabla::optim {
namespace {

#define NABLA_FIELD(name) #name, &Hyper::name
constexpr HyperInfo kHyperparameters[] = {
    {NABLA_FIELD(lr), "LR", "learning rate"},
    {NABLA_FIELD(momentum), "M", "momentum factor"},
    {NABLA_FIELD(dampening), "D", "dampening of the momentum"},
    {NABLA_FIELD(nesterov), "", "Nesterov momentum"},
    {NABLA_FIELD(weight_decay), "W", "L2 penalty; adamw's decays the params apart"},
    {NABLA_FIELD(lr_decay), "D", "learning rate decay"},
    {NABLA_FIELD(initial_accumulator_value), "V", "starting value of the sum of squares"},
    {NABLA_FIELD(eps), "E", "term added to the denominator"},
    {NABLA_FIELD(alpha), "A", "smoothing constant"},
    {NABLA_FIELD(centered), "", "normalize by the estimated variance of the gradient"},
    {NABLA_FIELD(rho), "R", "coefficient of the running averages"},
    {NABLA_FIELD(betas), "B1,B2", "coefficients of the running averages, e.g. 0.9,0.999"},
    {NABLA_FIELD(amsgrad), "", "AMSGrad: the maximum of the second moments"},
    {NABLA_FIELD(momentum_decay), "D", "momentum decay"},
    {NABLA_FIELD(max_iter), "N", "inner iterations per step"},
    {NABLA_FIELD(max_eval), "N", "evaluations per step; lbfgs's default is max_iter * 5 / 4"},
    {NABLA_FIELD(tolerance_grad), "G", "a step stops once max |gradient| is within it"},
    {NABLA_FIELD(tolerance_change), "C", "a step stops once the loss or params change less"},
    {NABLA_FIELD(history_size), "N", "pairs kept for the inverse Hessian"},
    {NABLA_FIELD(line_search), "NAME", "none or strong_wolfe"},
    {NABLA_FIELD(trust_radius), "R", "initial trust-region radius"},
    {NABLA_FIELD(max_trust_radius), "R", "largest trust-region radius"},
    {NABLA_FIELD(eta), "E", "least actual/predicted decrease of a step taken"},
};
#undef NABLA_FIELD

/// A default that torch computes from the options before it (L-BFGS's max_eval).
struct Computed {
  void (*set)(Hyper &);
};

using DefaultValue =
    std::variant<Computed, double, int, bool, std::array<double, 2>, std::string_view>;

/// torch's default of one option, of the option's type (a number is 0.0, not 0: a typo in the
/// table does not compile).
struct Default {
  HyperField field;
  DefaultValue value;

  template <class T, class V>
  consteval Default(std::optional<T> Hyper::*f, V v) : field(f), value(of<T>(v)) {}

private:
  template <class T, class V> static consteval DefaultValue of(V v) {
    if constexpr (std::is_same_v<V, Computed>)
      return v;
    else if constexpr (std::is_same_v<T, std::string>)
      return std::string_view(v);
    else {
      static_assert(std::is_same_v<T, V>, "a default has the type of its option");
      return v;
    }
  }
};

/// torch's max_eval = max_iter * 5 // 4.
void maxEvalOfMaxIter(Hyper &h) {
  h.max_eval = static_cast<int>(
      std::min<long long>(INT_MAX, static_cast<long long>(h.max_iter.value()) * 5 / 4));
}

// torch.optim's constructors, their arguments in order (less params, maximize, foreach,
// capturable, differentiable, fused; line_search_fn as line_search), and Newton's own; lbfgs-mt
// and newton-cg take SciPy's defaults (L-BFGS-B, trust-ncg).
constexpr Default kSgd[] = {
    {&Hyper::lr, 1e-3},
    {&Hyper::momentum, 0.0},
    {&Hyper::dampening, 0.0},
    {&Hyper::weight_decay, 0.0},
    {&Hyper::nesterov, false},
};
constexpr Default kAdagrad[] = {
    {&Hyper::lr, 1e-2},
    {&Hyper::lr_decay, 0.0},
    {&Hyper::weight_decay, 0.0},
    {&Hyper::initial_accumulator_value, 0.0},
    {&Hyper::eps, 1e-10},
};
constexpr Default kRmsprop[] = {
    {&Hyper::lr, 1e-2},
    {&Hyper::alpha, 0.99},
    {&Hyper::eps, 1e-8},
    {&Hyper::weight_decay, 0.0},
    {&Hyper::momentum, 0.0},
    {&Hyper::centered, false},
};
constexpr Default kAdadelta[] = {
    {&Hyper::lr, 1.0},
    {&Hyper::rho, 0.9},
    {&Hyper::eps, 1e-6},
    {&Hyper::weight_decay, 0.0},
};
constexpr Default kAdam[] = {
    {&Hyper::lr, 1e-3},
    {&Hyper::betas, std::array{0.9, 0.999}},
    {&Hyper::eps, 1e-8},
    {&Hyper::weight_decay, 0.0},
    {&Hyper::amsgrad, false},
};
constexpr Default kNadam[] = {
    {&Hyper::lr, 2e-3},
    {&Hyper::betas, std::array{0.9, 0.999}},
    {&Hyper::eps, 1e-8},
    {&Hyper::weight_decay, 0.0},
    {&Hyper::momentum_decay, 4e-3},
};
constexpr Default kAdamw[] = {
    {&Hyper::lr, 1e-3},
    {&Hyper::betas, std::array{0.9, 0.999}},
    {&Hyper::eps, 1e-8},
    {&Hyper::weight_decay, 1e-2},
    {&Hyper::amsgrad, false},
};
constexpr Default kLbfgs[] = {
    {&Hyper::lr, 1.0},
    {&Hyper::max_iter, 20},
    {&Hyper::max_eval, Computed{maxEvalOfMaxIter}},
    {&Hyper::tolerance_grad, 1e-7},
    {&Hyper::tolerance_change, 1e-9},
    {&Hyper::history_size, 100},
    {&Hyper::line_search, "none"},
};
// SciPy's L-BFGS-B without bounds: pgtol 1e-5, factr 1e7 times the machine epsilon, maxcor 10,
// maxiter and maxfun 15000 (one step is one scipy.optimize.minimize call).
constexpr Default kLbfgsMt[] = {
    {&Hyper::lr, 1.0},
    {&Hyper::max_iter, 15000},
    {&Hyper::max_eval, 15000},
    {&Hyper::tolerance_grad, 1e-5},
    {&Hyper::tolerance_change, 1e7 * 2.220446049250313e-16},
    {&Hyper::history_size, 10},
};
constexpr Default kNewton[] = {
    {&Hyper::lr, 1.0},
    {&Hyper::max_iter, 1},
    {&Hyper::tolerance_grad, 1e-7},
    {&Hyper::line_search, "strong_wolfe"},
};
// SciPy's trust-ncg: initial_trust_radius 1, max_trust_radius 1000, eta 0.15; Newton's
// max_iter and tolerance_grad.
constexpr Default kNewtonCg[] = {
    {&Hyper::max_iter, 1},
    {&Hyper::tolerance_grad, 1e-7},
    {&Hyper::trust_radius, 1.0},
    {&Hyper::max_trust_radius, 1000.0},
    {&Hyper::eta, 0.15},
};

struct Entry {
  std::string_view name;
  std::span<const Default> options;
  std::unique_ptr<Optimizer> (*make)(std::size_t, const Hyper &);
};

constexpr Entry kOptimizers[] = {
    {"sgd", kSgd, detail::makeSgd},
    {"adagrad", kAdagrad, detail::makeAdagrad},
    {"rmsprop", kRmsprop, detail::makeRmsprop},
    {"adadelta", kAdadelta, detail::makeAdadelta},
    {"adam", kAdam, detail::makeAdam},
    {"nadam", kNadam, detail::makeNadam},
    {"adamw", kAdamw, detail::makeAdamw},
    {"lbfgs", kLbfgs, detail::makeLbfgs},
    {"lbfgs-mt", kLbfgsMt, detail::makeLbfgsMt},
    {"newton", kNewton, detail::makeNewton},
    {"newton-cg", kNewtonCg, detail::makeNewtonCg},
};

/// Every option of every optimizer is a row of kHyperparameters, once per optimizer.
consteval bool optionsAreHyperparameters() {
  for (const Entry &e : kOptimizers)
    for (std::size_t i = 0; i < e.options.size(); ++i) {
      if (std::none_of(std::begin(kHyperparameters), std::end(kHyperparameters),
                       [&](const HyperInfo &p) { return p.field == e.options[i].field; }))
        return false;
      for (std::size_t j = 0; j < i; ++j)
        if (e.options[j].field == e.options[i].field)
          return false;
    }
  return true;
}
static_assert(optionsAreHyperparameters());

bool isSet(const Hyper &h, const HyperField &field) {
  return std::visit([&](auto f) { return (h.*f).has_value(); }, field);
}

const HyperInfo &infoOf(const HyperField &field) {
  return *std::find_if(std::begin(kHyperparameters), std::end(kHyperparameters),
                       [&](const HyperInfo &p) { return p.field == field; });
}

/// Sets the option to its default; a computed one from the options before it, already set.
void setDefault(Hyper &h, const Default &d) {
  std::visit(
      [&](auto f, const auto &value) {
        using T = typename std::remove_reference_t<decltype(h.*f)>::value_type;
        using V = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<V, Computed>)
          value.set(h);
        else if constexpr (std::is_same_v<T, V> ||
                           (std::is_same_v<T, std::string> && std::is_same_v<V, std::string_view>))
          h.*f = T(value);
      },
      d.field, d.value);
}

std::string joined(const std::vector<std::string_view> &items) {
  std::string out;
  for (std::string_view item : items) {
    if (!out.empty())
      out += ", ";
    out += item;
  }
  return out;
}

const Entry &entry(std::string_view name) {
  auto it = std::find_if(std::begin(kOptimizers), std::end(kOptimizers),
                         [&](const Entry &e) { return e.name == name; });
  if (it == std::end(kOptimizers)) {
    std::vector<std::string_view> all;
    for (const Entry &e : kOptimizers)
      all.push_back(e.name);
    detail::fail("unknown optimizer '" + std::string(name) + "'; the optimizers are " +
                 joined(all));
  }
  return *it;
}

std::vector<std::string_view> optionNames(const Entry &e) {
  std::vector<std::string_view> out;
  for (const Default &d : e.options)
    out.push_back(infoOf(d.field).name);
  return out;
}

} // namespace

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const Entry &e : kOptimizers)
    out.emplace_back(e.name);
  return out;
}

std::span<const HyperInfo> hyperparameters() { return kHyperparameters; }

std::vector<std::string_view> options(std::string_view optimizer) {
  return optionNames(entry(optimizer));
}

Hyper defaults(std::string_view optimizer) {
  Hyper h;
  for (const Default &d : entry(optimizer).options)
    setDefault(h, d);
  return h;
}

std::unique_ptr<Optimizer> make(std::string_view name, std::size_t size, const Hyper &hyper) {
  const Entry &e = entry(name);
  std::vector<std::string_view> unknown;
  for (const HyperInfo &p : kHyperparameters)
    if (isSet(hyper, p.field) && std::none_of(e.options.begin(), e.options.end(),
                                              [&](const Default &d) { return d.field == p.field; }))
      unknown.push_back(p.name);
  if (!unknown.empty())
    detail::fail(std::string(name) + " has no option" + (unknown.size() > 1 ? "s " : " ") +
                 joined(unknown) + "; its options are " + joined(optionNames(e)));
  Hyper full = hyper;
  for (const Default &d : e.options)
    if (!isSet(full, d.field))
      setDefault(full, d);
  return e.make(size, full);
}

} // namespace nabla::optim
