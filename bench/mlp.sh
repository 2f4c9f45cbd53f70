#!/usr/bin/env bash
# MLPs on 5,000 rows of 784 features (10 classes), one epoch of Adam with batches of 64, float64:
# nabla fit against the same loop in PyTorch (bench/mlp_torch.py), with 1 and 2 threads.
#   bench/mlp.sh [HIDDEN ...]     (default: "128" and "512 512"; a layer list such as "512 512"
#                                  is one model, quoted)
# For each model: the time from the start to the first step (nabla: compiling the model, read
# from its `time:` line; torch: building the modules) and the rows/s of the epoch. nabla runs
# --jit auto and --jit optimized: both take the array level for these models (docs/fit.md,
# "Which code runs"). Then the digits MLP of samples/ with --jit optimized.
# Needs Debian's python3-numpy and python3-torch (not needed by the tests). The data set and the
# model files are made once in build-bench/mlp/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python=/usr/bin/python3
[ -x "$python" ] || python=python3
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("128" "512 512")

bash bench/build_nabla.sh
mkdir -p build-bench/mlp
data=build-bench/mlp/data.csv
[ -f "$data" ] || "$python" bench/mlp_torch.py data "$data"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for hidden in "${models[@]}"; do
  # shellcheck disable=SC2086  # a layer list is several arguments
  model="build-bench/mlp/mlp_$(echo $hidden | tr ' ' '_').nabla"
  # shellcheck disable=SC2086
  "$python" bench/mlp_torch.py model "$model" --hidden $hidden
  echo "=== $(head -1 "$model" | sed 's/^# //')"
  for threads in 1 2; do
    for jit in auto optimized; do
      echo "== nabla fit, $threads thread(s), --jit $jit"
      build-bench/nabla fit "$model" --data "$data" --optimizer adam --lr 1e-3 --batch 64 \
        --epochs 1 --threads "$threads" --jit "$jit" 2>&1 | grep -E '^time' |
        sed -E 's/^time: compiled in ([0-9.]+) s; ([0-9.]+) s for the steps \(([0-9.e+]+) rows\/s\).*/first step after \1 s (compiling); epoch: \2 s, \3 rows\/s/'
    done
    echo "== torch, $threads thread(s)"
    # shellcheck disable=SC2086
    "$python" bench/mlp_torch.py train "$data" --hidden $hidden --threads "$threads" | grep -E 'first|epoch'
  done
done

echo "=== the digits MLP of samples/, --jit optimized, 10 epochs"
build-bench/nabla fit samples/mlp_digits.nabla --data samples/data/digits.csv --optimizer adam \
  --lr 0.01 --standardize --epochs 10 --jit optimized 2>&1 | grep -E '^(time|loss|acc)'
