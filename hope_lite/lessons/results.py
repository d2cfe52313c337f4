"""Finding the repository's committed files (results JSON, run checkpoints) wherever the caller runs."""

from __future__ import annotations

from pathlib import Path

__all__ = ["find_in_repository", "REPOSITORY"]

REPOSITORY = Path(__file__).resolve().parents[2]          # hope_lite/lessons/ -> the checkout


def find_in_repository(path: str | Path) -> Path | None:
    """``path`` if it is a file; a relative path is also looked for in the folders above the working
    directory (a notebook runs in ``notebooks/``) and in the checkout that holds the package. None
    when not found."""
    path = Path(path)
    if path.is_absolute():
        return path if path.is_file() else None
    for base in [Path.cwd(), *Path.cwd().parents, REPOSITORY]:
        if (base / path).is_file():
            return base / path
    return None
