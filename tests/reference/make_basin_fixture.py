#!/usr/bin/env python3
"""Reference fixture for memgen-core's basin log-volume (docs/SCIENCE.md §5).

Writes tests/fixtures/basin.json: the log-volume of a d-ball of radius r,
  log V = (d/2) log(pi r^2) - gammaln(d/2 + 1),
computed with scipy.special.gammaln (independently of the Rust code's libm::lgamma), for the
data dimensions the lab probes (2 for the toy, 784 for 28x28 grey images, 3072 for 32x32
colour) and others, over radii from tiny to large; and, as a second check, the d-ball volume
itself from scipy for small d where it does not overflow.
Run: python3 tests/reference/make_basin_fixture.py   (deterministic)
"""
import json
import math
import os

import numpy as np
from scipy.special import gammaln

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "basin.json")

cases = []
for d in [1, 2, 3, 7, 10, 64, 784, 1024, 3072]:
    for r in [1e-3, 0.05, 0.5, 1.0, 2.5, 10.0, 27.5, 55.0]:
        lv = (d / 2.0) * np.log(np.pi * r * r) - gammaln(d / 2.0 + 1.0)
        case = {"d": d, "r": r, "log_volume": float(lv)}
        if d <= 10:
            case["volume"] = float(np.pi ** (d / 2.0) * r ** d / math.gamma(d / 2.0 + 1.0))
        cases.append(case)
with open(OUT, "w") as f:
    json.dump({"script": "tests/reference/make_basin_fixture.py", "scipy_gammaln": True, "cases": cases}, f, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} cases to {OUT}")
