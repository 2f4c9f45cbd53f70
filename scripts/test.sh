#!/usr/bin/env bash
# Installs what is missing, builds nabla and runs every test.
#   scripts/test.sh             RelWithDebInfo build in build/, all tests
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/, all tests
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build
cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
case "${1:-}" in
  "") ;;
  --sanitize) build=build-asan; cmake_args+=(-DNABLA_SANITIZE=ON) ;;
  -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
  *) echo "scripts/test.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
esac

bash scripts/setup.sh
cmake -S . -B "$build" -G Ninja "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j2
ctest --test-dir "$build" --output-on-failure -j2
