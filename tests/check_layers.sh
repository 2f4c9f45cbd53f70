#!/usr/bin/env bash
# The front ends (cli/, runtime/fit/, runtime/data/, api/, python/src/) reach the compiler through its driver
# only: no file of theirs includes a header of compiler/ other than driver/driver.h
# (docs/architecture.md). Prints each offending include and fails when there is one.
#   check_layers.sh ROOT         checks the tree at ROOT
#   check_layers.sh --self-test  checks that a tree with a forbidden include fails
set -euo pipefail
if [ "${1:-}" = --self-test ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/compiler/graph" "$tmp/compiler/driver" "$tmp/cli" "$tmp/runtime/fit" \
    "$tmp/runtime/data" "$tmp/api"
  touch "$tmp/compiler/graph/print.h" "$tmp/compiler/driver/driver.h"
  printf '#include "driver/driver.h"\n#include "cli_common.h"\n' >"$tmp/cli/ok.cpp"
  bash "$0" "$tmp" >/dev/null || { echo "self-test: a clean tree fails"; exit 1; }
  printf '#include "graph/print.h"\n' >"$tmp/runtime/fit/bad.cpp"
  if bash "$0" "$tmp" >/dev/null; then echo "self-test: a forbidden include passes"; exit 1; fi
  exit 0
fi
root=${1:-$(dirname "${BASH_SOURCE[0]}")/..}
status=0
while IFS= read -r -d '' file; do
  while IFS= read -r line; do
    header=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
    if [ -f "$root/compiler/$header" ] && [ "$header" != "driver/driver.h" ]; then
      echo "${file#"$root"/}: includes compiler/$header (only driver/driver.h is allowed)"
      status=1
    fi
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" || true)
done < <(find "$root/cli" "$root/runtime/fit" "$root/runtime/data" "$root/api" \
           $( [ -d "$root/python/src" ] && echo "$root/python/src" ) -type f \
           \( -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \) -print0)
exit $status
