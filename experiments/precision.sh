#!/usr/bin/env bash
# bfloat16 (issue 13, README "Performance"): what --precision bf16 buys in
# speed and what it does to the figures, on this machine.
#   experiments/precision.sh WORKDIR [SEEDS]
# 1. `bench` in fp32 and bf16, interleaved, ROUNDS times (default 3):
#    WORKDIR/bench.<precision>.<round>.json.
# 2. Mixed-precision training: resnet18 @224 from scratch on the patient carve
#    of experiments/default_split.sh, a stratified LIMIT (default 1200) of the
#    training rows, EPOCHS (default 3) epochs, for each seed (default 1 2 3)
#    in fp32 and in bf16; training wall time and the validation figures of
#    each model file (always evaluated in float32) on the carve and on the 200
#    full-resolution images. WORKDIR/train.tsv, one row per run.
# Inference in bf16 with the bundled model: PRECISION=bf16 experiments/evaluate_default.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${1:?usage: precision.sh WORKDIR [SEEDS]}
seeds=${2:-"1 2 3"}
rounds=${ROUNDS:-3}
limit=${LIMIT:-1200}
epochs=${EPOCHS:-3}
mkdir -p "$work"

if [ "${SKIP_BENCH:-0}" != 1 ]; then
  for round in $(seq "$rounds"); do
    for precision in fp32 bf16; do
      "$bin" bench --precision "$precision" --runs resnet18:224 mobilenet-v2:224 small-cnn:128 --steps 6 \
        --latency-runs 30 --json "$work/bench.$precision.$round.json" >"$work/bench.$precision.$round.txt"
    done
  done
fi

[ -f "$work/trainval.csv" ] || "$here/experiments/default_split.sh" "$work" >/dev/null
printf 'seed\tprecision\ttrain_s\tval_auc\tval_sensitivity\tval_specificity\tfullres_auc\tfullres_sensitivity\tfullres_specificity\n' \
  >"$work/train.tsv"
for seed in $seeds; do
  for precision in fp32 bf16; do
    model="$work/resnet18-$precision-seed$seed.psmodel"
    start=$(date +%s.%N)
    "$bin" train --arch resnet18 --image-size 224 --data "$work/trainval.csv" --limit "$limit" \
      --epochs "$epochs" --seed "$seed" --precision "$precision" --out "$model" --no-progress \
      >"$work/train-$precision-seed$seed.log" 2>&1
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    "$bin" evaluate --model "$model" --data "$work/trainval.csv" --split val --json "$model.val.json" >/dev/null
    "$bin" evaluate --model "$model" --data "$shared/data/chest_xray_fullres" --json "$model.fullres.json" >/dev/null
    printf '%s\t%s\t%.1f\t%s\t%s\n' "$seed" "$precision" "$seconds" \
      "$(jq -r '[.roc_auc, .recall, .specificity] | map(.*10000|round/10000) | @tsv' "$model.val.json")" \
      "$(jq -r '[.roc_auc, .recall, .specificity] | map(.*10000|round/10000) | @tsv' "$model.fullres.json")" \
      >>"$work/train.tsv"
    tail -1 "$work/train.tsv"
  done
done
