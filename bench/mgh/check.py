#!/usr/bin/env python3
"""Checks the nabla files of bench/mgh against the numpy residuals of bench/mgh/problems.py: the
declared start of each file equals the paper's x0, and the objective and its gradient (nabla's
compiled ones, through the Python module) equal the numpy sum of squares and its central
difference, at x0 and at a random point near it.

    PYTHONPATH=build-bench/python /usr/bin/python3 bench/mgh/check.py [NN ...]

Exit status 1 if any problem disagrees beyond 1e-10 relative (value) or 1e-5 (gradient against
central differences)."""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import nabla  # noqa: E402
from problems import PROBLEMS, objective  # noqa: E402

# f(x0) where the literature states it (MGH do not list f(x0); these are standard figures).
F0_KNOWN = {1: 24.2, 2: 400.5, 5: 14.203125, 13: 215.0, 14: 19192.0, 7: 2500.0}


def start(path):
    """The params a file declares: one step of SGD with lr 0 returns them unchanged."""
    r = nabla.fit(path, optimizer="sgd", lr=0.0, steps=1)
    return np.concatenate([np.ravel(v) for v in r.params.values()])


def fd_grad(f, x):
    g = np.empty_like(x)
    for j in range(len(x)):
        h = 1e-6 * max(1.0, abs(x[j]))
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def main(which):
    rng = np.random.default_rng(1)
    bad = 0
    print(f"{'problem':28s} {'n':>3s} {'m':>3s} {'f(x0) nabla':>14s} {'f(x0) numpy':>14s} "
          f"{'rel':>8s} {'rel near':>8s} {'grad':>8s}")
    for num, stem, n, m, x0, r, minima, note in PROBLEMS:
        if which and num not in which:
            continue
        path = os.path.join(HERE, stem + ".nabla")
        obj = nabla.load(path).objective
        f = objective(r)
        x0 = np.asarray(x0, dtype=float)
        xs = start(path)
        ok = obj.param_count == n and xs.shape == x0.shape and np.allclose(xs, x0, rtol=1e-14,
                                                                              atol=0)
        fn, fp = obj.value(x0), f(x0)
        rel0 = abs(fn - fp) / max(abs(fp), 1e-300)
        x1 = x0 + 0.1 * rng.standard_normal(n) * (1 + abs(x0))
        if num == 11:            # Gulf: keep x1 > 0 (the exponent and the divisor)
            x1 = np.abs(x1)
        rel1 = abs(obj.value(x1) - f(x1)) / max(abs(f(x1)), 1e-300)
        _, gn = obj.value_and_grad(x1)
        gf = fd_grad(f, x1)
        relg = np.linalg.norm(gn - gf) / max(np.linalg.norm(gf), 1e-300)
        if num in F0_KNOWN:
            ok = ok and abs(fp - F0_KNOWN[num]) <= 1e-9 * F0_KNOWN[num]
        ok = ok and rel0 <= 1e-10 and rel1 <= 1e-10 and relg <= 1e-5
        bad += not ok
        print(f"{stem:28s} {n:3d} {m:3d} {fn:14.8g} {fp:14.8g} {rel0:8.1e} {rel1:8.1e} "
              f"{relg:8.1e}{'' if ok else '  MISMATCH'}")
    print("all agree" if not bad else f"{bad} problem(s) disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main({int(a) for a in sys.argv[1:]}))
