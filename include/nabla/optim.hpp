// nabla's optimizers: torch.optim's update rules and defaults (2.x), L-BFGS with torch's strong Wolfe
// line search, and Newton's method with a Hessian, behind one interface that any C++ objective can
// use (a nabla::Objective, a nabla::Function, or plain C++ code).
//
//   nabla::optim::Hyper h;
//   h.lr = 0.05;
//   auto opt = nabla::optim::make("adam", params.size(), h);   // throws nabla::Error on a bad name
//   for (int k = 0; k < 200; ++k)
//     opt->step(params, [&](std::span<const double> x, std::span<double> g) {
//       return objective.batch(x, n, columns, g);                 // the loss; writes the gradient
//     });
//
// One step() is one call of torch's `optimizer.step(closure)`: gradient methods call the closure
// once; L-BFGS up to max_eval times; Newton once plus its line search. The header needs only the
// C++20 standard library and nabla.hpp (for nabla::Error).
#pragma once

#include "nabla/export.h"
#include "nabla/nabla.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nabla::optim {

/// The loss at `x` (what is minimized); writes its gradient to `grad` (x.size() entries).
using Closure = std::function<double(std::span<const double> x, std::span<double> grad)>;
/// The Hessian at `x`, row-major, x.size() x x.size() (Newton only).
using HessianClosure = std::function<void(std::span<const double> x, std::span<double> hess)>;
/// The Hessian-vector product H(x) v into `out` (x.size() entries each): newton-cg.
using HvpClosure = std::function<void(std::span<const double> x, std::span<const double> v,
                                      std::span<double> out)>;

/// A Hessian's structural nonzeros (nabla.hpp): what Objective::hessian_sparsity() returns.
using SparsePattern = nabla::SparsePattern;
/// The Hessian's values at `x` in a SparsePattern's order (pattern.nonzeros() entries).
using SparseHessianClosure =
    std::function<void(std::span<const double> x, std::span<double> values)>;

/// What a second-order method may use besides the gradient; a caller sets what its objective
/// offers. newton takes `sparse` (with `pattern`) when set, else `dense`; newton-cg takes `hvp`.
/// First-order methods and lbfgs ignore all of it.
struct Curvature {
  HessianClosure dense;
  std::shared_ptr<const SparsePattern> pattern;
  SparseHessianClosure sparse;
  HvpClosure hvp;
};

/// Hyperparameters under torch.optim's names. Unset ones take the chosen optimizer's torch
/// default; setting one the optimizer does not have is an error (Error::Kind::Argument) that names
/// the optimizer and the options it has.
struct Hyper {
  std::optional<double> lr;
  // sgd
  std::optional<double> momentum;  // also rmsprop
  std::optional<double> dampening;
  std::optional<bool> nesterov;
  // all but lbfgs and newton
  std::optional<double> weight_decay;
  // adagrad
  std::optional<double> lr_decay;
  std::optional<double> initial_accumulator_value;
  // adagrad, rmsprop, adadelta, adam, nadam, adamw
  std::optional<double> eps;
  // rmsprop
  std::optional<double> alpha;
  std::optional<bool> centered;
  // adadelta
  std::optional<double> rho;
  // adam, nadam, adamw
  std::optional<std::array<double, 2>> betas;
  std::optional<bool> amsgrad;  // adam, adamw
  std::optional<double> momentum_decay;  // nadam
  // lbfgs and lbfgs-mt (newton: max_iter, tolerance_grad, line_search; newton-cg: max_iter,
  // tolerance_grad)
  std::optional<int> max_iter;
  std::optional<int> max_eval;
  std::optional<double> tolerance_grad;
  std::optional<double> tolerance_change;
  std::optional<int> history_size;
  std::optional<std::string> line_search;  // "none" or "strong_wolfe"
  // newton-cg (SciPy's trust-ncg)
  std::optional<double> trust_radius;      // the initial trust radius
  std::optional<double> max_trust_radius;  // the radius never grows beyond it
  std::optional<double> eta;               // a step is taken when rho > eta, in [0, 0.25)
};

/// Where a hyperparameter lives in Hyper, by the type of its value: a number, a count, a flag,
/// the pair betas, a name (line_search).
using HyperField = std::variant<std::optional<double> Hyper::*, std::optional<int> Hyper::*,
                                std::optional<bool> Hyper::*,
                                std::optional<std::array<double, 2>> Hyper::*,
                                std::optional<std::string> Hyper::*>;

/// One hyperparameter of the table that make(), options(), defaults(), `nabla fit`'s options and
/// its checkpoints read (runtime/optim/registry.cpp).
struct HyperInfo {
  std::string_view name;         // torch's keyword (line_search is torch's line_search_fn)
  HyperField field;
  std::string_view placeholder;  // its value in usage text ("LR", "B1,B2"); empty for a flag
  std::string_view help;         // what it does, in a few words
};

/// What the last step() saw, for logs: the loss and the norm of the raw gradient (before weight
/// decay) at the parameters before the step, and cumulative counts since the optimizer was made
/// (set_state() restores them with the rest of the state, so a resumed run counts on): closure
/// evaluations, inner iterations (L-BFGS's and Newton's; one per step for the others), steps.
struct StepInfo {
  double loss = 0;
  double grad_norm = 0;
  std::size_t evaluations = 0;
  std::size_t iterations = 0;
  std::size_t steps = 0;
};

/// Everything step() depends on besides the parameters, exactly (buffers, counters, L-BFGS
/// history): a checkpoint that saves it bit for bit and restores it resumes the same trajectory.
using State = std::map<std::string, std::vector<double>>;

class NABLA_API Optimizer {
public:
  virtual ~Optimizer();
  Optimizer(const Optimizer &) = delete;
  Optimizer &operator=(const Optimizer &) = delete;

  /// "sgd", "adam", ... (the name make() took).
  virtual std::string_view name() const = 0;
  /// Number of parameters (scalars) it was made for.
  std::size_t size() const { return size_; }

  /// One step: updates `params` (size() entries) in place and returns the loss the step computed
  /// its first gradient from (torch's `step(closure)` value). Throws Error::Kind::Argument when
  /// params has the wrong size, or when the Newton step needs a Hessian closure it was not given.
  virtual double step(std::span<double> params, const Closure &closure) = 0;
  /// Newton: with the Hessian. Other optimizers ignore `hessian`.
  double step(std::span<double> params, const Closure &closure, const HessianClosure &hessian) {
    Curvature c;
    c.dense = hessian;
    return step(params, closure, c);
  }
  /// Second-order methods (newton, newton-cg): with what `curvature` offers. Throws
  /// Error::Kind::Argument when it lacks what the method needs. Other optimizers ignore it.
  virtual double step(std::span<double> params, const Closure &closure,
                      const Curvature & /*curvature*/) {
    return step(params, closure);
  }

  /// The learning rate of the next step (torch's param_groups[0]["lr"]); schedules change it.
  double lr() const { return lr_; }
  void set_lr(double lr) { lr_ = lr; }

  const StepInfo &last() const { return last_; }

  virtual State state() const = 0;
  /// Throws Error::Kind::Argument when the state does not belong to this optimizer and size.
  virtual void set_state(const State &state) = 0;

protected:
  Optimizer(std::size_t size, double lr) : size_(size), lr_(lr) {}
  std::size_t size_;
  double lr_;
  StepInfo last_;
};

/// When a run of steps should stop early, whatever the optimizer: observe() after every step.
///
///   NoProgress  `patience` steps in a row made no progress: the step changed no parameter (every
///               entry the same double), or its loss equals the previous step's exactly. Rounding
///               has stopped the optimizer (Newton short of its tolerance, a learning rate too small
///               to move any parameter); more steps would repeat the same evaluation.
///   Diverged    the loss is NaN or infinite, or has grown above start + growth * max(|start|, 1),
///               start being the loss of the first step observed (L-BFGS without a line search,
///               a learning rate too large). The parameters are no longer worth keeping.
///
///   nabla::optim::StopRule rule;
///   while (...) {
///     std::vector<double> before(params.begin(), params.end());
///     double loss = opt->step(params, closure);
///     if (rule.observe(loss, before, params) != nabla::optim::StopReason::None) {
///       std::cerr << rule.message() << "\n";   // "no progress in the last 10 steps: ..."
///       break;
///     }
///   }
///
/// `nabla fit` uses this class (its --patience sets patience); the loss it observes is the
/// objective as minimized (the negated one for `maximize`).
enum class StopReason { None, NoProgress, Diverged };

class NABLA_API StopRule {
public:
  struct Options {
    std::size_t patience = 10;  // steps without progress before NoProgress; 0: never
    double growth = 1e10;       // Diverged above start + growth * max(|start|, 1); inf: never
  };
  StopRule() : StopRule(Options{}) {}
  explicit StopRule(Options options);

  /// After one step: the loss it returned (at the parameters `before` it), the parameters before
  /// and after it. Returns reason(); once it is not None it stays so.
  StopReason observe(double loss, std::span<const double> before, std::span<const double> after);
  StopReason reason() const { return reason_; }
  /// Why, in words, naming the numbers ("the loss grew from 24.2 to 4.1e+26, more than 1e+10 times
  /// its start"); empty while reason() is None.
  const std::string &message() const { return message_; }
  /// Starts over, as for a run resumed at a step whose loss was `start` (the first step's) and
  /// `previous` (the last one's); the count of steps without progress starts from 0.
  void resume(double start, double previous);

private:
  Options options_;
  StopReason reason_ = StopReason::None;
  std::string message_;
  std::size_t observed_ = 0, stalled_ = 0, unchangedParams_ = 0; // steps; of the stall, unmoved
  double start_ = 0, previous_ = 0;
};

/// "sgd", "adagrad", "rmsprop", "adadelta", "adam", "nadam", "adamw", "lbfgs", "lbfgs-mt",
/// "newton", "newton-cg".
NABLA_API std::unique_ptr<Optimizer> make(std::string_view name, std::size_t size,
                                          const Hyper &hyper = {});
NABLA_API std::vector<std::string> names();

/// Every hyperparameter of every optimizer, in Hyper's order.
NABLA_API std::span<const HyperInfo> hyperparameters();
/// The options of an optimizer of names(), in the order of torch's constructor arguments
/// ("sgd": lr, momentum, dampening, weight_decay, nesterov). Throws Error::Kind::Argument for an
/// unknown name, as make() does.
NABLA_API std::vector<std::string_view> options(std::string_view optimizer);
/// torch's defaults (2.x) for an optimizer: each of its options set. L-BFGS's max_eval is
/// computed as torch does, max_iter * 5 / 4 rounded down (25); make() computes it from the
/// max_iter it is given. make() takes these for the options its Hyper leaves unset.
NABLA_API Hyper defaults(std::string_view optimizer);

/// Learning-rate schedules: the rate for step k (0-based) of epoch e from the base rate.
///   constant   lr
///   inv_sqrt   lr / sqrt(k + 1)
///   step       lr * gamma^floor(e / step_size)          (torch's StepLR, stepped per epoch)
///   cosine     eta_min + (lr - eta_min) (1 + cos(pi k / total)) / 2   (CosineAnnealingLR per step)
struct NABLA_API Schedule {
  enum class Kind { Constant, InvSqrt, Step, Cosine };
  Kind kind = Kind::Constant;
  std::size_t step_size = 1;  // Step: epochs per factor
  double gamma = 0.1;         // Step: the factor
  std::size_t total = 0;      // Cosine: the number of steps of the run
  double eta_min = 0;         // Cosine: the final rate
  double rate(double base, std::size_t k, std::size_t epoch) const;
};
/// "constant", "inv_sqrt", "step[:N[:GAMMA]]", "cosine[:ETA_MIN]". Throws Error::Kind::Argument.
NABLA_API Schedule parse_schedule(std::string_view text);

/// The averaged iterate x̂ = Σ α_i x_i / Σ α_i of the SGD convergence bound (α_i: the rate of
/// step i, x_i: the parameters after it). A default-made Average takes the size of its first add();
/// a rate that is negative or not finite, or x of another size, throws Error::Kind::Argument.
class NABLA_API Average {
public:
  explicit Average(std::size_t size = 0) : sum_(size, 0.0) {}
  void add(double rate, std::span<const double> x);
  std::vector<double> value() const;  // empty while the weight is 0 (before the first add())
  double weight() const { return weight_; }
  const std::vector<double> &sum() const { return sum_; }
  void restore(std::vector<double> sum, double weight) {
    sum_ = std::move(sum);
    weight_ = weight;
  }

private:
  std::vector<double> sum_;
  double weight_ = 0;
};

}  // namespace nabla::optim
