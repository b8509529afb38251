#!/usr/bin/env bash
# The default model's data split (used by train_default.sh and gate.sh):
# WORKDIR/qc.json, WORKDIR/all.csv (patient-grouped, seed 42, 15 % validation)
# and WORKDIR/trainval.csv without the patients of the 200 full-resolution
# images, which stay held out as a shift proxy.
#   experiments/default_split.sh WORKDIR
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${1:?usage: default_split.sh WORKDIR}
mkdir -p "$work"

"$bin" qc "$shared/data/chest_xray" --json "$work/qc.json" >/dev/null
"$bin" split "$shared/data/chest_xray" --out "$work/all.csv" --seed 42 --val-fraction 0.15 >/dev/null

# Patients with a full-resolution image leave training and validation. Each file is
# written beside and renamed into place, so that runs started together in one WORKDIR (one
# member each, `SEEDS=N MEMBERS_ONLY=1`) never read one another's half-written manifest.
ls "$shared/data/chest_xray_fullres/NORMAL" "$shared/data/chest_xray_fullres/PNEUMONIA" |
  grep -E '\.(jpe?g|png)$' | sed -E 's/^(person[0-9]+)_.*/\1/; s/^(.*IM-[0-9]+)-[0-9]+\..*/\1/' | sort -u \
  >"$work/fullres_patients.txt.$$"
mv "$work/fullres_patients.txt.$$" "$work/fullres_patients.txt"
# Columns of the split manifest: path,label,patient,split (no commas in Kermany paths).
awk -F, 'NR == FNR { held[$1] = 1; next } FNR == 1 || (!($3 in held) && ($4 == "train" || $4 == "val"))' \
  "$work/fullres_patients.txt" "$work/all.csv" >"$work/trainval.csv.$$"
mv "$work/trainval.csv.$$" "$work/trainval.csv"
echo "trainval.csv: $(($(wc -l <"$work/trainval.csv") - 1)) images; held out: $(wc -l <"$work/fullres_patients.txt") full-resolution patients"
