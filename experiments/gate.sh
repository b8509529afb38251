#!/usr/bin/env bash
# Fits the bundled model's intended use and measures its input gate:
#   1. `gate fit`: the population (children aged 1-5, CR/DX, AP/PA, chest) and
#      the out-of-distribution reference (512 training embeddings, k = 5) with
#      its limit at the 99th percentile of the patient-carved validation scores,
#      written into OUT_MODEL (default models/default.psmodel);
#   2. `gate evaluate`: the share passed/refused on real X-rays never used for
#      the fit (the 200 full-resolution images of held-out patients, the official
#      16-image val split), adult RSNA DICOMs, the ImageNet check photos,
#      generated noise, documents and screenshots, and rotated, upside-down,
#      cropped and inverted X-rays; and error rates of certain vs uncertain cases.
# Figures: WORKDIR/gate_figures.json and .txt (README "Input gate").
#   experiments/gate.sh [WORKDIR] [OUT_MODEL]
# THREADS=N sets --threads (default: every core; 1 is faster where other jobs share the cores).
# FIT=0 skips step 1 (evaluates the model as it is).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
threads=${THREADS:-0}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${1:-$here/experiments/runs/default}
out=${2:-$here/models/default.psmodel}
mkdir -p "$work"
[ -f "$work/trainval.csv" ] || "$here/experiments/default_split.sh" "$work"

[ "${FIT:-1}" = 0 ] || "$bin" --threads "$threads" gate fit --model "$out" --data "$work/trainval.csv" --out "$out" --references 512 -k 5 --pass-rate 0.99 \
  --seed 1 --ages 1-5 --modalities CR,DX --views AP,PA --body-parts CHEST \
  --population "children aged 1-5 years, one centre (Guangzhou Women and Children's Medical Center), frontal chest radiographs" \
  | tee "$work/gate_fit.log"

"$bin" --threads "$threads" gate evaluate --model "$out" \
  --set "validation=$work/trainval.csv@val" \
  --set "fullres-heldout=$shared/data/chest_xray_fullres" \
  --set "official-val=$shared/data/chest_xray/val" \
  --set "rsna-adults=$shared/data/dicom/rsna" \
  --set "photos=$shared/pretrained/check" \
  --derive-from fullres-heldout --derive-count 50 --generate 20 --seed 1 \
  --json "$work/gate_figures.json" | tee "$work/gate_figures.txt"
