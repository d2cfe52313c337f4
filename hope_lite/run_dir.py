"""A run directory that loses nothing: one writer at a time, files replaced whole, checkpoints checksummed.

The trainer (:mod:`hope_lite.train`) keeps a run in a directory. This module is how it touches the
disk, so that no kill, crash, second trainer, full disk or flipped byte can leave a run that is
silently wrong:

* **One writer.** :class:`RunLock` holds ``.lock`` (the holder's pid, host and process start time)
  while a trainer writes. A second trainer on the same directory is refused, with the holder named.
  A lock whose process is gone (same host, pid not running or reused by another process) is stale
  and taken over, with a message.
* **Files replaced whole.** :func:`atomic_write` writes a uniquely named temporary file beside the
  target, flushes and fsyncs it, renames it over the target and fsyncs the directory: after a kill
  at any moment the target holds either all of the old bytes or all of the new ones.
  ``metrics.jsonl`` grows by appends (:class:`MetricsLog`, flushed every row and fsynced before each
  checkpoint; rows after the last checkpoint are redone on resume anyway), and :func:`read_metrics`
  drops a torn last line with a warning.
* **Checksums.** :func:`save_checkpoint` writes ``checkpoint.pt.sha256`` beside the checkpoint and
  :func:`read_checkpoint_bytes` verifies it. The sum file is updated in two atomic steps (first it
  lists the old and the new checkpoint's sums, then the new one only), so that a kill between the two
  renames never makes a good checkpoint look corrupt.
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

import torch

__all__ = ["RunDirError", "RunLock", "atomic_write", "read_json", "read_metrics", "MetricsLog", "save_checkpoint",
           "read_checkpoint_bytes", "torch_load_bytes", "remove_leftover_temps", "describe_os_error", "LOCK", "CHECKSUM_SUFFIX"]

LOCK = ".lock"
CHECKSUM_SUFFIX = ".sha256"


class RunDirError(ValueError):
    """A problem with a run directory or one of its files; the message names it and says what to do."""


def describe_os_error(err: OSError, doing: str) -> str:
    """One line for an OSError met while ``doing`` (e.g. "writing runs/a/checkpoint.pt"), with the fix."""
    fixes = {
        errno.ENOSPC: "free some space, then run again with --resume: the files already there are intact",
        errno.EDQUOT: "free some of your disk quota, then run again with --resume",
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


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: field 22 of /proc/<pid>/stat), or None where unknown.

    A pid can be reused after its process ends; the start time tells the two processes apart.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]      # fields after the "(command)", which may hold spaces


def _running(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)                  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                      # it exists, under another user
    now = _process_start(pid)
    return started is None or now is None or now == started


class RunLock:
    """``with RunLock(directory):`` — only one trainer writes a run directory at a time.

    The lock file ``.lock`` holds JSON ``{"pid", "host", "process_start", "since"}``; it is created
    with its content already in place (written to a temp file, then hard-linked to ``.lock``, which
    fails when the lock exists), so a reader never sees a half-written lock.
    """

    def __init__(self, directory: str | Path, log: Callable[[str], None] = print) -> None:
        self.path = Path(directory) / LOCK
        self.log = log
        self.held = False
        self.me = {"pid": os.getpid(), "host": socket.gethostname(), "process_start": _process_start(os.getpid()),
                   "since": time.strftime("%Y-%m-%d %H:%M:%S")}

    def _create(self) -> bool:
        """True when the lock is now ours, False when it already exists."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".lock.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self.me) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(tmp)

    def _holder(self) -> dict | None:
        try:
            holder = json.loads(self.path.read_text())
            return holder if isinstance(holder, dict) and isinstance(holder.get("pid"), int) else None
        except (OSError, ValueError):
            return None

    def acquire(self) -> None:
        try:
            if self._create():
                self.held = True
                return
            holder = self._holder()
            if holder is None:
                raise RunDirError(f"{self.path} exists but cannot be read; if no trainer is writing {self.path.parent}, "
                                  f"delete {self.path} and run again.")
            same_host = holder.get("host") == self.me["host"]
            if same_host and not _running(holder["pid"], holder.get("process_start")):
                self.log(f"taking over the stale lock of {self.path.parent} (pid {holder['pid']} is no longer running)")
                os.unlink(self.path)
                if self._create():
                    self.held = True
                    return
                holder = self._holder() or holder       # another trainer took it in between
            where = "" if same_host else f" on host {holder.get('host')!r}"
            raise RunDirError(f"{self.path.parent} is being written by another trainer (pid {holder['pid']}{where}, "
                              f"since {holder.get('since')}); wait for it to finish or choose another --out. "
                              f"If no trainer is running, delete {self.path}.")
        except OSError as err:
            raise RunDirError(describe_os_error(err, f"creating the lock {self.path}")) from None

    def release(self) -> None:
        if self.held:
            self.held = False
            holder = self._holder()
            if holder is not None and holder.get("pid") == self.me["pid"]:
                try:
                    os.unlink(self.path)
                except OSError:
                    pass

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
            if not isinstance(row, dict) or "step" not in row or "kind" not in row:
                raise ValueError("not a metrics row")
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
        self.file.close()


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
    return {line.split()[0] for line in text.splitlines() if line.strip()}


def _write_sums(path: Path, sums: list[str]) -> None:
    atomic_write(_sums_path(path), "".join(f"{s}  {path.name}\n" for s in sums).encode())


def save_checkpoint(path: Path, payload: dict) -> None:
    """Save ``payload`` to ``path`` whole, with its SHA-256 in ``path.sha256``.

    The payload is serialized in memory first, so a full disk is a plain OSError from the write
    (named and explained), never a half-written zip archive.
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    new = hashlib.sha256(data).hexdigest()
    old = sorted((_read_sums(path) or set()) - {new})
    _write_sums(path, [new, *old])     # 1. the sum file accepts the old checkpoint and the new one
    atomic_write(path, data)           # 2. the checkpoint is replaced at once
    _write_sums(path, [new])           # 3. only the new one


def read_checkpoint_bytes(path: str | Path) -> bytes:
    """The bytes of checkpoint ``path``, verified against ``path.sha256``.

    A missing file, a file that does not match its checksum, or an unreadable one is a RunDirError.
    A checkpoint without a sum file (written elsewhere, or before checksums) loads with a warning.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RunDirError(f"{path} does not exist; train with out={str(path.parent)!r} first.") from None
    except OSError as err:
        raise RunDirError(describe_os_error(err, f"reading {path}")) from None
    sums = _read_sums(path)
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
