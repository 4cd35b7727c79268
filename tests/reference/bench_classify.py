#!/usr/bin/env python3
"""Benchmark: `memgen classify` vs the same computation in numpy (OpenBLAS), one run.

Sizes (issue 3): |S_eval| = 10,000, |S| = 10,000, |S'| = 40,000, d = 784 (MNIST-sized),
float32 random data (seeded). Both sides, end to end: read the three .npy files, exact kNN
by the matrix-product form ||x||^2 - 2 x.y + ||y||^2 (k = 2 in S, k = 1 in S'), labels by
Eqs. 4-6, fractions, 10,000 bootstrap resamples. Also measures numpy's sgemm GFLOP/s on
this machine to estimate the fraction of matrix-multiply peak that memgen reaches.

Usage: bench_classify.py PATH/TO/memgen [--scale F] [--rounds R]
  F < 1 shrinks all three sets; R pairs (memgen, numpy) run interleaved, each ratio printed.
numpy runs with the OpenBLAS kernel it picks for this CPU (scripts/bench-classify.sh unsets
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for it); the kernel threadpoolctl reports is printed.
"""
import json
import resource
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

EPS = 1e-6


def knn_sq(q, x, k, block=1024):
    """k smallest squared distances per query row (matrix-product form), sorted."""
    xn = np.einsum("ij,ij->i", x, x)
    out = np.empty((len(q), k), dtype=np.float32)
    for s in range(0, len(q), block):
        qb = q[s:s + block]
        d2 = xn[None, :] - 2.0 * (qb @ x.T) + np.einsum("ij,ij->i", qb, qb)[:, None]
        part = np.partition(d2, k - 1, axis=1)[:, :k] if k < d2.shape[1] else d2
        out[s:s + block] = np.sort(part, axis=1)
    return np.sqrt(np.maximum(out, 0.0))


def numpy_classify(paths, boot=10_000, seed=0, dm=1 / 3, ds=0.28):
    train, syn, ev = (np.load(p) for p in paths)
    dt = knn_sq(ev, train, 2).astype(np.float64)
    ds1 = knn_sq(ev, syn, 1)[:, 0].astype(np.float64)
    d1, d2 = dt[:, 0], dt[:, 1]
    m = d1 / (d2 + EPS) <= dm
    s = (ds1 / (d1 + ds1 + EPS) <= ds) & ~m
    lab = np.where(m, 0, np.where(s, 1, 2))
    rng = np.random.default_rng(seed)
    n = len(lab)
    fr = []
    for c in range(0, boot, 500):
        idx = rng.integers(0, n, size=(min(500, boot - c), n))
        r = lab[idx]
        fr.append(np.stack([(r == i).mean(1) for i in range(3)], 1))
    fr = np.concatenate(fr)
    summary = {k: {"mean": fr[:, i].mean(), "std": fr[:, i].std(), "lo": np.percentile(fr[:, i], 2.5),
                   "hi": np.percentile(fr[:, i], 97.5)} for i, k in enumerate(["memorized", "spurious", "generalized"])}
    return lab, summary


def sgemm_gflops(threads=None):
    if threads is not None:
        import threadpoolctl
        with threadpoolctl.threadpool_limits(threads):
            return sgemm_gflops()
    a = np.random.default_rng(1).standard_normal((4096, 784), dtype=np.float32)
    b = np.random.default_rng(2).standard_normal((784, 4096), dtype=np.float32)
    a @ b
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * 4096 * 4096 * 784 / (time.perf_counter() - t) / 1e9)
    return best


def main():
    memgen = sys.argv[1]
    scale = float(sys.argv[sys.argv.index("--scale") + 1]) if "--scale" in sys.argv else 1.0
    n_eval, n_train, n_syn, d = int(10_000 * scale), int(10_000 * scale), int(40_000 * scale), 784
    rng = np.random.default_rng(0)
    tmp = tempfile.mkdtemp(prefix="memgen-bench-")
    paths = []
    for name, n in [("train", n_train), ("synthetic", n_syn), ("eval", n_eval)]:
        p = os.path.join(tmp, f"{name}.npy")
        np.save(p, rng.random((n, d), dtype=np.float32))
        paths.append(p)
    try:
        import threadpoolctl
        blas = [f"{b.get('internal_api')} {b.get('version')}, kernel {b.get('architecture')}, {b.get('num_threads')} threads"
                for b in threadpoolctl.threadpool_info()]
    except Exception as e:
        blas = f"? (threadpoolctl: {e})"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    print(f"machine: {cpu}, {os.cpu_count()} cores; numpy {np.__version__}; BLAS {blas}; env {env}")
    print(f"sizes: |S_eval|={n_eval} |S|={n_train} |S'|={n_syn} d={d}")
    peak = sgemm_gflops()
    try:
        peak1 = sgemm_gflops(1)
    except Exception:
        peak1 = float('nan')

    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 1
    for r in range(rounds):
        if rounds > 1:
            print(f"--- round {r + 1} of {rounds}")
        one_round(memgen, paths, n_eval, n_train, n_syn, d, peak, peak1)


def one_round(memgen, paths, n_eval, n_train, n_syn, d, peak, peak1):
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run([memgen, "classify", "--train", paths[0], "--synthetic", paths[1], "--eval", paths[2],
                          "--bootstrap", "10000", "--seed", "0"], capture_output=True, check=True)
    t_rust = time.perf_counter() - t
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_rust = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    res = json.loads(out.stdout)

    s0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    lab_np, _ = numpy_classify(paths)
    t_np = time.perf_counter() - t
    s1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_np = (s1.ru_utime - s0.ru_utime) + (s1.ru_stime - s0.ru_stime)

    names = ["memorized", "spurious", "generalized"]
    agree = np.mean(np.array([names.index(l) for l in res["labels"]]) == lab_np)
    flops = 2.0 * n_eval * (n_train + n_syn) * d
    print(f"memgen classify (end to end): {t_rust:8.2f} s wall, {cpu_rust:8.2f} s CPU  ({flops / t_rust / 1e9:6.1f} GFLOP/s effective)")
    print(f"numpy  classify (end to end): {t_np:8.2f} s wall, {cpu_np:8.2f} s CPU  ({flops / t_np / 1e9:6.1f} GFLOP/s effective)")
    print(f"CPU-time ratio numpy/memgen: {cpu_np / cpu_rust:.2f}x (robust to other load on the machine); load average {os.getloadavg()[0]:.1f}")
    print(f"speed ratio numpy/memgen: {t_np / t_rust:.2f}x   (> 1 means memgen is faster)")
    print(f"numpy sgemm peak on this machine (4096x784 @ 784x4096, best of 5): {peak:.1f} GFLOP/s")
    print(f"memgen reaches {100 * flops / t_rust / 1e9 / peak:.0f}% of that sgemm rate end to end; numpy {100 * flops / t_np / 1e9 / peak:.0f}%")
    print(f"numpy sgemm, 1 thread: {peak1:.1f} GFLOP/s per core; memgen per CPU-second: {flops / cpu_rust / 1e9:.1f} GFLOP/s "
          f"= {100 * flops / cpu_rust / 1e9 / peak1:.0f}% of it (numpy {100 * flops / cpu_np / 1e9 / peak1:.0f}%)")
    print(f"label agreement memgen vs numpy: {100 * agree:.2f}%; fractions {res['fractions']}")




if __name__ == "__main__":
    main()
