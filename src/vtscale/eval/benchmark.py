"""A benchmark as read: its rows, the rows skipped and why, and the image data of a row.

The reader (``vtscale.eval.tsv``) builds these; scorers, prompts and standard errors
read them."""

from __future__ import annotations

import ast
import base64
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from vtscale.errors import InputError

# HallusionBench's ids, kept in ``Row.extra`` wherever a TSV has them.
HALLUSION_IDS = ("set_id", "figure_id", "question_id")

# Kinds of skipped rows, the keys of ``rows.skip_reasons`` in every scores JSON.
SKIP_MISSING_FIELD = "missing field"
SKIP_IMAGE_REFERENCE = "image reference"
SKIP_UNDECODABLE_IMAGE = "undecodable image"
SKIP_BAD_ANSWER = "bad answer"
SKIP_OPTION_MISMATCH = "option mismatch"
SKIP_KINDS = (SKIP_MISSING_FIELD, SKIP_IMAGE_REFERENCE, SKIP_UNDECODABLE_IMAGE, SKIP_BAD_ANSWER,
              SKIP_OPTION_MISMATCH)


@dataclass
class Row:
    index: str
    image_b64: str                          # one base64 image, or a list literal of several
    question: str
    answers: list[str]                      # one item, or the reference list
    options: dict[str, str] = field(default_factory=dict)
    hint: str | None = None
    category: str | None = None
    l2_category: str | None = None
    # the ``split`` column (ChartQA's test_human/test_augmented): None without the column,
    # "" where the column is there but the cell is missing (a row of no split)
    split: str | None = None
    image_key: str = ""                     # image_path, else a hash of the image data
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        return self.answers[0]

    def load_images(self) -> list[Image.Image]:
        """The row's images in message order (one for most benchmarks)."""
        return [decode_image(b64) for b64 in split_images(self.image_b64)]

    def load_image(self) -> Image.Image:
        images = self.load_images()
        if len(images) != 1:
            raise InputError(f"row index {self.index}: {len(images)} images where one is expected")
        return images[0]


@dataclass(frozen=True)
class SkippedRow:
    """A row left out of the score: the field at fault, the kind (one of SKIP_KINDS) and
    the full reason."""
    index: str
    field: str
    kind: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"index": self.index, "reason": self.reason}


@dataclass
class Benchmark:
    name: str
    type: str
    path: Path
    rows: list[Row]
    skipped: list[SkippedRow]
    circular: bool = False                  # MCQ scored by circular groups (metrics/mcq.py)

    @property
    def has_multi_image(self) -> bool:
        return any(is_image_list(row.image_b64) for row in self.rows)

    def skipped_list(self) -> list[dict[str, str]]:
        """Every skipped row as ``{"index", "reason"}``, in file order."""
        return [row.as_dict() for row in self.skipped]

    def rows_summary(self) -> dict:
        """The ``rows`` object of the scores JSON: rows read (after the limit), scored, skipped."""
        return rows_summary(len(self.rows), self.skipped)


def check_scorable(bench: Benchmark) -> None:
    """InputError naming the file when not one of its rows can be scored: a score of no
    rows would read as a real 0."""
    if bench.rows:
        return
    summary = bench.rows_summary()
    if not summary["read"]:
        raise InputError(f"{bench.path}: no rows under the header")
    reasons = ", ".join(f"{kind} {count}" for kind, count in summary["skip_reasons"].items())
    raise InputError(f"{bench.path}: none of its {summary['read']} rows could be scored ({reasons})")


def rows_summary(scored: int, skipped: Iterable[SkippedRow] = ()) -> dict:
    """``{"read", "scored", "skipped", "skip_reasons": {kind: count}}``; every row read is
    either scored or skipped, so ``read`` is their sum."""
    kinds = Counter(row.kind for row in skipped)
    n_skipped = sum(kinds.values())
    return {"read": scored + n_skipped, "scored": scored, "skipped": n_skipped,
            "skip_reasons": {kind: kinds[kind] for kind in SKIP_KINDS if kinds[kind]}}


def decode_image(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64, validate=False)))
    return image.convert("RGB")


def is_image_list(cell: str) -> bool:
    """An image field holding several images: a list literal (base64 never starts with "[")."""
    return cell.startswith("[") and cell.endswith("]")


def split_images(cell: str) -> list[str] | None:
    """The base64 images of an image field in order; None when its list does not parse."""
    return parse_list(cell) if is_image_list(cell) else [cell]


def parse_list(text: str) -> list[str] | None:
    """The items of a JSON or Python list literal as text; None when it is not a non-empty list."""
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, list) and value:
            return [str(v) for v in value]
    return None
