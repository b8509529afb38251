#!/usr/bin/env python3
"""The lever study's table (experiments/levers.sh), standard library only.

  levers_table.py LEVERS_DIR LEVER...

Reads LEVERS_DIR/<lever>/seed<S>.{val,fullres,official}.json (`pneumoscan
evaluate --json`) and prints one markdown row per lever: mean +- sample
standard deviation over the seeds present of the patient carve's ROC AUC,
sensitivity, specificity and type accuracy at each model's stored threshold;
the shifted copies' mean and worst ROC AUC, the worst sensitivity under
vendor processing (CLAHE, histogram equalisation: the proxies that moved it
most, and the ones `--augment strong` imitates) and under the other 9
proxies, and the worst specificity (each worst taken per seed, then
averaged); the held-out
full-resolution images' ROC AUC, sensitivity and specificity; the official
16's ROC AUC; training seconds.
"""
import glob
import json
import os
import re
import statistics
import sys


def spread(values, digits=3):
    if not values:
        return "-"
    mean = statistics.mean(values)
    if len(values) == 1:
        return f"{mean:.{digits}f} (1 seed)"
    return f"{mean:.{digits}f} +- {statistics.stdev(values):.{digits}f}"


def train_seconds(log):
    try:
        with open(log) as f:
            found = re.findall(r"^train_seconds (\d+)", f.read(), re.M)
        return float(found[-1]) if found else None
    except OSError:
        return None


def row(folder, lever):
    cols = {k: [] for k in ("auc", "sens", "spec", "type", "shift_mean_auc", "shift_worst_auc",
                            "vendor_sens", "other_sens", "shift_worst_spec", "full_auc", "full_sens",
                            "full_spec", "off_auc", "seconds")}
    seeds = 0
    for val_path in sorted(glob.glob(os.path.join(folder, lever, "seed*.val.json"))):
        stem = val_path[: -len(".val.json")]
        try:
            with open(val_path) as f:
                val = json.load(f)
            with open(stem + ".fullres.json") as f:
                full = json.load(f)
            with open(stem + ".official.json") as f:
                official = json.load(f)
        except OSError:
            continue
        seeds += 1
        cols["auc"].append(val["roc_auc"])
        cols["sens"].append(val["recall"])
        cols["spec"].append(val["specificity"])
        if "classes" in val:
            cols["type"].append(val["classes"]["type_accuracy"])
        shifts = list(val.get("shifts", {}).values())
        if shifts:
            cols["shift_mean_auc"].append(statistics.mean(s["roc_auc"] for s in shifts))
            cols["shift_worst_auc"].append(min(s["roc_auc"] for s in shifts))
            named = val["shifts"]
            vendor = [named[k]["recall"] for k in ("clahe", "equalize") if k in named]
            other = [v["recall"] for k, v in named.items() if k not in ("clahe", "equalize")]
            if vendor:
                cols["vendor_sens"].append(min(vendor))
            if other:
                cols["other_sens"].append(min(other))
            cols["shift_worst_spec"].append(min(s["specificity"] for s in shifts))
        cols["full_auc"].append(full["roc_auc"])
        cols["full_sens"].append(full["recall"])
        cols["full_spec"].append(full["specificity"])
        cols["off_auc"].append(official["roc_auc"])
        seconds = train_seconds(stem + ".log")
        if seconds is not None:
            cols["seconds"].append(seconds)
    cells = [spread(cols[k]) for k in ("auc", "sens", "spec", "type", "shift_mean_auc",
                                         "shift_worst_auc", "vendor_sens", "other_sens", "shift_worst_spec",
                                         "full_auc", "full_sens", "full_spec", "off_auc")]
    cells.append(spread(cols["seconds"], 0))
    return f"| {lever} | {seeds} | " + " | ".join(cells) + " |"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    folder = sys.argv[1]
    print("| lever | seeds | val AUC | val sens | val spec | type acc | shifted mean AUC "
          "| shifted worst AUC | sens, vendor processing | sens, other shifts | shifted worst spec "
          "| full-res AUC | full-res sens | full-res spec | official-16 AUC | train s |")
    print("|---" * 16 + "|")
    for lever in sys.argv[2:]:
        print(row(folder, lever))


if __name__ == "__main__":
    main()
