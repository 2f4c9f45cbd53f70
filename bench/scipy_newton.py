#!/usr/bin/env python3
"""SciPy's Newton-type methods on Rosenbrock in 100 variables from (-1.2, 1, -1.2, 1, ...), with
the exact gradient and Hessian, until the gradient norm is below 1e-8: the peers of nabla's
Newton in bench/bench_optim.cpp, on both functions it runs (the chained one, sum_i
100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2, and the uncoupled one of More, Garbow and Hillstrom,
fifty 2-D functions on (x[0], x[1]), (x[2], x[3]), ...).

Needs Debian's python3-scipy (apt-get install python3-scipy), run with Debian's python3:
/usr/bin/python3 bench/scipy_newton.py. The test suite does not need it."""
import numpy as np
import scipy
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess

N = 100
X0 = np.array([-1.2 if i % 2 == 0 else 1.0 for i in range(N)])
METHODS = ["Newton-CG", "trust-ncg", "trust-krylov", "trust-exact"]


def uncoupled(x):
    return float(np.sum(100 * (x[1::2] - x[0::2] ** 2) ** 2 + (1 - x[0::2]) ** 2))


def uncoupled_der(x):
    g = np.zeros_like(x)
    a, b = x[0::2], x[1::2]
    g[0::2] = -400 * a * (b - a**2) - 2 * (1 - a)
    g[1::2] = 200 * (b - a**2)
    return g


def uncoupled_hess(x):
    h = np.zeros((N, N))
    for i in range(0, N, 2):
        a, b = x[i], x[i + 1]
        h[i, i] = 1200 * a**2 - 400 * b + 2
        h[i, i + 1] = h[i + 1, i] = -400 * a
        h[i + 1, i + 1] = 200
    return h


def run(name, f, g, h):
    print(f"{name} Rosenbrock-100 from (-1.2, 1, ...), scipy {scipy.__version__}:")
    for method in METHODS:
        # Newton-CG stops on the step size, the trust-region methods on the gradient norm.
        options = {"xtol": 1e-14} if method == "Newton-CG" else {"gtol": 1e-8}
        options["maxiter"] = 5000
        r = minimize(f, X0, jac=g, hess=h, method=method, options=options)
        print(f"  {method:12s} {r.nit:4d} iterations, {r.nfev:4d} evaluations, "
              f"f = {r.fun:.6g}, |g| = {np.linalg.norm(g(r.x)):.2g}")


if __name__ == "__main__":
    run("chained", rosen, rosen_der, rosen_hess)
    run("uncoupled", uncoupled, uncoupled_der, uncoupled_hess)
