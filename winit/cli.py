"""The ``winit`` command line: ``winit init`` writes a checkpoint, ``winit stats`` and
``winit verify`` read one.

    winit init -o gpt2.safetensors --dtype bfloat16       # bundled GPT-2 small spec
    winit init spec.toml -o model.safetensors --seed 1 --threads 8
    winit init --hf-config config.json --recipe megatron -o TinyLlama   # HF directory
    winit verify TinyLlama                                # regenerate and compare
    winit stats gpt2.safetensors --bins 64 --markdown

Errors (bad paths, invalid specs, an existing output) print one line on stderr and
exit with status 1; set ``WINIT_DEBUG=1`` to get the traceback instead. Ctrl-C
(SIGINT), SIGTERM and SIGHUP stop ``winit init`` cleanly: the temporary output is
removed, any old output is left intact, and the exit status is 128 + the signal number.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from ._common import resolve_threads
from .hf import spec_from_hf_config
from .hfdir import parse_size
from .models import run_init
from .reader import checkpoint_tensors, stats_dtype, tensor_stats
from .spec import bundled_name
from .stats import StatsTable
from .verify import verify

__all__ = ["main"]

_DTYPES = ["float32", "bfloat16", "float16", "float64"]

# the two spec examples of the README's "Whole models" section
_INIT_EPILOG = """\
A spec maps tensor names to a shape, a scheme ("init": any name of winit.available()
or an alias) and the scheme's parameters; nested tables give dotted names, and "dtype"
overrides --dtype per tensor. The same spec as JSON and as TOML:

spec.json:
{"embed.weight": {"shape": [50257, 768], "init": "normal", "std": 0.02},
 "proj": {"weight": {"shape": [768, 768], "init": "kaiming_uniform", "a": 2.23606797749979},
          "bias": {"shape": [768], "init": "zeros", "dtype": "float32"}}}

spec.toml:
["embed.weight"]
shape = [50257, 768]
init = "normal"
std = 0.02

[proj.weight]
shape = [768, 768]
init = "kaiming_uniform"
a = 2.23606797749979

[proj.bias]
shape = [768]
init = "zeros"
dtype = "float32"
"""


class _Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwind like KeyboardInterrupt (temporaries removed)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stopped(signum: int, _frame) -> None:
    raise _Stopped(signum)


@contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`_Stopped` (SIGINT raises KeyboardInterrupt)."""
    old = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and threading.current_thread() is threading.main_thread():
            old[sig] = signal.signal(sig, _raise_stopped)
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


@contextmanager
def _warnings_as_lines(command: str) -> Iterator[None]:
    """Warnings (e.g. a stale temporary removed) as ``winit CMD: warning: ...`` on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"winit {command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _fmt_count(n: float) -> str:
    for unit in ("", " k", " M", " B"):
        if n < 1000 or unit == " B":
            return f"{n:.4g}{unit}"
        n /= 1000
    return str(n)  # pragma: no cover


def _table(rows: list[tuple[str, str]]) -> str:
    w = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k:<{w}}  {v}" for k, v in rows)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="winit",
        description="Fast, reproducible neural-network weight initialization.",
    )
    p.add_argument("--version", action="version", version=f"winit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    pi = sub.add_parser(
        "init",
        help="initialize a model spec into a .safetensors file or a directory of .npy files",
        description="Initialize every tensor of SPEC and stream it to OUT. Each tensor's\n"
        "values depend only on (seed, its name, its spec entry).",
        epilog=_INIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pi.add_argument(
        "spec", nargs="?", default=None, metavar="SPEC",
        help="a .json/.toml spec, a .safetensors checkpoint to mimic, or a bundled spec name "
        "(default: gpt2_small, GPT-2 small with 124M parameters)",
    )
    pi.add_argument("-o", "--output", required=True, metavar="OUT",
                    help="output: a .safetensors file, or a directory (a path with no suffix, "
                    "or ending in '/'): the Hugging Face layout with --hf-config, else one .npy "
                    "per tensor; other suffixes are refused")
    pi.add_argument("--hf-config", metavar="PATH",
                    help="instead of SPEC: a Hugging Face config.json (or a directory holding "
                    "one); OUT gets config.json and the model's .safetensors shards")
    pi.add_argument("--recipe", default=None, metavar="NAME",
                    help="with --hf-config: hf (default; transformers' own init), megatron, "
                    "torchtitan or small_init")
    pi.add_argument("--rules", metavar="FILE",
                    help="with --hf-config: a .toml/.json file of rules on top of the recipe "
                    "([[rules]] match = regex, init = scheme, parameters)")
    pi.add_argument("--seed", type=int, default=0, help="model seed (default 0)")
    pi.add_argument("--dtype", default=None, choices=_DTYPES,
                    help="dtype of tensors whose spec entry sets none (default float32; with "
                    "--hf-config, the config's dtype)")
    pi.add_argument("--max-shard-size", default="5GB", metavar="SIZE",
                    help="largest shard of a Hugging Face directory: bytes, 500MB, 5GB (powers "
                    "of 1000) or 2GiB (powers of 1024); default 5GB")
    pi.add_argument("--scheduler", metavar="ADDRESS",
                    help="a Dask scheduler (tcp://host:8786): its workers write the files, "
                    "into OUT's directory, which they must share")
    pi.add_argument("--threads", type=int, default=None,
                    help="generation threads (default: all usable cores)")
    pi.add_argument("--overwrite", action="store_true",
                    help="replace OUT if it exists (a directory only if winit wrote it and it "
                    "holds nothing else)")
    pi.add_argument("--no-progress", action="store_true", help="no progress bar")

    pv = sub.add_parser(
        "verify",
        help="regenerate every tensor of a checkpoint winit wrote and compare the bytes",
        description="Read the provenance in CHECKPOINT's headers (seed, resolved spec), "
        "regenerate every tensor block by block and compare it with the stored bytes; print "
        "one row per tensor (OK, MISMATCH, MISSING, UNEXPECTED). Exit status 1 when any "
        "tensor is not OK. A checkpoint without provenance needs --seed and a spec.",
    )
    pv.add_argument("checkpoint", metavar="CHECKPOINT",
                    help="a .safetensors file, a Hugging Face directory, or a directory of "
                    ".npy files")
    pv.add_argument("--seed", type=int, default=None,
                    help="the model seed (default: the one the headers record)")
    pv.add_argument("--spec", metavar="SPEC",
                    help="the spec (default: the one the headers record)")
    pv.add_argument("--hf-config", metavar="PATH", help="the spec, from a Hugging Face config")
    pv.add_argument("--recipe", default=None, metavar="NAME", help="with --hf-config")
    pv.add_argument("--rules", metavar="FILE", help="with --hf-config")
    pv.add_argument("--threads", type=int, default=None,
                    help="generation threads (default: all usable cores)")
    pv.add_argument("--no-progress", action="store_true", help="no progress bar")

    ps = sub.add_parser(
        "stats",
        help="per-tensor statistics of a checkpoint (.safetensors, .npy, .npz, .npy directory)",
        description="Read CHECKPOINT tensor by tensor, in blocks of 16 MiB, and print one "
        "row of statistics each. Integer and bool tensors are read as float64 (exact below "
        "2**53), float8 ones as float32; tensors of other dtypes are listed after the table.",
    )
    ps.add_argument("checkpoint", metavar="CHECKPOINT")
    ps.add_argument("--bins", type=int, default=None, help="also compute an N-bin histogram")
    ps.add_argument("--markdown", action="store_true", help="print a markdown table")
    ps.add_argument("--threads", type=int, default=None, help="threads of the stats kernel")
    return p


def _check_counts(args) -> None:
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")


def _hf_spec(args, spec: str | None, dtype):
    """The spec --hf-config / --recipe / --rules give, or None without --hf-config."""
    if args.hf_config is None:
        for flag in ("recipe", "rules"):
            if getattr(args, flag) is not None:
                raise ValueError(f"--{flag} needs --hf-config")
        return None
    if spec is not None:
        raise ValueError(f"give a spec ({spec!r}) or --hf-config, not both")
    return spec_from_hf_config(args.hf_config, recipe=args.recipe or "hf", rules=args.rules,
                               dtype=dtype)


@contextmanager
def _dask_client(address: str | None) -> Iterator:
    """A ``dask.distributed.Client`` of the scheduler at ``address`` (None: no client)."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise RuntimeError("--scheduler needs dask.distributed: pip install 'winit[dask]' "
                           "distributed") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, ValueError, TimeoutError) as exc:
        raise RuntimeError(f"--scheduler {address}: no Dask scheduler there ({exc})") from None
    try:
        yield client
    finally:
        client.close()


def _files(names: tuple[str, ...]) -> str:
    if len(names) <= 3:
        return ", ".join(names)
    shards = [n for n in names if n.endswith(".safetensors")]
    if not shards:
        return f"{len(names)} .npy files"
    return f"{len(shards)} shards" + "".join(f", {n}" for n in names if n not in shards)


def _cmd_init(args) -> int:
    _check_counts(args)
    parse_size(args.max_shard_size, "--max-shard-size")
    hf = _hf_spec(args, args.spec, args.dtype or "config")
    spec = hf if hf is not None else (args.spec or "gpt2_small")
    label = f"{args.hf_config} (Hugging Face config, {hf.model_type}, recipe {hf.recipe})" \
        if hf is not None else f"{spec} (bundled)" if bundled_name(spec) else str(spec)
    out = Path(args.output)
    with _dask_client(args.scheduler) as client:
        s = run_init(spec, out, seed=args.seed, dtype=args.dtype or "float32",
                     threads=args.threads, progress=not args.no_progress,
                     overwrite=args.overwrite, max_shard_size=args.max_shard_size,
                     client=client)
    secs = max(s.seconds, 1e-9)
    dtypes = ", ".join(f"{k} ({v})" if len(s.dtypes) > 1 else k for k, v in s.dtypes.items())
    rows = [
        ("output", str(out)),
        ("spec", label),
        ("files", _files(s.files)),
        ("tensors", str(s.tensors)),
        ("parameters", f"{_fmt_count(s.parameters)} ({s.parameters:,})"),
        ("dtype", dtypes),
        ("size", _fmt_bytes(s.nbytes)),
        ("seed", str(args.seed)),
        ("threads", f"Dask workers of {args.scheduler}" if args.scheduler
         else str(resolve_threads(args.threads))),
        ("time", f"{secs:.2f} s"),
        ("throughput", f"{s.nbytes / secs / 1e9:.2f} GB/s ({_fmt_count(s.parameters / secs)} "
                       "params/s)"),
    ]
    print(f"winit init: wrote {out}")
    print(_table(rows))
    return 0


def _cmd_verify(args) -> int:
    _check_counts(args)
    hf = _hf_spec(args, args.spec, "config")
    report = verify(args.checkpoint, seed=args.seed, spec=hf if hf is not None else args.spec,
                    threads=args.threads, progress=not args.no_progress)
    print(report)
    return 0 if report.ok else 1


def _cmd_stats(args) -> int:
    if args.bins is not None and args.bins < 1:
        raise ValueError(f"--bins must be >= 1, got {args.bins}")
    # tensor by tensor, block by block; a missing or unreadable checkpoint raises first
    table, skipped = StatsTable(), []
    for t in checkpoint_tensors(args.checkpoint):
        if stats_dtype(t.dtype) is None:
            skipped.append(f"{t.name} ({t.label})")
            continue
        st = tensor_stats(t, bins=args.bins, threads=args.threads)
        table.add(t.name, st, shape=t.shape, dtype=t.dtype)
    print(table.to_markdown() if args.markdown else table)
    if skipped:
        print(f"\nno statistics for {len(skipped)} tensor(s) of a non-real dtype: "
              + ", ".join(skipped))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``winit`` command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    debug = os.environ.get("WINIT_DEBUG", "") not in ("", "0")
    try:
        with _warnings_as_lines(args.command):
            if args.command == "init":
                with _stop_signals():
                    return _cmd_init(args)
            if args.command == "verify":
                return _cmd_verify(args)
            return _cmd_stats(args)
    except KeyboardInterrupt:
        print("winit: interrupted (no output written)", file=sys.stderr)
        return 130
    except _Stopped as exc:
        name = signal.Signals(exc.signum).name
        print(f"winit: stopped by {name} (no output written)", file=sys.stderr)
        return 128 + exc.signum
    except BrokenPipeError:  # e.g. `winit stats x | head`
        return 0
    except Exception as exc:
        if debug:
            raise
        msg = str(exc) or type(exc).__name__
        if isinstance(exc, ImportError):
            msg = f"{msg} (pip install 'winit[io]')"
        print(f"winit {args.command}: error: {msg}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
