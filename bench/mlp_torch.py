#!/usr/bin/env python3
"""The data, the model files and the PyTorch side of bench/mlp.sh.

  mlp_torch.py data OUT.csv [--rows N] [--features F] [--classes C] [--seed S]
      a classification data set: columns p0..p{F-1} (uniform in [0, 1), 3 decimals) and label
      (0..C-1, the argmax of a fixed random linear map of the features)
  mlp_torch.py model OUT.nabla --hidden H [H2 ...] [--features F] [--classes C]
      the same MLP as a nabla model: tanh layers, softmax cross-entropy
  mlp_torch.py train DATA.csv --hidden H [H2 ...] [--batch M] [--epochs E] [--threads T]
      Adam (lr 1e-3) on that MLP in float64, mini-batches of M rows from a shuffled permutation
      per epoch; prints the time to the first step and rows/s per epoch

Needs numpy and torch (Debian: python3-numpy, python3-torch).
"""
import argparse
import sys
import time

import numpy as np

from fit_torch import run_epochs  # the same loop as bench/fit.sh's


def make_data(args):
    rng = np.random.default_rng(args.seed)
    x = np.round(rng.random((args.rows, args.features)), 3)
    w = rng.standard_normal((args.features, args.classes))
    label = np.argmax((x - 0.5) @ w, axis=1)
    header = ",".join([f"p{j}" for j in range(args.features)] + ["label"])
    np.savetxt(args.out, np.column_stack([x, label]), fmt=["%.3f"] * args.features + ["%d"],
               delimiter=",", header=header, comments="")
    print(f"wrote {args.rows} rows x {args.features} features to {args.out}", file=sys.stderr)


def make_model(args):
    sizes = [args.features] + args.hidden + [args.classes]
    lines = [f"# MLP {'-'.join(map(str, sizes))}: tanh layers, softmax cross-entropy (bench/mlp.sh)"]
    for k in range(1, len(sizes)):
        lines.append(f"param W{k}[{sizes[k]}][{sizes[k - 1]}] ~ normal(0, {1 / sizes[k - 1] ** 0.5:.6g})")
        lines.append(f"param b{k}[{sizes[k]}]")
    lines.append(f"input x[{args.features}] from (p0 .. p{args.features - 1})")
    lines.append("input label")
    h = "x"
    for k in range(1, len(sizes) - 1):
        lines.append(f"h{k} = tanh(W{k} @ {h} + b{k})")
        h = f"h{k}"
    n = len(sizes) - 1
    lines.append(f"z = W{n} @ {h} + b{n}")
    lines.append(f"minimize logsumexp(z) - dot(onehot(label, {args.classes}), z)")
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


def train(args):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    data = np.loadtxt(args.data, delimiter=",", skiprows=1)
    x = torch.from_numpy(np.ascontiguousarray(data[:, :-1]))
    y = torch.from_numpy(data[:, -1].astype(np.int64))
    n, f = x.shape
    start = time.perf_counter()
    sizes = [f] + args.hidden + [int(y.max()) + 1]
    layers = []
    for k in range(1, len(sizes)):
        layers.append(torch.nn.Linear(sizes[k - 1], sizes[k]).double())
        if k < len(sizes) - 1:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64, "
          f"{params} params; {n} rows x {f} features")

    def step(idx):
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    first_step = lambda: print(f"first step after {time.perf_counter() - start:.3f} s")
    run_epochs(n, args.batch, args.epochs, gen, step, first_step)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("data")
    d.add_argument("out")
    d.add_argument("--rows", type=int, default=5000)
    d.add_argument("--features", type=int, default=784)
    d.add_argument("--classes", type=int, default=10)
    d.add_argument("--seed", type=int, default=1)
    m = sub.add_parser("model")
    m.add_argument("out")
    m.add_argument("--hidden", type=int, nargs="+", required=True)
    m.add_argument("--features", type=int, default=784)
    m.add_argument("--classes", type=int, default=10)
    t = sub.add_parser("train")
    t.add_argument("data")
    t.add_argument("--hidden", type=int, nargs="+", required=True)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    {"data": make_data, "model": make_model, "train": train}[args.command](args)


if __name__ == "__main__":
    main()
