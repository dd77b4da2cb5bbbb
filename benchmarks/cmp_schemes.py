"""Schemes vs their peers, measured in one run: kaiming_normal_ and orthogonal_.

    python benchmarks/compare.py --only schemes [--quick] [--threads 1 2]

kaiming_normal_ on ``n`` float32 elements vs ``torch.nn.init.kaiming_normal_``
and numpy (``standard_normal`` then scale). orthogonal_ (float32) on
2048x2048 and 8192x4096 vs ``torch.nn.init.orthogonal_`` and a plain numpy QR
(``np.linalg.qr`` of a Gaussian matrix with the sign correction): time, and
peak memory measured in a fresh subprocess (resident-set high-water mark
above the baseline, output array included, as a multiple of the output size).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
from _timing import md_table, median_time, torch_or_none

import winit

_HERE = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------------------------ peak memory (subprocess)


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def _mem_worker(method: str, rows: int, cols: int, threads: int) -> None:
    """Run one orthogonal init in this (fresh) process; print peak bytes above baseline."""
    torch = None
    if method == "torch":
        import torch

        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)

    def work():
        if method == "winit":
            w = np.empty((rows, cols), np.float32)
            winit.orthogonal_(w, seed=0, threads=threads)
        elif method == "torch":
            w = torch.empty((rows, cols))
            torch.nn.init.orthogonal_(w)
        else:
            with threadpool_limits(threads, "blas"):
                a = rng.standard_normal((rows, cols), dtype=np.float32)
                tall = a if rows >= cols else a.T
                q, r = np.linalg.qr(tall)
                q *= np.sign(np.diag(r))
                w = q if rows >= cols else q.T
        return w

    # warm up (imports, LAPACK workspaces, thread pools) on a small matrix
    r0, c0 = rows, cols
    rows, cols = 64, 32
    work()
    rows, cols = r0, c0
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        base = _rss_kib("VmRSS")
        work()
        peak = _rss_kib("VmHWM")
    except OSError:  # no clear_refs: fall back to getrusage (peak since start)
        import resource

        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        work()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_bytes": (peak - base) * 1024}))


def _peak_memory(method: str, rows: int, cols: int, threads: int) -> float | None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(winit.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    try:
        out = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--mem", method, str(rows), str(cols),
             str(threads)],
            capture_output=True, text=True, timeout=600, cwd=_HERE, check=True, env=env,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])["peak_bytes"]
    except (subprocess.SubprocessError, ValueError, IndexError, KeyError):
        return None


# ------------------------------------------------------------------ sections


def _kaiming(n: int, threads: list[int], quick: bool, torch) -> str:
    rep = 2 if quick else 5
    cols = 1024
    rows = max(1, n // cols)
    a = np.empty((rows, cols), np.float32)
    std = math.sqrt(2.0) / math.sqrt(cols)
    rng = np.random.default_rng(0)

    def numpy_way():
        rng.standard_normal(out=a, dtype=np.float32)
        np.multiply(a, np.float32(std), out=a)

    t_np = median_time(numpy_way, rep)
    rows_out = []
    for th in threads:
        tw = median_time(lambda th=th: winit.kaiming_normal_(a, nonlinearity="relu", seed=1,
                                                             threads=th), rep)
        tt = None
        if torch is not None:
            torch.set_num_threads(th)
            x = torch.empty((rows, cols))
            tt = median_time(lambda x=x: torch.nn.init.kaiming_normal_(x, nonlinearity="relu"),
                             rep)
        rows_out.append([th, rows * cols / tw / 1e6, tw * 1e3,
                         tt * 1e3 if tt else "n/a", tt / tw if tt else "n/a", t_np / tw])
    header = ["threads", "winit M elem/s", "winit ms", "torch ms", "× torch",
              "× numpy (normal·std)"]
    return (f"#### kaiming_normal_ (float32, {rows}×{cols} = {rows * cols:.2g} elements)\n\n"
            + md_table(header, rows_out))


def _orthogonal(threads: list[int], quick: bool, torch) -> str:
    from threadpoolctl import threadpool_limits

    sizes = [(512, 512), (2048, 1024)] if quick else [(2048, 2048), (8192, 4096)]
    rep = 1 if quick else 3
    rng = np.random.default_rng(0)
    out = []
    for rows, cols in sizes:
        nbytes = rows * cols * 4
        for th in threads:
            w = np.empty((rows, cols), np.float32)
            tw = median_time(lambda w=w, th=th: winit.orthogonal_(w, seed=0, threads=th), rep)

            def numpy_qr(th=th, rows=rows, cols=cols):
                with threadpool_limits(th, "blas"):
                    a = rng.standard_normal((rows, cols), dtype=np.float32)
                    tall = a if rows >= cols else a.T
                    q, r = np.linalg.qr(tall)
                    q *= np.sign(np.diag(r))

            tn = median_time(numpy_qr, rep)
            tt = None
            if torch is not None:
                torch.set_num_threads(th)
                x = torch.empty((rows, cols))
                tt = median_time(lambda x=x: torch.nn.init.orthogonal_(x), rep)
            mem = {m: _peak_memory(m, rows, cols, th) for m in
                   (["winit", "numpy"] + (["torch"] if torch is not None else []))}

            ratios = [mem[m] / nbytes if mem.get(m) is not None else "n/a"
                      for m in ("winit", "torch", "numpy")]
            out.append([f"{rows}×{cols}", th, tw * 1e3, tt / tw if tt else "n/a", tn / tw,
                        *ratios])
        del w
    header = ["shape", "threads", "winit ms", "× torch", "× numpy QR",
              "winit peak / output", "torch peak / output", "numpy peak / output"]
    return ("#### orthogonal_ (float32; peak = RSS high-water mark above baseline in a fresh "
            "process, output included)\n\n" + md_table(header, out))


def run(n: int, threads: list[int], quick: bool) -> str:
    """Markdown section: kaiming_normal_ on ``n`` elements and orthogonal_, vs torch and numpy."""
    torch = torch_or_none()
    if quick:
        n = min(n, 4 * 10**6)
    parts = ["### Schemes", ""]
    if torch is None:
        parts += ["torch not installed: torch columns are n/a.", ""]
    parts += [_kaiming(n, threads, quick, torch), "", _orthogonal(threads, quick, torch)]
    return "\n".join(parts)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--mem":
        _mem_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        print(run(n=10**7, threads=[1], quick="--quick" in sys.argv))
