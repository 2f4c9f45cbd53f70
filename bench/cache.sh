#!/usr/bin/env bash
# The compile cache (docs/jit.md, "The compile cache"): the time LLVM takes for the same code
# the first time (an empty cache) and again (a warm cache), in separate processes.
#   bash bench/cache.sh
# 1. The REPL's `:time` of a function of about 10,000 nodes with its gradient (6,000 terms
#    sin(xa*xb + k) over 10 arguments): its "compile" row, LLVM O2 column.
# 2. `nabla fit --jit optimized` of the logistic regression sample: its `time: compiled in`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash bench/build_nabla.sh
out=build-bench/cache
mkdir -p "$out"
python3 - "$out/big.repl" <<'PY'
import random, sys
random.seed(1)
terms = [f"sin(x{random.randint(0, 9)}*x{random.randint(0, 9)} + {i % 7 + 1})" for i in range(6000)]
with open(sys.argv[1], "w") as f:
    f.write("f(" + ", ".join(f"x{i}" for i in range(10)) + ") = " + " + ".join(terms) + "\n")
    f.write(":time f(1, 2, 3, 4, 5, 6, 7, 8, 9, 1)\n")
PY
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for round in 1 2 3; do
  rm -rf "$out/dir"
  for run in cold warm; do
    echo "== REPL :time, round $round, $run: $(NABLA_CACHE_DIR=$out/dir build-bench/nabla repl <"$out/big.repl" |
      grep -E '^f\(|^compile' | tr -s ' ' | tr '\n' ' ')"
  done
done
for round in 1 2 3; do
  rm -rf "$out/dir"
  for run in cold warm; do
    echo "== fit --jit optimized, round $round, $run: $(NABLA_CACHE_DIR=$out/dir build-bench/nabla fit \
      samples/logreg_breast_cancer.nabla --data samples/data/breast_cancer.csv --optimizer adam \
      --lr 0.01 --standardize --epochs 20 --jit optimized 2>&1 | grep -o 'compiled in [0-9.]* s')"
  done
done
