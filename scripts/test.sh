#!/usr/bin/env bash
# Installs what is missing, builds nabla and runs every test.
#   scripts/test.sh             RelWithDebInfo build in build/, all tests
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/, all tests
#   scripts/test.sh --tsan      ThreadSanitizer build in build-tsan/, the tests of threads (tag [threads])
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
mode=all
case "${1:-}" in
  "") cmake_args+=(-DNABLA_BUILD_BENCH=ON) ;;  # the benchmarks are built (not run), so they keep compiling
  --sanitize) build=build-asan; cmake_args+=(-DNABLA_SANITIZE=ON) ;;
  --tsan) build=build-tsan; cmake_args+=(-DNABLA_TSAN=ON); mode=threads ;;
  -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
  *) echo "scripts/test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

bash scripts/setup.sh
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" >/dev/null
if [ "$mode" = all ]; then
  cmake --build "$build" -j2
  ctest --test-dir "$build" --output-on-failure -j2
else
  # Only what the threaded tests need: compiling from several threads, the background tier,
  # batched kernels over the worker pool, the API's shared session. Any report fails the run.
  cmake --build "$build" -j2 --target test_jit test_api
  export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
  "$build/tests/test_jit" "[threads],[tiers]"
  "$build/tests/test_api" "[threads]"
fi
