"""Chunked prediction cache: each finished batch is one small JSON file, so an
interrupted evaluation resumes where it stopped. A fingerprint of the model files and
the generation inputs guards against reusing predictions of something else."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from vtscale.io import read_json, write_json

log = logging.getLogger(__name__)


def model_fingerprint(model_dir: str | Path) -> str:
    """Names, sizes and modification times of the model's files (cheap; no hashing of weights)."""
    digest = hashlib.sha256()
    for path in sorted(Path(model_dir).rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(model_dir)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def inputs_fingerprint(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class PredictionCache:
    def __init__(self, folder: str | Path, fingerprint: str):
        self.folder = Path(folder)
        self.fingerprint = fingerprint
        meta = self.folder / "meta.json"
        if meta.exists() and read_json(meta).get("fingerprint") != fingerprint:
            log.warning("%s: cached predictions are for another model or input; starting over",
                        self.folder)
            shutil.rmtree(self.folder)
        if not meta.exists():
            write_json(meta, {"fingerprint": fingerprint})

    def load(self) -> dict[str, str]:
        preds: dict[str, str] = {}
        for chunk in sorted(self.folder.glob("chunk_*.json")):
            preds.update(read_json(chunk))
        return preds

    def add(self, predictions: dict[str, str]) -> None:
        count = len(list(self.folder.glob("chunk_*.json")))
        write_json(self.folder / f"chunk_{count:06d}.json", predictions, indent=None)
