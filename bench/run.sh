#!/usr/bin/env bash
# Builds and runs the benchmarks (Release build in build-bench/). Figures go to bench/RESULTS.md by
# hand, with the command that gave them.
#   bench/run.sh            everything
#   bench/run.sh kernels    generated code against hand-written C++ (per call and batched)
#   bench/run.sh latency    compile latency, and the first compilation in fresh processes
#   bench/run.sh swell      expression swell (bench/swell.sh)
#   bench/run.sh sizes      compile time against input size, up to the limits (bench/sizes.sh;
#                           not part of `all`: it runs for minutes)
#   bench/run.sh optim      L-BFGS and Newton evaluation counts on Rosenbrock-100, and torch's
#                           (bench/torch_lbfgs.py: needs Debian's python3-torch)
#   bench/run.sh map        vectorized calls over many points (bench_map.cpp), and the same call
#                           from Python (bench/python_map.py)
#   bench/run.sh csv        reading data: a 10^6 x 17 CSV file (122 MB) and the same numbers as
#                           .npy/.npz, by nabla's reader with 1 and 2 threads (bench_csv.cpp),
#                           and by pandas.read_csv and numpy.load (bench/csv_speed.py; pandas
#                           needs Debian's python3-pandas); not part of `all`
# Extra arguments go to Google Benchmark (e.g. --benchmark_filter=LogReg).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

what="${1:-all}"
[ $# -gt 0 ] && shift
case "$what" in
  all|kernels|latency|swell|sizes|optim|map) ;;
  csv) ;;
  -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
  *) echo "bench/run.sh: unknown benchmark '$what' (see --help)" >&2; exit 2 ;;
esac

bash scripts/setup.sh
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DNABLA_BUILD_BENCH=ON \
  -DNABLA_BUILD_TESTS=OFF >/dev/null
if [ "$what" = csv ]; then
  # Only the data layer: seconds to build (bench/CMakeLists.txt).
  cmake --build build-bench -j2 --target nabla_bench_csv >/dev/null
else
  cmake --build build-bench -j2 >/dev/null
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
if [ "$what" = all ] || [ "$what" = kernels ]; then
  # Repetitions in random order, so that a slow spell of the machine spreads over all of them;
  # the minimum and the median of the repetitions are the figures.
  build-bench/bench/nabla_bench_kernels --benchmark_repetitions=15 \
    --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true "$@"
fi
if [ "$what" = all ] || [ "$what" = latency ]; then
  build-bench/bench/nabla_bench_latency "$@"
  echo "first compilation in a fresh process (100 nodes), 9 processes:"
  for i in 1 2 3 4 5 6 7 8 9; do build-bench/bench/nabla_bench_latency --first 100; done |
    sort -n | awk '{ t[NR] = $1; print "  " $0 } END { print "median: " t[5] " ms" }'
fi
if [ "$what" = all ] || [ "$what" = swell ]; then
  cmake --build build-bench -j2 --target nabla >/dev/null
  bash bench/swell.sh build-bench/nabla
fi
if [ "$what" = sizes ]; then
  cmake --build build-bench -j2 --target nabla >/dev/null
  bash bench/sizes.sh build-bench/nabla "$@"
fi
if [ "$what" = all ] || [ "$what" = optim ]; then
  build-bench/bench/nabla_bench_optim
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 bench/torch_lbfgs.py
  else
    echo "torch_lbfgs.py: skipped (needs Debian's python3-torch: apt-get install python3-torch)"
  fi
fi
if [ "$what" = all ] || [ "$what" = map ]; then
  build-bench/bench/nabla_bench_map --benchmark_repetitions=15 \
    --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true "$@"
  if [ -d build-bench/python/nabla ]; then
    PYTHONPATH=build-bench/python /usr/bin/python3 bench/python_map.py build-bench/bench/nabla_bench_map
  fi
fi
if [ "$what" = csv ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  /usr/bin/python3 bench/csv_speed.py make "$work"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for f in data.csv data.npy data.npz data_deflated.npz; do
    build-bench/bench/nabla_bench_csv "$work/$f" 1 2
  done
  /usr/bin/python3 bench/csv_speed.py peers "$work"
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
