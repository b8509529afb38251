#!/usr/bin/env bash
# The generative experiments of docs/generative.md, at the reduced scale this
# 2-core machine affords (every command on one thread, --threads 1):
#   ae       the autoencoder (224 px) on a stratified subset of the patient-grouped training side
#   latent   codes of the training folder, latent-cnn on them vs small-cnn on pixels, same split and seed
#   ood      reconstruction error as an out-of-distribution score (ROC AUC), X-rays vs non-X-rays and RSNA adults
#   gan      a DCGAN on NORMAL training images at 64 px, sample grid and samples
#   gan128   the same generator at 128 px (gan_normal_128.psmodel)
#   quality  `gan evaluate` of a generator (GAN_MODEL: gan_normal, the default, or gan_normal_128), 3 seeds
#            (noise and real-image split): Frechet distance on ImageNet ResNet-50 features with its
#            real-vs-real floor, real-vs-synthetic classifier, copy check
#   synth    small-cnn with and without 300 synthetic NORMAL images in training, 3 seeds (a reduced form of
#            the study's resnet18/densenet121 experiment)
#   resnet   resnet18 on pixels (128 px) on the split of `latent`
#   study    the seed study's synthetic-image experiment, done cleanly: one patient-grouped carve
#            (experiments/default_split.sh), a NORMAL generator trained on its training rows only,
#            STUDY_SYNTHETIC (1280) samples, each of STUDY_ARCHS (ARCH:SIZE words; default "resnet18:128
#            densenet121:64") from scratch for STUDY_EPOCHS (3) with and without them, seeds SEEDS (1 2 3),
#            STUDY_THREADS (1) threads; every model on every look of experiments/evaluate_default.sh (carve, its shifted copies, held-out
#            full-resolution images, official 16); table in WORK/study/table.md
#   ssim     the autoencoder's loss, MSE alone vs MSE + SSIM_WEIGHT (1 - SSIM) (default 1), 3 seeds each
#            (each seed its own patient carve, the same for both losses): validation MSE and SSIM at the
#            best epoch, and the reconstruction error's ROC AUC, X-rays vs non-X-rays (the `ood` inputs)
#
#   eval     both classifiers on all validation-patient images (split manifest), through the image path
#
#   experiments/generative.sh [STAGE...]     (default: ae latent eval ood gan synth resnet)
#
# Outputs in WORK (default experiments/runs/generative); logs in WORK/*.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${WORK:-$here/experiments/runs/generative}
data=$shared/data/chest_xray
limit=${LIMIT:-600}          # training images (stratified; validation cut to the same share)
ae_epochs=${AE_EPOCHS:-3}
cls_epochs=${CLS_EPOCHS:-6}
gan_epochs=${GAN_EPOCHS:-25}
seeds=${SEEDS:-"1 2 3"}
gan_width=${GAN_WIDTH:-32}
gan_model=${GAN_MODEL:-gan_normal}
tools=$here/experiments/generative_tools.py
p() { "$bin" --threads 1 "$@"; }
mkdir -p "$work" "$work/synth"
stages=${*:-ae latent eval ood gan synth resnet}

# The out-of-distribution test's inputs: 100 X-rays of the validation patients and the official 16
# (WORK/ood_xrays.txt), generated noise and "documents" (WORK/ood_images).
ood_inputs() {
  p split "$data" --out "$work/split.csv" --seed 42 --val-fraction 0.15 >/dev/null
  awk -F, 'NR > 1 && $4 == "val" { print $1 }' "$work/split.csv" | head -n 100 > "$work/ood_xrays.txt"
  ls "$data"/val/*/* >> "$work/ood_xrays.txt"
  python3 "$tools" images "$work/ood_images"
}

for stage in $stages; do
  case $stage in
  ae)
    p autoencoder train --data "$data" --limit "$limit" --seed 42 --epochs "$ae_epochs" --batch-size 32 \
      --out "$work/ae.psmodel" --logdir "$work/runs" --no-progress | tee "$work/ae.log"
    ;;
  latent)
    # Codes of every training-folder image (the split below picks its own); then both classifiers on the
    # same patient-grouped split (seed 42, --limit), each trained from scratch.
    p autoencoder encode --model "$work/ae.psmodel" --data "$data" --split train --out "$work/codes.pt" |
      tee "$work/encode.log"
    p train --arch latent-cnn --codes "$work/codes.pt" --data "$data" --limit "$limit" --seed 42 \
      --epochs "$cls_epochs" --out "$work/latent.psmodel" --no-progress | tee "$work/latent.log"
    p train --arch small-cnn --image-size 128 --data "$data" --limit "$limit" --seed 42 \
      --epochs "$cls_epochs" --out "$work/small.psmodel" --no-progress | tee "$work/small.log"
    ;;
  eval)
    # Both classifiers on every image of the validation patients (the same carving, seed 42, without --limit),
    # through the image path: latent-cnn decodes, encodes and classifies each image like any model file.
    p split "$data" --out "$work/split.csv" --seed 42 --val-fraction 0.15 >/dev/null
    for m in latent small; do
      p evaluate --model "$work/$m.psmodel" --data "$work/split.csv" --split val --json "$work/eval_$m.json" |
        tee "$work/eval_$m.log"
    done
    ;;
  ood)
    # In distribution: X-rays of the validation patients (never in the autoencoder's training side) and the
    # official 16-image val split. Out: ImageNet check photos, generated noise and "documents", RSNA adult DICOMs.
    ood_inputs
    mapfile -t xrays < "$work/ood_xrays.txt"
    p autoencoder reconstruct --model "$work/ae.psmodel" --out "$work/ood/xray" "${xrays[@]}" > "$work/ood_xray.log"
    p autoencoder reconstruct --model "$work/ae.psmodel" --out "$work/ood/photos" \
      "$shared"/pretrained/check/*.png > "$work/ood_photos.log"
    p autoencoder reconstruct --model "$work/ae.psmodel" --out "$work/ood/noise" \
      "$work"/ood_images/noise_*.bmp > "$work/ood_noise.log"
    p autoencoder reconstruct --model "$work/ae.psmodel" --out "$work/ood/documents" \
      "$work"/ood_images/document_*.bmp > "$work/ood_documents.log"
    p autoencoder reconstruct --model "$work/ae.psmodel" --out "$work/ood/rsna" \
      "$shared"/data/dicom/rsna/*.dcm > "$work/ood_rsna.log"
    {
      for set in photos noise documents rsna; do
        echo "X-rays vs $set: $(python3 "$tools" auc "$work/ood/xray/errors.csv" "$work/ood/$set/errors.csv")"
      done
      echo "X-rays vs all non-X-rays: $(python3 "$tools" auc "$work/ood/xray/errors.csv" \
        "$work/ood/photos/errors.csv" "$work/ood/noise/errors.csv" "$work/ood/documents/errors.csv")"
    } | tee "$work/ood.txt"
    ;;
  gan)
    p gan train --data "$data" --class normal --image-size 64 --width "$gan_width" --epochs "$gan_epochs" \
      --batch-size 64 --seed 42 --out "$work/gan_normal.psmodel" --logdir "$work/runs" --no-progress |
      tee "$work/gan.log"
    p gan sample --model "$work/gan_normal.psmodel" -n 64 --seed 1 --out "$work/samples_normal" | tee -a "$work/gan.log"
    ;;
  gan128)
    p gan train --data "$data" --class normal --image-size 128 --width "$gan_width" --epochs "$gan_epochs" \
      --batch-size 64 --seed 42 --out "$work/gan_normal_128.psmodel" --logdir "$work/runs" --no-progress |
      tee "$work/gan128.log"
    p gan sample --model "$work/gan_normal_128.psmodel" -n 64 --seed 1 --out "$work/samples_normal_128" |
      tee -a "$work/gan128.log"
    ;;
  quality)
    for seed in $seeds; do
      p gan evaluate --model "$work/$gan_model.psmodel" --data "$data" \
        --features "$shared/pretrained/resnet50_imagenet.pt" -n 256 --real 512 --seed "$seed" \
        --out "$work/quality_${gan_model}_$seed"
    done | tee "$work/quality_$gan_model.log"
    python3 "$tools" quality "$work"/quality_"${gan_model}"_*/quality.json | tee "$work/quality_$gan_model.txt"
    ;;
  synth)
    p gan sample --model "$work/gan_normal.psmodel" -n 300 --seed 7 --out "$work/synthetic_normal" >/dev/null
    for seed in $seeds; do
      p train --arch small-cnn --image-size 128 --data "$data" --limit "$limit" --seed "$seed" \
        --epochs "$cls_epochs" --out "$work/synth/real_$seed.psmodel" --no-progress > "$work/synth/real_$seed.log"
      p train --arch small-cnn --image-size 128 --data "$data" --limit "$limit" --seed "$seed" \
        --epochs "$cls_epochs" --synthetic "$work/synthetic_normal" --out "$work/synth/synthetic_$seed.psmodel" \
        --no-progress > "$work/synth/synthetic_$seed.log"
    done
    for kind in real synthetic; do
      for seed in $seeds; do p info --model "$work/synth/${kind}_$seed.psmodel" > "$work/synth/${kind}_$seed.json"; done
      echo "$kind: $(python3 "$tools" table "$work"/synth/${kind}_*.json)"
    done | tee "$work/synth.txt"
    ;;
  resnet)
    p train --arch resnet18 --image-size 128 --data "$data" --limit "$limit" --seed 42 \
      --epochs "$cls_epochs" --out "$work/resnet18.psmodel" --no-progress | tee "$work/resnet18.log"
    p evaluate --model "$work/resnet18.psmodel" --data "$work/split.csv" --split val --json "$work/eval_resnet18.json" |
      tee "$work/eval_resnet18.log"
    ;;
  ssim)
    mkdir -p "$work/ssim"
    ood_inputs
    mapfile -t xrays < "$work/ood_xrays.txt"
    for weight in 0 "${SSIM_WEIGHT:-1}"; do
      for seed in $seeds; do
        run="$work/ssim/w${weight}_seed$seed"
        [ -f "$run.psmodel" ] || p autoencoder train --data "$data" --limit "$limit" --seed "$seed" \
          --epochs "$ae_epochs" --batch-size 32 --ssim-weight "$weight" --out "$run.psmodel" --no-progress \
          > "$run.log"
        p autoencoder reconstruct --model "$run.psmodel" --out "$run.xray" "${xrays[@]}" > /dev/null
        p autoencoder reconstruct --model "$run.psmodel" --out "$run.other" "$shared"/pretrained/check/*.png \
          "$work"/ood_images/noise_*.bmp "$work"/ood_images/document_*.bmp > /dev/null
      done
    done
    python3 "$tools" ssim "$work/ssim" | tee "$work/ssim.txt"
    ;;
  study)
    # Differs from `synth` in what makes it clean and comparable: the generator never sees a validation
    # patient, the carve is the same for every run (the seed moves initialisation, order and augmentation
    # only), and the models are judged on the shift proxies too, not only on their own validation images.
    study=$work/study
    [ -f "$study/trainval.csv" ] || "$here/experiments/default_split.sh" "$study"
    [ -f "$study/gan_normal.psmodel" ] ||
      p gan train --data "$study/trainval.csv" --class normal --image-size 64 --width "$gan_width" \
        --epochs "$gan_epochs" --batch-size 64 --seed 42 --out "$study/gan_normal.psmodel" --no-progress \
        > "$study/gan.log"
    [ -f "$study/synthetic_normal/samples.json" ] ||
      p gan sample --model "$study/gan_normal.psmodel" -n "${STUDY_SYNTHETIC:-1280}" --seed 7 \
        --out "$study/synthetic_normal" > /dev/null
    conditions=()
    for arch_size in ${STUDY_ARCHS:-resnet18:128 densenet121:64}; do
      arch=${arch_size%%:*}
      size=${arch_size#*:}
      for kind in real synthetic; do
        dir="$study/levers/$arch-${size}px-$kind"
        conditions+=("$arch-${size}px-$kind")
        mkdir -p "$dir"
        for seed in $seeds; do
          model="$dir/seed$seed.psmodel"
          if [ ! -f "$model" ]; then
            extra=()
            [ "$kind" = synthetic ] && extra=(--synthetic "$study/synthetic_normal")
            [ -f "$model.ckpt" ] && extra+=(--resume)
            start=$(date +%s)
            "$bin" --threads "${STUDY_THREADS:-1}" train --arch "$arch" --image-size "$size" \
              --data "$study/trainval.csv" --exclude-qc "$study/qc.json" --epochs "${STUDY_EPOCHS:-3}" \
              --seed "$seed" --name "study-$arch-${size}px-$kind-seed$seed" "${extra[@]}" --out "$model" \
              --no-progress > "$dir/seed$seed.log" 2>&1
            echo "train_seconds $(($(date +%s) - start))" >> "$dir/seed$seed.log"
          fi
          [ -f "$dir/seed$seed.val.json" ] || "$bin" --threads "${STUDY_THREADS:-1}" evaluate --model "$model" \
            --data "$study/trainval.csv" --split val --shifts --json "$dir/seed$seed.val.json" > /dev/null
          [ -f "$dir/seed$seed.fullres.json" ] || "$bin" --threads "${STUDY_THREADS:-1}" evaluate --model "$model" \
            --data "$shared/data/chest_xray_fullres" --json "$dir/seed$seed.fullres.json" > /dev/null
          [ -f "$dir/seed$seed.official.json" ] || "$bin" --threads "${STUDY_THREADS:-1}" evaluate \
            --model "$model" --data "$data" --split val --json "$dir/seed$seed.official.json" > /dev/null
          echo "study $arch $kind seed $seed done ($(date +%H:%M:%S))"
        done
      done
    done
    python3 "$tools" study "$study/levers" "${conditions[@]}" | tee "$study/table.md"
    ;;
  *) echo "unknown stage $stage (ae latent eval ood gan gan128 quality synth resnet ssim study)" >&2; exit 2 ;;
  esac
done
