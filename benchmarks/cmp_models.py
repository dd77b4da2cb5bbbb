"""Whole-model initialization to .safetensors: winit.init_model against torch.nn.init +
safetensors.torch.save_file.

    python benchmarks/compare.py --only models [--quick] [--threads 2]
    python benchmarks/cmp_models.py --quick

Each measurement runs in a fresh subprocess and reports its peak RSS as VmHWM (the
high-water mark of the process's own address space since exec; ru_maxrss is not used
because Linux carries the parent's peak over a vfork/exec into it), and
times building the tensors and writing the file, fsync included for both sides. Specs:
the bundled GPT-2 small (124M parameters) and a GPT-2-XL-sized one (1.56B); ``quick``
uses small GPT-2-shaped specs instead. Absolute times on a shared machine are noise:
read the ratio column.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import md_table, torch_or_none  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

PEAK = r"""
def peak_rss_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource, sys
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb // 1024 if sys.platform == "darwin" else kb  # bytes on macOS
"""

WINIT = PEAK + r"""
import json, os, sys, time
import winit
from winit.models import gpt2_spec
cfg = json.loads(sys.argv[1])
spec = gpt2_spec(*cfg["gpt2"])
t0 = time.perf_counter()
winit.init_model(spec, cfg["out"], seed=0, dtype=cfg["dtype"], threads=cfg["threads"],
                 progress=False)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "bytes": os.path.getsize(cfg["out"]),
                  "rss_kb": peak_rss_kb()}))
"""

TORCH = PEAK + r"""
import json, os, sys, time
import torch
from safetensors.torch import save_file
from winit.models import gpt2_spec
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[cfg["dtype"]]
spec = gpt2_spec(*cfg["gpt2"])
torch.manual_seed(0)
t0 = time.perf_counter()
tensors = {}
for name, e in spec.items():
    t = torch.empty(e["shape"], dtype=dtype)
    if e["init"] == "normal":
        torch.nn.init.normal_(t, 0.0, e["std"])
    elif e["init"] == "zeros":
        torch.nn.init.zeros_(t)
    else:
        torch.nn.init.ones_(t)
    tensors[name] = t
save_file(tensors, cfg["out"], metadata={"format": "pt"})
fd = os.open(cfg["out"], os.O_RDONLY)
os.fsync(fd)
os.close(fd)
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "bytes": os.path.getsize(cfg["out"]),
                  "rss_kb": peak_rss_kb()}))
"""

FULL = [("GPT-2 small (124M)", (12, 768, 50257, 1024)),
        ("GPT-2 XL size (1.56B)", (48, 1600, 50257, 1024))]
QUICK = [("GPT-2 4x256 (quick)", (4, 256, 8000, 256)),
         ("GPT-2 6x512 (quick)", (6, 512, 16000, 512))]


def _measure(script: str, cfg: dict) -> dict | None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    try:
        r = subprocess.run([sys.executable, "-c", script, json.dumps(cfg)], capture_output=True,
                           text=True, env=env, timeout=3600)
    finally:
        try:
            os.unlink(cfg["out"])
        except FileNotFoundError:
            pass
    if r.returncode != 0:
        print(r.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(n: int, threads: list[int], quick: bool) -> str:
    """Markdown table: wall time, GB/s and peak RSS of both paths, and the speed ratio."""
    del n  # the sizes are the models'
    torch = torch_or_none()
    specs = QUICK if quick else FULL
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("WINIT_BENCH_DIR")) as d:
        for label, gpt2 in specs:
            for dtype in ("bfloat16", "float32"):
                for t in threads:
                    cfg = {"gpt2": gpt2, "dtype": dtype, "threads": t,
                           "out": os.path.join(d, "m.safetensors")}
                    w = _measure(WINIT, cfg)
                    p = _measure(TORCH, cfg) if torch is not None else None
                    if w is None:
                        rows.append([label, dtype, t, "failed", "", "", "", "", "", ""])
                        continue
                    gb = w["bytes"] / 1e9
                    row = [label, dtype, t, f"{gb:.2f}", w["seconds"], gb / w["seconds"],
                           w["rss_kb"] / 1024]
                    if p is not None:
                        row += [p["seconds"], p["rss_kb"] / 1024,
                                f"{p['seconds'] / w['seconds']:.1f}x"]
                    else:
                        row += ["n/a", "n/a", "n/a"]
                    rows.append(row)
    header = ["model", "dtype", "threads", "GB", "winit s", "winit GB/s", "winit peak RSS MiB",
              "torch+save_file s", "torch peak RSS MiB", "speed-up"]
    note = ("Target (issue 6): >= 5x faster than torch.nn.init + safetensors.torch.save_file, "
            "winit peak RSS < 1 GB. Both sides fsync the file; winit's time includes the "
            "temporary-name + rename publication.")
    return "### init_model to .safetensors\n\n" + md_table(header, rows) + "\n\n" + note


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, nargs="+", default=[2])
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    print(run(0, a.threads, a.quick))
