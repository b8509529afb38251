#!/usr/bin/env bash
# Reproduces the bundled default model (models/default.psmodel):
# quality control of the training data, then training with validation
# carved by patient from the training images. See models/MODEL_CARD.md.
#   experiments/train_default.sh [OUT_MODEL] [extra train flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
out=${1:-$here/models/default.psmodel}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" qc "$shared/data/chest_xray" --json "$work/qc.json" >/dev/null
time "$bin" train --arch small-cnn --data "$shared/data/chest_xray" --exclude-qc "$work/qc.json" \
  --normalization equalize_zscore --val-fraction 0.15 --seed 42 --epochs 30 --patience 6 \
  --target-sensitivity 0.95 \
  --name pneumoscan-default-small-cnn --out "$out" --no-progress "$@"
