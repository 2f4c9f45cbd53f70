#!/usr/bin/env bash
# Expression swell and derivative latency of the symbolic core, end to end through the CLI.
# Prints a Markdown table: node counts of f and of value+gradient, their ratio, and wall time.
#   bench/swell.sh [path/to/nabla]      (default: build/nabla; build it first with scripts/run.sh)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
nabla=${1:-build/nabla}
[ -x "$nabla" ] || { echo "bench/swell.sh: $nabla not found; build first (scripts/run.sh)" >&2; exit 2; }

product30() { local s=x1; for i in $(seq 2 30); do s+="*x$i"; done; echo "$s"; }
compose30() { local s=x; for i in $(seq 0 29); do if (( i % 2 )); then s="cos($s)"; else s="sin($s)"; fi; done; echo "$s"; }
rosenbrock() {
  local n=$1 s=""
  for i in $(seq 1 $((n - 1))); do
    [ -n "$s" ] && s+=" + "
    s+="100*(x$((i + 1)) - x$i^2)^2 + (1 - x$i)^2"
  done
  echo "$s"
}
dten() { local s='sin(x)^7'; for i in $(seq 1 10); do s="d($s, x)"; done; echo "$s"; }

# Median wall time of 5 runs, in milliseconds.
median_ms() {
  local times=()
  for _ in 1 2 3 4 5; do
    local t0 t1
    t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 / 1000}'
}

echo "| expression | nodes f | nodes f+grad | ratio | graph --grad --stats (ms) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for name in product30 compose30 rosenbrock100; do
  case $name in
    product30) e=$(product30) ;;
    compose30) e=$(compose30) ;;
    rosenbrock100) e=$(rosenbrock 100) ;;
  esac
  json=$("$nabla" graph "$e" --grad --stats --json)
  n=$(echo "$json" | sed -E 's/.*"nodes": *([0-9]+).*/\1/')
  g=$(echo "$json" | sed -E 's/.*"grad_nodes": *([0-9]+).*/\1/')
  ms=$(median_ms "$nabla" graph "$e" --grad --stats --json)
  echo "| $name | $n | $g | $(awk "BEGIN{printf \"%.2f\", $g/$n}") | $ms |"
done

echo
echo "| 10th derivative of sin(x)^7 at x = 0.7 | value | eval (ms) |"
echo "| --- | ---: | ---: |"
value=$("$nabla" eval "$(dten)" --at x=0.7 --json | sed -E 's/.*"value": *([^,}]+).*/\1/')
echo "| d(...d(sin(x)^7, x)..., x) | $value | $(median_ms "$nabla" eval "$(dten)" --at x=0.7) |"
