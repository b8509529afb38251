#!/usr/bin/env bash
# The architecture comparison study of docs/comparison.md: every entry is
# trained on the same patient-grouped carve of ../shared/data/chest_xray/train
# (seed 42, 15% of patients for validation) and evaluated on the same
# validation images. It ran pinned to one core with one ATen thread (the
# machine's other core was building), about 75 minutes in all; the big
# networks got smaller budgets (image size, epochs, training subset), which
# the table's budget column states. Rerunning reuses finished models.
#
#   experiments/compare_study.sh OUTDIR [extra compare flags...]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
out=${1:?usage: compare_study.sh OUTDIR [compare flags]}
shift
imagenet="$shared/pretrained/mobilenet_v2_imagenet.pt"

entries=(
  small-cnn:epochs=8
  alexnet-small:epochs=8
  alexnet:epochs=4
  resnet18
  mobilenet-v2
  "mobilenet-v2:name=mobilenet-v2-imagenet:pretrained=$imagenet:norm=fixed:norm-mean=0.5:norm-std=0.5:freeze=features:unfreeze-after=2"
  efficientnet-b0
  googlenet:epochs=4
  densenet121:epochs=3:limit=2000
  resnet50:epochs=3:limit=1500
  vgg16-bn:size=96:epochs=3:limit=1000
)
archs=$(IFS=,; echo "${entries[*]}")

taskset -c 1 "$bin" --threads 1 compare --archs "$archs" --data "$shared/data/chest_xray" --out "$out" \
  --image-size 128 --epochs 5 --patience 3 --seed 42 "$@"
