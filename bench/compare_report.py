#!/usr/bin/env python3
"""Helpers of bench/compare_pytorch.sh (standard library only):

  subset MANIFEST OUT --train N --val N [--seed S]   label-stratified subset of a split manifest
  run RESULT [--stdout FILE] [--allow-status 0,2] [--log LOG --target-auc A --min-epochs E] -- CMD...
        runs CMD (its stdout to FILE), writes RESULT (JSON): wall seconds, peak RSS (KiB, of the largest process,
        as GNU time's %M), exit status; with --log, polls the epoch log (JSON lines, one object
        per epoch with val_roc_auc) and records when each epoch's line appeared, counted from
        just before CMD started; stops CMD (SIGTERM) once an epoch reached the target AUC and
        at least --min-epochs epochs are logged.
  table DIR    the markdown table of DIR/runs/*.json (printed; also DIR/table.md, atomically)
"""
import csv
import glob
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time


def write_atomic(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def subset(args):
    manifest, out = args[0], args[1]
    opts = dict(zip(args[2::2], args[3::2]))
    rng = random.Random(int(opts.get("--seed", 1)))
    with open(manifest, newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    keep = []
    for split, n in (("train", int(opts["--train"])), ("val", int(opts["--val"]))):
        part = [r for r in rows if r["split"] == split]
        for label in sorted({r["label"] for r in part}):
            of_label = [r for r in part if r["label"] == label]
            k = max(1, round(n * len(of_label) / len(part)))
            keep += rng.sample(of_label, min(k, len(of_label)))
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(keep)
    os.replace(tmp, out)


def read_log(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return []


def run(args):
    result_path = args[0]
    split = args.index("--")
    opts, cmd = dict(zip(args[1:split:2], args[2:split:2])), args[split + 1:]
    log, target = opts.get("--log"), float(opts.get("--target-auc", "2"))
    min_epochs = int(opts.get("--min-epochs", "1"))
    allowed = {int(s) for s in opts.get("--allow-status", "0").split(",")}
    stdout = open(opts["--stdout"], "wb") if "--stdout" in opts else None
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=stdout)
    arrived, reached, stopped, status, rusage = [], None, False, None, None
    while status is None:
        pid, status_word, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid != 0:
            status = os.waitstatus_to_exitcode(status_word)
            break
        if log:
            epochs = read_log(log)
            now = time.monotonic() - start
            while len(arrived) < len(epochs):
                arrived.append(now)
                if reached is None and (epochs[len(arrived) - 1].get("val_roc_auc") or 0) >= target:
                    reached = len(arrived)
            if reached is not None and len(arrived) >= min_epochs and not stopped:
                proc.send_signal(signal.SIGTERM)
                stopped = True
        time.sleep(0.05)
    result = {"command": cmd, "wall_s": time.monotonic() - start, "peak_rss_kb": rusage.ru_maxrss,
              "status": status, "stopped_at_target": stopped}
    if log:
        epochs = read_log(log)
        for record, t in zip(epochs, arrived):
            record["since_start_s"] = t
        result["epochs"] = epochs
        result["target_auc"] = target
        result["time_to_target_s"] = arrived[reached - 1] if reached else None
        later = [e["images_per_second"] for e in epochs[1:]]
        result["images_per_second_after_first"] = statistics.median(later) if later else None
    write_atomic(result_path, json.dumps(result, indent=1) + "\n")
    if status not in allowed and not stopped:
        sys.exit(f"compare: {' '.join(cmd[:3])} ... failed with status {status}")


def median_ms(predictions):
    return statistics.median(p["milliseconds"] for p in predictions)


# Each workload: (row label, unit, value from a run's JSON, higher is better)
ROWS = [
    ("train_small-cnn", "training img/s after epoch 1, small-cnn @128", "img/s",
     lambda r: r["images_per_second_after_first"], True),
    ("train_resnet18", "training img/s after epoch 1, resnet18 @224", "img/s",
     lambda r: r["images_per_second_after_first"], True),
    ("train_small-cnn", "time to val ROC AUC {auc}, small-cnn @128", "s", lambda r: r["time_to_target_s"], False),
    ("train_resnet18", "time to val ROC AUC {auc}, resnet18 @224", "s", lambda r: r["time_to_target_s"], False),
    ("train_small-cnn", "peak RSS, training small-cnn", "MiB", lambda r: r["peak_rss_kb"] / 1024, False),
    ("train_resnet18", "peak RSS, training resnet18", "MiB", lambda r: r["peak_rss_kb"] / 1024, False),
    ("latency1_small-cnn", "batch-1 inference, small-cnn @128", "ms", lambda r: r["latency_median_ms"], False),
    ("latency1_resnet18", "batch-1 inference, resnet18 @224", "ms", lambda r: r["latency_median_ms"], False),
    ("latency32_small-cnn", "batch-32 inference, small-cnn @128", "ms", lambda r: batch_latency(r), False),
    ("latency32_resnet18", "batch-32 inference, resnet18 @224", "ms", lambda r: batch_latency(r), False),
    ("predict1", "predict 1 full-res JPEG, whole process", "s", lambda r: r["wall_s"], False),
    ("predict1", "predict 1 full-res JPEG, per file", "ms", lambda r: median_ms(r["predictions"]), False),
    ("predict1", "peak RSS, predict 1 file", "MiB", lambda r: r["peak_rss_kb"] / 1024, False),
    ("predictN", "predict {n} full-res JPEGs, whole process", "s", lambda r: r["wall_s"], False),
    ("predictN", "predict {n} full-res JPEGs, per file (median)", "ms",
     lambda r: median_ms(r["predictions"]), False),
    ("predictN", "peak RSS, predict {n} files", "MiB", lambda r: r["peak_rss_kb"] / 1024, False),
]


def batch_latency(r):
    """PneumoScan's bench reports batch 1 and --latency-batch apart; the PyTorch script one figure per run."""
    return r["batch_latency_median_ms"] if r.get("batch_latency_median_ms") else r["latency_median_ms"]


def load_run(path):
    """A run's JSON merged with the workload's own output (bench/latency/predict JSON) beside it."""
    with open(path) as f:
        r = json.load(f)
    out = path.replace(".run.json", ".out.json")
    if os.path.exists(out):
        with open(out) as f:
            o = json.load(f)
        if isinstance(o, list):  # pneumoscan bench --json: one entry per run
            o = o[0]
        r.update(o)
    return r


def agreement(out_dir):
    """How far the two sides' P(pneumonia) for the same files and weights lie apart."""
    probs = {}
    for side in ("pneumoscan", "pytorch"):
        paths = sorted(glob.glob(os.path.join(out_dir, "runs", f"predictN.{side}.*.out.json")))
        if paths:
            with open(paths[0]) as f:
                probs[side] = {p["file"]: p.get("probability") for p in json.load(f)["predictions"]}
    if len(probs) < 2:
        return []
    diffs = [abs(p - probs["pytorch"][k]) for k, p in probs["pneumoscan"].items()
             if p is not None and probs["pytorch"].get(k) is not None]
    if not diffs:
        return []
    return [f"same weights, same files: P(pneumonia) differs by at most {max(diffs):.2g} between the sides "
            f"({len(diffs)} files)"]


def fmt(x):
    return "n/a" if x is None else f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def table(args):
    out_dir = args[0]
    with open(os.path.join(out_dir, "settings.json")) as f:
        settings = json.load(f)
    lines = [f"PneumoScan vs PyTorch {settings['torch']}: {settings['mode']}, threads {settings['threads']}, "
             f"{settings['pairs']} interleaved pair(s), batch {settings['batch']}, {settings['train_images']} "
             f"training / {settings['val_images']} validation images"
             + (f", PneumoScan in {settings['precision']}" if settings.get("precision") else "")
             + (f"; CPU: {settings['cpu']}" if settings.get("cpu") else ""),
             "", "ratio = PneumoScan's advantage (>1: PneumoScan better): PyTorch/PneumoScan for times and "
             "memory, PneumoScan/PyTorch for img/s; median of the per-pair ratios (min-max)", "",
             "| workload | PneumoScan (median) | PyTorch (median) | ratio (min-max) |", "|---|---|---|---|"]
    for key, label, unit, value, higher in ROWS:
        label = label.format(auc=settings["target_auc"], n=settings["predict_files"])
        sides = {}
        for side in ("pneumoscan", "pytorch"):
            vals = []
            for p in sorted(glob.glob(os.path.join(out_dir, "runs", f"{key}.{side}.*.run.json"))):
                try:
                    vals.append(value(load_run(p)))
                except (KeyError, TypeError, ValueError, IndexError, statistics.StatisticsError):
                    vals.append(None)
            sides[side] = vals
        a, b = sides["pneumoscan"], sides["pytorch"]
        med = lambda v: statistics.median(v) if v and all(x is not None for x in v) else None
        ratios = [(x / y if higher else y / x) for x, y in zip(a, b) if x and y]
        ratio = "n/a"
        if ratios and len(ratios) == len(a) == len(b):
            ratio = f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"
        cells = [fmt(med(v)) for v in (a, b)]
        if "time to" in label:  # a run that never reached the target says so
            missed = f"not reached in {settings['epochs']} epochs"
            cells = [f"{missed} ({sum(x is None for x in v)}/{len(v)} runs)" if v and None in v else c
                     for v, c in zip((a, b), cells)]
        lines.append(f"| {label} ({unit}) | {cells[0]} | {cells[1]} | {ratio} |")
    notes = settings.get("notes", []) + agreement(out_dir)
    text = "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"
    write_atomic(os.path.join(out_dir, "table.md"), text)
    sys.stdout.write(text)


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    {"subset": subset, "run": run, "table": table}[command](rest)
