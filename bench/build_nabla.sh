#!/usr/bin/env bash
# Builds build-bench/nabla (Release, no tests) for the benchmark scripts, after scripts/setup.sh.
#   bash bench/build_nabla.sh      (from the repository root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON \
  -DNABLA_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j2 --target nabla >/dev/null
