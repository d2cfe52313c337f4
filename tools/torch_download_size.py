"""How much a Linux x86-64 machine downloads for PyTorch, from PyPI (the CUDA build) or from PyTorch's CPU index.

    python tools/torch_download_size.py                 # torch 2.13.0 for this Python
    python tools/torch_download_size.py --version 2.12.0 --python 312
    python tools/torch_download_size.py --local /opt/wheels   # and the size of a CPU wheel lying there

It asks the package indexes (PEP 691 JSON) for the wheel of ``torch==VERSION`` for this Python on
manylinux x86-64, reads the wheel's own METADATA without downloading it (HTTP range requests on the zip),
and adds the wheels of the ``nvidia-*``/``triton`` packages it requires on Linux. An index it cannot reach is
reported, not guessed. The README's install section quotes this command's output.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import urllib.request
import zipfile
from pathlib import Path

PYPI = "https://pypi.org/simple"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _get(url: str, headers: dict | None = None) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as response:
        return response.read()


def _files(index: str, project: str) -> list[dict]:
    """The files of ``project`` on a PEP 691 index (name, url, size)."""
    data = json.loads(_get(f"{index}/{project}/", {"Accept": "application/vnd.pypi.simple.v1+json"}))
    return data["files"]


class _RemoteFile(io.RawIOBase):
    """A read-only file over HTTP range requests: enough for zipfile to read one member of a remote wheel."""

    def __init__(self, url: str, size: int):
        self.url, self.size, self.position = url, size, 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.position = {0: offset, 1: self.position + offset, 2: self.size + offset}[whence]
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, n: int = -1) -> bytes:
        end = self.size if n < 0 else min(self.size, self.position + n)
        if end <= self.position:
            return b""
        data = _get(self.url, {"Range": f"bytes={self.position}-{end - 1}"})
        self.position += len(data)
        return data


def _wheel(files: list[dict], requirement, python: str) -> dict | None:
    """The newest manylinux x86-64 (or pure-Python) wheel for ``cp<python>`` whose version ``requirement`` allows."""
    from packaging.utils import parse_wheel_filename

    best = None
    for f in files:
        if not f["filename"].endswith(".whl"):
            continue
        _, version, _, tags = parse_wheel_filename(f["filename"])
        fits = any((t.interpreter in (f"cp{python}", "py3") and ("manylinux" in t.platform and "x86_64" in t.platform
                    or t.platform == "any")) for t in tags)
        if fits and requirement.specifier.contains(version.public, prereleases=False) and (best is None or version > best[0]):
            best = (version, f)
    return best[1] if best else None


def linux_requirements(wheel: dict, python: str, extras: set[str] = frozenset()) -> list:
    """The requirements a remote wheel's METADATA adds on Linux (with ``extras`` asked for), read by range requests."""
    from packaging.requirements import Requirement

    with zipfile.ZipFile(_RemoteFile(wheel["url"], wheel["size"])) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(meta).decode()
    found = []
    for line in text.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req = Requirement(line.split(":", 1)[1].strip())
        env = {"platform_system": "Linux", "sys_platform": "linux", "platform_machine": "x86_64",
               "python_version": f"{python[0]}.{python[1:]}"}
        # a marked requirement that holds on Linux x86-64: without extras asked for, the Linux-only ones (the CUDA
        # libraries; what every platform needs is a few MB of pure Python), with extras, those the extras add
        if req.marker is not None and any(req.marker.evaluate({**env, "extra": e}) for e in (extras or {""})):
            if extras or "linux" in str(req.marker).lower():
                found.append(req)
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", default="2.13.0")
    p.add_argument("--python", default=f"{sys.version_info.major}{sys.version_info.minor}", help="e.g. 311")
    p.add_argument("--local", metavar="DIR", help="also report the CPU wheels of that torch version lying in DIR "
                   "(a pip --find-links folder or a download cache)")
    args = p.parse_args(argv)
    mb = lambda n: f"{n / 1e6:,.0f} MB"                                     # noqa: E731

    from packaging.requirements import Requirement

    torch_wheel = _wheel(_files(PYPI, "torch"), Requirement(f"torch=={args.version}"), args.python)
    if torch_wheel is None:
        print(f"PyPI has no torch {args.version} wheel for cp{args.python} manylinux x86_64")
        return 1
    total = torch_wheel["size"]
    print(f"PyPI (the CUDA build): {torch_wheel['filename']}  {mb(torch_wheel['size'])}")
    todo, seen = [(req, 1) for req in linux_requirements(torch_wheel, args.python)], set()
    while todo:                                  # the Linux-only requirements, and what their extras pull in
        req, depth = todo.pop(0)
        wheel = _wheel(_files(PYPI, req.name.lower().replace("_", "-")), req, args.python)
        if wheel is None or wheel["filename"] in seen:
            print(f"{'  ' * depth}+ {req.name}  {'(counted above)' if wheel else 'no Linux x86-64 wheel found'}")
            continue
        seen.add(wheel["filename"])
        total += wheel["size"]
        print(f"{'  ' * depth}+ {wheel['filename']}  {mb(wheel['size'])}")
        if req.extras:
            todo[:0] = [(r, depth + 1) for r in linux_requirements(wheel, args.python, set(req.extras))]
    print(f"  = {mb(total)} to download from PyPI (torch's pure-Python requirements, a few MB, not counted)")
    try:
        cpu = _wheel(_files(CPU_INDEX, "torch"), Requirement(f"torch=={args.version}"), args.python)
        print(f"PyTorch's CPU index: {cpu['filename']}  {mb(cpu['size'])}" if cpu else
              f"PyTorch's CPU index has no torch {args.version} wheel for cp{args.python}")
    except OSError as err:
        print(f"PyTorch's CPU index ({CPU_INDEX}) is not reachable from here: {err}")
    for path in sorted(Path(args.local).glob(f"torch-{args.version}+cpu-cp{args.python}-*.whl")) if args.local else []:
        print(f"a local copy of the CPU build: {path.name}  {mb(path.stat().st_size)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
