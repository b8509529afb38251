#!/usr/bin/env bash
# Acquisition-shift experiment: the Kermany NORMAL images come in two batches
# (IM-* and NORMAL2-IM-*). Train on IM-* normals only (plus pneumonia), then
# test on the NORMAL2-IM-* normals, which the model never saw, plus held-out
# pneumonia patients. A model that learned the acquisition batch rather than
# the lungs loses specificity here.
#
#   experiments/shift.sh OUTDIR [extra train flags...]
# Prints the metrics on the shifted test at the threshold chosen on the
# unshifted validation split, and writes OUTDIR/shifted_test.json.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
out=${1:?usage: shift.sh OUTDIR [train flags]}
shift
mkdir -p "$out"

"$bin" split "$shared/data/chest_xray" --out "$out/all.csv" --seed 42 --val-fraction 0.15 >/dev/null
header=$(head -1 "$out/all.csv")
# Columns of the manifest: path,label,patient,split.
{ echo "$header"; tail -n +2 "$out/all.csv" | grep -v '/NORMAL2-IM-' ; } >"$out/im_only.csv"
{ echo "$header"; tail -n +2 "$out/all.csv" | awk -F, '/\/NORMAL2-IM-/ || ($2 == "PNEUMONIA" && $4 == "val")' |
    sed 's/,train$/,test/; s/,val$/,test/'; } >"$out/shifted_test.csv"

echo "train/val: $(($(wc -l <"$out/im_only.csv") - 1)) images without NORMAL2; shifted test: $(($(wc -l <"$out/shifted_test.csv") - 1)) images"
"$bin" train --data "$out/im_only.csv" --out "$out/model.psmodel" --no-progress "$@" | tail -4
"$bin" evaluate --model "$out/model.psmodel" --data "$out/shifted_test.csv" --json "$out/shifted_test.json"
