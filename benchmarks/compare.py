"""Print winit's speed against its peers, measured in the same run, as markdown tables.

    pip install ".[bench]"                       # peers: lsuv, safetensors (torch separately)
    python benchmarks/compare.py                 # every section, 1e8 elements, 2 threads
    python benchmarks/compare.py --only sampling --n 1e7 --threads 1 2

Each section lives in benchmarks/cmp_<name>.py and exposes
``run(n: int, threads: list[int], quick: bool) -> str`` returning markdown.
Absolute times on a shared machine are noise: read the ratio columns.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SECTIONS = ["sampling", "stats", "schemes", "lsuv", "models"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=float, default=1e8, help="elements for the kernel benchmarks")
    p.add_argument("--threads", type=int, nargs="+", default=[2])
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    args = p.parse_args(argv)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    # An installed winit comes first; a source tree built in place
    # (python setup.py build_ext --inplace) works too.
    sys.path.append(os.path.dirname(here))
    import winit

    print("## winit benchmark\n")
    print("```")
    winit.show_config()
    print("```\n")
    for name in args.only:
        mod = importlib.import_module(f"cmp_{name}")
        print(mod.run(n=int(args.n), threads=args.threads, quick=args.quick))
        print()
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
