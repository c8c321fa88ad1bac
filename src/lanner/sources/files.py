"""Expanding the paths a user gives into the log files to read."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from lanner.errors import InputError, Location


def _is_hidden(path: Path, root: Path) -> bool:
    # Hidden below the folder the user named (".git", ".DS_Store", editor swap files); the
    # named folder itself may be hidden on purpose.
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield every log file named by `paths`, expanding folders recursively.

    Folders are walked in sorted order so runs are deterministic; hidden files and folders
    inside them are skipped. A path that does not exist raises `InputError` before anything
    is yielded for it.
    """
    for given in paths:
        path = Path(given)
        if path.is_file():
            yield path
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not _is_hidden(child, path):
                    yield child
        elif path.exists():
            raise InputError("not a regular file or folder", Location(str(path)))
        else:
            raise InputError("no such file or folder; check the path", Location(str(path)))
