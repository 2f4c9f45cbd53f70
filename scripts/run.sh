#!/usr/bin/env bash
# Installs what is missing, builds nabla and shows the whole job on the bundled samples: the
# derivatives of the seed function (x^2 + y)^2 * (y - x*y) and of a softmax-regression model;
# training that model on samples/data/iris.csv with `nabla fit`; and `nabla compile` of the same
# model into a shared library that a bundled C program (samples/embed/aot_model/) calls with the
# trained params. Outputs go to build/run/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target nabla >/dev/null

run() { printf '\n$ %s\n' "$*"; "$@"; }
run build/nabla diff '(x^2 + y)^2 * (y - x*y)'
run build/nabla eval '(x^2 + y)^2 * (y - x*y)' --at x=0.5,y=-0.5 --grad --hessian
run build/nabla diff samples/softmax_iris.nabla
mkdir -p build/run
run build/nabla fit samples/softmax_iris.nabla --data samples/data/iris.csv --optimizer adam \
  --lr 0.05 --epochs 50 -o build/run/params.json
run env NABLA=build/nabla sh samples/embed/aot_model/build.sh build/run
run build/run/aot_model build/run/params.json samples/data/iris.csv
