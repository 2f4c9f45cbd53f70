#!/bin/sh
# Builds the AOT host program: compiles samples/seed.nabla into libseed.so and seed.h, then
# main.c against them.
#
#   samples/embed/aot_host/build.sh [OUT_DIR]     (default OUT_DIR: build/aot_host)
#
# NABLA names the nabla binary (default: build/nabla, else nabla on PATH); CC the C compiler
# (default: cc).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=${1:-$root/build/aot_host}
if [ -z "${NABLA:-}" ]; then
  if [ -x "$root/build/nabla" ]; then NABLA=$root/build/nabla; else NABLA=nabla; fi
fi
cc=${CC:-cc}

mkdir -p "$out"
"$NABLA" compile "$root/samples/seed.nabla" -o "$out/libseed.so" --header "$out/seed.h"
# -rpath '$ORIGIN': the program finds libseed.so in its own directory.
$cc -std=c99 -Wall -Wextra -pedantic -Werror -I "$out" "$here/main.c" -o "$out/aot_host" \
  -L "$out" -lseed -Wl,-rpath,'$ORIGIN'
echo "built $out/aot_host (run: $out/aot_host [X Y])"
