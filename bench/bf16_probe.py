#!/usr/bin/env python3
"""Probe for the bf16 lever (issue 13): torchvision resnet18 and mobilenet_v2 (BatchNorm folded,
channels-last, 3-channel 224 px input) timed in float32 and under CPU bf16 autocast, on the
same LibTorch as PneumoScan (Debian python3-torch, scripts/setup.sh --bench); prints the median
latency at batch 1 and 32 and the largest logit difference. Not yet a PneumoScan option.
   /usr/bin/python3 bench/bf16_probe.py
"""
import time, torch, torchvision
import torch.fx.experimental.optimization
torch.set_num_threads(2)
def bench(m, x, runs):
    with torch.inference_mode():
        for _ in range(5): m(x)
        ts=[]
        for _ in range(runs):
            t=time.perf_counter(); m(x); ts.append(time.perf_counter()-t)
    ts.sort(); return ts[len(ts)//2]*1000
for name, ctor, size in [("resnet18", torchvision.models.resnet18, 224), ("mobilenet_v2", torchvision.models.mobilenet_v2, 224)]:
    m = ctor(num_classes=2).eval()
    m = torch.fx.experimental.optimization.fuse(m)  # conv+bn folded
    m = m.to(memory_format=torch.channels_last)
    for b in (1, 32):
        x = torch.randn(b, 3, size, size).contiguous(memory_format=torch.channels_last)
        f32 = bench(m, x, 30 if b == 1 else 5)
        with torch.cpu.amp.autocast(dtype=torch.bfloat16):
            bf = bench(m, x, 30 if b == 1 else 5)
        with torch.inference_mode():
            y32 = m(x).float()
            with torch.cpu.amp.autocast(dtype=torch.bfloat16):
                yb = m(x).float()
        print(f"{name} b{b}: fp32 {f32:.2f} ms, bf16 autocast {bf:.2f} ms, max |logit diff| {(y32-yb).abs().max().item():.4f}")
