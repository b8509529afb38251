#!/usr/bin/env python3
"""The PyTorch side of bench/compare_pytorch.sh: what a competent user would write in plain
PyTorch + torchvision to do what PneumoScan does, with the same choices, so the two can be timed
side by side. It mirrors, from PneumoScan's sources:

- data: the rows of a `pneumoscan split` manifest (path,label,patient,split); the "train" rows
  train, the "val" rows validate (split by patient). Each image is decoded from JPEG with PIL in
  a DataLoader worker every epoch (one worker, as a seed-style script does), turned gray
  (ITU-R 601 weights, as OpenCV) and resized to the model side with area averaging (PIL BOX,
  OpenCV INTER_AREA) when shrinking, bilinear when enlarging.
- normalisation: per-image z-score, (x - mean) / max(std, 1e-3) (src/image/preprocess.cpp).
- augmentation (src/data/augment.cpp, its defaults): rotation +-10 deg, zoom 1 +- 0.10 and shift
  +- 8 % of the side in one bilinear affine warp (zero border); gamma in [1/1.35, 1.35]; contrast
  1 +- 0.25 about the image mean and brightness +- 0.10 (additive); Gaussian blur with p = 0.2,
  sigma in [0.3, 1.2]; Gaussian noise with sigma in [0, 0.02]; clamp to [0, 1]. No flips.
- models (src/models/): small-cnn (five 3x3 conv-BN-ReLU-maxpool blocks 32-64-64-128-256, dropout
  0.2 in blocks 2-5, dropout, dense 512, 1 sigmoid output; 128 px) and torchvision's resnet18
  with a 1-channel stem and 2 softmax outputs (224 px). Channels-last, as PneumoScan trains.
- training (src/train/): AdamW lr 1e-3 weight decay 1e-4 (PneumoScan's "adam" is torch AdamW),
  class-weighted loss w_c = N / (K n_c) normalised by the batch's weight sum, batch 32, shuffled,
  last partial batch kept; validation loss / ROC AUC after every epoch; learning rate halved after
  2 epochs without a val-loss improvement; a checkpoint each epoch, then the epoch log.
- predict (src/case/case_analyzer.cpp): decode, resize, and for a single network the image plus
  the four test-time variants PneumoScan scores for its uncertainty interval (zoom 1.08, shift 4 %
  right and down, gamma 0.8 and 1.25), one batch of 5 per file; P(pneumonia) of the first row.
- bench latency (src/benchmark/bench.cpp): median of batch-N forward passes on a random
  channels-last input after 5 warm-ups, eval mode, inference mode.

Subcommands: train, latency, predict. Each writes JSON; `train` also writes LOG (one JSON object
per epoch, rewritten atomically after each epoch, fields as PneumoScan's MODEL.log.jsonl).
"""
import argparse
import csv
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image

from compare_report import write_atomic  # bench/compare_report.py: standard library only

CL = torch.channels_last


# ---------------------------------------------------------------- models
class SmallCnn(nn.Module):
    def __init__(self, size=128, outputs=1, dropout=0.2):
        super().__init__()
        layers, cin = [], 1
        for block, width in enumerate([32, 64, 64, 128, 256]):
            layers += [nn.Conv2d(cin, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            if block > 0:
                layers.append(nn.Dropout(dropout))
            cin = width
        side = size // 32
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(256 * side * side, 512),
                                        nn.ReLU(inplace=True), nn.Linear(512, outputs))

    def forward(self, x):
        return self.classifier(self.features(x))


def resnet18(outputs=2):
    net = torchvision.models.resnet18(num_classes=outputs)
    net.conv1 = nn.Conv2d(1, 64, 7, stride=2, padding=3, bias=False)
    nn.init.kaiming_normal_(net.conv1.weight, mode="fan_out", nonlinearity="relu")
    return net


ARCHS = {"small-cnn": (SmallCnn, 128), "resnet18": (resnet18, 224)}


def make_model(arch, size):
    build, _ = ARCHS[arch]
    net = build(size) if arch == "small-cnn" else build()
    return to_channels_last(net)


def to_channels_last(net):
    # A [C,1,k,k] stem weight counts as channels-last already and oneDNN then takes a slow path;
    # force a real channels-last copy of every 4-D parameter (shared/notes/libtorch-cpu.md).
    net = net.to(memory_format=CL)
    for p in net.parameters():
        if p.dim() == 4:
            p.data = torch.empty_like(p.data, memory_format=CL).copy_(p.data)
    return net


def p_pneumonia(logits):
    return torch.sigmoid(logits[:, 0]) if logits.size(1) == 1 else torch.softmax(logits, 1)[:, 1]


def weighted_loss(logits, labels, class_weights):
    w = class_weights[labels]
    if logits.size(1) == 1:
        per = F.binary_cross_entropy_with_logits(logits[:, 0], labels.float(), reduction="none")
    else:
        per = F.cross_entropy(logits, labels, reduction="none")
    return (per * w).sum() / w.sum()


# ---------------------------------------------------------------- images
def load_gray(path, size):
    with Image.open(path) as im:
        gray = im.convert("L")
    if gray.size != (size, size):
        shrink = gray.width > size or gray.height > size
        gray = gray.resize((size, size), Image.BOX if shrink else Image.BILINEAR)
    return torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)[None]  # [1,S,S] in [0,1]


def zscore(x):
    return (x - x.mean()) / x.std(unbiased=False).clamp_min(1e-3)


def augment(x):
    """PneumoScan's default training augmentation (src/data/augment.cpp) on a [1,S,S] tensor."""
    u = lambda: random.uniform(-1.0, 1.0)
    side = x.shape[-1]
    angle, zoom = 10.0 * u(), 1.0 + 0.10 * u()
    shift = [0.08 * side * u(), 0.08 * side * u()]
    x = TF.affine(x, angle=angle, translate=shift, scale=zoom, shear=[0.0, 0.0],
                  interpolation=TF.InterpolationMode.BILINEAR, fill=[0.0])
    g = 1.0 + 0.35 * abs(u())
    x = x.clamp_min(0).pow(g if random.random() < 0.5 else 1.0 / g)
    contrast, brightness = 1.0 + 0.25 * u(), 0.10 * u()
    x = x * contrast + ((1.0 - contrast) * x.mean() + brightness)
    if random.random() < 0.2:
        sigma = random.uniform(0.3, 1.2)
        k = int(round(sigma * 8 + 1)) | 1  # OpenCV's kernel size for a float image
        x = TF.gaussian_blur(x, [k, k], [sigma, sigma])
    noise = random.uniform(0.0, 0.02)
    if noise > 0:
        x = x + torch.randn_like(x) * noise
    return x.clamp(0, 1)


class ManifestImages(torch.utils.data.Dataset):
    def __init__(self, rows, size, train):
        self.rows, self.size, self.train = rows, size, train

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        path, label = self.rows[i]
        x = load_gray(path, self.size)
        if self.train:
            x = augment(x)
        return zscore(x), label


def read_manifest(path):
    split = {"train": [], "val": []}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] in split:
                split[row["split"]].append((row["path"], 0 if row["label"].upper() == "NORMAL" else 1))
    return split["train"], split["val"]


def roc_auc(p, y):
    """Mann-Whitney ROC AUC with tied scores counted half."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sp = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sp[j + 1] == sp[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return float("nan")
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


# ---------------------------------------------------------------- train
def train(a):
    # Stopped from outside (compare_pytorch.sh stops at the target AUC): exit so the workers shut down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    size = a.image_size or ARCHS[a.arch][1]
    train_rows, val_rows = read_manifest(a.manifest)
    net = make_model(a.arch, size)
    counts = np.bincount([y for _, y in train_rows], minlength=2)
    class_weights = torch.tensor(len(train_rows) / (2.0 * counts), dtype=torch.float32)
    loader = lambda rows, training: torch.utils.data.DataLoader(
        ManifestImages(rows, size, training), batch_size=a.batch_size, shuffle=training,
        num_workers=a.workers, persistent_workers=a.workers > 0,
        generator=torch.Generator().manual_seed(a.seed))
    train_loader, val_loader = loader(train_rows, True), loader(val_rows, False)
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    # PneumoScan halves the rate at the 2nd epoch without improvement; torch cuts after `patience` + 1.
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=1e-4,
                                                         threshold_mode="abs", min_lr=1e-6)
    history, best_loss, best_epoch = [], math.inf, 0
    for epoch in range(1, a.epochs + 1):
        start = time.perf_counter()
        net.train()
        seen, loss_sum = 0, 0.0
        for images, labels in train_loader:
            images = images.contiguous(memory_format=CL)
            opt.zero_grad()
            loss = weighted_loss(net(images), labels, class_weights)
            loss.backward()
            opt.step()
            seen += len(labels)
            loss_sum += loss.item() * len(labels)
        train_seconds = time.perf_counter() - start
        net.eval()
        probs, ys, val_loss, val_weight = [], [], 0.0, 0.0
        with torch.inference_mode():
            for images, labels in val_loader:
                logits = net(images.contiguous(memory_format=CL))
                w = class_weights[labels].sum().item()
                val_loss += weighted_loss(logits, labels, class_weights).item() * w
                val_weight += w
                probs.append(p_pneumonia(logits))
                ys.append(labels)
        val_loss /= val_weight
        lr = opt.param_groups[0]["lr"]
        plateau.step(val_loss)
        improved = val_loss < best_loss - 1e-4
        if improved:
            best_loss, best_epoch = val_loss, epoch
            best = {k: v.clone() for k, v in net.state_dict().items()}
        torch.save({"epoch": epoch, "model": net.state_dict(), "optimizer": opt.state_dict()},
                   a.out + ".ckpt.tmp")
        os.replace(a.out + ".ckpt.tmp", a.out + ".ckpt")
        history.append({"epoch": epoch, "learning_rate": lr, "train_loss": loss_sum / seen,
                        "val_loss": val_loss,
                        "val_roc_auc": roc_auc(torch.cat(probs).numpy(), torch.cat(ys).numpy()),
                        "seconds": time.perf_counter() - start,
                        "images_per_second": seen / train_seconds, "best": improved})
        write_atomic(a.log, "".join(json.dumps(h) + "\n" for h in history))
        print(f"epoch {epoch}/{a.epochs} loss {history[-1]['train_loss']:.4f} | val loss {val_loss:.4f} "
              f"auc {history[-1]['val_roc_auc']:.4f} | {history[-1]['images_per_second']:.0f} img/s",
              flush=True)
        if epoch - best_epoch >= a.patience:  # early stopping, as PneumoScan's --patience
            break
    net.load_state_dict(best)
    torch.save(net.state_dict(), a.out)


# ---------------------------------------------------------------- latency
def latency(a):
    size = a.image_size or ARCHS[a.arch][1]
    torch.manual_seed(0)
    net = make_model(a.arch, size).eval()
    x = torch.randn(a.batch_size, 1, size, size).contiguous(memory_format=CL)
    ms = []
    with torch.inference_mode():
        for _ in range(5):
            net(x)
        for _ in range(a.runs):
            t = time.perf_counter()
            net(x)
            ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    result = {"architecture": a.arch, "input_size": size, "batch_size": a.batch_size,
              "latency_median_ms": ms[len(ms) // 2], "latency_p90_ms": ms[min(len(ms) - 1, len(ms) * 9 // 10)]}
    write_atomic(a.json, json.dumps(result, indent=1) + "\n")


# ---------------------------------------------------------------- predict
def warp(x, scale, dx, dy):
    """OpenCV's getRotationMatrix2D(centre, 0, scale) + shift (fractions of the side), reflected border."""
    theta = torch.tensor([[[1 / scale, 0, -2 * dx / scale], [0, 1 / scale, -2 * dy / scale]]])
    grid = F.affine_grid(theta, list(x[None].shape), align_corners=False)
    return F.grid_sample(x[None], grid, mode="bilinear", padding_mode="reflection", align_corners=False)[0]


def gamma_u8(x, gamma):
    return torch.round(255 * x.pow(gamma)) / 255  # PneumoScan's 8-bit lookup table on the resized image


def predict(a):
    size = a.image_size or ARCHS[a.arch][1]
    net = make_model(a.arch, size)
    net.load_state_dict(torch.load(a.state_dict))
    net = to_channels_last(net).eval()
    out = []
    with torch.inference_mode():
        for path in a.files:
            t = time.perf_counter()
            x = load_gray(path, size)
            looks = [x]
            if not a.no_tta:
                looks += [warp(x, 1.08, 0, 0), warp(x, 1.0, 0.04, 0.04), gamma_u8(x, 0.8), gamma_u8(x, 1.25)]
            rows = torch.stack([zscore(v) for v in looks]).contiguous(memory_format=CL)
            p = p_pneumonia(net(rows))
            out.append({"file": path, "probability": p[0].item(), "low": p.min().item(),
                        "high": p.max().item(), "batch_size": len(looks),
                        "milliseconds": (time.perf_counter() - t) * 1000})
    text = json.dumps({"architecture": a.arch, "predictions": out}, indent=1) + "\n"
    if a.json:
        write_atomic(a.json, text)
    else:
        sys.stdout.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train on a manifest's train rows, validate on its val rows")
    t.add_argument("--manifest", required=True)
    t.add_argument("--out", required=True, help="state dict of the best epoch (OUT.ckpt each epoch)")
    t.add_argument("--log", required=True, help="epoch log, JSON lines")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weight-decay", type=float, default=1e-4)
    t.add_argument("--patience", type=int, default=6, help="early stopping: epochs without improvement")
    t.add_argument("--workers", type=int, default=1, help="DataLoader worker processes")
    t.add_argument("--seed", type=int, default=42)
    lat = sub.add_parser("latency", help="median forward time of a random batch")
    lat.add_argument("--batch-size", type=int, default=1)
    lat.add_argument("--runs", type=int, default=50)
    lat.add_argument("--json", required=True)
    p = sub.add_parser("predict", help="P(pneumonia) of image files, per-file milliseconds")
    p.add_argument("--state-dict", required=True, help="`pneumoscan export` of a model file, or train's OUT")
    p.add_argument("--json", help="write here instead of stdout")
    p.add_argument("--no-tta", action="store_true", help="one row per file instead of PneumoScan's five")
    p.add_argument("files", nargs="+")
    for s in (t, lat, p):
        s.add_argument("--arch", choices=sorted(ARCHS), default="small-cnn")
        s.add_argument("--image-size", type=int, default=0, help="0 = the architecture's default")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    {"train": train, "latency": latency, "predict": predict}[a.command](a)


if __name__ == "__main__":
    main()
