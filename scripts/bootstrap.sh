#!/usr/bin/env bash
# Installs every Debian package that building and testing bm needs, and
# nothing that is already there. Safe to run any number of times.
#
#   scripts/bootstrap.sh            # install what is missing
#   scripts/bootstrap.sh --check    # only list what is missing (exit 1 if any)
set -euo pipefail

PACKAGES=(
  # Toolchain.
  cmake ninja-build g++ git
  # LLVM/MLIR 22: headers, CMake packages, libMLIR.so, mlir-opt/-runner, lit.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  # Unit tests.
  libgtest-dev
  # Python reference numerics and its tests; OpenBLAS so that numpy's
  # float32 matmul (the benchmarks' baseline) is not the reference BLAS.
  python3 python3-numpy libopenblas0-pthread
  # Real training data, the PyTorch front end (torchvision: ResNet-18) and
  # plots.
  dataset-fashion-mnist python3-torch python3-torchvision python3-matplotlib
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${1:-}" = "--check" ]; then
  if [ ${#missing[@]} -eq 0 ]; then echo "bootstrap: nothing missing"; exit 0; fi
  echo "bootstrap: missing: ${missing[*]}"; exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "bootstrap: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
