"""Read VLMEvalKit-format benchmark TSVs into validated rows.

A TSV has ``index``, ``image`` (base64, or for space another row's index, as VLMEvalKit
allows), ``question`` and ``answer``, plus type-specific columns. Structural problems
(a missing column) raise :class:`InputError`; a bad row (undecodable image, an answer
the type cannot score) is skipped, counted and reported with its index.
"""

from __future__ import annotations

import ast
import base64
import binascii
import hashlib
import io
import json
import logging
import string
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from vtscale.errors import InputError

log = logging.getLogger(__name__)

TYPES = ("yorn", "pope", "mme", "hallusionbench", "mcq", "textvqa", "chartqa", "ocrvqa",
         "ocrbench", "docvqa", "caption")
YES_NO_TYPES = ("yorn", "pope", "mme", "hallusionbench")
LIST_ANSWER_TYPES = ("caption", "textvqa", "ocrbench", "docvqa", "chartqa", "ocrvqa")
REQUIRED = {t: ("index", "image", "question", "answer") for t in TYPES}
REQUIRED["mcq"] = ("index", "image", "question", "answer", "A", "B")
REQUIRED["caption"] = ("index", "image", "answer")  # VLMEvalKit supplies the caption prompt
HALLUSION_IDS = ("set_id", "figure_id", "question_id")
MAX_REFERENCE_LEN = 64  # VLMEvalKit: an image field this short names another row's index


@dataclass
class Row:
    index: str
    image_b64: str
    question: str
    answers: list[str]                      # one item, or the reference list
    options: dict[str, str] = field(default_factory=dict)
    hint: str | None = None
    category: str | None = None
    l2_category: str | None = None
    image_key: str = ""                     # image_path, else a hash of the image data
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        return self.answers[0]

    def load_image(self) -> Image.Image:
        return decode_image(self.image_b64)


@dataclass
class Benchmark:
    name: str
    type: str
    path: Path
    rows: list[Row]
    skipped: list[dict[str, str]]


def decode_image(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64, validate=False)))
    return image.convert("RGB")


def detect_type(columns: list[str]) -> str:
    """Guess the dataset type from the columns, for TSVs named without a type."""
    cols = set(columns)
    if {"set_id", "figure_id", "question_id"} <= cols:
        return "hallusionbench"
    if {"A", "B"} <= cols:
        return "mcq"
    if "question" not in cols:
        return "caption"
    return "textvqa"


def read_benchmark(path: str | Path, name: str, type_: str | None = None,
                   limit: int | None = None) -> Benchmark:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: benchmark TSV not found")
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    type_ = type_ or detect_type(list(frame.columns))
    if type_ not in TYPES:
        raise InputError(f"{path}: unknown benchmark type {type_!r} (one of {', '.join(TYPES)})")
    for column in REQUIRED[type_]:
        if column not in frame.columns:
            raise InputError(f"{path}: missing required column {column!r} for type {type_}")
    if type_ == "hallusionbench":
        _add_hallusion_ids(frame, path)
    if limit:
        frame = frame.iloc[:limit]
    images = _resolve_image_references(frame)
    rows, skipped = [], []
    for record in frame.to_dict("records"):
        row, reason = _make_row(record, images, type_)
        if reason:
            skipped.append({"index": str(record["index"]), "reason": reason})
            log.warning("%s: skipping row index=%s: %s", path, record["index"], reason)
        else:
            rows.append(row)
    log.info("%s: %d rows (%s), %d skipped", path, len(rows), type_, len(skipped))
    return Benchmark(name=name, type=type_, path=path, rows=rows, skipped=skipped)


def _add_hallusion_ids(frame: pd.DataFrame, path: Path) -> None:
    """VLMEvalKit reads set/figure/question ids from index parts 3-5 when the TSV lacks them."""
    for pos, column in enumerate(HALLUSION_IDS, start=3):
        if column in frame.columns:
            continue
        parts = frame["index"].astype(str).str.split("_")
        if (parts.str.len() < 6).any():
            raise InputError(f"{path}: missing required column {column!r} for type hallusionbench "
                             "(and the index is not of the form a_b_c_set_figure_question)")
        frame[column] = parts.str[pos]


def _resolve_image_references(frame: pd.DataFrame) -> dict[str, tuple[str | None, str]]:
    """index -> (base64, image key), or (None, reason). Short image fields point at another
    row; the key (a content hash) groups the questions of one image, as MME's acc+ needs."""
    raw = dict(zip(frame["index"].astype(str), frame["image"]))
    resolved = {}
    for index, value in raw.items():
        if 0 < len(value) <= MAX_REFERENCE_LEN:
            if value not in raw or len(raw[value]) <= MAX_REFERENCE_LEN:
                resolved[index] = (None, f"image refers to no row with an image ({value!r})")
                continue
            value = raw[value]
        resolved[index] = (value, hashlib.sha1(value.encode()).hexdigest())
    return resolved


def _make_row(record: dict, images: dict, type_: str) -> tuple[Row | None, str | None]:
    index = str(record["index"])
    b64, key = images[index]
    if b64 is None:
        return None, key
    try:
        Image.open(io.BytesIO(base64.b64decode(b64, validate=True))).load()
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as err:
        return None, f"undecodable image ({type(err).__name__})"
    answers, reason = _parse_answers(record["answer"], type_)
    if reason:
        return None, reason
    options = {c: record[c] for c in string.ascii_uppercase if record.get(c, "") != ""}
    if type_ == "mcq" and answers[0] not in options:
        return None, f"answer {answers[0]!r} is not one of the options {''.join(options)}"
    extra = {k: record[k] for k in HALLUSION_IDS if k in record}
    return Row(
        index=index, image_b64=b64, question=record.get("question", ""), answers=answers,
        options=options if type_ == "mcq" else {}, hint=record.get("hint") or None,
        category=record.get("category") or None, l2_category=record.get("l2-category") or None,
        image_key=record.get("image_path") or key, extra=extra,
    ), None


def _parse_answers(text: str, type_: str) -> tuple[list[str], str | None]:
    text = text.strip()
    if type_ in YES_NO_TYPES:
        answer = text.capitalize()
        if answer not in ("Yes", "No"):
            return [], f"answer {text!r} is not Yes or No"
        return [answer], None
    if type_ in LIST_ANSWER_TYPES and text.startswith("["):
        answers = _parse_list(text)
        if answers is None:
            return [], f"answer {text[:40]!r} is not a valid list"
        return answers, None
    if type_ == "caption":
        return [], "caption answer must be a list of references"
    return [text], None


def _parse_list(text: str) -> list[str] | None:
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, list) and value:
            return [str(v) for v in value]
    return None
