"""A run directory that loses nothing: one writer at a time, files replaced whole, checkpoints checksummed.

The trainer (:mod:`hope_lite.train`) keeps a run in a directory. This module is how it touches the
disk, so that no kill, crash, second trainer, full disk or flipped byte can leave a run that is
silently wrong:

* **One writer.** :class:`RunLock` holds an exclusive ``flock`` on ``.lock`` while a trainer writes
  (the file names the holder: pid, host, since). A second trainer on the same directory is refused,
  with the holder named. The kernel drops the lock when its process ends, however it ends, so a
  trainer that died leaves no stale lock behind.
* **Files replaced whole.** :func:`atomic_write` writes a uniquely named temporary file beside the
  target, flushes and fsyncs it, renames it over the target and fsyncs the directory: after a kill
  at any moment the target holds either all of the old bytes or all of the new ones.
  ``metrics.jsonl`` grows by appends (:class:`MetricsLog`, flushed every row and fsynced before each
  checkpoint; rows after the last checkpoint are redone on resume anyway), and :func:`read_metrics`
  drops a torn last line with a warning.
* **Checksums.** :func:`save_checkpoint` writes ``checkpoint.pt.sha256`` beside the checkpoint and
  :func:`read_checkpoint_bytes` verifies it. The sum file lists the new checkpoint's sum and the one
  before it, and is replaced before the checkpoint is: a kill between the two renames, or a reader
  that read the old checkpoint just before a save, never sees a good checkpoint as corrupt.
* **One-line errors.** Every failure is a :class:`RunDirError` (a ``ValueError``) whose message names
  the file and says what to do; the command line prints it on one line and exits with status 2.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import socket
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

try:                                  # POSIX; absent on Windows
    import fcntl
except ImportError:                   # pragma: no cover
    fcntl = None

import torch

__all__ = ["RunDirError", "RunLock", "atomic_write", "read_json", "read_metrics", "MetricsLog", "save_checkpoint",
           "read_checkpoint_bytes", "torch_load_bytes", "remove_leftover_temps", "describe_os_error", "LOCK", "CHECKSUM_SUFFIX"]

LOCK = ".lock"
CHECKSUM_SUFFIX = ".sha256"
_UMASK = os.umask(0o022)                # read the process's umask (the only way is to set it) ...
os.umask(_UMASK)                        # ... and put it back at once


class RunDirError(ValueError):
    """A problem with a run directory or one of its files; the message names it and says what to do."""


def describe_os_error(err: OSError, doing: str) -> str:
    """One line for an OSError met while ``doing`` (e.g. "writing runs/a/checkpoint.pt"), with the fix."""
    fixes = {
        errno.ENOSPC: "free some space, then run again (with --resume once a checkpoint exists): the files "
                      "already there are intact",
        errno.EDQUOT: "free some of your disk quota, then run again (with --resume once a checkpoint exists)",
        errno.EACCES: "make the directory writable, or choose another --out",
        errno.EPERM: "make the directory writable, or choose another --out",
        errno.EROFS: "the file system is read-only: choose another --out",
    }
    what = err.strerror or type(err).__name__
    return f"{what} while {doing}; {fixes.get(err.errno, 'check the path and the disk, then run again')}."


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` all at once: temp file (unique name), fsync, rename, fsync the directory.

    On any failure the temp file is removed and ``path`` is as it was; an OSError becomes a RunDirError.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)   # mkstemp makes 0600; a run is readable like any file
            f.write(data)
            f.flush()
            os.fsync(f.fileno())           # the bytes are on disk before the name points at them
        os.replace(tmp, path)
        tmp = None
        _fsync_directory(path.parent)
    except OSError as err:
        raise RunDirError(describe_os_error(err, f"writing {path}")) from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def remove_leftover_temps(directory: Path, names: tuple[str, ...]) -> list[Path]:
    """Delete the temp files :func:`atomic_write` left for ``names`` when a writer was killed mid-write.

    Call it holding the directory's lock: then no other writer's temp file can be among them.
    """
    removed = []
    for name in names:
        for tmp in Path(directory).glob(f".{name}.*.tmp"):
            try:
                tmp.unlink()
                removed.append(tmp)
            except OSError:
                pass
    return removed


# ---------------------------------------------------------------------------------------------
# One writer per directory


class RunLock:
    """``with RunLock(directory):`` — only one trainer writes a run directory at a time.

    The lock is an exclusive ``flock`` on ``.lock``, a file that is never deleted: the kernel holds
    it for the process and drops it when the process ends, however it ends (``kill -9`` included),
    so there is no stale lock to detect and no window in which two trainers can both take it. While
    held, the file names the holder, JSON ``{"pid", "host", "since"}``, for the refusal message; it is
    emptied on release, so a holder found in it on acquiring is a trainer that died (said in a log
    line). Where ``fcntl`` does not exist (Windows) the run goes unlocked, with a warning.
    """

    def __init__(self, directory: str | Path, log: Callable[[str], None] = print) -> None:
        self.path = Path(directory) / LOCK
        self.log = log
        self.file = None

    @property
    def held(self) -> bool:
        return self.file is not None

    def _holder(self, f) -> dict | None:
        f.seek(0)
        try:
            holder = json.loads(f.read() or "null")
        except ValueError:
            return None
        return holder if isinstance(holder, dict) else None

    def acquire(self) -> None:
        if fcntl is None:
            warnings.warn(f"{self.path.parent}: this platform has no fcntl, so the run directory is not locked; "
                          f"do not start two trainers on it.", stacklevel=2)
            return
        try:
            f = open(self.path, "a+")
        except OSError as err:
            raise RunDirError(describe_os_error(err, f"creating the lock {self.path}")) from None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = self._holder(f) or {}
            f.close()
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise RunDirError(describe_os_error(err, f"locking {self.path}")) from None
            who = f"pid {holder.get('pid')} on host {holder.get('host')!r}, since {holder.get('since')}" \
                if holder else "its holder is starting"
            raise RunDirError(f"{self.path.parent} is being written by another trainer ({who}); wait for it to "
                              f"finish or choose another --out.") from None
        previous = self._holder(f)
        if previous is not None:
            self.log(f"{self.path.parent}: the trainer before (pid {previous.get('pid')} on {previous.get('host')!r}) "
                     f"ended without finishing; taking over its directory")
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        f.seek(0)
        f.truncate()
        f.write(json.dumps(me) + "\n")
        f.flush()
        self.file = f

    def release(self) -> None:
        if self.file is not None:
            f, self.file = self.file, None
            try:
                f.seek(0)
                f.truncate()             # empty: the next trainer finds no holder that died
                f.flush()
            except OSError:
                pass
            f.close()                    # closing the file drops the flock

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


# ---------------------------------------------------------------------------------------------
# config.json and metrics.jsonl


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; a bad file is a RunDirError that names it."""
    try:
        value = json.loads(Path(path).read_text())
    except OSError as err:
        raise RunDirError(describe_os_error(err, f"reading {path}")) from None
    except ValueError as err:
        raise RunDirError(f"{path} is not valid JSON ({err}); the trainer writes it whole, so it was edited or "
                          f"damaged: restore it, or choose another --out.") from None
    if not isinstance(value, dict):
        raise RunDirError(f"{path} holds a JSON {type(value).__name__}, not an object of run settings; restore it, "
                          f"or choose another --out.")
    return value


def read_metrics(path: Path, log: Callable[[str], None] = print) -> list[dict]:
    """The rows of ``metrics.jsonl``. A torn last line (a kill mid-append) is dropped with a message;
    a bad line elsewhere is a RunDirError that names it."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as err:
        doing = f"reading {path}"
        raise RunDirError(describe_os_error(err, doing) if isinstance(err, OSError)
                          else f"{path} is not text ({err}); restore it, or choose another --out.") from None
    lines = text.split("\n")
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("step"), int) or "kind" not in row:
                raise ValueError("not an object with an int step and a kind")
        except ValueError as err:
            if number == len(lines):              # the last line, not ended by a newline: a torn append
                log(f"{path}: dropping the torn last line {number} (an interrupted write); it will be redone")
                break
            raise RunDirError(f"{path} line {number} is not a metrics row ({err}); restore the file, or delete "
                              f"that line to resume without it.") from None
        rows.append(row)
    return rows


class MetricsLog:
    """Appends rows to ``metrics.jsonl``: each row flushed, the file fsynced by :meth:`sync`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.file = open(self.path, "a")
        except OSError as err:
            raise RunDirError(describe_os_error(err, f"opening {self.path}")) from None

    def append(self, row: dict) -> None:
        try:
            self.file.write(json.dumps(row) + "\n")
            self.file.flush()
        except OSError as err:
            raise RunDirError(describe_os_error(err, f"appending to {self.path}")) from None

    def sync(self) -> None:
        try:
            os.fsync(self.file.fileno())
        except OSError as err:
            raise RunDirError(describe_os_error(err, f"writing {self.path}")) from None

    def close(self) -> None:
        try:
            self.file.close()
        except OSError:                  # a flush that failed already raised its RunDirError
            pass


# ---------------------------------------------------------------------------------------------
# Checkpoints with a checksum beside them


def _sums_path(path: Path) -> Path:
    return path.with_name(path.name + CHECKSUM_SUFFIX)


def _read_sums(path: Path) -> set[str] | None:
    """The SHA-256 sums listed in ``path``'s sum file (``sha256sum`` format), or None when there is none."""
    try:
        text = _sums_path(path).read_text()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise RunDirError(describe_os_error(err, f"reading {_sums_path(path)}")) from None
    except UnicodeDecodeError:
        raise RunDirError(f"{_sums_path(path)} is not a text file of SHA-256 sums; restore it, or delete it to "
                          f"load {path.name} without an integrity check.") from None
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def _write_sums(path: Path, sums: list[str]) -> None:
    atomic_write(_sums_path(path), "".join(f"{s}  {path.name}\n" for s in sums).encode())


def save_checkpoint(path: Path, payload: dict) -> None:
    """Save ``payload`` to ``path`` whole, with its SHA-256 (and the previous checkpoint's) in ``path.sha256``.

    The payload is serialized in memory, so that its sum is known before anything is written.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    new = hashlib.sha256(data).hexdigest()
    current = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
    _write_sums(path, [new] + ([current] if current not in (None, new) else []))   # 1. accepts old and new
    atomic_write(path, data)                                                      # 2. replaced at once


def read_checkpoint_bytes(path: str | Path) -> bytes:
    """The bytes of checkpoint ``path``, verified against ``path.sha256``.

    A missing file, a file that does not match its checksum, or an unreadable one is a RunDirError.
    A checkpoint without a sum file (written elsewhere, or before checksums) loads with a warning.
    """
    path = Path(path)
    for attempt in range(3):             # a save between reading the file and its sums: read both again
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise RunDirError(f"{path} does not exist; train with out={str(path.parent)!r} first.") from None
        except OSError as err:
            raise RunDirError(describe_os_error(err, f"reading {path}")) from None
        sums = _read_sums(path)
        if sums is None or hashlib.sha256(data).hexdigest() in sums:
            break
        time.sleep(0.2)
    if sums is None:
        warnings.warn(f"{path} has no {path.name}{CHECKSUM_SUFFIX} beside it: loaded without an integrity check.",
                      stacklevel=3)
    elif hashlib.sha256(data).hexdigest() not in sums:
        raise RunDirError(f"{path} does not match its checksum in {path.name}{CHECKSUM_SUFFIX} ({len(data)} bytes): "
                          f"the file is corrupt or truncated. Restore it from a copy, or start the run again in "
                          f"another --out.")
    return data


def torch_load_bytes(data: bytes, path: Path, device: Any) -> Any:
    """``torch.load(weights_only=True)`` of checkpoint bytes: tensors and plain data only, nothing runs.

    A file that holds anything else (pickled code) or that is not a readable archive is a RunDirError.
    """
    try:
        return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        lines = [line.strip() for line in text.split("WeightsUnpickler error:")[-1].splitlines() if line.strip()]
        asks_for_code = [line for line in lines if "global" in line.lower()]   # a function or class to import
        reason = (asks_for_code or lines or [type(err).__name__])[0]
        if asks_for_code:
            raise RunDirError(f"{path} holds more than tensors and plain data ({reason}); it is not loaded, since "
                              "loading it could run code. A checkpoint written by hope_lite's trainer before "
                              "checkpoint format 2 cannot be resumed: start the run again.") from None
        raise RunDirError(f"{path} cannot be read as a checkpoint ({reason}); it is corrupt or "
                          f"truncated. Restore it from a copy, or start the run again in another --out.") from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise RunDirError(f"{path} cannot be read as a checkpoint ({first}); it is corrupt or truncated. Restore it "
                          f"from a copy, or start the run again in another --out.") from None
