#!/usr/bin/env python3
"""torch.optim.LBFGS (strong Wolfe, float64) on the chained Rosenbrock function in 100 variables
from (-1.2, 1, -1.2, 1, ...), counted as bench/bench_optim.cpp counts nabla's L-BFGS: repeated
step() calls until the gradient norm is below 1e-8 (checked apart after each step, not counted),
evaluations = state['func_evals'].

Needs torch: Debian's python3-torch (apt-get install python3-torch), run with Debian's
python3: /usr/bin/python3 bench/torch_lbfgs.py. The test suite does not need it."""
import math
import torch

torch.set_default_dtype(torch.float64)
N, MAX_STEPS = 100, 300


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def uncoupled(x):
    """Fifty 2-D Rosenbrock functions, (x[0], x[1]), (x[2], x[3]), ...: More, Garbow and
    Hillstrom's extended Rosenbrock function, whose standard start is (-1.2, 1, -1.2, 1, ...)."""
    return (100 * (x[1::2] - x[0::2] ** 2) ** 2 + (1 - x[0::2]) ** 2).sum()


def start(nudged=-1):
    x = torch.tensor([-1.2 if i % 2 == 0 else 1.0 for i in range(N)])
    if nudged >= 0:
        x[nudged] = torch.nextafter(x[nudged], torch.tensor(10.0))
    return x


def run(x0, f=rosenbrock, **hyper):
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], line_search_fn="strong_wolfe", **hyper)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    steps = 0
    while True:
        probe = x.detach().clone().requires_grad_(True)
        loss = f(probe)
        loss.backward()
        norm = probe.grad.norm().item()
        if norm < 1e-8 or steps == MAX_STEPS:
            break
        opt.step(closure)
        steps += 1
    state = opt.state[x]
    return norm < 1e-8, steps, state["func_evals"], state["n_iter"], norm, loss.item()


def show(what, outcome):
    reached, steps, evals, iters, norm, loss = outcome
    print(f"{what:<44} {'reached' if reached else 'stopped'}  step() calls {steps:3}  "
          f"evaluations {evals:4}  iterations {iters:4}  |g| {norm:.3g}  f {loss:.6g}")


if __name__ == "__main__":
    print(f"torch {torch.__version__}")
    show("lbfgs, strong_wolfe, torch's defaults", run(start()))
    tuned = dict(tolerance_grad=1e-10, tolerance_change=0.0)
    show("lbfgs, tolerance_grad 1e-10, tolerance_change 0", run(start(), **tuned))
    reached = []
    for j in range(20):
        ok, _, evals, *_ = run(start(j), **tuned)
        print(f"  start with x[{j}] one ulp up: {'reached' if ok else 'stopped'}, {evals} evaluations")
        if ok:
            reached.append(evals)
    reached.sort()
    if reached:
        print(f"  reached from {len(reached)} of 20; evaluations min {reached[0]}, "
              f"median {reached[len(reached) // 2]}, max {reached[-1]}")
    show("lbfgs, uncoupled, torch's defaults", run(start(), uncoupled))
    show("lbfgs, uncoupled, tolerance_grad 1e-10, tolerance_change 0",
         run(start(), uncoupled, **tuned))
