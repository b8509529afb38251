#!/usr/bin/env python3
"""Figures and projection of experiments/distributed.sh from its WORKDIR.

Measured here: training img/s of small-cnn @128 as 1 rank x 2 threads and as
2 ranks x 1 thread (median over epochs 2.. of the interleaved rounds; the
first epoch warms up), the
gradient all-reduce time between 2 local ranks (resnet18, small-cnn), and
resnet18's training img/s @224 on ready tensors (bench).

Projection to N machines, each this 2-core machine running 1 rank x 2
threads with a per-rank batch of 32, on a network of BANDWIDTH Gb/s
(default 10) with LATENCY us per message (default 50):
  step time      = compute (32 images / measured img/s) + all-reduce
  all-reduce     = 2 (N-1)/N x gradient bytes / bandwidth + 2 (N-1) x latency  (ring)
  no overlap     (PneumoScan all-reduces after backward, as measured here)
  speed-up       = N x compute / step time; efficiency = speed-up / N
A second table uses the all-reduce rate Gloo reached between the 2 local
ranks instead of the network's. SMALL_CNN_RATE / RESNET18_RATE replace the
measured compute rates (a busy machine measures low).
Not modelled: stragglers, the network's actual all-reduce algorithm in Gloo
(ring-chunked for large buffers), decode time (every rank decodes the whole
set once), rank 0's validation while the others wait.
"""
import csv
import json
import os
import statistics
import sys

work = sys.argv[1] if len(sys.argv) > 1 else "experiments/runs/distributed"
bandwidth_gbit = float(os.environ.get("BANDWIDTH", "10"))
latency_us = float(os.environ.get("LATENCY", "50"))
per_rank_batch = 32


def epoch_rates(model):
    with open(os.path.join(work, model + ".log.csv")) as f:
        rates = [float(r["images_per_second"]) for r in csv.DictReader(f)]
    return rates[1:] if len(rates) > 1 else rates  # the first epoch warms up


def rates_of(kind):
    rounds = sorted(f[: -len(".psmodel.log.csv")] for f in os.listdir(work)
                    if f.startswith(kind + ".r") and f.endswith(".psmodel.log.csv"))
    return {r: epoch_rates(r + ".psmodel") for r in rounds}


one_rounds, two_rounds = rates_of("one"), rates_of("two")
one = statistics.median([x for v in one_rounds.values() for x in v])
two = statistics.median([x for v in two_rounds.values() for x in v])
for name, rounds in (("1 rank x 2 threads", one_rounds), ("2 ranks x 1 thread", two_rounds)):
    print(f"small-cnn @128 training img/s, {name}: " +
          "; ".join(f"{r}: " + ", ".join(f"{x:.1f}" for x in v) for r, v in rounds.items()))
print(f"median over epochs 2.. of all rounds: 1 rank x 2 threads {one:.1f}, 2 ranks x 1 thread {two:.1f}, "
      f"ratio {two / one:.2f}")

allreduce = {}
for arch in ("resnet18", "small-cnn"):
    with open(os.path.join(work, f"allreduce-{arch}.json")) as f:
        allreduce[arch] = json.load(f)
    a = allreduce[arch]
    print(f"{arch} gradient all-reduce, 2 local ranks: {a['floats']} floats ({a['bytes'] / 1e6:.1f} MB), "
          f"median {a['median_ms']:.1f} ms, min {a['min_ms']:.1f} ms")

with open(os.path.join(work, "resnet18-compute.json")) as f:
    resnet_rate = json.load(f)[0]["train_tensor_images_per_second"]
print(f"resnet18 @224 training img/s on ready tensors, 1 rank x 2 threads: {resnet_rate:.1f}")

# Compute rates: as measured in this run, or given (SMALL_CNN_RATE, RESNET18_RATE img/s, e.g. the README's
# quiet-machine `bench` figures) when the machine was busy.
rates = {"small-cnn": float(os.environ.get("SMALL_CNN_RATE", one)),
         "resnet18": float(os.environ.get("RESNET18_RATE", resnet_rate))}
# Two links: the assumed network, and the bus bandwidth Gloo reached between the 2 local ranks here
# (loopback TCP plus the CPU's reduction on a 2-core machine: a floor where the CPU, not the wire, limits).
local = allreduce["resnet18"]["bus_gigabytes_per_second"] * 1e9
for label, bytes_per_s in ((f"{bandwidth_gbit:g} Gb/s network", bandwidth_gbit * 1e9 / 8),
                           (f"Gloo's local rate here ({local / 1e9:.2f} GB/s)", local)):
    print(f"\nprojection: N machines like this one (1 rank x 2 threads, {per_rank_batch} images per rank per step), "
          f"{label}, {latency_us:g} us per message, ring all-reduce, no overlap")
    print(f"{'model':<10} {'N':>4} {'compute ms':>11} {'all-reduce ms':>14} {'img/s':>9} {'speed-up':>9} {'eff.':>6}")
    for arch in ("small-cnn", "resnet18"):
        compute = per_rank_batch / rates[arch]
        size = allreduce[arch]["bytes"]
        for n in (1, 8, 64):
            comm = 0.0 if n == 1 else 2 * (n - 1) / n * size / bytes_per_s + 2 * (n - 1) * latency_us * 1e-6
            step = compute + comm
            speedup = n * compute / step
            print(f"{arch:<10} {n:>4} {1000 * compute:>11.1f} {1000 * comm:>14.1f} {n * per_rank_batch / step:>9.0f} "
                  f"{speedup:>9.1f} {speedup / n:>6.2f}")
