#!/usr/bin/env bash
# Data-parallel `nabla fit` on this machine: rows/s of one process against 2 ranks of mpirun, and
# the latency of one fixed-order sum over the ranks (bench/bench_mpi_sum.cpp), for
# bench/RESULTS.md "Data-parallel fit (MPI)".
#   bench/mpi_fit.sh [BUILD]     (default build-py: a build with MPI; the sum's benchmark is
#                                 compiled here with mpicxx)
# The data: samples/data/breast_cancer.csv repeated 200 times (113,800 rows, 31 columns), made
# once in BUILD/bench_mpi/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build-py}"
nabla="$build/nabla"
work="$build/bench_mpi"
mkdir -p "$work"
data="$work/breast_cancer_x200.csv"
if [ ! -f "$data" ]; then
  head -1 samples/data/breast_cancer.csv >"$data.tmp"
  for _ in $(seq 200); do tail -n +2 samples/data/breast_cancer.csv; done >>"$data.tmp"
  mv "$data.tmp" "$data"
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
fit() { # ranks threads batch
  local cmd=("$nabla" fit samples/logreg_breast_cancer.nabla --data "$data" --standardize
             --optimizer adam --lr 0.01 --seed 1 --epochs 30 --threads "$2" --batch "$3")
  if [ "$1" -gt 1 ]; then cmd=(mpirun -np "$1" "${cmd[@]}"); fi
  "${cmd[@]}" 2>&1 | grep -E "^time" | sed -E "s/.*\(([0-9.e+]+) rows\/s\).*/\1 rows\/s/"
}
for batch in 1024 16384; do
  for run in 1 2 3; do
    echo "batch $batch run $run: N=1 1 thread: $(fit 1 1 $batch); N=1 2 threads: $(fit 1 2 $batch);" \
         "N=2 1 thread each: $(fit 2 1 $batch)"
  done
done
mpicxx -O2 -std=c++20 -I. bench/bench_mpi_sum.cpp runtime/mpi/comm_mpi.cpp runtime/fit/comm.cpp \
  -o "$work/bench_mpi_sum"
mpirun -np 2 "$work/bench_mpi_sum" 33 1002 100002
