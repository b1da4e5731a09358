"""``descriptions.json`` (docs/formats.md): ``[{"id", "image", "description"}]``, one
detailed description per training image (SVIT style).

The one rule for an empty description: the record is skipped, and counted by the
caller (augment-qa reports it as ``skipped.empty_description``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from vtscale.errors import InputError
from vtscale.io import read_json_list, write_json

log = logging.getLogger(__name__)

FIELDS = ("id", "image", "description")


def _record_id(record) -> str:
    return str(record.get("id", "?")) if isinstance(record, dict) else "?"


def check_description(record, index: int, path: Path) -> None:
    missing = [k for k in FIELDS if not isinstance(record, dict) or k not in record]
    if missing:
        raise InputError(f"{path}: record {index} ({_record_id(record)}) lacks field {missing[0]!r}")
    if record["description"] is not None and not isinstance(record["description"], str):
        raise InputError(f"{path}: record {index} ({_record_id(record)}): field 'description' is not text")


def read_descriptions(path: str | os.PathLike) -> list[dict]:
    """Every record, validated; descriptions as written (empty ones included)."""
    path = Path(path)
    records = read_json_list(path, "description records")
    for index, record in enumerate(records):
        check_description(record, index, path)
    return records


def description_text(record: dict) -> str:
    """The description without surrounding whitespace; "" when empty or null."""
    return (record["description"] or "").strip()


def with_text(records: list[dict]) -> tuple[list[dict], int]:
    """(records whose description is not empty, how many were empty; each one logged)."""
    usable = []
    for record in records:
        if description_text(record):
            usable.append(record)
        else:
            log.warning("skipping description %s: empty description", record["id"])
    return usable, len(records) - len(usable)


def write_descriptions(path: str | os.PathLike, records: list[dict], indent: int | None = 2) -> None:
    write_json(path, records, indent=indent)
