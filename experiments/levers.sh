#!/usr/bin/env bash
# The lever study of docs/generalisation.md: one training recipe (the default
# model's member recipe at a reduced budget), changed one lever at a time,
# each with several seeds, evaluated on every look the project has at
# generalisation (experiments/evaluate_default.sh's: the patient carve, its 11
# shifted copies, the 200 held-out full-resolution images, the official val).
#
#   experiments/levers.sh WORKDIR LEVER...     # train + evaluate what is missing
#   experiments/levers.sh --table WORKDIR LEVER...   # the table only
#
# WORKDIR holds the split (experiments/default_split.sh WORKDIR makes it) and
# gets WORKDIR/levers/<lever>/seed<S>.{psmodel,log,*.json}. Reruns skip what
# exists. SEEDS (default "1 2 3"), LIMIT (training images, default 1500),
# EPOCHS (default 3) and PNEUMOSCAN_BIN set the budget.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
table_only=0
if [ "${1:-}" = --table ]; then table_only=1; shift; fi
work=${1:?usage: levers.sh [--table] WORKDIR LEVER...}
shift
seeds=${SEEDS:-"1 2 3"}
limit=${LIMIT:-1500}
epochs=${EPOCHS:-3}
mnv2="$shared/pretrained/mobilenet_v2_imagenet.pt"
r50="$shared/pretrained/resnet50_imagenet.pt"
imagenet_norm="--norm-mean 0.485,0.456,0.406 --norm-std 0.229,0.224,0.225"

# The recipe every lever starts from (the default model's members).
base=(--arch mobilenet-v2 --pretrained "$mnv2" --normalization fixed --norm-mean 0.5 --norm-std 0.5
      --image-size 224 --classes normal,bacterial,viral --freeze features --unfreeze-after 2
      --freeze-bn-stats --lr 3e-4 --patience 2 --batch-size 32)

# Each lever's training arguments, appended to (or replacing parts of) the recipe.
lever_args() {
  case "$1" in
    baseline) echo "" ;;
    size128) echo "--image-size 128" ;;
    size288) echo "--image-size 288" ;;
    equalize) echo "--normalization equalize_zscore" ;;
    strong-augment) echo "--augment strong" ;;
    label-smoothing) echo "--label-smoothing 0.1" ;;
    mixup) echo "--mixup 0.2" ;;
    balanced) echo "--sampling balanced --no-class-weights" ;;
    unweighted) echo "--no-class-weights" ;;
    zoom-wide) echo "--zoom 0.25" ;;
    # Pretrained vs scratch for both ImageNet families. ResNet-50 runs at 128 px (at 224 one run is
    # about an hour here); compare it with size128 and scratch128. At the recipe's 3e-4, unfreezing
    # wrecked its features (one seed: loss 0.81 -> 1.47, validation ROC AUC 0.971), so 1e-4.
    resnet50) echo "--arch resnet50-v1 --pretrained $r50 $imagenet_norm --image-size 128 --lr 1e-4" ;;
    scratch) echo "SCRATCH mobilenet-v2 224 0.5 0.5" ;;
    scratch128) echo "SCRATCH mobilenet-v2 128 0.5 0.5" ;;
    resnet50-scratch) echo "SCRATCH resnet50-v1 128 0.485,0.456,0.406 0.229,0.224,0.225" ;;
    tta) echo "TTA" ;;  # no training: the baseline's models, evaluated with test-time augmentation
    frozen) echo "--unfreeze-after 0" ;;
    # The head on average and max pooled features (src/models/mobilenet.h says why: focal against
    # diffuse opacity, which the type turns on).
    avgmax) echo "--arch mobilenet-v2-avgmax" ;;
    # Half the viral loss weight: with the class weighting, viral and bacterial errors then cost
    # about the same (session 23's VIRAL=2 lowered the type accuracy).
    viral-half) echo "--class-weight-scale VIRAL=0.5" ;;
    *) echo "unknown lever: $1" >&2; return 1 ;;
  esac
}

train_args() {  # lever -> the full argument list on stdout, one per line
  local extra
  extra=$(lever_args "$1")
  if [[ $extra == SCRATCH* ]]; then
    # From scratch: no import, nothing frozen, BatchNorm learns its statistics, a higher rate.
    local tag arch size mean std
    read -r tag arch size mean std <<<"$extra"
    printf '%s\n' --arch "$arch" --normalization fixed --norm-mean "$mean" --norm-std "$std" \
      --image-size "$size" --classes normal,bacterial,viral --lr 1e-3 --patience 2 --batch-size 32
  else
    # The lever's options replace the recipe's values of the same name; others are appended.
    local args=("${base[@]}") words i j
    read -r -a words <<<"$extra"
    for ((i = 0; i < ${#words[@]}; i++)); do
      local word=${words[i]} value=
      if ((i + 1 < ${#words[@]})) && [[ ${words[i + 1]} != --* ]]; then value=${words[i + 1]}; fi
      local replaced=0
      for ((j = 0; j < ${#args[@]}; j++)); do
        if [ "${args[j]}" = "$word" ] && [ -n "$value" ]; then args[j + 1]=$value; replaced=1; fi
      done
      if [ "$replaced" = 0 ]; then args+=("$word"); [ -n "$value" ] && args+=("$value"); fi
      [ -n "$value" ] && i=$((i + 1))
    done
    # A normalisation other than fixed takes no mean and std.
    local kept=() k
    for ((k = 0; k < ${#args[@]}; k++)); do
      if [[ ${args[k]} == --norm-mean || ${args[k]} == --norm-std ]] && [[ " ${args[*]} " != *" --normalization fixed "* ]]; then
        k=$((k + 1))
        continue
      fi
      kept+=("${args[k]}")
    done
    printf '%s\n' "${kept[@]}"
  fi
  return 0
}

if [ "$table_only" = 0 ]; then
  [ -f "$work/trainval.csv" ] || "$here/experiments/default_split.sh" "$work"
  for lever in "$@"; do
    dir="$work/levers/$lever"
    mkdir -p "$dir"
    mapfile -t args < <(train_args "$lever")
    eval_flags=()
    for seed in $seeds; do
      model="$dir/seed$seed.psmodel"
      if [ "$(lever_args "$lever")" = TTA ]; then
        model="$work/levers/baseline/seed$seed.psmodel"
        eval_flags=(--tta)
        [ -f "$model" ] || "$0" "$work" baseline
        cp "$work/levers/baseline/seed$seed.log" "$dir/seed$seed.log"
      elif [ ! -f "$model" ]; then
        resume=(); [ -f "$model.ckpt" ] && resume=(--resume)
        start=$(date +%s)
        if ! "$bin" train "${args[@]}" --data "$work/trainval.csv" --exclude-qc "$work/qc.json" \
          --limit "$limit" --epochs "$epochs" --seed "$seed" --name "lever-$lever-seed$seed" \
          --out "$model" --no-progress "${resume[@]}" >"$dir/seed$seed.log" 2>&1; then
          echo "$lever seed $seed: training failed, see $dir/seed$seed.log" >&2
          continue
        fi
        echo "train_seconds $(($(date +%s) - start))" >>"$dir/seed$seed.log"
      fi
      [ -f "$dir/seed$seed.val.json" ] ||
        "$bin" evaluate "${eval_flags[@]}" --model "$model" --data "$work/trainval.csv" --split val --shifts \
          --json "$dir/seed$seed.val.json" >/dev/null
      [ -f "$dir/seed$seed.fullres.json" ] ||
        "$bin" evaluate "${eval_flags[@]}" --model "$model" --data "$shared/data/chest_xray_fullres" \
          --json "$dir/seed$seed.fullres.json" >/dev/null
      [ -f "$dir/seed$seed.official.json" ] ||
        "$bin" evaluate "${eval_flags[@]}" --model "$model" --data "$shared/data/chest_xray" --split val \
          --json "$dir/seed$seed.official.json" >/dev/null
      echo "$lever seed $seed done ($(date +%H:%M:%S))"
    done
  done
fi

python3 "$here/experiments/levers_table.py" "$work/levers" "$@"
