#!/usr/bin/env bash
# PneumoScan against the plain PyTorch a competent user would write (bench/pytorch_reference.py),
# on the same architecture, data split, augmentation, batch size and threads, run interleaved
# (PneumoScan, PyTorch, PneumoScan, PyTorch, ...), then a markdown table of medians and ratios:
# training img/s after the first epoch, time to a validation ROC AUC of 0.95 (small-cnn @128,
# resnet18 @224), batch-1 and batch-32 inference, `predict` on 1 and on 100 full-resolution JPEGs
# (whole process and per file), peak RSS. Not part of the test command: it takes hours in full.
#
#   bench/compare_pytorch.sh [--quick] [--threads N] [--pairs K] [--out DIR] [--max-epochs E] [--tuned-malloc]
#                            [--train-archs "small-cnn resnet18"] [--precision fp32|bf16]
#     --quick         tiny sizes (256 training images, 2 epochs, 10 files): checks the script, measures nothing
#     --threads N     threads of both sides (default 2); PyTorch also gets 1 DataLoader worker
#     --pairs K       interleaved PneumoScan/PyTorch pairs per workload (default 3)
#     --out DIR       results (default /tmp/pneumoscan-compare-pytorch): runs/*.json, table.md
#     --max-epochs E  training epochs at most (default 8; --quick: 2); training stops earlier once an
#                     epoch reached the target AUC and 2 epochs are done
#     --tuned-malloc  give the PyTorch side PneumoScan's glibc malloc settings (no mmap, no trim)
#     --train-archs L the architectures of the training rows (default "small-cnn resnet18"; resnet18's
#                     rows take most of the full run's hours); "" skips the training rows
#     --precision P   PneumoScan's --precision for training, bench and predict (default fp32); the
#                     PyTorch side stays the float32 script a seed-style user writes
# Needs build/pneumoscan and python3 with torch, torchvision, PIL and numpy (scripts/setup.sh --bench).
# PNEUMOSCAN (binary), PNEUMOSCAN_SHARED (data) and PYTHON override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0 threads=2 pairs=3 out=/tmp/pneumoscan-compare-pytorch tuned_malloc=0 max_epochs= train_archs="small-cnn resnet18" precision=fp32
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --threads) threads="$2"; shift ;;
    --pairs) pairs="$2"; shift ;;
    --out) out="$2"; shift ;;
    --max-epochs) max_epochs="$2"; shift ;;
    --tuned-malloc) tuned_malloc=1 ;;
    --train-archs) train_archs="$2"; shift ;;
    --precision) precision="$2"; shift ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare_pytorch: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

bin="${PNEUMOSCAN:-build/pneumoscan}"
shared="${PNEUMOSCAN_SHARED:-../shared}"
[ -x "$bin" ] || { echo "compare_pytorch: $bin not built (scripts/setup.sh)" >&2; exit 1; }
[ -d "$shared/data/chest_xray/train" ] || { echo "compare_pytorch: no data under $shared" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

# Debian's python3-torch lives in /usr/bin/python3's path; a pyenv or venv python3 first on PATH lacks it.
py=""
for candidate in ${PYTHON:-python3 /usr/bin/python3}; do
  if "$candidate" -c 'import torch, torchvision, PIL, numpy' 2>/dev/null; then py="$candidate"; break; fi
done
[ -n "$py" ] || { echo "compare_pytorch: python3 cannot import torch, torchvision, PIL and numpy; install them with scripts/setup.sh --bench" >&2; exit 1; }
torch_version="$("$py" -c 'import torch; print(torch.__version__)')"

if [ "$quick" = 1 ]; then
  train_images=256 val_images=64 epochs=2 predict_files=10 latency_runs=10 mode="--quick (tiny sizes, not a measurement)"
else
  train_images=all val_images=all epochs=8 predict_files=100 latency_runs=200 mode="full"
fi
epochs="${max_epochs:-$epochs}" batch=32 target_auc=0.95
export OMP_NUM_THREADS="$threads"
py_env=()
[ "$tuned_malloc" = 1 ] && py_env=(env GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647)
ref=(${py_env[@]+"${py_env[@]}"} "$py" bench/pytorch_reference.py --threads "$threads")
report=("$py" bench/compare_report.py)

mkdir -p "$out"
rm -rf "$out/runs" "$out/work"
mkdir -p "$out/runs" "$out/work"
log="$out/compare.log"
: > "$log"
say() { echo "compare: $*" | tee -a "$log" >&2; }

# The split: patient-grouped, the same train/val rows for both sides.
say "split -> $out/manifest.csv"
"$bin" split "$shared/data/chest_xray" --out "$out/manifest.csv" >> "$log" 2>&1
data="$out/manifest.csv"
if [ "$quick" = 1 ]; then
  "${report[@]}" subset "$out/manifest.csv" "$out/train.csv" --train "$train_images" --val "$val_images"
  data="$out/train.csv"
fi
counts=$(awk -F, 'NR > 1 { sub(/\r$/, ""); n[$NF]++ } END { printf "%d %d", n["train"], n["val"] }' "$data")
train_images=${counts% *} val_images=${counts#* }

# A resnet18 model file for predict (its weights do not change the timing) and the same weights
# for PyTorch through `pneumoscan export`.
say "predict model (resnet18, a few images)"
"${report[@]}" subset "$out/manifest.csv" "$out/predict-train.csv" --train 64 --val 32
"$bin" --threads "$threads" train --arch resnet18 --data "$out/predict-train.csv" --epochs 1 --no-progress \
  --out "$out/predict-model.psmodel" >> "$log" 2>&1
"$bin" export --model "$out/predict-model.psmodel" --state-dict "$out/predict-model.pt" >> "$log" 2>&1
mapfile -t normal < <(ls "$shared"/data/chest_xray_fullres/NORMAL/* | sort)
mapfile -t pneumonia < <(ls "$shared"/data/chest_xray_fullres/PNEUMONIA/* | sort)
files=()
for ((i = 0; ${#files[@]} < predict_files && i < ${#normal[@]}; i++)); do
  files+=("${normal[$i]}")
  [ ${#files[@]} -lt "$predict_files" ] && [ "$i" -lt ${#pneumonia[@]} ] && files+=("${pneumonia[$i]}")
done

# One run of one side: runs/WORKLOAD.SIDE.K.run.json (+ .out.json: the side's own JSON).
measure() {  # measure WORKLOAD SIDE K [run options] -- CMD...
  local name="$1.$2.$3"; shift 3
  say "$name"
  "${report[@]}" run "$out/runs/$name.run.json.tmp" "$@" 2>> "$log" ||
    { echo "compare: $name failed; see $log" >&2; exit 1; }
  [ -f "$out/runs/$name.out.json.tmp" ] && mv "$out/runs/$name.out.json.tmp" "$out/runs/$name.out.json"
  mv "$out/runs/$name.run.json.tmp" "$out/runs/$name.run.json"
}

for arch in $train_archs; do
  for ((k = 1; k <= pairs; k++)); do
    w="$out/work/$arch.$k"
    measure "train_$arch" pneumoscan "$k" --stdout "$w.ps.stdout" --log "$w.psmodel.log.jsonl" \
      --target-auc "$target_auc" --min-epochs 2 -- "$bin" --threads "$threads" train --arch "$arch" --precision "$precision" \
      --data "$data" --epochs "$epochs" --batch-size "$batch" --no-progress --out "$w.psmodel"
    measure "train_$arch" pytorch "$k" --stdout "$w.py.stdout" --log "$w.py.log.jsonl" \
      --target-auc "$target_auc" --min-epochs 2 -- "${ref[@]}" train --arch "$arch" --manifest "$data" \
      --epochs "$epochs" --batch-size "$batch" --out "$w.py.pt" --log "$w.py.log.jsonl"
    rm -f "$w".*.ckpt "$w".psmodel "$w".py.pt
  done
done

for arch in small-cnn:128 resnet18:224; do
  a=${arch%:*}
  for ((k = 1; k <= pairs; k++)); do
    measure "latency1_$a" pneumoscan "$k" --stdout /dev/null -- "$bin" --threads "$threads" bench --precision "$precision" \
      --runs "$arch" --steps 1 --batch-size "$batch" --latency-runs "$latency_runs" \
      --json "$out/runs/latency1_$a.pneumoscan.$k.out.json.tmp"
    measure "latency1_$a" pytorch "$k" -- "${ref[@]}" latency --arch "$a" --batch-size 1 \
      --runs "$latency_runs" --json "$out/runs/latency1_$a.pytorch.$k.out.json.tmp"
    measure "latency32_$a" pneumoscan "$k" --stdout /dev/null -- "$bin" --threads "$threads" bench --precision "$precision" \
      --runs "$arch" --steps 1 --batch-size "$batch" --latency-runs "$((latency_runs / 4 + 1))" \
      --latency-batch "$batch" --json "$out/runs/latency32_$a.pneumoscan.$k.out.json.tmp"
    measure "latency32_$a" pytorch "$k" -- "${ref[@]}" latency --arch "$a" --batch-size "$batch" \
      --runs "$((latency_runs / 4 + 1))" --json "$out/runs/latency32_$a.pytorch.$k.out.json.tmp"
  done
done

for workload in predict1 predictN; do
  if [ "$workload" = predict1 ]; then set -- "${files[0]}"; else set -- "${files[@]}"; fi
  for ((k = 1; k <= pairs; k++)); do
    measure "$workload" pneumoscan "$k" --allow-status 0,3 --stdout "$out/runs/$workload.pneumoscan.$k.out.json.tmp" \
      -- "$bin" --threads "$threads" predict --precision "$precision" --model "$out/predict-model.psmodel" --json "$@"
    measure "$workload" pytorch "$k" -- "${ref[@]}" predict --arch resnet18 \
      --state-dict "$out/predict-model.pt" --json "$out/runs/$workload.pytorch.$k.out.json.tmp" "$@"
  done
done

"$py" - "$out/settings.json" <<EOF
import json, os, sys
settings = {"mode": "$mode", "threads": $threads, "pairs": $pairs, "batch": $batch,
            "train_images": $train_images, "val_images": $val_images, "epochs": $epochs,
            "target_auc": $target_auc, "predict_files": ${#files[@]}, "torch": "$torch_version",
            "tuned_malloc": bool($tuned_malloc), "precision": "$precision", "cpu": "",
            "notes": [
              "inference latency: PneumoScan's bench runs the network as predict does (eval, BatchNorm folded, "
              "channels-last); batch-32 is its --latency-batch figure",
              "time to AUC: wall time from process start to the end of the first epoch with val ROC AUC >= $target_auc "
              "(its epoch log line appearing); training stops there once 2 epochs are done, at most $epochs epochs",
              "predict: PneumoScan scores each file plus 4 test-time variants (batch 5) for its uncertainty "
              "interval; the PyTorch script does the same",
              "PyTorch malloc: " + ("PneumoScan's settings (GLIBC_TUNABLES)" if $tuned_malloc else "glibc defaults, as a user runs it"),
              "peak RSS: the largest single process (PyTorch's DataLoader worker is not added)"]}
# Which CPU: bf16 figures differ by a factor of 2-3 between AVX512-BF16 alone and AMX (README).
try:
    with open("/proc/cpuinfo") as f:
        info = f.read()
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "")
    flags = set(next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), []))
    settings["cpu"] = model + "".join(f", {f}" for f in ("avx512_bf16", "amx_bf16") if f in flags)
except OSError:
    pass
tmp = sys.argv[1] + ".tmp"
with open(tmp, "w") as f:
    json.dump(settings, f, indent=1)
os.replace(tmp, sys.argv[1])
EOF
"${report[@]}" table "$out"
