"""Atomic file output and small JSON helpers shared by every stage.

Every stage writes through these so that an interrupted run never leaves a
half-written artifact behind: content goes to a temporary file in the target's
folder, then ``os.replace`` renames it into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from vtscale.errors import InputError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; swap it in for ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2, allow_nan: bool = True) -> None:
    """``allow_nan=False``: a NaN or infinity, which JSON has no word for, raises ValueError
    instead of being written."""
    write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, sort_keys=False,
                                allow_nan=allow_nan) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[Any]) -> None:
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def read_json_list(path: str | os.PathLike, what: str = "records") -> list:
    """A JSON file holding a list; anything else is an InputError naming the file."""
    try:
        data = read_json(path)
    except ValueError as err:
        raise InputError(str(err)) from None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of {what}")
    return data


def write_throughput(path: str | os.PathLike, unit: str, count: int, seconds: float) -> None:
    """Items per second of a stage, e.g. {"pages": 120, "seconds": 134.4, "pages_per_s": 0.89}."""
    write_json(path, {unit: count, "seconds": round(seconds, 3),
                      f"{unit}_per_s": round(count / seconds, 4) if seconds else None})


def _jsonl_values(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """(line number, value) per non-blank line; InputError naming the line otherwise."""
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}: line {lineno} is not valid JSON ({err.msg})") from None


def read_jsonl(path: str | os.PathLike) -> list[Any]:
    return [value for _, value in _jsonl_values(path)]


def iter_jsonl_objects(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) per non-blank line; InputError naming the line otherwise."""
    for lineno, record in _jsonl_values(path):
        if not isinstance(record, dict):
            raise InputError(f"{path}: line {lineno} is not a JSON object")
        yield lineno, record


def write_csv(path: str | os.PathLike, frame, **options) -> None:
    """A pandas frame without its index; ``options`` go to ``DataFrame.to_csv`` (sep, float_format)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, **options)
