#!/usr/bin/env bash
# Reproduces the bundled default model (models/default.psmodel): an ensemble
# of three ImageNet-pretrained MobileNetV2 networks at 224 px that tell NORMAL,
# BACTERIAL and VIRAL apart, averaged in one model file, temperature-scaled and
# thresholded on patient-carved validation with the worst-shift policy.
# See models/MODEL_CARD.md and docs/generalisation.md.
#
#   experiments/train_default.sh [WORKDIR] [OUT_MODEL]
#
# ZOOM=Z passes --zoom Z to train (the augmentation's scale range [1-Z, 1+Z]);
# unset, train's own default, as the bundled model was trained. ZOOM=0.25 is the
# wider-zoom candidate in docs/generalisation.md ("Full-budget candidate").
# NORMALIZATION=equalize_zscore trains on histogram-equalised, per-image
# z-scored inputs instead of the fixed (x-0.5)/0.5 of the bundled model.
# EPOCHS (default 8), UNFREEZE_AFTER (default 2) and PATIENCE (default 3) set
# the budget; the bundled model used the defaults (session 19). EPOCHS=4
# PATIENCE=2 is the previous default of sessions 7-18 (docs/generalisation.md).
# EMA=D passes --ema-decay D (validate, keep and save each member's moving
# average of the weights; docs/generalisation.md "Weight averaging", session 21).
# HFLIP=1 passes --hflip (horizontal flips in the augmentation; the bundled model
# has none: docs/generalisation.md "Horizontal flips", session 22).
# VIRAL_WEIGHT=F passes --class-weight-scale VIRAL=F (a viral error costs F times what the
# class weighting says; the bundled model has none: docs/generalisation.md "A loss weight for
# VIRAL", session 23).
# FEATURE_LR=F passes --feature-lr-scale F (after unfreezing, the pretrained layers learn at F times
# the head's rate; the bundled model has one rate: docs/generalisation.md "Discriminative learning
# rates", session 24).
# PRECISION=bf16 passes --precision bf16 (mixed-precision training on CPUs with AVX512-BF16 or
# AMX; the bundled model was trained in float32).
# THREADS=N passes --threads N (two members trained at once with THREADS=1
# each use the two cores better than one after the other); MEMBERS_ONLY=1 stops
# after training the members of SEEDS (rerun without it to make the ensemble).
# ARCH=resnet50 trains ImageNet ResNet-50 members (v1 strides, ImageNet mean/std
# on 3 channels, --lr 1e-4 as in experiments/levers.sh) instead of MobileNetV2;
# docs/generalisation.md "ResNet-50 at 224 px" (session 20, one seed).
# ARCH=mobilenet-v2-avgmax trains the same members with the head on average and max pooled
# features side by side (src/models/mobilenet.h; docs/generalisation.md "Two type levers screened").
# WORKDIR keeps the manifests, the members, their logs and the evaluations
# (default: experiments/runs/default). Rerunning resumes finished members.
# Held out from training and validation: the patients of the 200
# full-resolution images (../shared/data/chest_xray_fullres), evaluated at
# their original resolution as a second shift proxy, and the official
# 16-image val split (a third look).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${1:-$here/experiments/runs/default}
out=${2:-$here/models/default.psmodel}
seeds=${SEEDS:-"1 2 3"}
epochs=${EPOCHS:-8}
unfreeze_after=${UNFREEZE_AFTER:-2}
patience=${PATIENCE:-3}
threads=(); [ -z "${THREADS:-}" ] || threads=(--threads "$THREADS")
zoom=(); [ -z "${ZOOM:-}" ] || zoom=(--zoom "$ZOOM")
ema=(); [ -z "${EMA:-}" ] || ema=(--ema-decay "$EMA")
hflip=(); [ "${HFLIP:-0}" = 1 ] && hflip=(--hflip)
viral=(); [ -z "${VIRAL_WEIGHT:-}" ] || viral=(--class-weight-scale "VIRAL=$VIRAL_WEIGHT")
feature_lr=(); [ -z "${FEATURE_LR:-}" ] || feature_lr=(--feature-lr-scale "$FEATURE_LR")
precision=(); [ -z "${PRECISION:-}" ] || precision=(--precision "$PRECISION")
norm=(--normalization fixed --norm-mean 0.5 --norm-std 0.5)
case "${ARCH:-mobilenet-v2}" in
  mobilenet-v2 | mobilenet-v2-avgmax)
    arch=(--arch "${ARCH:-mobilenet-v2}" --pretrained "$shared/pretrained/mobilenet_v2_imagenet.pt" --freeze-bn-stats --lr 3e-4)
    tag=mnv2
    if [ "${ARCH:-}" = mobilenet-v2-avgmax ]; then tag=mnv2am; fi ;;
  resnet50)
    # At 3e-4 unfreezing wrecked ResNet-50's features (experiments/levers.sh, whose resnet50
    # lever these flags repeat at 224 px).
    arch=(--arch resnet50-v1 --pretrained "$shared/pretrained/resnet50_imagenet.pt" --freeze-bn-stats --lr 1e-4)
    norm=(--normalization fixed --norm-mean 0.485,0.456,0.406 --norm-std 0.229,0.224,0.225)
    tag=r50 ;;
  *) echo "ARCH must be mobilenet-v2, mobilenet-v2-avgmax or resnet50" >&2; exit 1 ;;
esac
[ -z "${NORMALIZATION:-}" ] || [ "$NORMALIZATION" = fixed ] || norm=(--normalization "$NORMALIZATION")
mkdir -p "$work"

"$here/experiments/default_split.sh" "$work"

# The shared MobileNetV2 has its BatchNorm folded into the convolutions (every BatchNorm is
# the identity): in training mode batch statistics would replace that identity and the frozen
# features go dead (measured: the head did not learn at all, loss stayed at ln 3), hence
# --freeze-bn-stats. Fine-tuning all layers at 1e-3 made the validation loss worse; 3e-4 is used.
members=()
for seed in $seeds; do
  member="$work/member$seed.psmodel"
  members+=("$member")
  [ -f "$member" ] && continue
  resume=(); [ -f "$member.ckpt" ] && resume=(--resume)
  /usr/bin/time -f "member $seed: %e s" "$bin" "${threads[@]}" train "${arch[@]}" \
    "${norm[@]}" --image-size 224 \
    --classes normal,bacterial,viral --freeze features --unfreeze-after "$unfreeze_after" \
    "${zoom[@]}" "${ema[@]}" "${hflip[@]}" "${viral[@]}" "${feature_lr[@]}" "${precision[@]}" \
    --data "$work/trainval.csv" --exclude-qc "$work/qc.json" \
    --epochs "$epochs" --patience "$patience" --seed "$seed" --batch-size 32 \
    --name "pneumoscan-$tag-224-3class-seed$seed" --out "$member" --no-progress "${resume[@]}" \
    >"$work/member$seed.log" 2>&1
  tail -3 "$work/member$seed.log"
done
[ "${MEMBERS_ONLY:-0}" = 1 ] && exit 0

"$bin" ensemble "${members[@]}" --data "$work/trainval.csv" --split val --policy pooled-shift \
  --target-sensitivity 0.95 --name "pneumoscan-default-$tag-224-ensemble${#members[@]}" --out "$out" | tee "$work/ensemble.log"

# The intended use: population, out-of-distribution reference and limit (experiments/gate.sh).
"$here/experiments/gate.sh" "$work" "$out"
