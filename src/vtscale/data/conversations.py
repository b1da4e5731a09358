"""LLaVA-format conversation files (docs/formats.md) as a dataset of :class:`Sample`.

Every record is validated when the file is read, so a bad record fails the run
before training starts; images are only opened in ``__getitem__``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from torch.utils.data import Dataset

from vtscale.data.sample import Sample, Turn
from vtscale.errors import InputError
from vtscale.io import read_json_list

IMAGE_MARKER = "<image>"
SPEAKERS = ("human", "gpt")


@dataclass
class Record:
    id: str
    image: Path
    turns: list[Turn]


def strip_image_marker(text: str) -> str:
    """Remove LLaVA's ``<image>`` placeholder (and the newline that follows it)."""
    return text.replace(IMAGE_MARKER + "\n", "").replace(IMAGE_MARKER, "").strip()


def parse_turns(conversation: list, where: str) -> list[Turn]:
    """Pair alternating human/gpt messages into turns; ``where`` names file and record."""
    if not isinstance(conversation, list) or not conversation:
        raise InputError(f"{where}: empty conversation")
    if len(conversation) % 2:
        raise InputError(f"{where}: odd number of messages ({len(conversation)}); "
                         "expected human/gpt pairs")
    turns = []
    for i in range(0, len(conversation), 2):
        pair = conversation[i:i + 2]
        speakers = tuple(m.get("from") if isinstance(m, dict) else None for m in pair)
        if speakers != SPEAKERS:
            raise InputError(f"{where}: messages {i}-{i + 1} come from {speakers}, "
                             f"expected {SPEAKERS}")
        question, answer = (m.get("value") for m in pair)
        if not isinstance(question, str) or not isinstance(answer, str):
            raise InputError(f"{where}: message {i} or {i + 1} has no text 'value'")
        turns.append(Turn(question=strip_image_marker(question), answer=answer.strip()))
    return turns


def parse_record(raw: dict, index: int, path: Path, image_root: Path) -> Record:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: record {index} is not an object")
    record_id = str(raw.get("id", f"#{index}"))
    where = f"{path}: record {record_id!r}"
    if not raw.get("image"):
        raise InputError(f"{where}: no 'image' field")
    image = image_root / raw["image"]
    if not image.is_file():
        raise InputError(f"{where}: image file {image} not found")
    return Record(record_id, image, parse_turns(raw.get("conversations"), where))


def read_records(path: str | Path, image_root: str | Path,
                 max_samples: int | None = None, seed: int = 0) -> list[Record]:
    """Read and validate a LLaVA json; keep a seeded random ``max_samples`` subset
    (in file order), since mixtures are often ordered by source."""
    path, image_root = Path(path), Path(image_root)
    raw = read_json_list(path)
    records = [parse_record(r, i, path, image_root) for i, r in enumerate(raw)]
    if max_samples and max_samples < len(records):
        keep = sorted(random.Random(seed).sample(range(len(records)), max_samples))
        records = [records[i] for i in keep]
    return records


def load_image(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


class RecordDataset(Dataset):
    """The validated records of a LLaVA json; images stay unread (for callers that
    read them their own way, such as a cache of frozen vision-tower outputs)."""

    def __init__(self, path: str | Path, image_root: str | Path,
                 max_samples: int | None = None, seed: int = 0):
        self.records = read_records(path, image_root, max_samples, seed)
        if not self.records:
            raise InputError(f"{path}: no records")

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> Record:
        return self.records[index]


class ConversationDataset(RecordDataset):
    """``Sample`` per record of a LLaVA-format json; images relative to ``image_root``."""

    def __getitem__(self, index: int) -> Sample:
        record = self.records[index]
        return Sample(id=record.id, image=load_image(record.image), turns=list(record.turns))
