#!/usr/bin/env bash
# Where the array level overtakes the scalar level (driver::kArrayLevelSize): small models trained on
# the bundled data with --jit array against the scalar level's --jit optimized (LLVM O2) and
# --jit baseline, each reporting its time to the first step and its rows/s (the `time:` line).
#   bench/threshold.sh
# Models: logistic regression on breast_cancer.csv (about 130 scalar operations unrolled), and
# tanh MLPs 64-H-10 on digits.csv for H = 1, 2, 4, 8, 16 (about 160 H operations unrolled).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash bench/build_nabla.sh
mkdir -p build-bench/threshold
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

run() {  # label, model, data, options...
  local label=$1 model=$2 data=$3
  shift 3
  for jit in array optimized baseline; do
    line=$(build-bench/nabla fit "$model" --data "$data" --optimizer adam --lr 0.01 --standardize \
             --threads 1 --jit "$jit" "$@" 2>&1 | grep -E '^time')
    compile=$(sed -E 's/^time: compiled in ([0-9.]+) s.*/\1/' <<<"$line")
    rate=$(sed -E 's/.*\(([0-9.e+]+) rows\/s\).*/\1/' <<<"$line")
    printf '%-28s --jit %-9s first step after %7.3f s, %9s rows/s\n' "$label" "$jit" "$compile" "$rate"
  done
}

run "logreg breast_cancer" samples/logreg_breast_cancer.nabla samples/data/breast_cancer.csv --epochs 20
for h in 1 2 4 8 16; do
  model=build-bench/threshold/mlp_$h.nabla
  sed -e "s/W1\[32\]\[64\]/W1[$h][64]/" -e "s/b1\[32\]/b1[$h]/" -e "s/W2\[10\]\[32\]/W2[10][$h]/" \
    samples/mlp_digits.nabla >"$model"
  run "MLP 64-$h-10 digits" "$model" samples/data/digits.csv --epochs 10
done
