// What the optimizers of runtime/optim share: argument errors, small vector kernels, the state
// map's bookkeeping, and the base of the first-order methods (one closure call per step, then an
// update from the gradient). Internal: the public interface is include/nabla/optim.hpp.
#pragma once

#include "nabla/optim.hpp"
#include "support/number.h"

#include <cstddef>
#include <deque>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nabla::optim::detail {

/// Throws Error::Kind::Argument with `message`.
[[noreturn]] void fail(const std::string &message);
/// The shortest %g text that reads back as `v` ("0.001", "-1", "1e-08", "nan").

/// Validation of one hyperparameter, worded like torch's checks: unless `ok`, throws
/// "<optimizer>: invalid <what> <value> (<option> must be <rule>)".
void require(bool ok, std::string_view optimizer, std::string_view what, std::string_view option,
             double value, std::string_view rule);

double dot(std::span<const double> a, std::span<const double> b);
double norm(std::span<const double> a);       // Euclidean
double maxAbs(std::span<const double> a);     // max |a_i| (NaN when any entry is NaN), 0 if empty
double sumAbs(std::span<const double> a);

/// L-BFGS's two-loop recursion, d = -H g with H0 = hDiag I, over the stored pairs (y in `dirs`,
/// s in `stps`, 1 / yᵀs in `ro`, oldest first), in torch's order of operations (lbfgs and lbfgs-mt
/// share it). `q` (n) and `al` (at least the pairs) are scratch.
void twoLoop(std::span<const double> g, const std::deque<std::vector<double>> &dirs,
             const std::deque<std::vector<double>> &stps, const std::deque<double> &ro,
             double hDiag, std::vector<double> &q, std::vector<double> &al, std::span<double> d);

/// Throws unless params has the optimizer's size.
void checkSize(const Optimizer &o, std::span<const double> params);

/// The counters every state holds (lr, step, func_evals, n_iter), written and read back.
void putCommon(State &s, double lr, const StepInfo &info);
/// Checks that `s` has exactly the keys of `expected` (each with its size) plus the common ones,
/// and reads the common ones. Throws naming the optimizer and the first key that differs.
void readCommon(const State &s, std::string_view optimizer,
                const std::vector<std::pair<std::string, std::size_t>> &expected, double &lr,
                StepInfo &info);
/// s.at(key), whose size readCommon has checked.
const std::vector<double> &entry(const State &s, const std::string &key);

/// SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, NAdam: step() evaluates the closure once and
/// hands the raw gradient to update(). The buffers live in a State keyed by torch's names, so
/// that state() and set_state() are the same code for all of them.
class GradientOptimizer : public Optimizer {
public:
  double step(std::span<double> params, const Closure &closure) final;
  State state() const final;
  void set_state(const State &state) final;

protected:
  GradientOptimizer(std::size_t size, double lr) : Optimizer(size, lr), grad_(size) {}
  /// A buffer of `n` zeros under torch's name; the reference stays valid for the optimizer's life.
  std::vector<double> &buffer(const std::string &name, std::size_t n);
  /// The update of step t (1-based) from the raw gradient g (the update may change g).
  virtual void update(std::span<double> p, std::span<double> g, std::size_t t) = 0;

private:
  State buffers_;
  std::vector<double> grad_;
};

/// The factories the registry calls: each reads its options from `h`, where the registry has set
/// every option the optimizer has (the value given, else torch's default from its table), and
/// validates them.
std::unique_ptr<Optimizer> makeSgd(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeAdagrad(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeRmsprop(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeAdadelta(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeAdam(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeAdamw(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeNadam(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeLbfgs(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeLbfgsMt(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeNewton(std::size_t n, const Hyper &h);
std::unique_ptr<Optimizer> makeNewtonCg(std::size_t n, const Hyper &h);

}  // namespace nabla::optim::detail
