#!/usr/bin/env bash
# Data-parallel training measured on this machine (README "Distributed
# training"): the same small-cnn run at 128 px on a stratified subset of the
# shared training images, as 1 rank x 2 threads and as 2 ranks x 1 thread
# (Gloo over localhost), training img/s per epoch from the epoch logs; then
# the gradient all-reduce time of ResNet-18 (11.7M floats, 25 MB buckets)
# between 2 local ranks; then the projection (experiments/distributed_projection.py).
#
#   experiments/distributed.sh [WORKDIR]
#
# LIMIT (default 400 training images), EPOCHS (3), ROUNDS (2 interleaved pairs),
# REPEATS (10 timed all-reduces) override.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PNEUMOSCAN_BIN:-$here/build/pneumoscan}
shared=${PNEUMOSCAN_SHARED:-$here/../shared}
work=${1:-$here/experiments/runs/distributed}
limit=${LIMIT:-400}
epochs=${EPOCHS:-3}
repeats=${REPEATS:-10}
rounds=${ROUNDS:-2}
mkdir -p "$work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

common=(train --data "$shared/data/chest_xray/train" --limit "$limit" --arch small-cnn --image-size 128
        --epochs "$epochs" --patience 100 --batch-size 32 --seed 1 --no-progress)

# Interleaved rounds (A B A B): the machine is shared, its load drifts.
for round in $(seq 1 "$rounds"); do
  echo "== round $round: 1 rank x 2 threads"
  "$bin" --threads 2 "${common[@]}" --out "$work/one.r$round.psmodel" > "$work/one.r$round.log" 2>&1
  echo "== round $round: 2 ranks x 1 thread"
  port=$(free_port)
  group=(--world-size 2 --master-addr 127.0.0.1 --master-port "$port")
  "$bin" --threads 1 "${common[@]}" --out "$work/two.r$round.psmodel" "${group[@]}" --rank 1 \
    > "$work/two.r$round.rank1.log" 2>&1 &
  rank1=$!
  "$bin" --threads 1 "${common[@]}" --out "$work/two.r$round.psmodel" "${group[@]}" --rank 0 \
    > "$work/two.r$round.rank0.log" 2>&1
  wait "$rank1"
done
uptime > "$work/load.txt"

for arch in resnet18 small-cnn; do
  echo "== $arch gradient all-reduce, 2 ranks x 1 thread"
  port=$(free_port)
  group=(--world-size 2 --master-addr 127.0.0.1 --master-port "$port")
  "$bin" --threads 1 bench --allreduce "$arch" --repeats "$repeats" "${group[@]}" --rank 1 \
    > "$work/allreduce-$arch.rank1.log" 2>&1 &
  rank1=$!
  "$bin" --threads 1 bench --allreduce "$arch" --repeats "$repeats" "${group[@]}" --rank 0 \
    --json "$work/allreduce-$arch.json" | tee "$work/allreduce-$arch.log"
  wait "$rank1"
done

echo "== ResNet-18 training step at 224 px, 1 rank x 2 threads (the compute side of its projection)"
"$bin" --threads 2 bench --data "$shared/data/chest_xray/train" --runs resnet18:224 --steps 4 --batch-size 16 \
  --latency-runs 1 --json "$work/resnet18-compute.json" | tee "$work/resnet18-compute.log"

python3 "$here/experiments/distributed_projection.py" "$work" | tee "$work/projection.txt"
