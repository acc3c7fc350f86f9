#!/usr/bin/env bash
# The scale-rule study of docs/results.md: Fashion-MNIST MLP and CNN, 2
# epochs, seeds 0 and 1 (override with SEEDS=0,1,2), BM6/BM5/BM4 with the
# fit scale rule against the paper's floor rule, with loss-grad=auto and bm,
# and fit for the errors only (backward-scale=fit). One run at a time, niced (the machine is
# shared); a configuration whose log exists is skipped, so the script
# resumes. Then scripts/scale_table.py summarizes OUT.
#
#   scripts/scale-study.sh [OUT]       # default: results/scale
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BM_BUILD_DIR:-$root/build}
out=$(realpath -m "${1:-$root/results/scale}")
seeds=${SEEDS:-0,1}
"$root/scripts/build.sh" bm-opt > /dev/null
mkdir -p "$out"
cd "$root/python"
run() { # name model args...
  local name=$1 model=$2
  shift 2
  if [ -f "$out/$name/$model.json" ]; then
    echo "skip $name (done)"
    return
  fi
  echo "== $(date +%T) $name: --model $model --epochs 2 --seeds $seeds $*"
  BM_OPT="$build/bin/bm-opt" nice -n 10 /usr/bin/python3 -m bm.train \
    --model "$model" --epochs 2 --seeds "$seeds" --out "$out/$name" "$@" \
    > "$out/$name.log" 2>&1
  echo "   $(date +%T) exit $?"
}
for model in mlp cnn; do
  run "${model}_floor_auto" "$model" --formats bm5,bm4
  run "${model}_fit_auto" "$model" --formats bm6,bm5,bm4 --scale fit
  run "${model}_fit_bm" "$model" --formats bm5,bm4 --scale fit --loss-grad bm
  run "${model}_floor_bm" "$model" --formats bm5,bm4 --loss-grad bm
  run "${model}_bwfit_bm" "$model" --formats bm5,bm4 --backward-scale fit --loss-grad bm
  run "${model}_bwfit_auto" "$model" --formats bm6,bm5,bm4 --backward-scale fit
done
echo "== $(date +%T) done; /usr/bin/python3 $root/scripts/scale_table.py $out"
