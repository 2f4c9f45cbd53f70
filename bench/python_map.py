#!/usr/bin/env python3
"""Vectorized evaluation from Python against the same call in C++, in the same run.

The seed function f(x, y) = (x^2 + y)^2 * (y - x*y) with its gradient at 10^6 points (a C-ordered
(n, 2) float64 array, read in place), one thread and the default threads, from Python
(`f.value_and_grad(X)`) and from C++ (`Function::values_and_grads`, bench/bench_map.cpp); and the
cost of one one-point call from Python.

    PYTHONPATH=build-bench/python /usr/bin/python3 bench/python_map.py build-bench/bench/nabla_bench_map
"""
import json
import subprocess
import sys
import time

import numpy as np

import nabla

N = 1 << 20
REPEATS = 25


def best(fn, repeats=REPEATS):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[0], times[len(times) // 2]


def cpp(binary, name):
    out = subprocess.run([binary, f"--benchmark_filter=^{name}$", "--benchmark_repetitions=15",
                          "--benchmark_format=json", "--benchmark_report_aggregates_only=true"],
                         check=True, capture_output=True, text=True).stdout
    rows = {b["aggregate_name"]: b["real_time"] for b in json.loads(out)["benchmarks"]
            if b.get("aggregate_name") in ("min", "median")}
    return rows["min"] * 1e-9, rows["median"] * 1e-9  # ns -> s


def main():
    f = nabla.compile("f(x, y) = (x^2 + y)^2 * (y - x*y)").f
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(N, 2))
    f.value_and_grad(X[:64])  # the first vectorized call compiles the vectorized code
    print(f"machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores")
    for threads, name in ((1, "BM_SeedMap/rows/1048576/1/real_time"),
                          (0, "BM_SeedMap/rows/1048576/2/real_time")):
        py = best(lambda: f.value_and_grad(X, threads=threads))
        c = cpp(sys.argv[1], name) if len(sys.argv) > 1 else (float("nan"),) * 2
        label = "1 thread" if threads == 1 else "default threads (2)"
        print(f"{N} points, {label}: Python min {py[0] * 1e3:.3f} ms median {py[1] * 1e3:.3f} ms; "
              f"C++ min {c[0] * 1e3:.3f} ms median {c[1] * 1e3:.3f} ms; "
              f"Python / C++ (medians) {py[1] / c[1]:.3f}")
    one = best(lambda: [f(0.5, -0.5) for _ in range(10000)], 9)
    grad = best(lambda: [f.value_and_grad(0.5, -0.5) for _ in range(10000)], 9)
    print(f"one point from Python: f(x, y) {one[1] / 1e4 * 1e9:.0f} ns, "
          f"value_and_grad(x, y) {grad[1] / 1e4 * 1e9:.0f} ns (medians)")


if __name__ == "__main__":
    main()
