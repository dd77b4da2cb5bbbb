"""TinyLlama-1.1B from its Hugging Face config: time the spec, then optionally the checkpoint.

    python benchmarks/bench_hf.py                    # spec only (all recipes)
    python benchmarks/bench_hf.py --write DIR        # + DIR/model.safetensors (2.2 GB, bf16)

Building the spec reads only the config (no torch, no transformers). ``--write`` streams
the checkpoint with ``winit.init_model`` and writes ``config.json`` next to it, so the
directory loads with ``AutoModelForCausalLM.from_pretrained(DIR)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import md_table, median_time  # noqa: E402

import winit  # noqa: E402
from winit import recipes  # noqa: E402
from winit.hf import tinyllama_config  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", metavar="DIR", help="also write DIR/model.safetensors")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)

    cfg = tinyllama_config()
    rows = []
    for name in recipes.available():
        t = median_time(lambda name=name: winit.spec_from_hf_config(cfg, recipe=name), repeat=5)
        spec = winit.spec_from_hf_config(cfg, recipe=name)
        rows.append([name, len(spec.tensors), f"{spec.num_parameters:,}", t * 1e3])
    print(md_table(["recipe", "tensors", "parameters", "spec ms"], rows))

    if args.write:
        out = Path(args.write)
        out.mkdir(parents=True, exist_ok=True)
        spec = winit.spec_from_hf_config(cfg)
        t0 = time.perf_counter()
        path = winit.init_model(spec, out / "model.safetensors", threads=args.threads,
                                overwrite=True)
        dt = time.perf_counter() - t0
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
        size = path.stat().st_size
        print(f"\nwrote {path} ({size / 1e9:.2f} GB) in {dt:.1f} s: {size / dt / 1e9:.2f} GB/s")


if __name__ == "__main__":
    main()
