#!/usr/bin/env python3
"""The SGD convergence bound on a convex problem, measured with `nabla fit`.

For a convex F, SGD with constant step h from x_0, and stochastic gradients with E|g|^2 <= G^2,
the averaged iterate x^_k = (1/k) sum_{i=1..k} x_i satisfies

    E[F(x^_k)] - F*  <=  (R^2 + G^2 k h^2) / (2 k h),     R = |x_0 - x*|.

This script runs `nabla fit samples/sgd_bound.nabla` (least squares on samples/data/linreg.csv,
batches of one row, constant step h, --average, --log-params), computes F(x^_k) - F* for every k
from the logged iterates (F* and x* from the normal equations), takes G^2 as the largest squared
batch-gradient norm the log records, and writes the gap and the bound against k as an SVG plot
(log-log) and a table. It checks that the gap stays below the bound and that the averaged
parameters it computes equal the ones `nabla fit -o` reports.

  samples/sgd_bound.py [--nabla PATH] [--lr H] [--epochs E] [--seed S] [--svg OUT.svg]

Standard library only.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def read_data(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    xs = [[float(r["x1"]), float(r["x2"]), float(r["x3"]), 1.0] for r in rows]
    ys = [float(r["y"]) for r in rows]
    return xs, ys


def solve(a, b):
    """Gaussian elimination with partial pivoting (a is small and well conditioned)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))) / m[r][r]
    return x


def objective(theta, xs, ys):
    return sum((sum(t * v for t, v in zip(theta, x)) - y) ** 2 for x, y in zip(xs, ys)) / len(ys)


def svg_plot(ks, series, path, title):
    """series: list of (label, colour, values); log-log axes."""
    width, height, left, right, top, bottom = 720, 440, 70, 20, 40, 50
    xs = [math.log10(k) for k in ks]
    ally = [math.log10(v) for _, _, vals in series for v in vals if v > 0]
    x0, x1 = min(xs), max(xs)
    y0, y1 = math.floor(min(ally)), math.ceil(max(ally))

    def px(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def py(y):
        return top + (y1 - y) / (y1 - y0) * (height - top - bottom)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>']
    for e in range(y0, y1 + 1):
        out.append(f'<line x1="{left}" y1="{py(e):.1f}" x2="{width - right}" y2="{py(e):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{py(e) + 4:.1f}" text-anchor="end">1e{e}</text>')
    for e in range(math.ceil(x0), math.floor(x1) + 1):
        out.append(f'<line x1="{px(e):.1f}" y1="{top}" x2="{px(e):.1f}" y2="{height - bottom}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{px(e):.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                   f'{10 ** e}</text>')
    out.append(f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle">step k</text>')
    for i, (label, colour, vals) in enumerate(series):
        pts = " ".join(f"{px(math.log10(k)):.1f},{py(math.log10(v)):.1f}"
                       for k, v in zip(ks, vals) if v > 0)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        out.append(f'<text x="{width - right - 10}" y="{top + 18 + 16 * i}" text-anchor="end" '
                   f'fill="{colour}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nabla", default=os.path.join(HERE, "..", "build", "nabla"))
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--svg", default="sgd_bound.svg")
    args = parser.parse_args()

    data = os.path.join(HERE, "data", "linreg.csv")
    xs, ys = read_data(data)
    n = len(ys)
    # x* and F* from the normal equations (X^T X) theta = X^T y.
    ata = [[sum(x[i] * x[j] for x in xs) for j in range(4)] for i in range(4)]
    aty = [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(4)]
    best = solve(ata, aty)
    f_star = objective(best, xs, ys)

    with tempfile.TemporaryDirectory() as tmp:
        log, out = os.path.join(tmp, "log.csv"), os.path.join(tmp, "params.json")
        cmd = [args.nabla, "fit", os.path.join(HERE, "sgd_bound.nabla"), "--data", data,
               "--optimizer", "sgd", "--lr", str(args.lr), "--batch", "1",
               "--epochs", str(args.epochs), "--seed", str(args.seed), "--average",
               "--log", log, "--log-params", "-o", out]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(log, newline="") as f:
            steps = list(csv.DictReader(f))
        with open(out) as f:
            reported = json.load(f)

    names = ["w[0]", "w[1]", "w[2]", "b"]
    theta0 = [0.0, 0.0, 0.0, 0.0]  # the model's initial values
    r2 = sum((a - b) ** 2 for a, b in zip(theta0, best))
    g2 = max(float(s["grad_norm"]) ** 2 for s in steps)
    h = args.lr
    ks, gaps, bounds, last_gaps = [], [], [], []
    total = [0.0] * 4
    for k, s in enumerate(steps, start=1):
        theta = [float(s[name]) for name in names]
        total = [t + v for t, v in zip(total, theta)]
        avg = [t / k for t in total]
        ks.append(k)
        gaps.append(objective(avg, xs, ys) - f_star)
        last_gaps.append(objective(theta, xs, ys) - f_star)
        bounds.append((r2 + g2 * k * h * h) / (2 * k * h))

    violations = [k for k, g, b in zip(ks, gaps, bounds) if g > b]
    averaged = reported.get("average", {})
    got = [averaged["w"][0], averaged["w"][1], averaged["w"][2], averaged["b"]] if averaged else None
    agree = got is not None and all(abs(a - b) <= 1e-12 * max(1.0, abs(b))
                                    for a, b in zip(got, avg))
    svg_plot(ks, [("bound (R^2 + G^2 k h^2) / (2 k h)", "#c0392b", bounds),
                  ("F(averaged iterate) - F*", "#2471a3", gaps),
                  ("F(last iterate) - F*", "#aaaaaa", last_gaps)],
             args.svg, f"SGD on least squares, batch 1, h = {h}: {n} rows, {len(ks)} steps")

    print(f"rows {n}, steps {len(ks)}, h {h}, R^2 {r2:.6g}, G^2 {g2:.6g}, F* {f_star:.10g}")
    print("k, F(x^_k) - F*, bound")
    for k in sorted({1, 10, 100, 1000, len(ks)} & set(ks)):
        print(f"{k}, {gaps[k - 1]:.6g}, {bounds[k - 1]:.6g}")
    print(f"gap below the bound at every step: {'yes' if not violations else 'no, at ' + str(violations[:5])}")
    print(f"averaged parameters equal nabla fit's: {'yes' if agree else 'no'}")
    print(f"plot: {args.svg}")
    return 0 if not violations and agree else 1


if __name__ == "__main__":
    sys.exit(main())
