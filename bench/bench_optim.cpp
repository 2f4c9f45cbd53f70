// Counts, not times: L-BFGS (torch's strong Wolfe search) and Newton on the chained Rosenbrock
// function in 100 variables, sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, and on the uncoupled
// one (fifty 2-D Rosenbrocks, Moré-Garbow-Hillstrom's extended Rosenbrock), compiled with the C++
// API, from (-1.2, 1, -1.2, 1, ...) until the gradient norm is below 1e-8. bench/torch_lbfgs.py
// counts the same for torch.optim.LBFGS; bench/RESULTS.md has both.
//
//   nabla_bench_optim            the counts from the standard start, and from 20 starts one ulp away
//
// Evaluations are the optimizer's closure calls (torch's state['func_evals']); the gradient norm
// that decides when to stop is computed apart after each step() and not counted.
#include <nabla/nabla.hpp>
#include <nabla/optim.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kN = 100;
constexpr std::size_t kMaxSteps = 300;  // step() calls

std::string rosenbrock(bool chained) {
  std::string init, sum;
  for (std::size_t i = 0; i < kN; ++i) init += (i ? ", " : "") + std::string(i % 2 ? "1" : "-1.2");
  for (std::size_t i = 0; i + 1 < kN; i += chained ? 1 : 2)
    sum += (i ? " + " : "") + std::string("100*(x[") + std::to_string(i + 1) + "] - x[" +
           std::to_string(i) + "]^2)^2 + (1 - x[" + std::to_string(i) + "])^2";
  return "param x[" + std::to_string(kN) + "] = [" + init + "]\nminimize " + sum + "\n";
}

std::vector<double> start(int nudged) {
  std::vector<double> x(kN);
  for (std::size_t i = 0; i < kN; ++i) x[i] = i % 2 == 0 ? -1.2 : 1.0;
  if (nudged >= 0) x[nudged] = std::nextafter(x[nudged], 10.0);
  return x;
}

struct Outcome {
  bool reached = false;
  std::size_t steps = 0, evaluations = 0, iterations = 0;
  double gradNorm = 0, loss = 0;
};

Outcome run(const nabla::Objective &f, nabla::optim::Optimizer &opt, std::vector<double> x,
            bool newton) {
  std::vector<double> g(kN);
  auto closure = [&](std::span<const double> p, std::span<double> grad) {
    return f.value_and_grad(p, {}, grad);
  };
  auto hessian = [&](std::span<const double> p, std::span<double> h) {
    const std::vector<double> hess = f.hessian(p);
    std::copy(hess.begin(), hess.end(), h.begin());
  };
  Outcome out;
  for (;;) {
    out.loss = f.value_and_grad(x, {}, g);
    double s = 0;
    for (double v : g) s += v * v;
    out.gradNorm = std::sqrt(s);
    if (out.gradNorm < 1e-8) out.reached = true;
    if (out.reached || out.steps == kMaxSteps) break;
    if (newton) opt.step(x, closure, hessian);
    else opt.step(x, closure);
    ++out.steps;
  }
  out.evaluations = opt.last().evaluations;
  out.iterations = opt.last().iterations;
  return out;
}

void print(const char *what, const Outcome &o) {
  std::printf("%-44s %s  step() calls %3zu  evaluations %4zu  iterations %4zu  |g| %.3g  f %.6g\n",
              what, o.reached ? "reached" : "stopped", o.steps, o.evaluations, o.iterations,
              o.gradNorm, o.loss);
}

nabla::optim::Hyper lbfgsHyper() {
  nabla::optim::Hyper h;
  h.line_search = "strong_wolfe";
  h.tolerance_grad = 1e-10;
  h.tolerance_change = 0;
  return h;
}

}  // namespace

int main() {
  const nabla::Objective chained = nabla::compile(rosenbrock(true)).objective();
  const nabla::Objective uncoupled = nabla::compile(rosenbrock(false)).objective();

  nabla::optim::Hyper defaults;
  defaults.line_search = "strong_wolfe";
  auto lbfgs = nabla::optim::make("lbfgs", kN, defaults);
  print("lbfgs, strong_wolfe, torch's defaults", run(chained, *lbfgs, start(-1), false));
  lbfgs = nabla::optim::make("lbfgs", kN, lbfgsHyper());
  print("lbfgs, tolerance_grad 1e-10, tolerance_change 0", run(chained, *lbfgs, start(-1), false));

  std::vector<std::size_t> reached;
  for (int j = 0; j < 20; ++j) {
    auto opt = nabla::optim::make("lbfgs", kN, lbfgsHyper());
    const Outcome o = run(chained, *opt, start(j), false);
    std::printf("  start with x[%d] one ulp up: %s, %zu evaluations\n", j,
                o.reached ? "reached" : "stopped", o.evaluations);
    if (o.reached) reached.push_back(o.evaluations);
  }
  std::sort(reached.begin(), reached.end());
  if (!reached.empty())
    std::printf("  reached from %zu of 20; evaluations min %zu, median %zu, max %zu\n",
                reached.size(), reached.front(), reached[reached.size() / 2], reached.back());

  lbfgs = nabla::optim::make("lbfgs", kN, defaults);
  print("lbfgs, uncoupled, torch's defaults", run(uncoupled, *lbfgs, start(-1), false));
  lbfgs = nabla::optim::make("lbfgs", kN, lbfgsHyper());
  print("lbfgs, uncoupled, tolerance_grad 1e-10, tolerance_change 0",
        run(uncoupled, *lbfgs, start(-1), false));

  nabla::optim::Hyper newtonHyper;
  newtonHyper.tolerance_grad = 1e-10;
  auto newton = nabla::optim::make("newton", kN, newtonHyper);
  print("newton, chained", run(chained, *newton, start(-1), true));
  newton = nabla::optim::make("newton", kN, newtonHyper);
  print("newton, uncoupled (fifty 2-D Rosenbrocks)", run(uncoupled, *newton, start(-1), true));
}
