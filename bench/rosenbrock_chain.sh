#!/usr/bin/env bash
# The chained Rosenbrock function written with slices (samples/rosenbrock_chain.nabla) for
# growing n: the time nabla fit takes to compile it (its `time:` line) and the time of one
# value+gradient (100 plain gradient-descent steps, --lr 1e-6, divided by 100), for --jit auto
# (the array level: the program is large) and --jit baseline (the scalar level, unrolled), beside
# the hand-written loop of bench/hand/kernels.cpp (g++ -O3 -march=native, n known at run time).
#   bench/rosenbrock_chain.sh [N ...]     (default: 1000 100000 1000000; the scalar level only up
#                                          to 100000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 100000 1000000)

bash bench/build_nabla.sh
mkdir -p build-bench/rosenbrock_chain
g++ -O3 -march=native -DNABLA_HAND_NS=hand_o3 -o build-bench/rosenbrock_chain/hand \
  bench/hand/kernels.cpp bench/hand/rosenbrock_main.cpp
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${sizes[@]}"; do
  model=build-bench/rosenbrock_chain/n$n.nabla
  sed "s/^const n = .*/const n = $n/" samples/rosenbrock_chain.nabla >"$model"
  build-bench/rosenbrock_chain/hand "$n"
  for jit in auto baseline; do
    [ "$jit" = baseline ] && [ "$n" -gt 100000 ] && continue
    line=$(build-bench/nabla fit "$model" --optimizer sgd --lr 1e-6 --steps 100 --jit "$jit" \
             --max-nodes 100000000 2>&1 | grep -E '^time')
    compile=$(sed -E 's/^time: compiled in ([0-9.]+) s.*/\1/' <<<"$line")
    steps=$(sed -E 's/^time: compiled in [0-9.]+ s; ([0-9.]+) s for the steps.*/\1/' <<<"$line")
    awk -v n="$n" -v jit="$jit" -v c="$compile" -v s="$steps" \
      'BEGIN { printf "n = %-7d --jit %-9s compiled in %7.3f s, value+gradient %9.1f us per step\n", n, jit, c, s / 100 * 1e6 }'
  done
done
