#!/usr/bin/env bash
# Installs what is missing, builds nabla and shows the derivatives of the bundled samples:
# the seed function (x^2 + y)^2 * (y - x*y) and a softmax-regression model.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target nabla >/dev/null

run() { printf '\n$ %s\n' "$*"; "$@"; }
run build/nabla diff '(x^2 + y)^2 * (y - x*y)'
run build/nabla eval '(x^2 + y)^2 * (y - x*y)' --at x=0.5,y=-0.5 --grad --hessian
run build/nabla diff samples/softmax_iris.nabla
