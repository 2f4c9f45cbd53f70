#!/usr/bin/env bash
# Before and after: the same benchmarks from two build folders (configured with
# -DNABLA_BUILD_BENCH=ON), alternated in one run so that a slow spell of the machine falls on both.
#   bench/compare.sh BEFORE_BUILD AFTER_BUILD [ROUNDS]
# Prints, per round and build: per-call and batched kernels (min and median of 10 repetitions),
# compile latency (median), and whole commands through the front door (median wall time of 11
# processes): nabla eval of the seed with gradient and Hessian, nabla diff of the iris model, and
# nabla fit of the breast-cancer sample. Run it from the source folder (it reads samples/).
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,8p' "$0"; exit 2; fi
before=$1 after=$2 rounds=${3:-2}
kernels='BM_(SeedGrad_nabla|Rosenbrock100Grad_nabla_ieee|LogReg_nabla|MLP_nabla|LogRegShuffled_nabla)'
median_us() {  # command...: the median wall time of 11 runs, in microseconds
  local t=()
  for _ in 1 2 3 4 5 6 7 8 9 10 11; do
    local s e
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    t+=($(( (e - s) / 1000 )))
  done
  printf '%s\n' "${t[@]}" | sort -n | sed -n 6p
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for round in $(seq "$rounds"); do
  for build in "$before" "$after"; do
    echo "== $build, round $round"
    "$build/bench/nabla_bench_kernels" --benchmark_filter="$kernels" --benchmark_repetitions=10 \
      --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true 2>&1 |
      grep -E '_(min|median) ' | awk '{ printf "  %-46s %8s %s\n", $1, $2, $3 }'
    "$build/bench/nabla_bench_latency" --benchmark_filter='BM_CompileLatency/' \
      --benchmark_report_aggregates_only=true 2>&1 | grep median |
      awk '{ printf "  %-46s %8s %s\n", $1, $2, $3 }'
    nabla=$build/nabla
    echo "  eval seed (whole process)        $(median_us "$nabla" eval '(x^2 + y)^2 * (y - x*y)' --at x=0.5,y=-0.5 --grad --hessian) us"
    echo "  diff iris (whole process)        $(median_us "$nabla" diff samples/softmax_iris.nabla) us"
    echo "  fit breast cancer (whole process) $(median_us "$nabla" fit samples/logreg_breast_cancer.nabla --data samples/data/breast_cancer.csv --optimizer adam --lr 0.01 --standardize --epochs 20) us"
  done
done
