#!/usr/bin/env python3
"""The PyTorch side of bench/fit.sh: the data set, and the same training loop as `nabla fit`.

  fit_torch.py data OUT.csv [--rows N] [--features F] [--seed S]
      writes a logistic-regression data set: columns x0..x{F-1} (standard normal, 4 decimals)
      and y (0/1, drawn with probability sigmoid(w.x + b) for fixed w, b)
  fit_torch.py train DATA.csv [--batch M] [--epochs E] [--threads T] [--lr LR] [--seed S]
      one epoch (or E) of Adam on softplus(z) - y z, z = w.x + b, in float64, mini-batches of M
      rows from a shuffled permutation per epoch (the last partial batch kept), as nabla fit
      does; prints rows/s per epoch

Needs numpy and torch (Debian: python3-numpy, python3-torch).
"""
import argparse
import sys
import time

import numpy as np


def make_data(args):
    rng = np.random.default_rng(args.seed)
    x = np.round(rng.standard_normal((args.rows, args.features)), 4)
    w = np.linspace(-1.0, 1.0, args.features)
    p = 1.0 / (1.0 + np.exp(-(x @ w - 0.25)))
    y = (rng.random(args.rows) < p).astype(np.float64)
    header = ",".join([f"x{j}" for j in range(args.features)] + ["y"])
    data = np.column_stack([x, y])
    np.savetxt(args.out, data, fmt=["%.4f"] * args.features + ["%.0f"], delimiter=",",
               header=header, comments="")
    print(f"wrote {args.rows} rows x {args.features} features to {args.out}", file=sys.stderr)


def train(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    data = np.loadtxt(args.data, delimiter=",", skiprows=1)
    load_s = time.perf_counter() - start
    x = torch.from_numpy(np.ascontiguousarray(data[:, :-1]))
    y = torch.from_numpy(np.ascontiguousarray(data[:, -1]))
    n, f = x.shape
    w = torch.zeros(f, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64; "
          f"{n} rows x {f} features loaded in {load_s:.1f} s")

    def step(idx):
        xb, yb = x[idx], y[idx]
        z = xb @ w + b
        loss = (F.softplus(z) - yb * z).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    run_epochs(n, args.batch, args.epochs, gen, step)


def run_epochs(n, batch, epochs, gen, step, on_first_step=None):
    """Epochs of mini-batches of `batch` rows from a shuffled permutation of n rows (the last
    partial batch kept), as nabla fit does: step(row indices) returns the batch's mean loss.
    Prints rows/s per epoch; on_first_step() is called just before the first step."""
    import torch

    for epoch in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for i in range(0, n, batch):
            if on_first_step is not None and epoch == 0 and i == 0:
                on_first_step()
            idx = perm[i:i + batch]
            total += step(idx) * len(idx)
        seconds = time.perf_counter() - start
        print(f"epoch {epoch + 1}: {seconds:.3f} s, {n / seconds:.3g} rows/s, "
              f"mean batch loss {total / n:.6f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data")
    d.add_argument("out")
    d.add_argument("--rows", type=int, default=1_000_000)
    d.add_argument("--features", type=int, default=16)
    d.add_argument("--seed", type=int, default=1)
    t = sub.add_parser("train")
    t.add_argument("data")
    t.add_argument("--batch", type=int, default=1024)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    make_data(args) if args.command == "data" else train(args)


if __name__ == "__main__":
    main()
