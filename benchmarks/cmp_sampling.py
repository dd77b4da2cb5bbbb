"""Sampling kernels vs numpy (PCG64, Philox), torch and scipy, measured in one run."""

from __future__ import annotations

import ml_dtypes
import numpy as np
from _timing import md_table, median_time, torch_or_none

import winit


def _rate(n: int, t: float) -> float:
    return n / t / 1e6


def run(n: int, threads: list[int], quick: bool) -> str:
    rep = 2 if quick else 5
    a32 = np.empty(n, np.float32)
    torch = torch_or_none()
    peers = {}
    rngs = {"numpy PCG64": np.random.Generator(np.random.PCG64(0)),
            "numpy Philox": np.random.Generator(np.random.Philox(0))}
    for name, g in rngs.items():
        peers[("normal", name)] = median_time(
            lambda g=g: g.standard_normal(out=a32, dtype=np.float32), rep)
        peers[("uniform", name)] = median_time(lambda g=g: g.random(out=a32, dtype=np.float32),
                                               rep)
    fill_t = median_time(lambda: a32.fill(1.0), rep)
    t_np64 = median_time(lambda: rngs["numpy PCG64"].standard_normal(out=np.empty(n)), rep)
    rows = []
    for th in threads:
        tn = median_time(lambda th=th: winit.normal_(a32, seed=1, threads=th), rep)
        tu = median_time(lambda th=th: winit.uniform_(a32, seed=1, threads=th), rep)
        tt = median_time(lambda th=th: winit.trunc_normal_(a32, seed=1, threads=th), rep)
        tp = {}
        if torch is not None:
            torch.set_num_threads(th)
            x = torch.empty(n, dtype=torch.float32)
            tp["normal"] = median_time(lambda x=x: x.normal_(), rep)
            tp["uniform"] = median_time(lambda x=x: x.uniform_(), rep)
            m = min(n, 10**7)  # torch's trunc_normal_ is slow: rate measured on 1e7
            y = torch.empty(m, dtype=torch.float32)
            tp["trunc"] = median_time(lambda y=y: torch.nn.init.trunc_normal_(y), 2) * n / m
        np_n, np_u = peers[("normal", "numpy PCG64")], peers[("uniform", "numpy PCG64")]
        rows.append(["normal_ f32", th, _rate(n, tn), np_n / tn,
                     peers[("normal", "numpy Philox")] / tn,
                     tp["normal"] / tn if tp else "n/a", "", ""])
        rows.append(["uniform_ f32", th, _rate(n, tu), np_u / tu,
                     peers[("uniform", "numpy Philox")] / tu,
                     tp["uniform"] / tu if tp else "n/a", fill_t / tu, ""])
        rows.append(["trunc_normal_ f32 (±2σ)", th, _rate(n, tt), "", "",
                     tp["trunc"] / tt if tp else "n/a", "", tn / tt])
        d64 = np.empty(n)
        t64 = median_time(lambda th=th, d64=d64: winit.normal_(d64, seed=1, threads=th), rep)
        rows.append(["normal_ f64", th, _rate(n, t64), t_np64 / t64, "", "", "", ""])
        del d64
        for dt, name in ((np.float16, "f16"), (ml_dtypes.bfloat16, "bf16")):
            h = np.empty(n, dt)
            th_ = median_time(lambda th=th, h=h: winit.normal_(h, seed=1, threads=th), rep)
            rows.append([f"normal_ {name}", th, _rate(n, th_), "", "", "", "", tn / th_])
    header = ["op", "threads", "winit M elem/s", "× numpy PCG64", "× numpy Philox", "× torch",
              "× ndarray.fill", "× own normal_ f32"]
    peer_line = (f"Peers (same run, n={n:.0e}): numpy PCG64 normal f32 "
                 f"{_rate(n, peers[('normal', 'numpy PCG64')]):.0f} M/s, uniform f32 "
                 f"{_rate(n, peers[('uniform', 'numpy PCG64')]):.0f} M/s, normal f64 "
                 f"{_rate(n, t_np64):.0f} M/s; ndarray.fill {_rate(n, fill_t):.0f} M/s"
                 + ("" if torch is not None else "; torch not installed"))
    return "### Sampling kernels\n\n" + peer_line + "\n\n" + md_table(header, rows)
