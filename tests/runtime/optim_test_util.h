// Helpers for the optimizer tests: errors, the trajectory tolerance, and objectives written out in
// plain C++ (with hand-derived gradients and Hessians), independent of the compiler.
#pragma once

#include <nabla/optim.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace nabla::optimtest {

template <class F>
nabla::Error errorOf(F &&call) {
  try {
    call();
  } catch (const nabla::Error &e) {
    return e;
  }
  FAIL("the call must throw nabla::Error");
  throw std::logic_error("unreachable");
}

/// The reference README's rule for trajectories: |got - ref| <= 1e-9 * max(1, |ref|).
inline bool close(double got, double ref) {
  return std::abs(got - ref) <= 1e-9 * std::max(1.0, std::abs(ref));
}

/// The chained Rosenbrock function sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, with gradient
/// and Hessian by hand.
struct Rosenbrock {
  static double value(std::span<const double> x, std::span<double> g) {
    std::fill(g.begin(), g.end(), 0.0);
    double f = 0;
    for (std::size_t i = 0; i + 1 < x.size(); ++i) {
      const double a = x[i + 1] - x[i] * x[i], b = 1 - x[i];
      f += 100 * a * a + b * b;
      g[i] += -400 * a * x[i] - 2 * b;
      g[i + 1] += 200 * a;
    }
    return f;
  }
  static void hessian(std::span<const double> x, std::span<double> h) {
    const std::size_t n = x.size();
    std::fill(h.begin(), h.end(), 0.0);
    for (std::size_t i = 0; i + 1 < n; ++i) {
      h[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
      h[(i + 1) * n + i + 1] += 200;
      h[i * n + i + 1] += -400 * x[i];
      h[(i + 1) * n + i] += -400 * x[i];
    }
  }
  /// (-1.2, 1, -1.2, 1, ...)
  static std::vector<double> start(std::size_t n) {
    std::vector<double> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = i % 2 == 0 ? -1.2 : 1.0;
    return x;
  }
};

/// torch.optim's constructors as its documentation (2.x) writes them, less params, maximize,
/// foreach, capturable, differentiable and fused; Newton's own; lbfgs-mt's and newton-cg's,
/// SciPy's defaults (L-BFGS-B: tolerance_change is factr 1e7 times the machine epsilon; trust-ncg)
/// under these names. newton-cg has no lr.
inline const std::map<std::string, std::string> kTorchSignatures = {
    {"sgd", "lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False"},
    {"adagrad", "lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10"},
    {"rmsprop", "lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=False"},
    {"adadelta", "lr=1.0, rho=0.9, eps=1e-06, weight_decay=0"},
    {"adam", "lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False"},
    {"nadam", "lr=0.002, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, momentum_decay=0.004"},
    {"adamw", "lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False"},
    {"lbfgs", "lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-07, tolerance_change=1e-09, "
              "history_size=100, line_search_fn=None"},
    {"lbfgs-mt", "lr=1, max_iter=15000, max_eval=15000, tolerance_grad=1e-05, "
                 "tolerance_change=2.220446049250313e-09, history_size=10"},
    {"newton", "lr=1, max_iter=1, tolerance_grad=1e-07, line_search='strong_wolfe'"},
    {"newton-cg", "max_iter=1, tolerance_grad=1e-07, trust_radius=1, max_trust_radius=1000, "
                  "eta=0.15"},
};

/// The arguments of a signature, `name=value, ...`, as (name, value text).
inline std::vector<std::pair<std::string, std::string>> arguments(const std::string &signature) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start < signature.size()) {
    std::size_t end = start;
    for (int depth = 0; end < signature.size() && (depth > 0 || signature[end] != ','); ++end)
      depth += signature[end] == '(' ? 1 : signature[end] == ')' ? -1 : 0;
    const std::string item = signature.substr(start, end - start);
    const std::size_t eq = item.find('=');
    REQUIRE(eq != std::string::npos);
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    start = std::min(signature.size(), end + 2);  // past ", "
  }
  return out;
}

/// Sets the hyperparameter `name` of `h` from Python's text of its value: a number, True or
/// False, a pair (b1, b2), a quoted string or None (line_search_fn's: "none").
inline void setArgument(nabla::optim::Hyper &h, const std::string &name, const std::string &text) {
  const std::string key = name == "line_search_fn" ? "line_search" : name;
  for (const nabla::optim::HyperInfo &p : nabla::optim::hyperparameters()) {
    if (p.name != key) continue;
    struct Read {
      const std::string &text;
      void operator()(std::optional<double> &v) const { v = std::stod(text); }
      void operator()(std::optional<int> &v) const { v = std::stoi(text); }
      void operator()(std::optional<bool> &v) const {
        REQUIRE((text == "True" || text == "False"));
        v = text == "True";
      }
      void operator()(std::optional<std::array<double, 2>> &v) const {
        REQUIRE((text.front() == '(' && text.back() == ')'));
        const std::size_t comma = text.find(',');
        v = std::array<double, 2>{std::stod(text.substr(1, comma - 1)),
                                  std::stod(text.substr(comma + 1))};
      }
      void operator()(std::optional<std::string> &v) const {
        v = text == "None" ? "none" : text.substr(1, text.size() - 2);
      }
    };
    std::visit([&](auto field) { Read{text}(h.*field); }, p.field);
    return;
  }
  FAIL("no hyperparameter '" << key << "'");
}

/// The Hyper of a signature's arguments.
inline nabla::optim::Hyper hyperOf(const std::string &signature) {
  nabla::optim::Hyper h;
  for (const auto &[name, text] : arguments(signature)) setArgument(h, name, text);
  return h;
}

/// A torch constructor: its arguments in order (line_search_fn as line_search) and their
/// defaults, with LBFGS's max_eval=None as torch computes it, max_iter * 5 // 4.
struct TorchConstructor {
  std::vector<std::string> arguments;
  nabla::optim::Hyper defaults;
};
inline TorchConstructor torchConstructor(const std::string &optimizer) {
  TorchConstructor c;
  for (const auto &[name, text] : arguments(kTorchSignatures.at(optimizer))) {
    c.arguments.push_back(name == "line_search_fn" ? "line_search" : name);
    if (name == "max_eval" && text == "None")
      c.defaults.max_eval = c.defaults.max_iter.value() * 5 / 4;
    else
      setArgument(c.defaults, name, text);
  }
  return c;
}

/// A valid value of each hyperparameter other than every optimizer's default (line_search:
/// the other one).
inline std::string otherValue(const std::string &optimizer, const std::string &option) {
  static const std::map<std::string, std::string> kOther = [] {
    std::map<std::string, std::string> out;
    for (const auto &[name, text] : arguments(
             "lr=0.0005, momentum=0.5, dampening=0.25, nesterov=True, weight_decay=0.125, "
             "lr_decay=0.5, initial_accumulator_value=2, eps=0.5, alpha=0.5, centered=True, "
             "rho=0.5, betas=(0.5, 0.75), amsgrad=True, momentum_decay=0.5, max_iter=3, "
             "max_eval=2, tolerance_grad=10, tolerance_change=0.01, history_size=1, "
             "trust_radius=0.5, max_trust_radius=1.5, eta=0.2"))
      out[name] = text;
    return out;
  }();
  if (option == "line_search")
    return torchConstructor(optimizer).defaults.line_search == "none" ? "'strong_wolfe'" : "'none'";
  auto it = kOther.find(option);
  if (it == kOther.end()) FAIL("no other value for '" << option << "'");
  return it->second;
}

/// What an option needs to make a difference on HuberBowl, as arguments: Nesterov momentum and
/// dampening a momentum, AMSGrad a second moment that falls (a short memory); the Adam family
/// long steps, as its first steps are about lr long whatever the gradient; a line search a first
/// step too short for it to take (there, the full step meets the strong Wolfe conditions);
/// newton-cg's eta a larger first radius (from the default radius, 1, eta=0.2 changes no step).
inline std::string prerequisites(const std::string &optimizer, const std::string &option) {
  std::string out;
  auto add = [&](const std::string &argument) { out += (out.empty() ? "" : ", ") + argument; };
  if (option == "nesterov" || option == "dampening") add("momentum=0.5");
  if (option == "amsgrad") add("betas=(0.9, 0.5)");
  if ((optimizer == "adam" || optimizer == "nadam" || optimizer == "adamw") && option != "lr")
    add("lr=0.5");
  if (option == "line_search") add("lr=0.05");
  if (optimizer == "newton-cg" && option == "eta") add("trust_radius=4");
  return out;
}

/// sqrt(1 + (a - 1)^2) + sqrt(1 + (b + 2)^2) + (c - a/2)^2, with gradient and Hessian by hand:
/// convex, nearly linear far from its minimum (1, -2, 0.5), where Newton's full step overshoots.
struct HuberBowl {
  static double value(std::span<const double> x, std::span<double> g) {
    const double u = x[0] - 1, v = x[1] + 2, w = x[2] - x[0] / 2;
    const double su = std::sqrt(1 + u * u), sv = std::sqrt(1 + v * v);
    g[0] = u / su - w;
    g[1] = v / sv;
    g[2] = 2 * w;
    return su + sv + w * w;
  }
  static void hessian(std::span<const double> x, std::span<double> h) {
    const double u = x[0] - 1, v = x[1] + 2;
    const double su = std::sqrt(1 + u * u), sv = std::sqrt(1 + v * v);
    std::fill(h.begin(), h.end(), 0.0);
    h[0] = 1 / (su * su * su) + 0.5;
    h[2] = h[6] = -1;
    h[4] = 1 / (sv * sv * sv);
    h[8] = 2;
  }
  /// The function as nabla text, with the start (2, 1, 0) as its params' values.
  static constexpr const char *kText =
      "param a = 2\n"
      "param b = 1\n"
      "param c = 0\n"
      "minimize sqrt(1 + (a - 1)^2) + sqrt(1 + (b + 2)^2) + (c - a/2)^2\n";
  static std::vector<double> start() { return {2, 1, 0}; }
};

}  // namespace nabla::optimtest
