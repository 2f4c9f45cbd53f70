#!/usr/bin/env bash
# newton with a dense Hessian at the array level: the variably dimensioned function (More, Garbow
# and Hillstrom 1981, problem 25), whose Hessian 2 I + (2 + 12 s^2) w w^T has every entry
# nonzero, at n params, solved from its standard start by `nabla fit --optimizer newton`.
#   bench/dense_newton.sh [N ...]      (default: 1000 2000)
# With NABLA_BIN=path/to/nabla it times that command instead of building build-bench/nabla
# (Release), e.g. to compare two builds.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 2000)
if [ -z "${NABLA_BIN:-}" ]; then
  bash scripts/setup.sh
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON \
    -DNABLA_BUILD_TESTS=OFF >/dev/null
  cmake --build build-bench -j2 --target nabla >/dev/null
fi
bin="${NABLA_BIN:-build-bench/nabla}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${sizes[@]}"; do
  /usr/bin/python3 - "$n" "$dir/vd_$n.nabla" <<'PY'
import sys
sys.path.insert(0, "bench")
from second_order import doubling
n, path = int(sys.argv[1]), sys.argv[2]
lines, last = doubling("i", "[1]", 1, n, 1)
text = [f"const n = {n}"] + lines + [f"const j = {last}", "param x[n] = 1 - j/n",
        "s = dot(j, x - 1)", "minimize sum((x - 1)^2) + s^2 + s^4"]
open(path, "w").write("\n".join(text) + "\n")
PY
  echo "== n = $n: $bin fit vd_$n.nabla --optimizer newton --steps 200 --tol 1e-8"
  /usr/bin/time -f "wall %e s, peak RSS %M KB" "$bin" fit "$dir/vd_$n.nabla" --optimizer newton \
    --steps 200 --tol 1e-8 --log "$dir/log.csv" 2>&1 | grep -E "^newton:|^time:|^wall|error" || true
done
