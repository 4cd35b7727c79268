#!/usr/bin/env python3
"""PyTorch reference of the 2-D toy's training step, for the benchmark in scripts/bench-toy.sh.

Same network as crates/memgen-models (docs/SCIENCE.md §4; the authors' ScoreNet): Gaussian Fourier
time features (128, scale 16, frozen) -> Linear(128,128) -> SiLU -> Linear -> SiLU; concat with
x -> Linear to 128 -> 3 x (Linear 128->128 + SiLU) -> Linear to 2; output / sqrt(t).
Same step: batch of B points drawn from K circle points, t ~ U(1e-5, 1), z ~ N(0, I),
loss = mean ||s(x + sqrt(t) z, t) sqrt(t) + z||^2, Adam (lr 1e-3, eps 1e-8), EMA 0.999 of the
weights. Prints one JSON line: steps/s, ms/step, final loss, threads.

usage: toy_torch.py [--k 1000] [--batch 512] [--steps 300] [--warmup 30] [--threads N]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn


class Fourier(nn.Module):
    def __init__(self, dim, scale=16.0):
        super().__init__()
        self.register_buffer("w", torch.randn(dim // 2) * scale)

    def forward(self, t):
        p = t[:, None] * self.w[None, :] * 2 * math.pi
        return torch.cat([p.sin(), p.cos()], dim=1)


class ScoreNet(nn.Module):
    def __init__(self, embed=128, hidden=128):
        super().__init__()
        self.time = nn.Sequential(Fourier(embed), nn.Linear(embed, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.inp = nn.Linear(hidden + 2, hidden)
        self.hidden = nn.Sequential(*[m for _ in range(3) for m in (nn.Linear(hidden, hidden), nn.SiLU())])
        self.out = nn.Linear(hidden, 2)

    def forward(self, x, t):
        h = self.inp(torch.cat([self.time(t), x], dim=1))
        return self.out(self.hidden(h)) / t.sqrt()[:, None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.999)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ang = torch.rand(a.k) * 2 * math.pi
    pts = torch.stack([ang.cos(), ang.sin()], dim=1)
    net = ScoreNet()
    ema = ScoreNet()
    ema.load_state_dict(net.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, eps=1e-8)

    def step():
        idx = torch.randint(0, a.k, (a.batch,))
        x0 = pts[idx]
        t = torch.rand(a.batch) * (1 - 1e-5) + 1e-5
        z = torch.randn_like(x0)
        std = t.sqrt()[:, None]
        s = net(x0 + z * std, t)
        loss = ((s * std + z) ** 2).sum(dim=1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), net.parameters()):
                pe.mul_(a.ema).add_(pm, alpha=1 - a.ema)
        return loss

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    last = loss.item()
    dt = time.perf_counter() - t0
    print(json.dumps({"impl": "pytorch-cpu", "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": a.batch,
                      "steps": a.steps, "steps_per_s": a.steps / dt, "ms_per_step": 1e3 * dt / a.steps, "final_loss": last}))


if __name__ == "__main__":
    main()
