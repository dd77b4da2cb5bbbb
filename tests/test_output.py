"""winit.output: directory outputs replace only what winit wrote (manifest), temporaries
of killed writers are cleaned up, a directory's publish survives a signal, a full disk
leaves nothing behind.

The directory-safety and full-disk tests go through the public writers
(``winit.checkpoint.write_npy_dir``, ``winit.init_model``, ``winit init``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from conftest import run_python

import winit
from winit import output
from winit.checkpoint import TensorSource, write_npy_dir, write_safetensors
from winit.cli import main

SPEC = {"w": {"shape": [4, 3], "init": "normal"}, "b": {"shape": [3], "init": "zeros"}}


def src(name="w", n=6):
    a = np.arange(n, dtype=np.float32)

    def fill(out, offset, threads):
        out[...] = a[offset:offset + out.size]

    return TensorSource(name, (n,), a.dtype, lambda t: a, fill)


def tree(d) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file()}


def temporaries(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# ----------------------------------------------------------------------------- manifest


def test_manifest_lists_the_files(tmp_path):
    d = write_npy_dir([src("w"), src("a/b")], tmp_path / "d")
    data = json.loads((d / output.MANIFEST).read_text())
    assert data == {"format": "winit-output-dir", "winit": winit.__version__,
                    "files": ["a%2Fb.npy", "w.npy"]}
    assert sorted(p.name for p in d.iterdir()) == [".winit-manifest.json", "a%2Fb.npy", "w.npy"]


def test_overwrite_never_deletes_a_users_directory(tmp_path):
    """The issue's probe: `winit init s.json -o proj --overwrite` deleted proj/src/main.py."""
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    (proj / "src" / "main.py").write_text("code")
    before = tree(proj)
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match=r"refusing to replace the directory .*proj, "
                           r"even with overwrite: it was not written by winit \(it has no "
                           r"\.winit-manifest\.json\)"):
            winit.init_model(SPEC, proj, overwrite=overwrite, progress=False)
    assert tree(proj) == before
    assert temporaries(tmp_path) == []


def test_files_added_to_a_winit_directory_are_kept(tmp_path):
    d = winit.init_model(SPEC, tmp_path / "d", progress=False)
    (d / "notes.txt").write_text("mine")
    (d / "sub").mkdir()
    (d / "sub" / "x.npy").write_bytes(b"x")
    before = tree(d)
    with pytest.raises(FileExistsError, match=r"holds files winit did not write: notes\.txt, "
                       r"sub/x\.npy; move them out first"):
        winit.init_model(SPEC, d, overwrite=True, progress=False)
    assert tree(d) == before
    (d / "notes.txt").unlink()
    (d / "sub" / "x.npy").unlink()
    (d / "sub").rmdir()
    winit.init_model(SPEC, d, seed=1, overwrite=True, progress=False)  # now only winit's files
    assert sorted(tree(d)) == [".winit-manifest.json", "b.npy", "w.npy"]


def test_many_foreign_files_are_counted(tmp_path):
    d = tmp_path / "d"
    write_npy_dir([src()], d)
    for i in range(8):
        (d / f"f{i}").write_text("")
    with pytest.raises(FileExistsError, match=r"f0, f1, f2, f3, f4 and 3 more"):
        write_npy_dir([src()], d, overwrite=True)


@pytest.mark.parametrize("manifest", ["{oops", "[1, 2]", '{"format": "other", "files": []}',
                                      b"\xff\xfe"])
def test_an_invalid_manifest_is_refused(tmp_path, manifest):
    d = tmp_path / "d"
    d.mkdir()
    (d / "w.npy").write_bytes(b"data")
    m = d / output.MANIFEST
    m.write_bytes(manifest if isinstance(manifest, bytes) else manifest.encode())
    with pytest.raises(FileExistsError, match=r"refusing to replace .*\.winit-manifest\.json "
                       r"is (unreadable|not a winit manifest)"):
        write_npy_dir([src()], d, overwrite=True)
    assert (d / "w.npy").read_bytes() == b"data"


def test_an_empty_directory_is_replaceable(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    with pytest.raises(FileExistsError, match=r"already exists \(pass overwrite=True"):
        write_npy_dir([src()], d)
    write_npy_dir([src()], d, overwrite=True)
    assert sorted(tree(d)) == [".winit-manifest.json", "w.npy"]


def test_a_symlink_is_refused(tmp_path):
    real = write_npy_dir([src()], tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(FileExistsError, match="is a symbolic link"):
        write_npy_dir([src()], tmp_path / "link", overwrite=True)
    assert (tmp_path / "link").is_symlink() and sorted(tree(real)) == [
        ".winit-manifest.json", "w.npy"]


def test_files_added_while_writing_are_kept(tmp_path, monkeypatch):
    """The check is repeated just before publishing: a file added meanwhile is not lost."""
    d = write_npy_dir([src()], tmp_path / "d")

    def fill(out, offset, threads):
        (d / "late.txt").write_text("added during the write")
        out[...] = 1

    with pytest.raises(FileExistsError, match=r"late\.txt"):
        write_npy_dir([TensorSource("v", (3,), np.dtype(np.float32), None, fill)], d,
                      overwrite=True)
    assert (d / "late.txt").exists() and (d / "w.npy").exists()
    assert temporaries(tmp_path) == []


def test_check_output_dir(tmp_path):
    output.check_output_dir(tmp_path / "new")
    with pytest.raises(FileNotFoundError, match="output directory does not exist"):
        output.check_output_dir(tmp_path / "no" / "d")
    (tmp_path / "f").write_text("")
    with pytest.raises(FileExistsError, match="exists and is not a directory"):
        output.check_output_dir(tmp_path / "f", overwrite=True)


# ----------------------------------------------------------------------------- a signal


@pytest.fixture
def sigint_raises():
    """SIGINT raising KeyboardInterrupt, as in a terminal, for the test (a CI runner may
    start the tests with SIGINT ignored; ignored signals stay ignored by winit)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_a_signal_between_the_renames_of_a_publish_loses_nothing(tmp_path, monkeypatch,
                                                                  sigint_raises):
    """SIGINT right after the old directory is set aside: the publish still completes."""
    d = write_npy_dir([src("old")], tmp_path / "d")
    real = os.rename
    calls = []

    def rename(a, b):
        real(a, b)
        calls.append(b)
        if len(calls) == 1:  # the old output was just moved out of the way
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # a Python-level handler would run here

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        write_npy_dir([src("new")], d, overwrite=True)
    assert len(calls) == 2
    assert sorted(tree(d)) == [".winit-manifest.json", "new.npy"]
    assert temporaries(tmp_path) == []


def test_signals_deferred_then_delivered(sigint_raises):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with output._signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            reached.append(1)
    assert reached == [1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ----------------------------------------------------------------------------- stale temporaries


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    pid, host = dead_pid(), output._HOST
    stale_file = tmp_path / f".m.safetensors.winit-{pid}-{host}-0123abcd.tmp"
    stale_file.write_bytes(b"partial")
    stale_dir = tmp_path / f".d.winit-{pid}-{host}-0123abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / "w.npy").write_bytes(b"partial")
    alive = tmp_path / f".m.safetensors.winit-{os.getppid()}-{host}-0123abcd.tmp"
    alive.write_bytes(b"being written")
    elsewhere = tmp_path / f".m.safetensors.winit-{pid}-00000000-0123abcd.tmp"
    elsewhere.write_bytes(b"another host's")
    with pytest.warns(UserWarning, match=rf"removed the stale temporary .*winit-{pid}-.*"
                      rf"left by winit process {pid}, no longer running") as rec:
        write_safetensors([src()], tmp_path / "other.safetensors")
    assert len(rec) == 2
    assert not stale_file.exists() and not stale_dir.exists()
    assert alive.exists() and elsewhere.exists()


def test_a_directory_set_aside_by_a_killed_writer_is_restored(tmp_path):
    pid = dead_pid()
    old = write_npy_dir([src("precious")], tmp_path / "d")
    aside = tmp_path / f".d.winit-{pid}-{output._HOST}-0123abcd.old.tmp"
    os.rename(old, aside)  # killed between the two renames of a replacement
    with pytest.warns(UserWarning, match=r"restored .*d from .*\.old\.tmp"):
        removed = output.remove_stale_temporaries(tmp_path)
    assert removed == [aside]
    assert sorted(tree(tmp_path / "d")) == [".winit-manifest.json", "precious.npy"]
    # set aside and already replaced: deleted (only what its manifest lists)
    write_npy_dir([src("x")], tmp_path / "e")
    aside = tmp_path / f".e.winit-{pid}-{output._HOST}-0123abcd.old.tmp"
    write_npy_dir([src("y")], aside)
    (aside / "mine.txt").write_text("not winit's")
    with pytest.warns(UserWarning) as rec:
        output.remove_stale_temporaries(tmp_path)
    assert [str(w.message) for w in rec] == [f"kept {aside}: it holds files winit did not write"]
    assert tree(aside) == {"mine.txt": b"not winit's"}


# ----------------------------------------------------------------------------- a full disk

RLIMIT_CHILD = textwrap.dedent("""
    import resource, signal, sys
    from winit.cli import main
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    sys.exit(main(sys.argv[1:]))
""")


def _mount_tmpfs(d) -> bool:
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)],
                       capture_output=True)
    return r.returncode == 0


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory):
    """A 1 MB tmpfs when the tests may mount one (root on Linux), else None."""
    d = tmp_path_factory.mktemp("tmpfs")
    if not _mount_tmpfs(d):
        yield None
        return
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], capture_output=True)


@pytest.mark.parametrize("out", ["m.safetensors", "d"])
def test_disk_full(tmp_path, small_disk, capfd, out):
    """``winit init`` of a 4 MB model onto a 1 MB tmpfs (or, where none can be mounted, in a
    child under a 1 MB RLIMIT_FSIZE): one error line, the old output intact, no temporary."""
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"w": {"shape": [1024, 1024], "init": "normal"}}))
    disk = small_disk / out.replace(".", "_") if small_disk is not None else tmp_path / "disk"
    disk.mkdir()
    dest = disk / out
    winit.init_model({"w": {"shape": [4], "init": "ones"}}, dest, progress=False)
    before = tree(dest) if dest.is_dir() else dest.read_bytes()
    argv = ["init", str(spec), "-o", str(dest), "--overwrite", "--no-progress"]
    if small_disk is not None:
        rc, err = main(argv), capfd.readouterr().err
    else:
        r = run_python(["-c", RLIMIT_CHILD, *argv], timeout=120)
        rc, err = r.returncode, r.stderr
    assert rc == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("winit init: error: "), err
    assert "No space left on device" in lines[0] or "File too large" in lines[0], lines
    assert (tree(dest) if dest.is_dir() else dest.read_bytes()) == before
    assert temporaries(disk) == []


@pytest.mark.skipif(not os.path.exists("/proc/self/mounts"), reason="needs /proc/self/mounts")
def test_filesystem_type():
    assert output.filesystem_type("/proc/self") == "proc"
    assert output.filesystem_type("/") is not None
    if os.path.isdir("/dev/shm"):
        kind = output.filesystem_type("/dev/shm/not-there/x.safetensors")
        assert kind == output.filesystem_type("/dev/shm")


def test_memory_filesystem_checks_free_space_before_any_write(tmp_path, monkeypatch):
    """On tmpfs the space is not fallocated (that zeroes every page first, as slow as the
    write): the free space is checked instead, and a short one fails before any write."""
    class Vfs:
        f_bavail, f_frsize = 10, 4096

    writes, fallocs = [], []
    monkeypatch.setattr(output, "filesystem_type", lambda p: "tmpfs")
    monkeypatch.setattr(os, "fstatvfs", lambda fd: Vfs)
    monkeypatch.setattr(os, "posix_fallocate", lambda *a: fallocs.append(a))
    real_pwrite = os.pwrite
    monkeypatch.setattr(os, "pwrite",
                        lambda fd, b, pos: writes.append(pos) or real_pwrite(fd, b, pos))
    dest = tmp_path / "m.safetensors"
    with pytest.raises(OSError, match=r"No space left on device \(\d+ bytes to write, 40960 free"):
        winit.init_model({"w": {"shape": [128, 128], "init": "normal"}}, dest, progress=False)
    assert writes == [] and fallocs == [] and os.listdir(tmp_path) == []
    winit.init_model({"w": {"shape": [32, 32], "init": "normal"}}, dest, progress=False)
    assert writes and fallocs == [] and dest.stat().st_size > 32 * 32 * 4


def test_other_filesystems_are_fallocated(tmp_path, monkeypatch):
    fallocs = []
    monkeypatch.setattr(output, "filesystem_type", lambda p: "ext4")
    monkeypatch.setattr(os, "posix_fallocate", lambda fd, off, n: fallocs.append((off, n)))
    winit.init_model({"w": {"shape": [32, 32], "init": "normal"}}, tmp_path / "m.safetensors",
                     progress=False)
    assert len(fallocs) == 1 and fallocs[0][0] == 0 and fallocs[0][1] > 32 * 32 * 4
