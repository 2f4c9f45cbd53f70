#!/usr/bin/env bash
# Second order at scale (issue 21): the More-Garbow-Hillstrom set and the five large sparse
# problems, nabla beside SciPy. Figures go to bench/RESULTS.md by hand, with the command.
#   bench/second_order.sh check      the nabla files against their numpy twins (bench/mgh/check.py,
#                                    bench/second_order.py --check)
#   bench/second_order.sh mgh        bench/mgh.py: the 35 problems, SciPy trust-exact and L-BFGS-B
#                                    with nabla's derivatives, nabla's newton, lbfgs, lbfgs-mt,
#                                    newton-cg (the full table to build-bench/mgh_long.md)
#   bench/second_order.sh large [N,...] [ARGS]
#                                    bench/second_order.py for n = N,... (default 1000,10000,
#                                    100000; 10^6 only when named: 1000000), ARGS passed on
#                                    (e.g. --problems extended_powell --timeout 600)
#   bench/second_order.sh            check, mgh, then large at 1000,10000,100000
# Builds the `nabla` command and the Python module in build-bench/ (Release) first; with
# NABLA_BUILD=DIR it uses DIR's instead and builds nothing (e.g. NABLA_BUILD=build, or
# NABLA_BIN=build/nabla for the command alone). Needs Debian's python3-numpy and
# python3-scipy; runs with /usr/bin/python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-all}"
[ $# -gt 0 ] && shift
case "$what" in
  all|check|mgh|large) ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "bench/second_order.sh: unknown mode '$what' (see --help)" >&2; exit 2 ;;
esac

if [ -n "${NABLA_BUILD:-}" ]; then
  build="$NABLA_BUILD"
else
  build=build-bench
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON \
    -DNABLA_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target nabla nabla_python >/dev/null
fi
bin="${NABLA_BIN:-$build/nabla}"
export PYTHONPATH="$build/python${PYTHONPATH:+:$PYTHONPATH}"
py=/usr/bin/python3
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "nabla: $bin; Python module: $build/python"

if [ "$what" = all ] || [ "$what" = check ]; then
  $py bench/mgh/check.py
  $py bench/second_order.py --check
fi
if [ "$what" = all ] || [ "$what" = mgh ]; then
  mkdir -p build-bench
  $py bench/mgh.py --nabla "$bin" --long build-bench/mgh_long.md
fi
if [ "$what" = all ] || [ "$what" = large ]; then
  sizes=1000,10000,100000
  if [ $# -gt 0 ] && [[ "$1" != -* ]]; then sizes="$1"; shift; fi
  $py bench/second_order.py --nabla "$bin" --n "$sizes" "$@"
fi
