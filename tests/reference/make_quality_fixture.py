#!/usr/bin/env python3
"""Reference fixture for memgen-core's sample-quality measures (docs/SCIENCE.md §7).

Writes tests/fixtures/quality.json, computed with numpy and scipy independently of the Rust
code:
  - improved precision / recall (Kynkaenniemi et al. 2019), k = 5: the k-th-neighbour radius of
    every point within its own set (itself excluded), then the share of the other set's points
    inside some ball; full distance matrices in float64, brute force;
  - the Frechet distance between Gaussian fits, ||mu_a - mu_b||^2 + tr(Ca + Cb - 2 sqrtm(Ca Cb)),
    with numpy.cov (n - 1) and scipy.linalg.sqrtm, as FID implementations compute it.
Two cases: isotropic sets shifted and scaled apart, and correlated (anisotropic) sets.
Run: python3 tests/reference/make_quality_fixture.py   (seeded; deterministic)
"""
import json
import os

import numpy as np
from scipy.linalg import sqrtm

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "quality.json")
K = 5


def radii(x, k):
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return np.sort(d, axis=1)[:, k - 1]


def coverage(manifold, queries, k):
    r = radii(manifold, k)
    d = np.sqrt(((queries[:, None, :] - manifold[None, :, :]) ** 2).sum(-1))
    return float((d <= r[None, :]).any(axis=1).mean())


def frechet(a, b):
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    s = sqrtm(ca @ cb)
    s = s.real
    return float(((ma - mb) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * np.trace(s))


def f32list(a):
    """The shortest decimal of each float32 (it reads back as the same float32)."""
    return [float(np.format_float_positional(v, unique=True)) for v in np.asarray(a, dtype=np.float32).ravel()]


def main():
    rng = np.random.default_rng(20261201)
    cases = []
    d = 8
    real = rng.normal(size=(300, d)).astype(np.float32)
    fake = (rng.normal(size=(250, d)) * 1.3 + 0.6).astype(np.float32)
    mix = rng.normal(size=(d, d))
    real2 = (rng.normal(size=(400, d)) @ mix).astype(np.float32)
    fake2 = (rng.normal(size=(350, d)) @ (mix + 0.4 * rng.normal(size=(d, d))) + 0.3).astype(np.float32)
    for name, a, b in [("isotropic", real, fake), ("correlated", real2, fake2)]:
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        cases.append({
            "name": name, "d": d, "k": K,
            "real": f32list(a), "generated": f32list(b),
            "precision": coverage(a64, b64, K), "recall": coverage(b64, a64, K),
            "frechet": frechet(a64, b64),
        })
    with open(OUT, "w") as f:
        json.dump({"source": "tests/reference/make_quality_fixture.py (numpy, scipy.linalg.sqrtm)", "cases": cases}, f, separators=(",", ":"))
    for c in cases:
        print(c["name"], "precision", c["precision"], "recall", c["recall"], "frechet", c["frechet"])


if __name__ == "__main__":
    main()
