#!/usr/bin/env bash
# Peak memory of `nabla fit` on a large CSV file: the bytes of the text against the numbers kept.
#   bench/csv_memory.sh [ROWS] NABLA [NABLA...]
# Writes a CSV of ROWS rows (default 2,000,000): 4 number columns the model reads and a 60-byte
# text column it does not, about 100 bytes a row; then runs one step of a linear regression on it
# with each binary and prints the peak resident memory (/usr/bin/time -v) beside the size of the
# file and of the numbers kept (4 columns of doubles). Then the same for a sparse file of
# SPARSE_MB MB (default 256) of zero bytes, which is bad data: the peak memory of the error.
set -euo pipefail
rows=2000000
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then rows=$1; shift; fi
[ $# -ge 1 ] || { sed -n '2,7p' "$0"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$rows" "$work/data.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
note = "a note that the model does not read and about sixty bytes long"
with open(path, "w") as f:
    f.write("x1,x2,x3,y,note\n")
    for i in range(rows):
        a, b, c = (i % 97) / 97, (i % 89) / 89, (i % 83) / 83
        f.write(f"{a:.6f},{b:.6f},{c:.6f},{2*a - b + 0.5*c:.6f},{note}\n")
PY
cat > "$work/m.nabla" <<'NABLA'
param w[3]
param b
input x[3] from (x1 .. x3)
input y
minimize (dot(w, x) + b - y)^2
NABLA
bytes=$(stat -c %s "$work/data.csv")
printf '%-40s %10s %12s %14s %14s\n' binary rows "file (MB)" "numbers (MB)" "peak RSS (MB)"
for nabla in "$@"; do
  /usr/bin/time -v "$nabla" fit "$work/m.nabla" --data "$work/data.csv" --steps 1 --batch 64 \
    --max-rows "$rows" -o "$work/p.json" >/dev/null 2>"$work/time.txt" ||
    { cat "$work/time.txt" >&2; exit 1; }
  kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
  awk -v n="$nabla" -v r="$rows" -v b="$bytes" -v kb="$kb" \
    'BEGIN { printf "%-40s %10d %12.1f %14.1f %14.1f\n", n, r, b / 1e6, r * 4 * 8 / 1e6, kb * 1024 / 1e6 }'
done

sparse_mb=${SPARSE_MB:-256}
truncate -s "${sparse_mb}M" "$work/sparse.csv"
printf '\n%-40s %12s %14s %s\n' binary "sparse (MB)" "peak RSS (MB)" "exit status"
for nabla in "$@"; do
  status=0
  /usr/bin/time -v "$nabla" fit "$work/m.nabla" --data "$work/sparse.csv" --steps 1 \
    >/dev/null 2>"$work/time.txt" || status=$?
  kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.txt")
  awk -v n="$nabla" -v m="$sparse_mb" -v kb="$kb" -v s="$status" \
    'BEGIN { printf "%-40s %12d %14.1f %s\n", n, m, kb * 1024 / 1e6, s }'
done
