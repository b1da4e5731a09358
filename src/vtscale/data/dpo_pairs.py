"""DPO preference pairs (docs/formats.md): ``dpo.jsonl``, one ``{"system", "question",
"chosen", "rejected"}`` object a line (the demo world's), or a hub dataset with those
columns (paper: Intel/orca_dpo_pairs).

``system`` may be missing or empty; the other fields must be strings (an empty answer is
the reader's business: the divergence analysis drops such pairs).
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path

from vtscale.errors import InputError
from vtscale.io import read_jsonl, write_jsonl

PAIR_FIELDS = ("system", "question", "chosen", "rejected")


@dataclasses.dataclass
class DpoPair:
    system: str
    question: str
    chosen: str
    rejected: str


def load_pairs(source: str, max_pairs: int, seed: int) -> list[DpoPair]:
    """A jsonl file of DPO pairs or a hub dataset id; a seeded ``max_pairs`` of them, in order."""
    path = Path(source)
    if path.suffix == ".jsonl" or path.exists():
        records = _read_pair_file(path)
        where = [f"{path}:{i}" for i in range(1, len(records) + 1)]
    else:
        records = _load_hub_dataset(source)
        where = [f"{source}[{i}]" for i in range(len(records))]
    pairs = [_to_pair(r, w) for r, w in zip(records, where)]
    if len(pairs) > max_pairs:
        chosen = sorted(random.Random(seed).sample(range(len(pairs)), max_pairs))
        pairs = [pairs[i] for i in chosen]
    return pairs


def write_pairs(path: str | os.PathLike, rows: list[dict]) -> None:
    write_jsonl(path, rows)


def _read_pair_file(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError(f"{path}: DPO pairs file not found")
    return read_jsonl(path)


def _load_hub_dataset(name: str) -> list[dict]:
    import datasets
    try:
        return list(datasets.load_dataset(name, split="train"))
    except Exception as err:   # offline, unknown id, ...: one line naming the source
        raise InputError(f"{name}: cannot load DPO dataset ({type(err).__name__}: {err})") from None


def _to_pair(record: object, where: str) -> DpoPair:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected an object with fields {', '.join(PAIR_FIELDS)}")
    for field in PAIR_FIELDS:
        value = record.get(field, "" if field == "system" else None)
        if not isinstance(value, str):
            raise InputError(f"{where}: field {field!r} missing or not a string")
    return DpoPair(**{f: record.get(f) or "" for f in PAIR_FIELDS})
