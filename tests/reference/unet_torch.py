#!/usr/bin/env python3
"""PyTorch reference of the lab's image UNet (crates/memgen-models/src/unet), for the benchmark
in scripts/bench-unet.sh.

Same architecture (base width b, time width 4b, two resolutions, GroupNorm(8) + SiLU residual
blocks, DDPM sinusoidal embedding, nearest x2 upsampling, no attention):
  t -> sinusoid(b) -> Linear(b,4b) -> SiLU -> Linear(4b,4b) = temb
  x -> conv3x3(C,b) -> Res(b,b)=h1 -> conv3x3 stride 2 -> Res(b,2b)=h2 -> Res(2b,2b)
    -> Res(cat h2: 4b,2b) -> upsample x2 -> Res(cat h1: 3b,b) -> GN -> SiLU -> conv3x3(b,C)
Same training step: batch of B images, t ~ U{0..999}, eps ~ N(0, I), x_t = sqrt(ab) x0 +
sqrt(1-ab) eps, loss = mean (eps_hat - eps)^2, Adam (eps 1e-8), global grad-norm clipping 1.0,
EMA of the weights. Sampling: network evaluations at batch S (one DDIM step each).
Prints one JSON line.

usage: unet_torch.py [--batch 64] [--steps 20] [--sample-batch 256] [--sample-evals 10]
                     [--base 16] [--channels 1] [--size 28] [--threads N] [--device cpu|cuda]
"""
import argparse
import copy
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim):
    half = dim // 2
    scale = math.log(10000.0) / max(half - 1, 1)
    f = torch.exp(-scale * torch.arange(half, dtype=torch.float32, device=t.device))
    p = t.float()[:, None] * f[None, :]
    return torch.cat([p.sin(), p.cos()], dim=1)


class Res(nn.Module):
    def __init__(self, c_in, c_out, temb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(temb, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class UNet(nn.Module):
    def __init__(self, channels=1, base=16, groups=8):
        super().__init__()
        b, t = base, 4 * base
        self.base = b
        self.time1 = nn.Linear(b, t)
        self.time2 = nn.Linear(t, t)
        self.conv_in = nn.Conv2d(channels, b, 3, padding=1)
        self.down0 = Res(b, b, t, groups)
        self.downsample = nn.Conv2d(b, b, 3, stride=2, padding=1)
        self.down1 = Res(b, 2 * b, t, groups)
        self.mid = Res(2 * b, 2 * b, t, groups)
        self.up1 = Res(4 * b, 2 * b, t, groups)
        self.up0 = Res(3 * b, b, t, groups)
        self.norm_out = nn.GroupNorm(groups, b)
        self.conv_out = nn.Conv2d(b, channels, 3, padding=1)

    def forward(self, x, t):
        temb = self.time2(F.silu(self.time1(timestep_embedding(t, self.base))))
        h1 = self.down0(self.conv_in(x), temb)
        h2 = self.down1(self.downsample(h1), temb)
        h = self.mid(h2, temb)
        h = self.up1(torch.cat([h, h2], 1), temb)
        h = F.interpolate(h, scale_factor=2, mode="nearest")
        h = self.up0(torch.cat([h, h1], 1), temb)
        return self.conv_out(F.silu(self.norm_out(h)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--sample-batch", type=int, default=256)
    ap.add_argument("--sample-evals", type=int, default=10)
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--channels", type=int, default=1)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    net = UNet(a.channels, a.base).to(dev)
    ema = copy.deepcopy(net).requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-8)
    betas = torch.linspace(1e-4, 2e-2, 1000, dtype=torch.float64)
    abar = torch.cumprod(1 - betas, 0).float().to(dev)
    images = torch.randn(64, a.channels, a.size, a.size, device=dev)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)

    def step(i):
        idx = torch.randint(0, images.shape[0], (a.batch,), device=dev)
        x0 = images[idx]
        t = torch.randint(0, 1000, (a.batch,), device=dev)
        eps = torch.randn_like(x0)
        ab = abar[t][:, None, None, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        loss = (net(xt, t) - eps).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        d = min(0.999, (1 + i) / (10 + i))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), net.parameters()):
                pe.mul_(d).add_(pm, alpha=1 - d)
        return loss

    for i in range(a.warmup):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(a.steps):
        loss = step(a.warmup + i)
    last = float(loss.detach())
    sync()
    train_s = time.perf_counter() - t0

    x = torch.randn(a.sample_batch, a.channels, a.size, a.size, device=dev)
    with torch.no_grad():
        ema(x, torch.full((a.sample_batch,), 10, device=dev))
        sync()
        t0 = time.perf_counter()
        y = x
        for i in range(a.sample_evals):
            y = ema(y, torch.full((a.sample_batch,), 999 - i, device=dev)) * 0.5
        sync()
        sample_s = time.perf_counter() - t0
    print(json.dumps({
        "backend": f"pytorch-{dev.type}",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in net.parameters()),
        "batch": a.batch,
        "train_steps_per_s": a.steps / train_s,
        "sample_batch": a.sample_batch,
        "sample_evals": a.sample_evals,
        "network_evals_images_per_s": a.sample_batch * a.sample_evals / sample_s,
        "loss_last": last,
    }))


if __name__ == "__main__":
    main()
