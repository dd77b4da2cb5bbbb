"""TinyLlama-1.1B from its Hugging Face config: time the spec, then optionally the checkpoint.

    python benchmarks/bench_hf.py                    # spec only (all recipes)
    python benchmarks/bench_hf.py --write DIR        # + the directory DIR (2.2 GB, bf16)
    python benchmarks/compare.py --only models       # against transformers, peak RSS

Building the spec reads only the config (no torch, no transformers). ``--write`` writes
the Hugging Face directory with ``winit.init_model`` (config.json, model.safetensors or
shards of ``--max-shard-size``; it loads with ``AutoModelForCausalLM.from_pretrained(DIR)``),
then proves it with ``winit.verify``.
"""

from __future__ import annotations

import argparse
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
    ap.add_argument("--write", metavar="DIR", help="also write the directory DIR and verify it")
    ap.add_argument("--max-shard-size", default="5GB")
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
        spec = winit.spec_from_hf_config(cfg)
        t0 = time.perf_counter()
        out = winit.init_model(spec, args.write, threads=args.threads, overwrite=True,
                               max_shard_size=args.max_shard_size)
        dt = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(out).iterdir())
        print(f"\nwrote {out} ({size / 1e9:.2f} GB) in {dt:.1f} s: {size / dt / 1e9:.2f} GB/s")
        report = winit.verify(out, threads=args.threads)
        print(report.summary())

if __name__ == "__main__":
    main()
