"""``scenes.jsonl`` (docs/formats.md): the demo world's scene graph, one scene a line:
``{"id", "image", "split", "objects": [{"kind", "color", "size", "cell", "bbox"}],
"words": [{"text", "bbox"}]}``."""

from __future__ import annotations

import os
from typing import Iterator

from vtscale.errors import InputError
from vtscale.io import iter_jsonl_objects, write_jsonl


def _check_boxes(record: dict, where: str) -> None:
    for field in ("objects", "words"):
        items = record.get(field)
        if not isinstance(items, list) or any(not isinstance(i, dict) or len(i.get("bbox", [])) != 4
                                              for i in items):
            raise InputError(f"{where}: '{field}' must be a list of items with a 4-number 'bbox'")


def check_scene(record: dict, where: str, boxes: bool = False) -> None:
    """'image', 'split' and objects with a colour and a kind; with ``boxes`` also every
    object's and word's 4-number 'bbox'."""
    if not record.get("image") or "split" not in record or not isinstance(record.get("objects"), list):
        raise InputError(f"{where}: needs 'image', 'split' and an 'objects' list")
    if boxes:
        _check_boxes(record, where)
    if any(not isinstance(o, dict) or not {"color", "kind"} <= o.keys() for o in record["objects"]):
        raise InputError(f"{where}: every object needs 'color' and 'kind'")


def iter_scenes(path: str | os.PathLike, boxes: bool = False) -> Iterator[tuple[str, dict]]:
    """("<file>: line <n>", scene) per checked scene, read lazily."""
    for lineno, record in iter_jsonl_objects(path):
        where = f"{path}: line {lineno}"
        check_scene(record, where, boxes)
        yield where, record


def read_scenes(path: str | os.PathLike, boxes: bool = False) -> list[dict]:
    return [record for _, record in iter_scenes(path, boxes)]


def write_scenes(path: str | os.PathLike, records: list[dict]) -> None:
    write_jsonl(path, records)
