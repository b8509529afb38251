#!/usr/bin/env bash
# Decoding with and without the prepared-image store (README "Performance"):
# `train --epochs 1` three times on one data set, without a store, writing
# one, reading it; prints each run's decode lines and the pack's size.
#   experiments/image_store.sh WORKDIR [DATA [SIZE]]
#   (DATA: ../shared/data/chest_xray by default, SIZE 128)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
work=${1:?usage: experiments/image_store.sh WORKDIR [DATA [SIZE]]}
data=${2:-${PNEUMOSCAN_SHARED:-$here/../shared}/data/chest_xray}
size=${3:-128}
mkdir -p "$work"
rm -rf "$work/store"
for mode in none write read; do
  store=()
  [ "$mode" != none ] && store=(--cache-dir "$work/store")
  "$bin" "${store[@]}" train --arch small-cnn --image-size "$size" --data "$data" --epochs 1 --seed 1 \
    --out "$work/model_$mode.psmodel" --no-progress > "$work/train_$mode.log"
  echo "$mode: $(grep -h 'decoded in' "$work/train_$mode.log" | tr '\n' ' ')"
done
du -sh "$work/store"
