#!/bin/sh
# Builds the trained-model host program: compiles samples/softmax_iris.nabla into libiris.so and
# iris.h, then main.c against them.
#
#   samples/embed/aot_model/build.sh [OUT_DIR]     (default OUT_DIR: build/aot_model)
#
# NABLA names the nabla binary (default: build/nabla, else nabla on PATH); CC the C compiler
# (default: cc). Run the program on params that `nabla fit` wrote:
#   OUT_DIR/aot_model params.json samples/data/iris.csv
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/build/aot_model}
if [ -z "${NABLA:-}" ]; then
  if [ -x "$root/build/nabla" ]; then NABLA=$root/build/nabla; else NABLA=nabla; fi
fi
cc=${CC:-cc}

mkdir -p "$out"
"$NABLA" compile "$root/samples/softmax_iris.nabla" -o "$out/libiris.so" --header "$out/iris.h"
# -rpath '$ORIGIN': the program finds libiris.so in its own directory.
$cc -std=c99 -Wall -Wextra -pedantic -Werror -I "$out" "$here/main.c" -o "$out/aot_model" \
  -L "$out" -liris -lm -Wl,-rpath,'$ORIGIN'
echo "built $out/aot_model (run: $out/aot_model PARAMS.json DATA.csv)"
