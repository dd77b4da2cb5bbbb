"""Print winit's speed against its peers, measured in the same run, as markdown tables.

    pip install ".[bench]"                       # peers: lsuv, safetensors (torch separately)
    python benchmarks/compare.py                 # every section, 1e8 elements, 2 threads
    python benchmarks/compare.py --only sampling --n 1e7 --threads 1 2

The timed operations are the cases of benchmarks/cases.py, the same ones the
pytest-benchmark suites (bench_*.py) run; each section below only arranges their times
into a table (ratio = the peer's time / winit's, so above 1 means winit is faster;
targets from PERF.md in brackets). Absolute times on a shared machine are noise: read
the ratio columns.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _timing import Timer, md_table, ratio, run_isolated
from cases import CASES

import winit

# the sizes of the sections that do not use --n, in full and --quick runs
ORTHO_SHAPES = {False: [(2048, 2048), (8192, 4096)], True: [(512, 512), (2048, 1024)]}
LSUV_SIZES = {False: (20, 1024, 512), True: (6, 256, 128)}  # depth, width, batch
MODELS = {False: [("GPT-2 small (124M)", (12, 768, 50257, 1024)),
                  ("GPT-2 XL size (1.56B)", (48, 1600, 50257, 1024))],
          True: [("GPT-2 4x256 (quick)", (4, 256, 8000, 256)),
                 ("GPT-2 6x512 (quick)", (6, 512, 16000, 512))]}
HF_MODELS = {False: ("TinyLlama-1.1B", "tinyllama"), True: ("tiny Llama (quick)", "tiny-llama")}


def _rate(elements: int, seconds: float | None, unit: float) -> float | str:
    return "n/a" if seconds is None else elements / seconds / unit


def sampling(t: Timer, n: int, threads: list[int], quick: bool) -> str:
    """normal_/uniform_/trunc_normal_ vs numpy (PCG64, Philox), torch and ndarray.fill."""

    def time(name, th=None):
        return t.time(name, n, th)

    pcg_n, pcg_u = time("numpy/PCG64.standard_normal/float32"), time("numpy/PCG64.random/float32")
    phi_n, phi_u = (time("numpy/Philox.standard_normal/float32"),
                    time("numpy/Philox.random/float32"))
    pcg_64, fill = time("numpy/PCG64.standard_normal/float64"), time("ndarray.fill/float32")
    rows = []
    for th in threads:
        tn, tu, tt, t64 = (time(f"winit/{f}/{d}", th) for f, d in (
            ("normal_", "float32"), ("uniform_", "float32"), ("trunc_normal_", "float32"),
            ("normal_", "float64")))
        rows += [
            ["normal_ f32", th, _rate(n, tn, 1e6), ratio(pcg_n, tn), ratio(phi_n, tn),
             ratio(time("torch/normal_/float32", th), tn), "", "", "≥15× numpy, ≥6× torch"],
            ["uniform_ f32", th, _rate(n, tu, 1e6), ratio(pcg_u, tu), ratio(phi_u, tu),
             ratio(time("torch/uniform_/float32", th), tu), ratio(fill, tu), "",
             "≥10× numpy, ≥10× torch, ≥0.6× fill"],
            ["trunc_normal_ f32 (±2σ)", th, _rate(n, tt, 1e6), "", "",
             ratio(time("torch/nn.init.trunc_normal_/float32", th), tt), "", ratio(tn, tt),
             "≥60× torch, ≥0.7× own normal_"],
            ["normal_ f64", th, _rate(n, t64, 1e6), ratio(pcg_64, t64), "", "", "", "",
             "≥5× numpy"],
        ]
        for dt, name in (("float16", "f16"), ("bfloat16", "bf16")):
            th_ = time(f"winit/normal_/{dt}", th)
            rows.append([f"normal_ {name}", th, _rate(n, th_, 1e6), "", "", "", "",
                         ratio(tn, th_), "≥0.95× f32"])
    header = ["op", "threads", "winit M elem/s", "× numpy PCG64", "× numpy Philox", "× torch",
              "× ndarray.fill", "× own normal_ f32", "target (PERF.md)"]
    peer_line = (f"Peers (same run, n={n:.0e}): numpy PCG64 normal f32 "
                 f"{_rate(n, pcg_n, 1e6):.0f} M/s, uniform f32 {_rate(n, pcg_u, 1e6):.0f} M/s, "
                 f"normal f64 {_rate(n, pcg_64, 1e6):.0f} M/s; ndarray.fill "
                 f"{_rate(n, fill, 1e6):.0f} M/s"
                 + ("; torch not installed" if CASES["torch/normal_/float32"].missing() else ""))
    return "### Sampling kernels\n\n" + peer_line + "\n\n" + md_table(header, rows)


def stats(t: Timer, n: int, threads: list[int], quick: bool) -> str:
    """winit.stats vs numpy (np.sum, mean+var+min+max, np.histogram), scipy.stats.describe and
    torch (var_mean, aminmax)."""

    def time(name, th=None):
        return t.time(name, n, th)

    t_sum, t_four = time("numpy/sum(float64)"), time("numpy/mean+var+min+max")
    t_hist, t_desc = time("numpy/histogram256"), time("scipy/stats.describe")
    rows = []
    for th in threads:
        ts, th_ = time("winit/stats/float32", th), time("winit/stats/float32+hist256", th)
        rows += [["stats f32", th, _rate(n, ts, 1e9), ratio(ts, t_sum), ratio(t_four, ts),
                  ratio(t_desc, ts), ratio(time("torch/var_mean+aminmax", th), ts), ""],
                 ["stats f32 + 256 bins", th, _rate(n, th_, 1e9), ratio(th_, t_sum), "", "", "",
                  ratio(t_hist + t_four, th_)]]
        for dt, name in (("float64", "f64"), ("float16", "f16"), ("bfloat16", "bf16")):
            tb = time(f"winit/stats/{dt}", th)
            rows.append([f"stats {name}", th, _rate(n, tb, 1e9), ratio(tb, t_sum), "", "", "",
                         ""])
        tv = time("winit/stats/float32-strided-half", th)
        rows.append(["stats f32 strided view (half)", th, _rate((n + 1) // 2, tv, 1e9),
                     ratio(tv, t_sum), "", "", "", ""])
    header = ["operation", "threads", "G elem/s", "time / np.sum(f64) (≤0.7)",
              "× numpy mean+var+min+max (≥10)", "× scipy describe (≥100)",
              "× torch var_mean+aminmax", "× np.histogram+four (≥20)"]
    return (f"### Layer statistics (n = {n:.0e}, float32 N(0,1), SIMD path "
            f"{winit._runtime.simd_path()})\n\n" + md_table(header, rows))


def _kaiming(t: Timer, n: int, threads: list[int]) -> str:
    shape = (max(1, n // 1024), 1024)
    t_np = t.time("numpy/kaiming_normal_", shape)
    rows = []
    for th in threads:
        tw = t.time("winit/kaiming_normal_", shape, th)
        tt = t.time("torch/nn.init.kaiming_normal_", shape, th)
        rows.append([th, _rate(shape[0] * shape[1], tw, 1e6), tw * 1e3,
                     tt * 1e3 if tt else "n/a", ratio(tt, tw), ratio(t_np, tw)])
    header = ["threads", "winit M elem/s", "winit ms", "torch ms", "× torch",
              "× numpy (normal·std)"]
    return (f"#### kaiming_normal_ (float32, {shape[0]}×{shape[1]} = {shape[0] * shape[1]:.2g} "
            "elements)\n\n" + md_table(header, rows))


def _orthogonal(t: Timer, threads: list[int], quick: bool) -> str:
    rows = []
    for shape in ORTHO_SHAPES[quick]:
        nbytes = shape[0] * shape[1] * 4
        for th in threads:
            tw = t.time("winit/orthogonal_", shape, th)
            peers = ("winit/orthogonal_", "torch/nn.init.orthogonal_", "numpy/qr-orthogonal")
            mem = [run_isolated(name, shape, th) for name in peers]
            rows.append([f"{shape[0]}×{shape[1]}", th, tw * 1e3,
                         ratio(t.time("torch/nn.init.orthogonal_", shape, th), tw),
                         ratio(t.time("numpy/qr-orthogonal", shape, th), tw),
                         *(ratio(m and m["above_base_bytes"], nbytes) for m in mem)])
    header = ["shape", "threads", "winit ms", "× torch", "× numpy QR",
              "winit peak / output", "torch peak / output", "numpy peak / output"]
    return ("#### orthogonal_ (float32; peak = RSS high-water mark above baseline in a fresh "
            "process, output included)\n\n" + md_table(header, rows))


def schemes(t: Timer, n: int, threads: list[int], quick: bool) -> str:
    """kaiming_normal_ on ``n`` elements and orthogonal_, vs torch and numpy."""
    parts = ["### Schemes", ""]
    if CASES["torch/nn.init.orthogonal_"].missing():
        parts += ["torch not installed: torch columns are n/a.", ""]
    parts += [_kaiming(t, min(n, 4 * 10**6) if quick else n, threads), "",
              _orthogonal(t, threads, quick)]
    return "\n".join(parts)


def lsuv(t: Timer, n: int, threads: list[int], quick: bool) -> str:
    """winit.lsuv_ against the PyPI ``lsuv`` package on a deep 1024-wide ReLU MLP.

    The peer (Mishkin's hook-based torch implementation) re-runs the whole model after
    every correction of every layer; ``winit.lsuv_`` caches each layer's input and re-runs
    only the layer being tuned. Rows: the peer on the torch model; ``winit.lsuv_`` on the
    same torch model through numpy views of its parameters (same matmul kernels: the gain
    is the algorithm); both again without the orthogonal pre-init from the same orthogonal
    weights ("loop only": the pre-init, QR factorizations, costs about the same in both);
    ``winit.lsuv_`` on the equivalent ``winit.nn`` model (numpy BLAS). Tolerances: the peer
    stops at |std - 1| < 0.1, winit at |var - 1| < 0.1 (stricter). Then the three
    implementations (pre-init included) on ``cases._torch_convnet``. ``n`` is not used.
    """
    size = LSUV_SIZES[quick]
    rows = []
    for th in threads:
        peer, loop_peer = (t.time(f"lsuv(PyPI)/torch{s}", size, th) for s in ("", "/loop-only"))
        rows.append(["lsuv (PyPI)", "torch", th, peer or "not installed", 1.0 if peer else "-",
                     "-"])
        for label, model, name, base in (
                ("winit.lsuv_", "torch (numpy views)", "winit.lsuv_/torch", peer),
                ("winit.torch.lsuv_", "torch (hooks)", "winit.torch.lsuv_", peer),
                ("lsuv (PyPI), loop only", "torch", "lsuv(PyPI)/torch/loop-only", loop_peer),
                ("winit.lsuv_, loop only", "torch (numpy views)", "winit.lsuv_/torch/loop-only",
                 loop_peer),
                ("winit.torch.lsuv_, loop only", "torch (hooks)", "winit.torch.lsuv_/loop-only",
                 loop_peer),
                ("winit.lsuv_", "winit.nn", "winit.lsuv_/winit.nn", peer)):
            tc = t.time(name, size, th)
            if tc is not None:
                rows.append([label, model, th, tc, ratio(base, tc),
                             t.summary(name, size, th) if "winit" in name else "-"])
    conv = (8, 16) if quick else (64, 32)  # batch, image side: cases._torch_convnet
    for th in threads:
        peer = t.time("lsuv(PyPI)/torch-convnet", conv, th)
        rows.append(["lsuv (PyPI)", "torch conv net", th, peer or "not installed",
                     1.0 if peer else "-", "-"])
        for label, model, name in (
                ("winit.lsuv_", "torch conv net (numpy views)", "winit.lsuv_/torch-convnet"),
                ("winit.torch.lsuv_", "torch conv net (hooks)", "winit.torch.lsuv_/convnet")):
            tc = t.time(name, conv, th)
            if tc is not None:
                rows.append([label, model, th, tc, ratio(peer, tc), t.summary(name, conv, th)])
    header = ["implementation", "model", "threads", "time (s)", "speed-up vs lsuv (PyPI)",
              "converged"]
    return (f"### LSUV: {size[0]}-layer {size[1]}-wide ReLU MLP, batch {size[2]}, and a conv net "
            f"(4 conv 3→32→64→64→64 + Linear, {conv[0]}×3×{conv[1]}×{conv[1]}), float32 "
            f"(PERF.md: ≥3× lsuv (PyPI))\n\n" + md_table(header, rows))


def _model_run(name: str, size, threads: int, bench_dir: str | None = None) -> dict | None:
    """One fresh-process run of a model case, writing into a temporary directory."""
    with tempfile.TemporaryDirectory(dir=bench_dir or os.environ.get("WINIT_BENCH_DIR")) as d:
        return run_isolated(name, size, threads, env={"WINIT_BENCH_DIR": d})


def _mib(run: dict | None) -> float | str:
    return "n/a" if run is None else run["peak_bytes"] / 2**20


def _secs(run: dict | None) -> float | str:
    return "n/a" if run is None else run["seconds"]


def hf_models(threads: list[int], quick: bool) -> str:
    """A Hugging Face directory from a config: ``winit init --hf-config`` against
    ``AutoModelForCausalLM.from_config`` + ``save_pretrained`` (same dtype, files fsynced),
    then ``winit verify`` of winit's directory and its ``from_pretrained`` load. Each in a
    fresh process, into $WINIT_BENCH_DIR or else /dev/shm (tmpfs, so that the disk is not
    what is measured)."""
    label, name = HF_MODELS[quick]
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    where = os.environ.get("WINIT_BENCH_DIR") or shm
    rows = []
    for th in threads:
        w, p, v, load = (_model_run(case, name, th, where) for case in (
            "winit/init --hf-config", "transformers/from_config+save_pretrained",
            "winit/verify", "transformers/from_pretrained"))
        if w is None or v is None:
            rows.append([label, th, "failed", *[""] * 13])
            continue
        gb = w["summary"][0] / 1e9
        keys = "n/a" if load is None else "/".join(map(str, load["summary"]))
        ours, theirs = w["summary"][1], p["summary"][1] if p else None
        rows.append([label, th, f"{gb:.2f}", w["seconds"], ours, _mib(w), _secs(p),
                     theirs or "n/a", _mib(p),
                     f"{p['seconds'] / w['seconds']:.1f}x" if p else "n/a",
                     f"{theirs / ours:.1f}x" if p else "n/a", v["seconds"], v["summary"][2],
                     v["summary"][1] / v["seconds"] / 1e9, _mib(v), keys])
    header = ["model", "threads", "GB", "winit init s", "CPU s", "peak RSS MiB",
              "from_config+save_pretrained s", "CPU s", "peak RSS MiB", "speed-up",
              "CPU ratio", "winit verify s", "CPU s", "verify GB/s", "peak RSS MiB",
              "from_pretrained missing/unexpected/mismatched"]
    note = (f"Written to {where or 'the temporary directory'}; dtype of the config (bfloat16). "
            "Target (issue 12): init >= 8x faster than from_config + save_pretrained, peak RSS "
            "< 1 GB, verify >= 1 GB/s from page cache, 0/0/0 keys. CPU s: user + system time "
            "of the process during the run (all threads), which a busy machine does not "
            "inflate as it does wall time.")
    return (f"### Hugging Face directory from a config ({label})\n\n" + md_table(header, rows)
            + "\n\n" + note)


def models(t: Timer, n: int, threads: list[int], quick: bool) -> str:
    """Whole-model initialization to .safetensors: winit.init_model against torch.nn.init +
    safetensors.torch.save_file, each run in a fresh process (its peak RSS and its time to
    build the tensors and write the file, fsync included for both sides); then a Hugging
    Face directory from a config (:func:`hf_models`). ``n`` is not used: the sizes are the
    models'."""
    rows = []
    for label, gpt2 in MODELS[quick]:
        for dtype in ("bfloat16", "float32"):
            for th in threads:
                w = _model_run("winit/init_model", (*gpt2, dtype), th)
                p = _model_run("torch/nn.init+save_file", (*gpt2, dtype), th)
                if w is None:
                    rows.append([label, dtype, th, "failed", "", "", "", "", "", ""])
                    continue
                gb = w["summary"] / 1e9
                rows.append([label, dtype, th, f"{gb:.2f}", w["seconds"], gb / w["seconds"],
                             w["peak_bytes"] / 2**20, p["seconds"] if p else "n/a",
                             p["peak_bytes"] / 2**20 if p else "n/a",
                             f"{p['seconds'] / w['seconds']:.1f}x" if p else "n/a"])
    header = ["model", "dtype", "threads", "GB", "winit s", "winit GB/s", "winit peak RSS MiB",
              "torch+save_file s", "torch peak RSS MiB", "speed-up"]
    note = ("Target (issue 6): >= 5x faster than torch.nn.init + safetensors.torch.save_file, "
            "winit peak RSS < 1 GB. Both sides fsync the file; winit's time includes the "
            "temporary-name + rename publication.")
    return ("### init_model to .safetensors\n\n" + md_table(header, rows) + "\n\n" + note
            + "\n\n" + hf_models(threads, quick))


SECTIONS = {"sampling": sampling, "stats": stats, "schemes": schemes, "lsuv": lsuv,
            "models": models}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=float, default=1e8, help="elements for the kernel benchmarks")
    p.add_argument("--threads", type=int, nargs="+", default=[2])
    p.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    args = p.parse_args(argv)
    timer = Timer(CASES, repeat=2 if args.quick else 5, quick=args.quick)
    print("## winit benchmark\n")
    print("```")
    winit.show_config()
    print("```\n")
    for name in args.only:
        print(SECTIONS[name](timer, int(args.n), args.threads, args.quick))
        print()
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
