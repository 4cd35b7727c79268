#!/usr/bin/env python3
"""Reference fixtures for memgen-core and the memgen CLI (issue 3).

Writes small JSON and .npy files into tests/fixtures/ computed with numpy, scipy and
scikit-learn, independently of the Rust code:
  knn.json      sklearn NearestNeighbors (Euclidean), k = 3, and exclude-self (k = 2 on the data itself)
  metrics.json  labels of docs/SCIENCE.md §1 Eqs. 4-6 (ratio rule) and the absolute rule, in numpy
  circle.json   E(R; beta) = R^2 + 1 - log I0(2 beta R)/beta with scipy.special.i0e, and dE/dR
  ward.json     scipy linkage(X, 'ward') + fcluster(t, 'distance'), centroids, and sklearn labels
  classify_{train,synthetic,eval}.npy  the metrics sets, for the CLI tests
  fortran_{f32,u8}.npy  Fortran-order arrays written by numpy, read back in C order
Run: python3 tests/reference/make_fixtures.py   (seeded; deterministic)
"""
import json
import os

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.special import i0e, i1e
from sklearn.cluster import AgglomerativeClustering
from sklearn.neighbors import NearestNeighbors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
EPS = 1e-6
rng = np.random.default_rng(20240601)


def f32list(a):
    return np.asarray(a, dtype=np.float32).astype(float).tolist()


def dump(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def knn_fixture():
    q = rng.normal(size=(30, 8)).astype(np.float32)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    nn = NearestNeighbors(n_neighbors=3, algorithm="brute").fit(x.astype(np.float64))
    dist, idx = nn.kneighbors(q.astype(np.float64))
    # exclude-self on the data itself: ask for k+1 and drop the point itself
    nn2 = NearestNeighbors(n_neighbors=3, algorithm="brute").fit(x.astype(np.float64))
    d2, i2 = nn2.kneighbors(x.astype(np.float64))
    assert (i2[:, 0] == np.arange(len(x))).all()
    dump("knn.json", {
        "d": 8, "k": 3,
        "query": f32list(q.ravel()), "data": f32list(x.ravel()),
        "indices": idx.tolist(), "distances": dist.tolist(),
        "self_indices": i2[:, 1:].tolist(), "self_distances": d2[:, 1:].tolist(),
    })


def make_sets(d=16):
    train = rng.normal(size=(60, d))
    # synthetic: near copies of training points, tight pairs (spurious), free samples
    copies = train[rng.integers(0, 60, 60)] + 0.05 * rng.normal(size=(60, d))
    centers = rng.normal(size=(50, d)) * 1.2
    pairs = np.concatenate([centers + 0.3 * rng.normal(size=(50, d)), centers + 0.3 * rng.normal(size=(50, d))])
    free = rng.normal(size=(80, d)) * 1.3
    synthetic = np.concatenate([copies, pairs, free])
    ev = np.concatenate([
        train[rng.integers(0, 60, 40)] + 0.05 * rng.normal(size=(40, d)),
        centers[rng.integers(0, 50, 40)] + 0.3 * rng.normal(size=(40, d)),
        rng.normal(size=(40, d)) * 1.3,
    ])
    return train.astype(np.float32), synthetic.astype(np.float32), ev.astype(np.float32)


def dists(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def labels_of(d1, d2, d1s, rule, dm, ds):
    if rule == "ratio":
        m = d1 / (d2 + EPS) <= dm
        s = (d1s / (d1 + d1s + EPS) <= ds) & ~m
    else:
        m = d1 <= dm
        s = (d1s <= ds) & ~m
    return np.where(m, "memorized", np.where(s, "spurious", "generalized")).tolist()


def metrics_fixture():
    train, synthetic, ev = make_sets()
    for name, a in [("train", train), ("synthetic", synthetic), ("eval", ev)]:
        np.save(os.path.join(OUT, f"classify_{name}.npy"), a)
    dt = np.sort(dists(ev, train), axis=1)
    d1, d2 = dt[:, 0], dt[:, 1]
    d1s = dists(ev, synthetic).min(axis=1)
    # eval set = synthetic set: exclude self for x1'
    ds_self = dists(synthetic, synthetic)
    np.fill_diagonal(ds_self, np.inf)
    dts = np.sort(dists(synthetic, train), axis=1)
    out = {
        "d": 16, "delta_m": 1 / 3, "delta_s": 0.28, "abs_delta_m": 1.0, "abs_delta_s": 3.0,
        "train": f32list(train.ravel()), "synthetic": f32list(synthetic.ravel()), "eval": f32list(ev.ravel()),
        "d1": d1.tolist(), "d2": d2.tolist(), "d1_synthetic": d1s.tolist(),
        "labels_ratio": labels_of(d1, d2, d1s, "ratio", 1 / 3, 0.28),
        "labels_absolute": labels_of(d1, d2, d1s, "absolute", 1.0, 3.0),
        "labels_self_ratio": labels_of(dts[:, 0], dts[:, 1], ds_self.min(axis=1), "ratio", 1 / 3, 0.28),
    }
    lab = out["labels_ratio"]
    print("metrics fixture label counts:", {k: lab.count(k) for k in ("memorized", "spurious", "generalized")})
    dump("metrics.json", out)


def circle_fixture():
    betas = [0.5, 1.0, 2.0, 20.0, 100.0, 1e3, 1e4]
    radii = [0.0, 0.05, 0.3, 0.7, 0.95, 1.0, 1.05, 1.3, 1.5, 2.0]
    rows = []
    for b in betas:
        for r in radii:
            z = 2 * b * r
            e = r * r + 1 - (np.log(i0e(z)) + z) / b
            g = 2 * r - 2 * i1e(z) / i0e(z)
            rows.append({"beta": b, "radius": r, "energy": float(e), "derivative": float(g)})
    dump("circle.json", {"cases": rows})


def ward_fixture():
    blobs = [rng.normal(loc=c, scale=0.3, size=(20, 2)) for c in ([0, 0], [3, 0], [0, 4])]
    x = np.concatenate(blobs + [rng.uniform(-2, 5, size=(15, 2))]).astype(np.float32)
    z = linkage(x.astype(np.float64), "ward")
    cases = []
    for t in [0.45, 1.0, 2.0, 3.0, 8.0]:
        lab = fcluster(z, t, "distance") - 1
        sk = AgglomerativeClustering(n_clusters=None, distance_threshold=t, linkage="ward").fit(x.astype(np.float64)).labels_
        cent = [x[lab == c].astype(np.float64).mean(0).tolist() for c in range(lab.max() + 1)]
        cases.append({"threshold": t, "labels": lab.tolist(), "sklearn_labels": sk.tolist(), "centroids": cent})
    dump("ward.json", {"d": 2, "points": f32list(x.ravel()), "heights": z[:, 2].tolist(), "cases": cases})


def fortran_fixture():
    """Fortran-order arrays (one .npy reader, one rule for Fortran order): numpy's own writer;
    the Rust reader must return them in C order, equal to arange(...).reshape(...)."""
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3
    np.save(os.path.join(OUT, "fortran_f32.npy"), np.asfortranarray(a))
    np.save(os.path.join(OUT, "fortran_u8.npy"), np.asfortranarray((np.arange(6, dtype=np.uint8) * 40).reshape(2, 3)))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    knn_fixture()
    metrics_fixture()
    circle_fixture()
    ward_fixture()
    fortran_fixture()
    print("wrote", sorted(os.listdir(OUT)))

