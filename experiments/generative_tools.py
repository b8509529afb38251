#!/usr/bin/env python3
"""Small helpers for experiments/generative.sh, standard library only.

  generative_tools.py images DIR      writes the non-X-ray test images of the OOD check into DIR:
                                      10 gray-noise and 10 colour-noise BMPs (uniform, seeded), and
                                      10 synthetic "document" BMPs (black text-like bars on white)
  generative_tools.py auc IN.csv OUT.csv [OUT.csv...]
                                      ROC AUC of the reconstruction error (errors.csv of
                                      `pneumoscan autoencoder reconstruct`) for telling OUT from IN
                                      (higher error = out of distribution; ties count half)
  generative_tools.py table INFO.json...
                                      mean and sample standard deviation over runs of the validation
                                      figures in `pneumoscan info` JSON (training.validation)
  generative_tools.py quality QUALITY.json...
                                      mean and sample standard deviation over `pneumoscan gan evaluate`
                                      runs (Frechet distance and its floor, classifier accuracy, copies)
  generative_tools.py study LEVERS_DIR CONDITION...
                                      the synthetic-image study's table (generative.sh study): per condition
                                      and look, mean and sample standard deviation over seeds
"""
import csv
import glob
import json
import os
import random
import struct
import sys


def write_bmp(path, width, height, pixel):
    """24-bit BMP; pixel(x, y) -> (r, g, b)."""
    row = (width * 3 + 3) & ~3
    data = bytearray()
    for y in range(height - 1, -1, -1):
        line = bytearray()
        for x in range(width):
            r, g, b = pixel(x, y)
            line += bytes((b, g, r))
        data += line + bytes(row - len(line))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(data), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(data), 2835, 2835, 0, 0)
    with open(path, "wb") as f:
        f.write(header + info + data)


def images(folder):
    os.makedirs(folder, exist_ok=True)
    rng = random.Random(2024)
    size = 256
    for i in range(10):
        write_bmp(os.path.join(folder, f"noise_gray_{i}.bmp"), size, size,
                  lambda x, y: (lambda v: (v, v, v))(rng.randrange(256)))
        write_bmp(os.path.join(folder, f"noise_colour_{i}.bmp"), size, size,
                  lambda x, y: (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        # A page: white, with rows of black "words" of random lengths.
        words = {}
        for line in range(12):
            x = 20
            while x < size - 40:
                length = rng.randrange(8, 40)
                words[line] = words.get(line, []) + [(x, min(x + length, size - 20))]
                x += length + rng.randrange(5, 12)
        def page(x, y, words=words):
            line, offset = divmod(y - 20, 18)
            if 0 <= line < 12 and 0 <= offset < 8:
                for a, b in words.get(line, []):
                    if a <= x < b:
                        return (0, 0, 0)
            return (255, 255, 255)
        write_bmp(os.path.join(folder, f"document_{i}.bmp"), size, size, page)


def read_errors(path):
    with open(path, newline="") as f:
        return [float(row["mse"]) for row in csv.DictReader(f)]


def auc(inside, outside):
    wins = 0.0
    for o in outside:
        for i in inside:
            wins += 1.0 if o > i else 0.5 if o == i else 0.0
    return wins / (len(inside) * len(outside))


def table(paths):
    keys = ["accuracy", "recall", "specificity", "roc_auc"]
    runs = []
    for path in paths:
        with open(path) as f:
            info = json.load(f)
        runs.append(info["training"]["validation"])
    parts = []
    for key in keys:
        values = [r[key] for r in runs]
        mean = sum(values) / len(values)
        sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
        parts.append(f"{key} {mean:.4f} +- {sd:.4f}")
    return f"n={len(runs)} " + "  ".join(parts)


def mean_sd(values):
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return mean, sd


def quality(paths):
    """Mean +- sd over `gan evaluate` runs (quality.json files)."""
    runs = []
    for path in paths:
        with open(path) as f:
            runs.append(json.load(f))
    rows = [("Frechet distance", lambda r: r["frechet_distance"]),
            ("real-vs-real floor", lambda r: r["frechet_distance_real_floor"]),
            ("real-vs-synthetic accuracy", lambda r: r["two_sample_classifier_accuracy"]),
            ("nearest real, samples (median cosine)", lambda r: r["nearest_similarity"]["samples_median"]),
            ("nearest real, held-out real (median)", lambda r: r["nearest_similarity"]["held_out_median"]),
            ("possible copies", lambda r: r["possible_copies"])]
    lines = [f"n={len(runs)} runs, {runs[0]['samples']} samples vs {runs[0]['reference_images']} + "
             f"{runs[0]['held_out_images']} real each"]
    for name, get in rows:
        mean, sd = mean_sd([get(r) for r in runs])
        lines.append(f"{name}: {mean:.4f} +- {sd:.4f}")
    return "\n".join(lines)


def ssim(folder):
    """MSE-only vs MSE + SSIM autoencoders (generative.sh ssim): mean +- sd over seeds per loss weight."""
    runs = {}
    for log in sorted(glob.glob(os.path.join(folder, "w*_seed*.log"))):
        weight = os.path.basename(log).split("_seed")[0][1:]
        best = [line for line in open(log) if "*best*" in line][-1].split()
        fields = dict(zip(best[::1], best[1:]))
        stem = log[:-len(".log")]
        runs.setdefault(weight, []).append({
            "val_mse": float(fields["val_mse"]),
            "val_ssim": float(fields["val_ssim"]),
            "ood_auc": auc(read_errors(stem + ".xray/errors.csv"), read_errors(stem + ".other/errors.csv")),
        })
    lines = ["| loss | seeds | validation MSE | validation SSIM | X-rays vs non-X-rays ROC AUC |",
             "|---|---|---|---|---|"]
    for weight, rows in sorted(runs.items()):
        name = "MSE" if float(weight) == 0 else f"MSE + {weight} (1 - SSIM)"
        cells = []
        for key, digits in (("val_mse", 5), ("val_ssim", 4), ("ood_auc", 4)):
            mean, sd = mean_sd([r[key] for r in rows])
            cells.append(f"{mean:.{digits}f} +- {sd:.{digits}f}")
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def study(folder, conditions):
    """The synthetic-image study (generative.sh study): per condition and look, mean +- sd over seeds of
    accuracy, sensitivity, specificity and ROC AUC at each model's stored threshold. The shifted row takes,
    per seed, the worst value of each measure over the carve's shifted copies."""
    looks = [("patient-carved val", "val", None), ("shifted val, worst copy", "val", "shifts"),
             ("full resolution, held out", "fullres", None), ("official val (16)", "official", None)]
    keys = ["accuracy", "recall", "specificity", "roc_auc"]
    lines = ["| training images | look | seeds | accuracy | sensitivity | specificity | ROC AUC |",
             "|---|---|---|---|---|---|---|"]
    seconds = {}
    for condition in conditions:
        stems = sorted(p[:-len(".val.json")] for p in glob.glob(os.path.join(folder, condition, "seed*.val.json")))
        for name, suffix, part in looks:
            values = {k: [] for k in keys}
            for stem in stems:
                try:
                    with open(f"{stem}.{suffix}.json") as f:
                        result = json.load(f)
                except OSError:
                    continue
                for k in keys:
                    if part:
                        values[k].append(min(s[k] for s in result[part].values()))
                    else:
                        values[k].append(result[k])
            if not values["roc_auc"]:
                continue
            cells = []
            for k in keys:
                mean, sd = mean_sd(values[k])
                cells.append(f"{mean:.3f} +- {sd:.3f}")
            lines.append(f"| {condition} | {name} | {len(values['roc_auc'])} | " + " | ".join(cells) + " |")
        for stem in stems:
            with open(stem + ".log") as f:
                found = [line.split()[1] for line in f if line.startswith("train_seconds ")]
            if found:
                seconds.setdefault(condition, []).append(float(found[-1]))
    if seconds:
        lines.append("")
    for condition, values in seconds.items():
        mean, sd = mean_sd(values)
        lines.append(f"{condition}: training {mean:.0f} +- {sd:.0f} s per run ({len(values)} runs)")
    return "\n".join(lines)


def main(argv):
    if len(argv) >= 2 and argv[0] == "images":
        images(argv[1])
    elif len(argv) >= 3 and argv[0] == "auc":
        inside = read_errors(argv[1])
        outside = [e for path in argv[2:] for e in read_errors(path)]
        mean = lambda v: sum(v) / len(v)
        print(f"in-distribution n={len(inside)} mean MSE {mean(inside):.5f} | out n={len(outside)} mean MSE "
              f"{mean(outside):.5f} | ROC AUC {auc(inside, outside):.4f}")
    elif len(argv) >= 2 and argv[0] == "table":
        print(table(argv[1:]))
    elif len(argv) >= 2 and argv[0] == "quality":
        print(quality(argv[1:]))
    elif len(argv) >= 3 and argv[0] == "study":
        print(study(argv[1], argv[2:]))
    elif len(argv) == 2 and argv[0] == "ssim":
        print(ssim(argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
