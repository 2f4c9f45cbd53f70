// The shared part of the optimizers: errors, vector kernels, state bookkeeping, and the step of the
// first-order methods.
#include "optim/optimizer.h"


#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace nabla::optim {

Optimizer::~Optimizer() = default;

namespace detail {

void fail(const std::string &message) { throw Error(Error::Kind::Argument, message); }


void require(bool ok, std::string_view optimizer, std::string_view what, std::string_view option,
             double value, std::string_view rule) {
  if (ok) return;
  fail(std::string(optimizer) + ": invalid " + std::string(what) + " " + formatNumber(value) + " (" +
       std::string(option) + " must be " + std::string(rule) + ")");
}

double dot(std::span<const double> a, std::span<const double> b) {
  // Four partial sums: one sum waits on each addition's latency, four run side by side (the
  // products of 10^5 parameters cost a quarter of the time).
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const std::size_t n = a.size();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

double norm(std::span<const double> a) { return std::sqrt(dot(a, a)); }

double maxAbs(std::span<const double> a) {
  double m = 0;
  for (double v : a) {
    if (std::isnan(v)) return v;
    m = std::max(m, std::abs(v));
  }
  return m;
}

double sumAbs(std::span<const double> a) {
  double s = 0;
  for (double v : a) s += std::abs(v);
  return s;
}

void twoLoop(std::span<const double> g, const std::deque<std::vector<double>> &dirs,
             const std::deque<std::vector<double>> &stps, const std::deque<double> &ro,
             double hDiag, std::vector<double> &q, std::vector<double> &al, std::span<double> d) {
  const std::size_t n = g.size(), numOld = ro.size();
  for (std::size_t i = 0; i < n; ++i) q[i] = -g[i];
  for (std::size_t k = numOld; k-- > 0;) {
    al[k] = dot(stps[k], q) * ro[k];
    for (std::size_t i = 0; i < n; ++i) q[i] = q[i] + -al[k] * dirs[k][i];
  }
  for (std::size_t i = 0; i < n; ++i) d[i] = q[i] * hDiag;
  for (std::size_t k = 0; k < numOld; ++k) {
    const double be = dot(dirs[k], d) * ro[k];
    for (std::size_t i = 0; i < n; ++i) d[i] = d[i] + (al[k] - be) * stps[k][i];
  }
}

void checkSize(const Optimizer &o, std::span<const double> params) {
  if (params.size() != o.size())
    fail(std::string(o.name()) + " was made for " + std::to_string(o.size()) +
         " parameters, not " + std::to_string(params.size()));
}

// Counters are stored as doubles: exact up to 2^53, far beyond any run.
void putCommon(State &s, double lr, const StepInfo &info) {
  s["lr"] = {lr};
  s["step"] = {static_cast<double>(info.steps)};
  s["func_evals"] = {static_cast<double>(info.evaluations)};
  s["n_iter"] = {static_cast<double>(info.iterations)};
}

void readCommon(const State &s, std::string_view optimizer,
                const std::vector<std::pair<std::string, std::size_t>> &expected, double &lr,
                StepInfo &info) {
  const std::string who = std::string(optimizer) + ": the state ";
  std::vector<std::pair<std::string, std::size_t>> all = expected;
  for (const char *key : {"lr", "step", "func_evals", "n_iter"}) all.emplace_back(key, 1);
  std::set<std::string> known;
  for (const auto &[key, size] : all) {
    known.insert(key);
    auto it = s.find(key);
    if (it == s.end()) fail(who + "has no '" + key + "' (it belongs to another optimizer)");
    if (it->second.size() != size)
      fail(who + "has " + std::to_string(it->second.size()) + " values for '" + key + "', not " +
           std::to_string(size) + " (it belongs to another optimizer or size)");
  }
  for (const auto &[key, values] : s)
    if (!known.count(key)) fail(who + "has an unknown entry '" + key + "' (it belongs to another optimizer)");
  auto count = [&](const char *key) {
    double v = s.at(key)[0];
    if (!(v >= 0 && v <= 9007199254740992.0 && v == std::floor(v)))
      fail(who + "has '" + key + "' = " + formatNumber(v) + ", not a count");
    return static_cast<std::size_t>(v);
  };
  lr = s.at("lr")[0];
  info.steps = count("step");
  info.evaluations = count("func_evals");
  info.iterations = count("n_iter");
}

const std::vector<double> &entry(const State &s, const std::string &key) { return s.at(key); }

// --- the first-order methods --------------------------------------------------------------------

std::vector<double> &GradientOptimizer::buffer(const std::string &name, std::size_t n) {
  std::vector<double> &b = buffers_[name];
  b.assign(n, 0.0);
  return b;
}

double GradientOptimizer::step(std::span<double> params, const Closure &closure) {
  checkSize(*this, params);
  const double loss = closure(params, grad_);
  last_.loss = loss;
  last_.grad_norm = norm(grad_);
  ++last_.evaluations;
  ++last_.iterations;
  ++last_.steps;
  update(params, grad_, last_.steps);
  return loss;
}

State GradientOptimizer::state() const {
  State s = buffers_;
  putCommon(s, lr_, last_);
  return s;
}

void GradientOptimizer::set_state(const State &state) {
  std::vector<std::pair<std::string, std::size_t>> expected;
  for (const auto &[key, values] : buffers_) expected.emplace_back(key, values.size());
  double lr = 0;
  StepInfo info;
  readCommon(state, name(), expected, lr, info);
  // Assigning into the existing vectors keeps the subclasses' references valid.
  for (auto &[key, values] : buffers_) values = state.at(key);
  lr_ = lr;
  last_ = info;
}

}  // namespace detail
}  // namespace nabla::optim
