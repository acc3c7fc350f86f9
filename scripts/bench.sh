#!/usr/bin/env bash
# The CPU benchmark: installs what is missing (scripts/bootstrap.sh, plus
# libopenblas0-pthread so that numpy's float32 baseline is OpenBLAS, not the
# reference BLAS), builds bm-opt, and runs bench/bench_cpu.py; arguments are
# passed on (see bench/README.md). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are
# unset for the benchmark command only, so OpenBLAS runs at full speed.
# The training steps (MLP, CNN) are timed against PyTorch eager's own step
# of the same model with torch.set_num_threads(usable cores).
# Then bench/bench_models.py times the compile of the full-width ResNet-18
# training step by stage, FP32 and BM6, and its steps against PyTorch's
# (BM_BENCH_MODELS=0 skips it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
"$root/scripts/bootstrap.sh"
if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "bench: installing libopenblas0-pthread (numpy's float32 baseline)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libopenblas0-pthread
fi
"$root/scripts/build.sh" bm-opt
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE BM_OPT="$build/bin/bm-opt" \
  /usr/bin/python3 "$root/bench/bench_cpu.py" "$@"
if [ "${BM_BENCH_MODELS:-1}" != 0 ]; then
  echo
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE BM_OPT="$build/bin/bm-opt" \
    /usr/bin/python3 "$root/bench/bench_models.py" --models resnet18 --formats fp32,bm6
fi
