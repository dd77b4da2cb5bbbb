"""Print winit's speed against its peers, measured in the same run, as markdown tables.

    pip install ".[bench]"                       # peers: lsuv, safetensors (torch separately)
    python benchmarks/compare.py                 # every section, 1e8 elements, 2 threads
    python benchmarks/compare.py --only sampling --n 1e7 --threads 1 2
    python benchmarks/compare.py --only sampling stats writer --plot charts/   # + PNG charts

The timed operations are the cases of benchmarks/cases.py, the same ones the
pytest-benchmark suites (bench_*.py) run; each section below only arranges their times
into a table (ratio = the peer's time / winit's, so above 1 means winit is faster;
targets from PERF.md in brackets). Absolute times on a shared machine are noise: read
the ratio columns. ``--plot DIR`` also draws the sections' measurements as PNG charts
(benchmarks/plots.py; needs matplotlib: ``pip install ".[plot]"``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import statistics
import sys
import tempfile

import cases
from _timing import Timer, interleaved, md_table, ratio, run_isolated, spread
from cases import CASES, MEMORY_FS, fs_type, writer_dir
from plots import Measurements, write_charts

import winit

# the sizes of the sections that do not use --n, in full and --quick runs
ORTHO_SHAPES = {False: [(2048, 2048), (8192, 4096)], True: [(512, 512), (2048, 1024)]}
LSUV_SIZES = {False: (20, 1024, 512), True: (6, 256, 128)}  # depth, width, batch
MODELS = {False: [("GPT-2 small (124M)", (12, 768, 50257, 1024)),
                  ("GPT-2 XL size (1.56B)", (48, 1600, 50257, 1024))],
          True: [("GPT-2 4x256 (quick)", (4, 256, 8000, 256)),
                 ("GPT-2 6x512 (quick)", (6, 512, 16000, 512))]}
HF_MODELS = {False: ("TinyLlama-1.1B", "tinyllama"), True: ("tiny Llama (quick)", "tiny-llama")}
WRITER = {False: ("GPT-2-XL width, 36x1280 (774M params)", (36, 1280, 50257, 1024)),
          True: ("GPT-2 4x256 (quick)", (4, 256, 8000, 256))}


def _rate(elements: int, seconds: float | None, unit: float) -> float | str:
    return "n/a" if seconds is None else elements / seconds / unit


def _per_s(elements: int, seconds: float | None) -> float | None:
    return None if seconds is None else elements / seconds


def in_turns(names: list[str], n: int, th: int | None, rounds: int) -> dict[str, list[float]]:
    """Seconds per round of each case at ``n`` elements, the cases timed in turns ({} if one
    cannot run here).

    A machine whose speed drifts within a run (a busy host, a clock that drops after the
    first seconds of load: measured here, every kernel 2.1 G/s for a few calls, then
    1.6-1.8) favours whichever case is timed first; interleaved rounds give every case the
    same spells, so per-round ratios are the kernels'.
    """
    fns, scale = {}, {}
    for name in names:
        case = CASES[name]
        if case.missing():
            return {}
        m = case.measured_size(n)  # a slow peer runs on fewer elements: scaled to n
        fns[name], scale[name] = case.make(m, th if case.threaded else None), n / m
    return {k: [s.seconds * scale[k] for s in v] for k, v in interleaved(fns, rounds).items()}


def paired(base: str, others: list[str], n: int, th: int | None, rounds: int) -> dict:
    """``{other: median over rounds of t(other) / t(base)}``, timed in turns
    (:func:`in_turns`)."""
    r = in_turns([base, *others], n, th, rounds)
    return {o: statistics.median(x / b for b, x in zip(r[base], r[o], strict=True))
            for o in others} if r else {}


def sampling(t: Timer, n: int, threads: list[int], quick: bool, rec: Measurements) -> str:
    """normal_/uniform_/trunc_normal_ vs numpy (PCG64, Philox), torch and ndarray.fill.

    The ratios to winit's own normal_ f32 and to ndarray.fill come from interleaved rounds
    (:func:`paired`); the other columns from each case's median."""

    def time(name, th=None):
        return t.time(name, n, th)

    pcg_n, pcg_u = time("numpy/PCG64.standard_normal/float32"), time("numpy/PCG64.random/float32")
    phi_n, phi_u = (time("numpy/Philox.standard_normal/float32"),
                    time("numpy/Philox.random/float32"))
    pcg_64, fill = time("numpy/PCG64.standard_normal/float64"), time("ndarray.fill/float32")
    rows = []
    rounds = 2 if quick else 7
    for th in threads:
        tn, tu, tt, t64 = (time(f"winit/{f}/{d}", th) for f, d in (
            ("normal_", "float32"), ("uniform_", "float32"), ("trunc_normal_", "float32"),
            ("normal_", "float64")))
        own = paired("winit/normal_/float32", [f"winit/{f}" for f in (
            "trunc_normal_/float32", "normal_/float16", "normal_/bfloat16")], n, th, rounds)
        vs_fill = paired("ndarray.fill/float32", ["winit/uniform_/float32"], n, th, rounds)
        rows += [
            ["normal_ f32", th, _rate(n, tn, 1e6), ratio(pcg_n, tn), ratio(phi_n, tn),
             ratio(time("torch/normal_/float32", th), tn), "", "", "≥15× numpy, ≥6× torch"],
            ["uniform_ f32", th, _rate(n, tu, 1e6), ratio(pcg_u, tu), ratio(phi_u, tu),
             ratio(time("torch/uniform_/float32", th), tu),
             ratio(1.0, vs_fill.get("winit/uniform_/float32")), "",
             "≥10× numpy, ≥10× torch, ≥0.6× fill"],
            ["trunc_normal_ f32 (±2σ)", th, _rate(n, tt, 1e6), "", "",
             ratio(time("torch/nn.init.trunc_normal_/float32", th), tt), "",
             ratio(1.0, own.get("winit/trunc_normal_/float32")),
             "≥60× torch, ≥0.7× own normal_"],
            ["normal_ f64", th, _rate(n, t64, 1e6), ratio(pcg_64, t64), "", "", "", "",
             "≥5× numpy"],
        ]
        t16, tb = time("winit/normal_/float16", th), time("winit/normal_/bfloat16", th)
        t_bf = time("torch/normal_/bfloat16", th)
        rows += [["normal_ f16", th, _rate(n, t16, 1e6), "", "", "", "",
                  ratio(1.0, own.get("winit/normal_/float16")), "≥0.95× f32"],
                 ["normal_ bf16", th, _rate(n, tb, 1e6), "", "", ratio(t_bf, tb), "",
                  ratio(1.0, own.get("winit/normal_/bfloat16")), "≥0.95× f32"]]
        for op, ours, numpy_t, torch_t in (
                ("normal_ f32", tn, pcg_n, time("torch/normal_/float32", th)),
                ("uniform_ f32", tu, pcg_u, time("torch/uniform_/float32", th)),
                ("trunc_normal_ f32", tt, None, time("torch/nn.init.trunc_normal_/float32", th)),
                ("normal_ f64", t64, pcg_64, None), ("normal_ bf16", tb, None, t_bf)):
            rec.add("throughput", op, "winit", th, _per_s(n, ours))
            rec.add("throughput", op, "numpy", None, _per_s(n, numpy_t))
            rec.add("throughput", op, "torch", th, _per_s(n, torch_t))
    rec.line("throughput", "ndarray.fill f32 (memory write limit)", _per_s(n, fill))
    header = ["op", "threads", "winit M elem/s", "× numpy PCG64", "× numpy Philox", "× torch",
              "× ndarray.fill", "× own normal_ f32", "target (PERF.md)"]
    peer_line = (f"Peers (same run, n={n:.0e}): numpy PCG64 normal f32 "
                 f"{_rate(n, pcg_n, 1e6):.0f} M/s, uniform f32 {_rate(n, pcg_u, 1e6):.0f} M/s, "
                 f"normal f64 {_rate(n, pcg_64, 1e6):.0f} M/s; ndarray.fill "
                 f"{_rate(n, fill, 1e6):.0f} M/s"
                 + ("; torch not installed" if CASES["torch/normal_/float32"].missing() else ""))
    note = ("× ndarray.fill and × own normal_ f32: median of the per-round ratios of "
            f"{rounds} interleaved rounds (the cases timed in turns); the other columns: "
            "medians of each case's runs.")
    return ("### Sampling kernels\n\n" + peer_line + "\n\n" + md_table(header, rows) + "\n\n"
            + note)


def stats(t: Timer, n: int, threads: list[int], quick: bool, rec: Measurements) -> str:
    """winit.stats vs numpy (np.sum, mean+var+min+max, np.histogram), scipy.stats.describe and
    torch (var_mean, aminmax)."""

    def time(name, th=None):
        return t.time(name, n, th)

    t_sum, t_four = time("numpy/sum(float64)"), time("numpy/mean+var+min+max")
    t_hist, t_desc = time("numpy/histogram256"), time("scipy/stats.describe")
    rows = []
    rounds = 2 if quick else 7
    for th in threads:
        ts, th_ = time("winit/stats/float32", th), time("winit/stats/float32+hist256", th)
        vs = paired("winit/stats/float32", ["numpy/mean+var+min+max", "scipy/stats.describe"],
                    n, th, rounds)
        hist = in_turns(["winit/stats/float32+hist256", "numpy/histogram256",
                         "numpy/mean+var+min+max"], n, th, rounds)
        hist_x = statistics.median((a + b) / w for w, a, b in zip(*hist.values(), strict=True)) \
            if hist else None
        rows += [["stats f32", th, _rate(n, ts, 1e9), ratio(ts, t_sum),
                  vs.get("numpy/mean+var+min+max", "n/a"), vs.get("scipy/stats.describe", "n/a"),
                  ratio(time("torch/var_mean+aminmax", th), ts), ""],
                 ["stats f32 + 256 bins", th, _rate(n, th_, 1e9), ratio(th_, t_sum), "", "", "",
                  ratio(hist_x, 1.0)]]
        for dt, name in (("float64", "f64"), ("float16", "f16"), ("bfloat16", "bf16")):
            tb = time(f"winit/stats/{dt}", th)
            rows.append([f"stats {name}", th, _rate(n, tb, 1e9), ratio(tb, t_sum), "", "", "",
                         ""])
        tv = time("winit/stats/float32-strided-half", th)
        rows.append(["stats f32 strided view (half)", th, _rate((n + 1) // 2, tv, 1e9),
                     ratio(tv, t_sum), "", "", "", ""])
        rec.add("throughput", "stats f32", "winit", th, _per_s(n, ts))
        rec.add("throughput", "stats f32", "numpy", None, _per_s(n, t_four))
        rec.add("throughput", "stats f32", "torch", th,
                _per_s(n, time("torch/var_mean+aminmax", th)))
        rec.add("throughput", "stats f32", "scipy", None, _per_s(n, t_desc))
        rec.add("throughput", "stats f32\n+ 256 bins", "winit", th, _per_s(n, th_))
        rec.add("throughput", "stats f32\n+ 256 bins", "numpy", None, _per_s(n, t_hist + t_four))
    header = ["operation", "threads", "G elem/s", "time / np.sum(f64) (≤0.7)",
              "× numpy mean+var+min+max (≥10)", "× scipy describe (≥100)",
              "× torch var_mean+aminmax", "× np.histogram+four (≥20)"]
    note = (f"× numpy, × scipy and × np.histogram+four: median of the per-round ratios of "
            f"{rounds} interleaved rounds; the other columns: medians of each case's runs.")
    return (f"### Layer statistics (n = {n:.0e}, float32 N(0,1), SIMD path "
            f"{winit._runtime.simd_path()})\n\n" + md_table(header, rows) + "\n\n" + note)


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


def schemes(t: Timer, n: int, threads: list[int], quick: bool,
            rec: Measurements) -> str:
    """kaiming_normal_ on ``n`` elements and orthogonal_, vs torch and numpy."""
    parts = ["### Schemes", ""]
    if CASES["torch/nn.init.orthogonal_"].missing():
        parts += ["torch not installed: torch columns are n/a.", ""]
    parts += [_kaiming(t, min(n, 4 * 10**6) if quick else n, threads), "",
              _orthogonal(t, threads, quick)]
    return "\n".join(parts)


def lsuv(t: Timer, n: int, threads: list[int], quick: bool,
         rec: Measurements) -> str:
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


def models(t: Timer, n: int, threads: list[int], quick: bool,
           rec: Measurements) -> str:
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


WRITER_CASES = {"winit init_model": "winit/init_model(bf16)", "os.write": "os.write",
                "os.write+fsync": "os.write+fsync", "dd conv=fsync": "dd conv=fsync"}


def _writer_row(dest: str, size, th: int, rounds: int, rec: Measurements) -> list:
    """One destination's row: the four writer cases in ``rounds`` interleaved rounds."""
    d = writer_dir(dest)
    fns = {label: CASES[name].make(size, th) for label, name in WRITER_CASES.items()
           if not CASES[name].missing()}
    samples = interleaved(fns, rounds)
    rates = {label: [s.result / s.seconds / 1e9 for s in ss] for label, ss in samples.items()}
    fs = fs_type(d)
    limit = "os.write" if fs in MEMORY_FS else "os.write+fsync"
    ours = rates["winit init_model"]
    per_round = [w / x for w, x in zip(ours, rates[limit], strict=True)]
    group = f"{dest} ({d}, {fs})"
    for label, values in rates.items():
        rec.add("writer", group, label, th, values)
    ratio_ = statistics.median(ours) / statistics.median(rates[limit])
    rec.notes[("writer", group, th)] = f"winit = {ratio_:.2f}× {limit}"
    return [dest, d, fs, th, f"{samples['winit init_model'][0].result / 1e9:.3g}", spread(ours),
            *(spread(rates[k]) if k in rates else "n/a" for k in list(WRITER_CASES)[1:]),
            f"{ratio_:.2f} [{min(per_round):.2f}–{max(per_round):.2f}] vs {limit}",
            spread([s.cpu for s in samples["winit init_model"]])]


def writer(t: Timer, n: int, threads: list[int], quick: bool, rec: Measurements) -> str:
    """winit.init_model of a bfloat16 GPT-2-shaped spec (fsynced, published by rename) to
    tmpfs and to disk, against the same run's write limits: os.write of a ready buffer of
    the tensors' bytes in 16 MiB calls, without and with fsync, and dd conv=fsync. All four
    in interleaved rounds in this process, after a warm-up round (a process's first tmpfs
    write is 30-50 % slower, for either side); each file is removed, untimed, before and
    after each run. ``n`` is not used."""
    label, gpt2 = WRITER[quick]
    rows = []
    for dest in ("tmpfs", "disk"):
        if writer_dir(dest) is None:
            rows.append([dest, "none here", *["n/a"] * 9])
            continue
        for th in threads:
            rows.append(_writer_row(dest, (dest, *gpt2), th, t.repeat, rec))
    cases.ready_buffer.cache_clear()  # the limits' buffer (1.5 GB in a full run)
    header = ["destination", "directory", "fs", "threads", "GB", "winit GB/s",
              "os.write GB/s (no fsync)", "os.write+fsync GB/s", "dd conv=fsync GB/s",
              "winit / limit (ratio of medians [per round])", "winit CPU s"]
    rec.sizes["writer"] = (f"{label}, bfloat16; median of {t.repeat} interleaved rounds after "
                           "a warm-up round; init_model fsyncs (a no-op on tmpfs)")
    note = (f"GB/s: median [min–max] of {t.repeat} rounds. The matching limit: os.write without "
            "fsync on tmpfs (fsync does nothing there), with fsync on disk (init_model always "
            "fsyncs). The limits write the tensors' bytes; winit's file adds the safetensors "
            "header. CPU s: user + system time of the process during init_model (all "
            "threads). Target (issue 13): to tmpfs >= 0.7x os.write of a ready buffer. "
            "Directories: tmpfs is /dev/shm, disk is $WINIT_BENCH_DISK or the temporary "
            "directory (when not in memory).")
    return (f"### Writing a checkpoint: init_model against the write limit ({label}, "
            "bfloat16)\n\n" + md_table(header, rows) + "\n\n" + note)


SECTIONS = {"sampling": sampling, "stats": stats, "schemes": schemes, "lsuv": lsuv,
            "models": models, "writer": writer}


def _caption(threads: int) -> str:
    """The machine and the versions, for the charts."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    torch = (f"torch {importlib.metadata.version('torch')}"
             if importlib.util.find_spec("torch") else "no torch")
    return (f"{cpu}, {os.cpu_count()} CPUs; winit {winit.__version__}, SIMD path "
            f"{winit._runtime.simd_path()}, {threads} threads; numpy "
            f"{importlib.metadata.version('numpy')}, {torch}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=float, default=1e8, help="elements for the kernel benchmarks")
    p.add_argument("--threads", type=int, nargs="+", default=[2])
    p.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    p.add_argument("--quick", action="store_true", help="small sizes, few repeats (smoke test)")
    p.add_argument("--repeat", type=int, help="timed runs per case (default 5, --quick 2)")
    p.add_argument("--plot", metavar="DIR", help="also write PNG charts into DIR (matplotlib)")
    args = p.parse_args(argv)
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        p.error("--plot needs matplotlib: pip install matplotlib (or pip install '.[plot]')")
    repeat = args.repeat or (2 if args.quick else 5)
    timer = Timer(CASES, repeat=repeat, quick=args.quick)
    rec = Measurements(caption=_caption(max(args.threads)))
    rec.sizes["throughput"] = (
        f"n = {args.n:.0e} elements per call, median of {repeat} runs. numpy: default_rng "
        "(PCG64) samplers; mean+var+min+max (+ np.histogram) for stats. torch: normal_, "
        "uniform_, nn.init.trunc_normal_; var_mean+aminmax. scipy: stats.describe")
    print("## winit benchmark\n")
    print("```")
    winit.show_config()
    print("```\n")
    for name in args.only:
        print(SECTIONS[name](timer, int(args.n), args.threads, args.quick, rec))
        print()
        sys.stdout.flush()
    if args.plot:
        for path in write_charts(rec, args.plot, max(args.threads)):
            print(f"chart: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
