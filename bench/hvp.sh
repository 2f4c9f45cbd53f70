#!/usr/bin/env bash
# The cost of a Hessian-vector product and of a sparse Hessian against the gradient's at the array
# level, on the problems of bench/large/ at each n and on the matrix-product models of bench/hvp/
# (bench/bench_hvp.cpp; Release build in build-bench/).
#   bench/hvp.sh [N ...]     (default: 1000 10000 100000 1000000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000 1000000)

bash scripts/setup.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON \
  -DNABLA_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target nabla_bench_hvp >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${sizes[@]}"; do
  mkdir -p "$dir/$n"
  python3 bench/second_order.py --write "$dir/$n" "$n" >/dev/null
  build-bench/bench/nabla_bench_hvp "$dir/$n"/*.nabla
done
# Matrix products of two params (dense Hessians: the products only).
build-bench/bench/nabla_bench_hvp bench/hvp/*.nabla
