#!/usr/bin/env bash
# One epoch of training, nabla fit against the same loop in PyTorch (bench/fit_torch.py): logistic
# regression on 10^6 rows x 16 features, mini-batches of 1024 shuffled rows, Adam, float64.
#   bench/fit.sh [EPOCHS]     (default 3; nabla's and torch's figures are printed per run)
# Needs Debian's python3-numpy and python3-torch (not needed by the tests). The data set is made
# once in build-bench/fit/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
epochs="${1:-3}"
python=/usr/bin/python3
[ -x "$python" ] || python=python3

bash bench/build_nabla.sh
mkdir -p build-bench/fit
data=build-bench/fit/logreg16.csv
[ -f "$data" ] || "$python" bench/fit_torch.py data "$data"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for run in 1 2 3; do
  echo "== nabla fit, $epochs epochs (run $run)"
  build-bench/nabla fit bench/logreg16.nabla --data "$data" --optimizer adam --lr 1e-3 \
    --batch 1024 --epochs "$epochs" 2>&1 | grep -E '^(time|loss)'
  echo "== torch, 2 threads (run $run)"
  "$python" bench/fit_torch.py train "$data" --epochs "$epochs" --threads 2 | grep epoch
  echo "== torch, 1 thread (run $run)"
  "$python" bench/fit_torch.py train "$data" --epochs "$epochs" --threads 1 | grep epoch
done
