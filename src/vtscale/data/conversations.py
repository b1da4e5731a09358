"""LLaVA-format conversation files (``conversations.json``, the augmentation outputs and
training mixtures; docs/formats.md): their validation, reading, writing, and the dataset
of :class:`Sample` the stages train on.

Every record is validated when the file is read, so a bad record fails the run
before training starts: its image must exist, and the images of the records kept must
open as images (``Image.verify``: the header, and for PNG every chunk's checksum; no
decoding). Images are decoded only in ``__getitem__``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from vtscale.data.sample import Sample, Turn
from vtscale.errors import InputError
from vtscale.io import read_json_list, write_json

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


def record_where(path: Path, record, index: int) -> str:
    """``<file>: record '<id>'`` (``'#<index>'`` without an id), for error messages."""
    record_id = record.get("id", f"#{index}") if isinstance(record, dict) else f"#{index}"
    return f"{path}: record {str(record_id)!r}"


def check_turns(conversation, where: str) -> None:
    """Non-empty human/gpt message pairs with text values; ``where`` names file and record."""
    if not isinstance(conversation, list) or not conversation:
        raise InputError(f"{where}: empty conversation")
    if len(conversation) % 2:
        raise InputError(f"{where}: odd number of messages ({len(conversation)}); "
                         "expected human/gpt pairs")
    for i in range(0, len(conversation), 2):
        pair = conversation[i:i + 2]
        speakers = tuple(m.get("from") if isinstance(m, dict) else None for m in pair)
        if speakers != SPEAKERS:
            raise InputError(f"{where}: messages {i}-{i + 1} come from {speakers}, "
                             f"expected {SPEAKERS}")
        if not all(isinstance(m.get("value"), str) for m in pair):
            raise InputError(f"{where}: message {i} or {i + 1} has no text 'value'")


def check_record(record, where: str) -> None:
    """A LLaVA record as written: an object with an 'id' and a valid conversation."""
    if not isinstance(record, dict) or "id" not in record:
        raise InputError(f"{where}: not an object with an 'id'")
    check_turns(record.get("conversations"), where)


def parse_turns(conversation: list, where: str) -> list[Turn]:
    """Pair alternating human/gpt messages into turns; ``where`` names file and record."""
    check_turns(conversation, where)
    return [Turn(question=strip_image_marker(conversation[i]["value"]),
                 answer=conversation[i + 1]["value"].strip())
            for i in range(0, len(conversation), 2)]


def with_image_marker(messages: list[dict]) -> list[dict]:
    """``<image>`` exactly once, at the start of the first human message."""
    messages = [dict(m) for m in messages]
    for message in messages:
        message["value"] = message["value"].replace(IMAGE_MARKER, "").strip()
    messages[0]["value"] = f"{IMAGE_MARKER}\n{messages[0]['value']}"
    return messages


def parse_record(raw: dict, index: int, path: Path, image_root: Path) -> Record:
    if not isinstance(raw, dict):
        raise InputError(f"{path}: record {index} is not an object")
    where = record_where(path, raw, index)
    if not raw.get("image"):
        raise InputError(f"{where}: no 'image' field")
    image = image_root / raw["image"]
    if not image.is_file():
        raise InputError(f"{where}: image file {image} not found")
    return Record(str(raw.get("id", f"#{index}")), image, parse_turns(raw.get("conversations"), where))


def check_image(record: Record, path: Path) -> None:
    """The record's image file opens as an image; else one line naming the JSON file,
    the record and the image."""
    try:
        with Image.open(record.image) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise InputError(f"{path}: record {record.id!r}: image file {record.image} is not a readable "
                         f"image ({type(err).__name__})") from None


def read_llava(path: str | Path) -> list[dict]:
    """The records of a LLaVA json as written, each checked by ``check_record``."""
    path = Path(path)
    records = read_json_list(path, "LLaVA records")
    for index, record in enumerate(records):
        check_record(record, record_where(path, record, index))
    return records


def read_turns(path: str | Path) -> list[tuple[str, list[Turn]]]:
    """(image as written, turns) per record, for readers of the text alone: images unchecked."""
    path = Path(path)
    rows = []
    for index, record in enumerate(read_json_list(path)):
        conversation = record.get("conversations") if isinstance(record, dict) else None
        turns = parse_turns(conversation, record_where(path, record, index))
        rows.append((record.get("image", ""), turns))
    return rows


def write_llava(path: str | Path, records: list[dict], indent: int | None = 2) -> None:
    write_json(path, records, indent=indent)


def read_records(path: str | Path, image_root: str | Path,
                 max_samples: int | None = None, seed: int = 0) -> list[Record]:
    """Read and validate a LLaVA json; keep a seeded random ``max_samples`` subset
    (in file order), since mixtures are often ordered by source. The kept records'
    images are checked to open."""
    path, image_root = Path(path), Path(image_root)
    raw = read_json_list(path)
    records = [parse_record(r, i, path, image_root) for i, r in enumerate(raw)]
    if max_samples and max_samples < len(records):
        keep = sorted(random.Random(seed).sample(range(len(records)), max_samples))
        records = [records[i] for i in keep]
    for record in records:
        check_image(record, path)
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
