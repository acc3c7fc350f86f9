#!/usr/bin/env bash
# The main job: installs what is missing, builds bm-opt, and trains the MLP
# on Fashion-MNIST for one epoch in FP32 and in BM6 through compiled training
# steps, then prints the results table (about 3 minutes on 2 cores).
# Extra arguments go to bm.train, e.g. scripts/demo.sh --model cnn --formats fp32,bm8,bm6
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
"$root/scripts/bootstrap.sh"
"$root/scripts/build.sh" bm-opt
echo "== examples/matmul.mlir through bm-opt (a BM6 matmul and its report)"
"$build/bin/bm-opt" "$root/examples/matmul.mlir" --bm-report -o /dev/null
echo "== training (python -m bm.train $*)"
cd "$root/python"
BM_OPT="$build/bin/bm-opt" exec /usr/bin/python3 -m bm.train \
  --model mlp --formats fp32,bm6 --epochs 1 --out "$root/results/demo" "$@"
