#!/bin/sh
# The cost of `nabla fit --checkpoint-every 1`: for runs of 1,000 to 16,000 steps of a model without
# inputs, the size of the last checkpoint and the wall time of the whole run (one checkpoint, synced,
# every step). A checkpoint that keeps every step's loss grows with the steps, and the run writes
# O(steps^2) bytes; one with a bounded loss history stays the same size.
#
#   bench/checkpoints.sh build/nabla [other/build/nabla]
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf 'param x = -1.5\nparam y = 2\nminimize (1 - x)^2 + 10*(y - x^2)^2\n' > "$dir/bowl.nabla"
printf '%-28s %8s %14s %10s\n' binary steps "last (bytes)" "wall (s)"
for nabla in "$@"; do
  for steps in 1000 4000 16000; do
    rm -f "$dir/ck"
    start=$(date +%s.%N)
    "$nabla" fit "$dir/bowl.nabla" --optimizer sgd --lr 1e-4 --steps "$steps" \
      --checkpoint-every 1 --checkpoint "$dir/ck" > /dev/null 2>&1
    end=$(date +%s.%N)
    printf '%-28s %8d %14d %10.2f\n' "$nabla" "$steps" "$(stat -c %s "$dir/ck")" \
      "$(echo "$end - $start" | bc)"
  done
done
