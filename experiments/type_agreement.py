#!/usr/bin/env python3
"""Where the bacterial-vs-viral errors are: how many of several networks get
each true pneumonia's type wrong (standard library only).

  type_agreement.py PREDICTIONS.json...
  type_agreement.py --boundary PREDICTIONS.json...

Each file is `pneumoscan predict --no-tta --json --model MEMBER FILES...` of
one network on the same Kermany images (the type is in their names:
_bacteria_, _virus_). A network's type is VIRAL when P(viral) > P(bacterial).
Prints, per number k of networks wrong, how many images have k wrong; the
images every network gets wrong bound what any combination of them can
reach. --boundary: one network's (or ensemble's) type accuracy when the
boundary log(P(viral) / P(bacterial)) > 0 is moved by each of a few offsets;
with several files, of the networks' averaged type probabilities (an ensemble
of them without its calibration). It also prints the type ROC AUC (how well
the log-odds rank viral above bacterial, whatever the boundary) and the best
accuracy any boundary reaches (fitted on these very images, so optimistic):
the two figures that compare networks whose boundaries landed differently.
"""
import collections
import json
import math
import sys


def type_probabilities(paths):
    """file -> [(P(bacterial), P(viral)) of each network], for the pneumonias of
    known type that every file predicts with type probabilities."""
    found = collections.defaultdict(list)
    for path in paths:
        try:
            with open(path) as f:
                for p in json.load(f)["predictions"]:
                    if p.get("type_probabilities") and ("_virus_" in p["file"] or "_bacteria_" in p["file"]):
                        t = p["type_probabilities"]
                        found[p["file"]].append((float(t["BACTERIAL"]), float(t["VIRAL"])))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            sys.exit(f"type_agreement.py: {path}: not the JSON of `pneumoscan predict --json` ({type(e).__name__}: {e})")
    found = {name: ps for name, ps in found.items() if len(ps) == len(paths)}
    if not found:
        sys.exit("type_agreement.py: no pneumonia of known type with type probabilities in every file")
    return found


def main(paths):
    probabilities = type_probabilities(paths)
    images = list(probabilities)
    wrong = collections.Counter()
    for name in images:
        viral = "_virus_" in name
        wrong[sum((v > b) != viral for b, v in probabilities[name])] += 1
    n = len(images)
    print(f"{n} pneumonias of known type, {len(paths)} networks")
    print("| networks wrong | images | share |")
    print("|---|---|---|")
    for k in range(len(paths) + 1):
        print(f"| {k} | {wrong[k]} | {wrong[k] / n:.3f} |")
    print(f"type accuracy if every disputed image were right: {1 - wrong[len(paths)] / n:.3f}; "
          f"by majority (fewer than half wrong): {sum(wrong[k] for k in range(len(paths)) if 2 * k < len(paths)) / n:.3f}")


def boundary(paths):
    # Floored: a probability that underflowed to 0 must not end the run.
    rows = [(math.log(max(sum(v for _, v in ps), 1e-30) / max(sum(b for b, _ in ps), 1e-30)), "_virus_" in name)
            for name, ps in type_probabilities(paths).items()]
    print(f"{len(rows)} pneumonias of known type, {len(paths)} networks averaged")
    print("| offset | type accuracy |")
    print("|---|---|")
    for offset in [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]:
        print(f"| {offset:+.2f} | {sum((l > offset) == viral for l, viral in rows) / len(rows):.3f} |")
    print(f"type ROC AUC {type_auc(rows):.4f}; best accuracy of any boundary {best_accuracy(rows):.3f}")


def type_auc(rows):
    """Mann-Whitney: the chance a viral image's log-odds exceed a bacterial one's (ties count half)."""
    ranked = sorted(rows, key=lambda r: r[0])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        rank_sum += sum((i + j + 1) / 2 for k in range(i, j) if ranked[k][1])  # average rank, 1-based
        i = j
    viral = sum(1 for _, v in rows if v)
    bacterial = len(rows) - viral
    if viral == 0 or bacterial == 0:
        return float("nan")
    return (rank_sum - viral * (viral + 1) / 2) / (viral * bacterial)


def best_accuracy(rows):
    """The highest accuracy of a boundary placed between two neighbouring log-odds."""
    ranked = sorted(rows, key=lambda r: r[0])
    correct = sum(1 for _, v in ranked if v)  # boundary below everything: all called viral
    best = correct
    for _, viral in ranked:  # move the boundary above one more image: it becomes bacterial
        correct += -1 if viral else 1
        best = max(best, correct)
    return best / len(ranked)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--boundary":
        boundary(sys.argv[2:])
    else:
        main(sys.argv[1:])
