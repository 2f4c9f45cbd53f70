#!/usr/bin/env bash
# Libraries of array programs (`nabla compile`, docs/aot.md): the time `nabla compile` takes for
# MLPs of 10^5 and nearly 10^6 params, and what the library's nabla_objective_batch does over
# batches of 64 rows (value and gradient, one batch after another; bench/aot/mlp_host.c), against
# the same objective in nabla's JIT (bench/bench_arrays.cpp, BM_ApiBatchMlp, for 784-128-10).
# One BLAS thread throughout.
#   bash bench/aot_array.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash bench/build_nabla.sh
out=build-bench/aot
mkdir -p "$out"
cc -O2 -o "$out/mlp_host" bench/aot/mlp_host.c -ldl

# An MLP with tanh layers and softmax cross-entropy over 784 features (bench/mlp_torch.py's).
model() {
  local file=$1
  shift
  local sizes=(784 "$@" 10) k
  {
    echo "# MLP $(IFS=-; echo "${sizes[*]}")"
    for ((k = 1; k < ${#sizes[@]}; ++k)); do
      echo "param W$k[${sizes[k]}][${sizes[k - 1]}] ~ normal(0, 0.05)"
      echo "param b$k[${sizes[k]}]"
    done
    echo "input x[784] from (p0 .. p783)"
    echo "input label"
    local h=x
    for ((k = 1; k < ${#sizes[@]} - 1; ++k)); do
      echo "h$k = tanh(W$k @ $h + b$k)"
      h=h$k
    done
    k=$((${#sizes[@]} - 1))
    echo "z = W$k @ $h + b$k"
    echo "minimize logsumexp(z) - dot(onehot(label, 10), z)"
  } >"$file"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for hidden in "128" "512 512"; do
  # shellcheck disable=SC2086  # a layer list is several arguments
  name="mlp_$(echo $hidden | tr ' ' '_')"
  # shellcheck disable=SC2086
  model "$out/$name.nabla" $hidden
  start=$(date +%s.%N)
  build-bench/nabla compile "$out/$name.nabla" -o "$out/lib$name.so" 2>/dev/null
  end=$(date +%s.%N)
  echo "== $(head -1 "$out/$name.nabla" | sed 's/^# //'): nabla compile took $(echo "$end - $start" | bc) s"
  # A pass over 5,000 rows (31 MB of data, as an epoch reads it), then one batch of 64 rows
  # again and again (its data in cache, as BM_ApiBatchMlp runs it).
  OPENBLAS_NUM_THREADS=1 "$out/mlp_host" "$out/lib$name.so" 5000 64 5
  OPENBLAS_NUM_THREADS=1 "$out/mlp_host" "$out/lib$name.so" 64 64 500
done
echo "== the same objective in nabla's JIT (Objective::batch of 64 rows, 784-128-10)"
cmake --build build-bench -j2 --target nabla_bench_arrays >/dev/null
OPENBLAS_NUM_THREADS=1 build-bench/bench/nabla_bench_arrays --benchmark_filter='ApiBatchMlp' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true | grep -E '_min|_mean'
