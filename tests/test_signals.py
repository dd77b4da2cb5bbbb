"""``winit init`` stopped by a signal in the middle of a ~300 MB write.

SIGINT, SIGTERM and SIGHUP unwind cleanly (exit status 128 + signal, one line on
stderr, the temporary removed); after a SIGKILL the temporary stays, named with the
writer's pid, and the next ``winit init`` into the same directory removes it with a
warning. In every case the old destination is intact. The signal is sent when the
child has written a seeded random fraction of the data (``/proc/PID/io``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

import pytest
from conftest import python_env

import winit
from winit import models, streamer
from winit.cli import main

needs_proc_io = pytest.mark.skipif(not os.path.exists("/proc/self/io"),
                                   reason="needs Linux /proc/PID/io to time the signal")

NBYTES = 300_000_000
BIG = {"w": {"shape": [NBYTES // 4], "init": "normal", "std": 0.02}}
SMALL = {"w": {"shape": [4], "init": "ones"}}


def written(pid: int) -> int:
    with open(f"/proc/{pid}/io") as f:
        return next(int(ln.split()[1]) for ln in f if ln.startswith("wchar:"))


def tree(p):
    if p.is_file():
        return p.read_bytes()
    return {q.name: q.read_bytes() for q in sorted(p.iterdir())}


def temporaries(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def specs(tmp_path):
    big, small = tmp_path / "big.json", tmp_path / "small.json"
    big.write_text(json.dumps(BIG))
    small.write_text(json.dumps(SMALL))
    return big, small


def _default_signals() -> None:
    """In the child: the default dispositions, as in a terminal (a CI runner may start the
    tests with SIGINT ignored, and a child would inherit that)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def interrupt(spec, dest, sig: int, seed: int) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``winit init SPEC -o DEST --overwrite``; send ``sig`` once a seeded fraction of
    the data (10% to 70%) has been written. Returns the result and the child's pid."""
    target = random.Random(seed).uniform(0.1, 0.7) * NBYTES
    env = python_env()
    env.pop("WINIT_DEBUG", None)
    p = subprocess.Popen([sys.executable, "-m", "winit", "init", str(spec), "-o", str(dest),
                          "--overwrite", "--no-progress", "--threads", "1"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=tempfile.gettempdir(), preexec_fn=_default_signals)
    deadline = time.monotonic() + 120
    try:
        while written(p.pid) < target:
            assert p.poll() is None, f"winit init ended before the signal: {p.stderr.read()}"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        p.send_signal(sig)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), p.pid


@needs_proc_io
@pytest.mark.parametrize(("sig", "kind", "seed"), [
    (signal.SIGINT, "file", 1),
    (signal.SIGTERM, "dir", 2),
    (signal.SIGKILL, "file", 3),
    (signal.SIGKILL, "dir", 4),
])
def test_stopped_mid_write(tmp_path, specs, capsys, sig, kind, seed):
    big, small = specs
    out = tmp_path / "out"
    out.mkdir()
    dest = out / ("m.safetensors" if kind == "file" else "d")
    if kind == "file":
        dest.write_bytes(b"old checkpoint")
    else:
        winit.init_model(SMALL, dest, progress=False)
    before = tree(dest)

    r, pid = interrupt(big, dest, sig, seed)
    assert tree(dest) == before
    if sig == signal.SIGKILL:
        assert r.returncode == -signal.SIGKILL
        left = temporaries(out)  # named after the destination and the writer's pid
        assert len(left) == 1 and left[0].startswith(f".{dest.name}.winit-{pid}-"), left
    else:
        assert r.returncode == 128 + sig, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "no output written" in lines[0], r.stderr
        assert lines[0] == ("winit: interrupted (no output written)" if sig == signal.SIGINT
                            else f"winit: stopped by {signal.Signals(sig).name} "
                                 "(no output written)")
        assert temporaries(out) == []

    # the next run into the same directory: any stale temporary is removed, with a warning
    assert main(["init", str(small), "-o", str(out / "next.safetensors"), "--no-progress"]) == 0
    err = capsys.readouterr().err
    if sig == signal.SIGKILL:
        assert f"winit init: warning: removed the stale temporary {out / left[0]}" in err
        assert "no longer running" in err
    else:
        assert "warning" not in err
    assert temporaries(out) == []
    assert tree(dest) == before


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
@pytest.mark.parametrize(("sig", "kind"), [(getattr(signal, "SIGHUP", 1), "file"),
                                           (getattr(signal, "SIGHUP", 1), "dir"),
                                           (signal.SIGTERM, "file")])
def test_sighup_and_sigterm_in_process(tmp_path, specs, monkeypatch, capsys, sig, kind):
    """The handlers ``winit init`` installs: the signal unwinds like Ctrl-C, then the
    previous handlers are back."""
    _, small = specs
    spec = tmp_path / "mid.json"
    spec.write_text(json.dumps({"w": {"shape": [1000], "init": "normal"}}))
    dest = tmp_path / ("m.safetensors" if kind == "file" else "d")
    winit.init_model(SMALL, dest, progress=False)
    before = tree(dest)
    monkeypatch.setattr(streamer, "BLOCK_BYTES", 400)
    real, calls = models._Planned.fill, []

    def fill(self, out, offset, threads=None):
        calls.append(offset)
        if len(calls) == 3:
            os.kill(os.getpid(), sig)
        return real(self, out, offset, threads)

    monkeypatch.setattr(models._Planned, "fill", fill)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(sig)
    rc = main(["init", str(spec), "-o", str(dest), "--overwrite", "--no-progress"])
    assert rc == 128 + sig
    assert capsys.readouterr().err == (f"winit: stopped by {signal.Signals(sig).name} "
                                       "(no output written)\n")
    assert 3 <= len(calls) < 10
    assert tree(dest) == before and temporaries(tmp_path) == []
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(sig)) == handlers
