#!/usr/bin/env bash
# Installs what is missing, builds nabla and runs every test.
#   scripts/test.sh             RelWithDebInfo build in build/, all tests
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/ with
#                               clang, all tests, then each libFuzzer target of fuzz/ for
#                               NABLA_FUZZ_SECONDS seconds (default 10; 0 skips it)
#   scripts/test.sh --tsan      ThreadSanitizer build in build-tsan/, the tests of threads (tag [threads])
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
mode=all
cxx=""
fuzz_seconds=0
case "${1:-}" in
  "") cmake_args+=(-DNABLA_BUILD_BENCH=ON) ;;  # the benchmarks are built (not run), so they keep compiling
  --sanitize)
    # clang, so that the same build also links the libFuzzer targets (docs/testing.md).
    build=build-asan; cxx=clang++-19
    cmake_args+=(-DNABLA_SANITIZE=ON -DNABLA_FUZZ=ON -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19)
    fuzz_seconds=${NABLA_FUZZ_SECONDS:-10} ;;
  --tsan) build=build-tsan; cmake_args+=(-DNABLA_TSAN=ON); mode=threads ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "scripts/test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

bash scripts/setup.sh
# A build folder configured with another compiler starts over (CMake cannot switch compilers).
if [ -n "$cxx" ] && [ -f "$build/CMakeCache.txt" ] &&
   ! grep -q "^CMAKE_CXX_COMPILER:[A-Z]*=.*$cxx\$" "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" >/dev/null
if [ "$mode" = all ]; then
  cmake --build "$build" -j2
  ctest --test-dir "$build" --output-on-failure -j2
  # Bounded fuzzing: each target from its corpus, new inputs in a scratch folder. A finding stops
  # the run with its input saved as $build/fuzz/<target>-crash-* (add it to fuzz/corpus/<target>/).
  if [ "$fuzz_seconds" -gt 0 ]; then
    for corpus in fuzz/corpus/*/; do
      target=$(basename "$corpus")
      work=$(mktemp -d)
      log="$build/fuzz/fuzz_$target.log"
      # The JSON readers get inputs long enough to nest past the depth that once overflowed the
      # parser's stack (about 50,000 levels): their corpus holds such inputs, up to 300 KB.
      max_len=4096
      case "$target" in checkpoint|params) max_len=327680 ;; esac
      if ! "$build/fuzz/fuzz_$target" "$work" "$corpus" -dict=fuzz/nabla.dict -max_len=$max_len \
          -timeout=30 -rss_limit_mb=2048 -max_total_time="$fuzz_seconds" -print_final_stats=1 \
          -artifact_prefix="$build/fuzz/$target-" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "scripts/test.sh: fuzz_$target found a failure (log: $log)" >&2
        rm -rf "$work"
        exit 1
      fi
      rm -rf "$work"
      echo "fuzz_$target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log")"
    done
  fi
else
  # Only what the threaded tests need: compiling from several threads, the background tier,
  # batched kernels over the worker pool, the API's shared session, CSV rows parsed in parallel.
  # Any report fails the run.
  cmake --build "$build" -j2 --target test_jit test_api test_runtime
  export TSAN_OPTIONS="halt_on_error=1 exitcode=66 ${TSAN_OPTIONS:-}"
  "$build/tests/test_jit" "[threads],[tiers]"
  "$build/tests/test_api" "[threads]"
  "$build/tests/test_runtime" "[data][threads]"
fi
