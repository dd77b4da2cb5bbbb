"""Safe outputs: nothing is lost, nothing is left half written.

Every file and directory winit writes goes through here. It is written under a
temporary name next to its destination (``.NAME.winit-PID-HOST-RANDOM.tmp``: the
writer's process id and a hash of its host name), fsynced, then published in one
rename; a failure, Ctrl-C, SIGTERM or SIGHUP (``winit init``) removes the temporary
and leaves the old output intact. After a SIGKILL or a power loss the temporary stays,
and the next write into the same directory removes it (:func:`remove_stale_temporaries`,
with a warning).

A directory output (:func:`staged_output_dir`) holds a manifest, :data:`MANIFEST`::

    {"format": "winit-output-dir", "winit": "0.1.0", "files": ["a.npy", "b.npy"]}

listing every file written (relative paths, sorted). An existing directory is replaced
only when it is empty or holds nothing but what its manifest lists
(:func:`check_output_dir`); any other directory is refused, with or without
``overwrite``, naming the files that would be lost.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ._config import _version

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "MEMORY_FILESYSTEMS",
    "check_output_dir",
    "filesystem_type",
    "remove_stale_temporaries",
    "staged_file",
    "staged_output_dir",
    "write_file",
]

#: File name of the manifest in every directory winit writes.
MANIFEST = ".winit-manifest.json"
#: The manifest's ``"format"`` value.
MANIFEST_FORMAT = "winit-output-dir"

_HOST = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.winit-(?P<pid>\d+)-(?P<host>[0-9a-f]{8})-[0-9a-f]{8}"
                     r"\.(?P<kind>old\.tmp|tmp)$")


# --------------------------------------------------------------------------- directories


def _dir_entries(d: Path) -> Iterator[str]:
    """Relative paths of everything below ``d`` that is not a directory (links included)."""
    for root, dirs, files in os.walk(d):
        rel = Path(root).relative_to(d)
        for name in files + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
            yield (rel / name).as_posix()


def _manifest_files(d: Path) -> set[str]:
    """The files the manifest of ``d`` lists; ValueError when it is missing or invalid."""
    try:
        data = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"it was not written by winit (it has no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"its {MANIFEST} is unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT \
            or not isinstance(data.get("files"), list):
        raise ValueError(f"its {MANIFEST} is not a winit manifest")
    return {str(f) for f in data["files"]}


def _foreign(d: Path) -> list[str]:
    """What replacing ``d`` would lose: all but the files its winit manifest lists
    (ValueError, before walking the tree, for a non-empty directory without one)."""
    with os.scandir(d) as it:
        if next(it, None) is None:
            return []
    listed = _manifest_files(d)
    return sorted(e for e in _dir_entries(d) if e != MANIFEST and e not in listed)


def check_output_dir(path, *, overwrite: bool = False) -> None:
    """Check that a directory output may be written at ``path``; raise why not.

    A directory output replaces only an empty directory or a directory winit wrote
    (one holding a :data:`MANIFEST`) that holds nothing but the files its manifest
    lists. Any other directory is refused, whatever ``overwrite`` says, so that no
    file a user put there is ever deleted. Every directory writer
    (:func:`staged_output_dir`) checks this before any work and again just before
    publishing.

    Parameters
    ----------
    path : str or os.PathLike
        The directory to write.
    overwrite : bool, default False
        Whether a replaceable directory may be replaced.

    Raises
    ------
    FileNotFoundError
        The parent directory does not exist.
    FileExistsError
        ``path`` is a file or a symbolic link; a directory winit did not write, or one
        holding files its manifest does not list (named); or, without ``overwrite``, an
        existing directory.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"output directory does not exist: {path.parent}")
    if path.is_symlink():
        raise FileExistsError(f"{path} is a symbolic link: winit replaces only a directory "
                              "it wrote")
    if not path.exists():
        return
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a directory")
    refuse = f"refusing to replace the directory {path}, even with overwrite"
    try:
        foreign = _foreign(path)
    except ValueError as exc:
        raise FileExistsError(f"{refuse}: {exc}; choose a new path or remove it yourself") \
            from None
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        raise FileExistsError(f"{refuse}: it holds files winit did not write: "
                              f"{', '.join(foreign[:5])}{more}; move them out first")
    if not overwrite:
        raise FileExistsError(f"{path} already exists (pass overwrite=True / --overwrite)")


# --------------------------------------------------------------------------- temporaries


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _tmp_name(path: Path, kind: str = "tmp") -> Path:
    """``.NAME.winit-PID-HOST-RANDOM.tmp`` (``.old.tmp``: an old output set aside)."""
    return path.with_name(
        f".{path.name}.winit-{os.getpid()}-{_HOST}-{secrets.token_hex(4)}.{kind}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # EPERM: alive, another user's; or no such pid ever
        return True
    return True


def _remove_old_dir(old: Path) -> bool:
    """Delete a replaced output directory: the files its manifest lists, then the empty
    directories; anything else stays, with a warning (then False)."""
    try:
        listed = _manifest_files(old)
    except ValueError:
        listed = set()
    for rel in sorted(listed | {MANIFEST}):
        with suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            os.unlink(old / rel)
    for root, _, _ in sorted(os.walk(old), key=lambda w: -len(w[0])):
        with suppress(OSError):
            os.rmdir(root)
    if os.path.lexists(old):
        warnings.warn(f"kept {old}: it holds files winit did not write", stacklevel=3)
        return False
    return True


def remove_stale_temporaries(directory) -> list[Path]:
    """Clean up after winit processes of this machine that were killed while writing.

    A temporary (``.NAME.winit-PID-HOST-RANDOM.tmp``) whose writer, process ``PID`` of
    this host, no longer runs is removed; an old output it had set aside
    (``... .old.tmp``) is renamed back to ``NAME`` if nothing is there now (the kill
    came between the two renames of a directory's replacement), else deleted. Each
    action is reported with a warning. The writers call this before writing into a
    directory.

    Parameters
    ----------
    directory : str or os.PathLike
        The directory to clean.

    Returns
    -------
    list of pathlib.Path
        The temporaries removed or restored.
    """
    directory = Path(directory)
    done = []
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return done
    for name in names:
        m = _TMP_RE.match(name)
        if not m or m["host"] != _HOST or _pid_alive(int(m["pid"])):
            continue
        p, dest = directory / name, directory / m["name"]
        what = f"process {m['pid']}, no longer running"
        try:
            if m["kind"] == "old.tmp" and not os.path.lexists(dest):
                os.rename(p, dest)
                warnings.warn(f"restored {dest} from {name} (set aside by winit {what})",
                              stacklevel=2)
            else:
                if m["kind"] == "old.tmp":
                    if not _remove_old_dir(p):
                        continue
                elif p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    os.unlink(p)
                warnings.warn(f"removed the stale temporary {p} (left by winit {what})",
                              stacklevel=2)
        except OSError as exc:
            warnings.warn(f"could not remove the stale temporary {p}: {exc}", stacklevel=2)
            continue
        done.append(p)
    return done


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends (main thread only), so that
    a multi-step publish is never left half done; they are then handled as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    old = {}
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            old[sig] = signal.signal(sig, lambda s, _frame: caught.append(s))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        for sig in caught:
            handler = old[sig]
            if callable(handler):
                handler(sig, None)
            elif handler in (signal.SIG_DFL, None):
                signal.raise_signal(sig)


# --------------------------------------------------------------------------- atomic output


def _publish_file(tmp: Path, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:  # atomic no-clobber: link fails if the destination appeared meanwhile
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(
            f"{path} already exists (pass overwrite=True / --overwrite)"
        ) from None
    except OSError:  # pragma: no cover - filesystems without hard links
        if path.exists():
            raise FileExistsError(f"{path} already exists") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


def _publish_dir(tmp: Path, path: Path, overwrite: bool) -> None:
    """Rename the finished directory ``tmp`` to ``path``; an old ``path`` is checked
    again, set aside, and deleted after (only the files its manifest lists). Signals
    wait until all of it is done."""
    with _signals_deferred():
        if not os.path.lexists(path):
            os.rename(tmp, path)
            return
        check_output_dir(path, overwrite=overwrite)  # files may have appeared meanwhile
        old = _tmp_name(path, "old.tmp")
        os.rename(path, old)
        os.rename(tmp, path)
        _remove_old_dir(old)


#: File systems whose ``fallocate`` allocates and zeroes memory pages: reserving space on
#: them costs about as much as writing it (measured on tmpfs: 0.35-0.5 s for 1.55 GB, a
#: third of a checkpoint's time), so only their free space is checked.
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs", "hugetlbfs"})


def filesystem_type(path) -> str | None:
    """The type of the file system holding ``path`` (``"ext4"``, ``"tmpfs"``...), from
    ``/proc/self/mounts`` (the longest mount point above it); None where unknown."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    real = os.path.realpath(path)
    best, kind = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mnt = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), parts[1])
        inside = real == mnt or real.startswith(mnt.rstrip("/") + "/")
        if inside and len(mnt) >= len(best):
            best, kind = mnt, parts[2]
    return kind


def _reserve(fd: int, size: int, where: Path) -> None:
    """Make a full disk fail now, before any work: ``posix_fallocate`` the file, or on a
    memory file system check the free space."""
    if filesystem_type(where) in MEMORY_FILESYSTEMS:
        st = os.fstatvfs(fd)
        free = st.f_bavail * st.f_frsize
        if free < size:
            raise OSError(errno.ENOSPC, f"No space left on device ({size} bytes to write, "
                          f"{free} free)", str(where))
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except (AttributeError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise


@contextmanager
def staged_file(path, *, overwrite: bool = False, size: int = 0) -> Iterator[int]:
    """A write fd on a new temporary file of ``size`` bytes, published as the file ``path``.

    Stale temporaries in the destination's directory are removed first
    (:func:`remove_stale_temporaries`). The space is reserved up front
    (``posix_fallocate``; on tmpfs and other memory file systems, where that costs as
    much as the write, a check of the free space): a full disk fails before any work; a
    disk that fills up during the write fails then, leaving nothing. When the block ends
    without error the file is fsynced and published: linked into place (no clobbering),
    or renamed over an old ``path`` with ``overwrite``. On any error or interruption the
    temporary file is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (its directory must exist).
    overwrite : bool, default False
        Replace an existing ``path``; otherwise :class:`FileExistsError` at publishing.
    size : int, default 0
        Bytes to reserve.

    Yields
    ------
    int
        A file descriptor open for writing (``os.pwrite``); do not close it.

    Raises
    ------
    FileExistsError
        ``path`` appeared and ``overwrite`` is False.
    OSError
        The disk is full (``ENOSPC`` / ``EFBIG``), or another write error.
    """
    path = Path(path)
    remove_stale_temporaries(path.parent)
    tmp = _tmp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        _reserve(fd, size, path.parent)
        yield fd
        os.fsync(fd)
        os.close(fd)
        fd = -1
        _publish_file(tmp, path, overwrite)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_file(path, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` as the file ``path``, atomically (:func:`staged_file`).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write (its directory must exist).
    data : bytes
        The content.
    overwrite : bool, default False
        Replace an existing ``path``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    mv = memoryview(data).cast("B")
    with staged_file(path, overwrite=overwrite, size=mv.nbytes) as fd:
        pos = 0
        while pos < mv.nbytes:
            pos += os.pwrite(fd, mv[pos:], pos)
    return Path(path)


def _write_manifest(d: Path) -> None:
    files = sorted(e for e in _dir_entries(d) if e != MANIFEST)
    text = json.dumps({"format": MANIFEST_FORMAT, "winit": _version(), "files": files},
                      indent=1)
    with open(d / MANIFEST, "w", encoding="utf-8") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def staged_output_dir(path, *, overwrite: bool = False) -> Iterator[Path]:
    """A new temporary directory to fill, published atomically as the directory ``path``.

    The one way winit writes an output directory. Before any work stale temporaries of
    killed winit processes are removed (:func:`remove_stale_temporaries`) and ``path``
    is checked (:func:`check_output_dir`). When the block ends without error, a
    :data:`MANIFEST` listing every file written is added, everything is fsynced, and
    the directory is renamed into place (an old winit output there is checked again,
    then replaced). On any error or interruption the temporary directory is removed
    and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The directory to write.
    overwrite : bool, default False
        Replace a directory winit wrote (never any other).

    Yields
    ------
    pathlib.Path
        The temporary directory (next to ``path``) to write the files into.

    Raises
    ------
    FileNotFoundError, FileExistsError
        As :func:`check_output_dir`.
    """
    path = Path(path)
    if path.parent.is_dir():  # first: a directory set aside by a killed writer comes back
        remove_stale_temporaries(path.parent)
    check_output_dir(path, overwrite=overwrite)
    tmp = _tmp_name(path)
    os.mkdir(tmp)
    try:
        yield tmp
        _write_manifest(tmp)
        _fsync_dir(tmp)
        _publish_dir(tmp, path, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


