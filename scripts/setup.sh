#!/usr/bin/env bash
# Installs what nabla needs to build and test, from Debian's packages. Idempotent and non-interactive:
# packages that are already installed are left alone, so a second run does nothing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build  # compiler, build system
  clang-19 libclang-rt-19-dev        # the sanitizer build with libFuzzer (scripts/test.sh --sanitize)
  llvm-19-dev                        # code generation, SourceMgr diagnostics, JSON
  libboost-dev                       # Boost.Spirit X3 (header-only)
  libcli11-dev                       # CLI11: the options of every command (header-only)
  catch2                             # unit tests (v2)
  graphviz                           # `nabla graph -o out.svg`
  librsvg2-bin                       # `nabla fit --plot loss.png` / `.pdf` (rsvg-convert)
  libbenchmark-dev                   # bench/
  libopenblas-dev                    # BLAS (CBLAS) for the array level's matrix products
  libeigen3-dev                      # Eigen: sparse LDL^T for Newton with a sparse Hessian (header-only)
  zlib1g-dev                         # .npz data files (deflated NumPy arrays) for fit and predict
  libopenmpi-dev openmpi-bin         # `mpirun -np N nabla fit`: data-parallel training (runtime/mpi/)
  python3                            # test helpers
  python3-dev pybind11-dev           # the Python module `import nabla` (python/): headers, bindings
  python3-numpy                      # its arrays in and out (at import time and in its tests)
  help2man                           # the man page nabla.1, made from `nabla --help`
  pkg-config dpkg-dev file           # the install test: pkg-config, and cpack's DEB (dpkg-shlibdeps)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
