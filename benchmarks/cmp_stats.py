"""winit.stats vs numpy (np.sum, mean+var+min+max, np.histogram), scipy.stats.describe
and torch (var_mean, aminmax), measured in one run.

Targets (../shared/PERF.md, 2 threads, float32): stats time <= 0.7x np.sum(dtype=float64);
>= 10x numpy's four calls; >= 100x scipy.stats.describe; with 256 bins >= 20x
np.histogram + the four calls.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from _timing import md_table, median_time, torch_or_none

import winit


def run(n: int, threads: list[int], quick: bool) -> str:
    rep = 2 if quick else 5
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n, dtype=np.float32)
    rng_ = (-5.0, 5.0)
    t_sum = median_time(lambda: np.sum(a, dtype=np.float64), rep)
    t_four = median_time(lambda: (a.mean(), a.var(), a.min(), a.max()), rep)
    t_hist = median_time(lambda: np.histogram(a, 256, rng_), max(1, rep // 2))
    import scipy.stats

    m = min(n, 10**7)  # describe is slow: its rate is measured on 1e7 elements
    t_desc = median_time(lambda: scipy.stats.describe(a[:m]), 1 if quick else 2) * n / m
    torch = torch_or_none()
    rows = []
    for th in threads:
        ts = median_time(lambda th=th: winit.stats(a, threads=th), rep)
        th_ = median_time(lambda th=th: winit.stats(a, bins=256, range=rng_, threads=th), rep)
        t_torch = "n/a"
        if torch is not None:
            torch.set_num_threads(th)
            x = torch.from_numpy(a)
            tt = median_time(lambda x=x: (torch.var_mean(x), torch.aminmax(x)), rep)
            t_torch = tt / ts
        rows.append(["stats f32", th, n / ts / 1e9, ts / t_sum, t_four / ts, t_desc / ts,
                     t_torch, ""])
        rows.append(["stats f32 + 256 bins", th, n / th_ / 1e9, th_ / t_sum, "", "", "",
                     (t_hist + t_four) / th_])
        for dt, name in ((np.float64, "f64"), (np.float16, "f16"), (ml_dtypes.bfloat16, "bf16")):
            b = a.astype(dt)
            tb = median_time(lambda th=th, b=b: winit.stats(b, threads=th), rep)
            rows.append([f"stats {name}", th, n / tb / 1e9, tb / t_sum, "", "", "", ""])
            del b
        v = a.reshape(-1, 1000)[:, ::2] if n % 1000 == 0 else a[::2]
        tv = median_time(lambda th=th, v=v: winit.stats(v, threads=th), rep)
        rows.append(["stats f32 strided view (half)", th, v.size / tv / 1e9,
                     tv / t_sum, "", "", "", ""])
    header = ["operation", "threads", "G elem/s", "time / np.sum(f64) (≤0.7)",
              "× numpy mean+var+min+max (≥10)", "× scipy describe (≥100)",
              "× torch var_mean+aminmax", "× np.histogram+four (≥20)"]
    return (f"### Layer statistics (n = {n:.0e}, float32 N(0,1), SIMD path "
            f"{winit._runtime.simd_path()})\n\n" + md_table(header, rows))


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser()
    p.add_argument("--n", type=float, default=1e8)
    p.add_argument("--threads", type=int, nargs="+", default=[2])
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    print(run(int(args.n), args.threads, args.quick))
