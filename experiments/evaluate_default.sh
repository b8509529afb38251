#!/usr/bin/env bash
# Evaluates model files on the looks the project has at generalisation
# (docs/generalisation.md): the patient-carved validation rows of WORKDIR's
# trainval.csv with every acquisition-shift proxy, the 200 held-out images at
# their full original resolution, and the official 16-image val split.
#   experiments/evaluate_default.sh WORKDIR MODEL... > table.md
#   PRECISION=bf16 experiments/evaluate_default.sh ...   (inference in bfloat16;
#   files and rows are then named <stem>-bf16)
# Writes WORKDIR/eval/<model stem>.{val,fullres,official}.json and prints one
# markdown row per model and data set.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${1:?usage: evaluate_default.sh WORKDIR MODEL...}
shift
precision=${PRECISION:-fp32}
mkdir -p "$work/eval"
row() {  # name, data label, json
  jq -r --arg m "$1" --arg d "$2" '"| \($m) | \($d) | \(.n) | \(.roc_auc*1000|round/1000) | \(.recall*1000|round/1000) | \(.specificity*1000|round/1000) | \(.accuracy*1000|round/1000) | \(if .classes then (.classes.type_accuracy*1000|round/1000) else "-" end) |"' "$3"
}
echo "| model | data | n | ROC AUC | sensitivity | specificity | accuracy | type acc. |"
echo "|---|---|---|---|---|---|---|---|"
for model in "$@"; do
  name=$(basename "$model" .psmodel)
  [ "$precision" = fp32 ] || name="$name-$precision"
  "$bin" evaluate --precision "$precision" --model "$model" --data "$work/trainval.csv" --split val --shifts \
    --json "$work/eval/$name.val.json" >"$work/eval/$name.val.txt"
  "$bin" evaluate --precision "$precision" --model "$model" --data "$shared/data/chest_xray_fullres" \
    --json "$work/eval/$name.fullres.json" >"$work/eval/$name.fullres.txt"
  "$bin" evaluate --precision "$precision" --model "$model" --data "$shared/data/chest_xray" --split val \
    --json "$work/eval/$name.official.json" >"$work/eval/$name.official.txt"
  row "$name" "patient-carved val" "$work/eval/$name.val.json"
  # The shift proxies: worst specificity and worst sensitivity over the shifted copies.
  jq -r --arg m "$name" '[.shifts | to_entries[] | .value] as $s |
    "| \($m) | shifted val (worst of \($s|length)) | \($s[0].n) | \([$s[].roc_auc]|min*1000|round/1000) | \([$s[].recall]|min*1000|round/1000) | \([$s[].specificity]|min*1000|round/1000) | \([$s[].accuracy]|min*1000|round/1000) | - |"' \
    "$work/eval/$name.val.json"
  row "$name" "full resolution (held out)" "$work/eval/$name.fullres.json"
  row "$name" "official val (16)" "$work/eval/$name.official.json"
done
