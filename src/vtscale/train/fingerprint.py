"""What a training run was built from, as one digest: the content of the files and
folders it reads (starting weights, data) and of the package's own code. A checkpoint
records it, and only a run with the same digest resumes it, so a changed stage 1 never
leaves stage 2 resuming the weights it trained on the old one."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import vtscale

CHUNK = 1 << 20


def _hash_file(path: Path, digest) -> None:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)


def _hash_path(path: Path, digest) -> None:
    """A file's bytes, or every file below a folder (relative name and bytes, sorted)."""
    if path.is_file():
        _hash_file(path, digest)
        return
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(child.relative_to(path)).encode() + b"\0")
        _hash_file(child, digest)


def inputs_digest(inputs: Iterable[str | Path | None], code: bool = True) -> str:
    """Digest of ``inputs`` in order (``None`` skipped; a name that is no local path, such
    as a hub id, by its name) and, with ``code``, of the vtscale package's source."""
    digest = hashlib.sha256()
    for item in inputs:
        if item is None:
            continue
        path = Path(item)
        digest.update(f"<{item}>".encode())
        if path.exists():
            _hash_path(path, digest)
    if code:
        digest.update(code_digest().encode())
    return digest.hexdigest()[:16]


def code_digest() -> str:
    """The package's Python source, so a resumed run never mixes two versions of the code."""
    root = Path(vtscale.__file__).parent
    digest = hashlib.sha256()
    for source in sorted(root.rglob("*.py")):
        digest.update(str(source.relative_to(root)).encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]
