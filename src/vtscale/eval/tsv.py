"""Read VLMEvalKit-format benchmark TSVs into validated rows.

A TSV has ``index``, ``image`` (base64; several images as a list of them, as VLMEvalKit
writes multi-image rows; or for space another row's index, as VLMEvalKit allows),
``question`` and ``answer``, plus type-specific columns. Structural problems
(a missing column) raise :class:`InputError`; a bad row (undecodable image, an empty field,
an answer the type cannot score) is skipped, counted by kind and reported with its index,
or, with ``strict``, raises :class:`InputError` naming the row and the field. Scoring alone
(``vtscale score``) reads without images: the column is then optional and never decoded.

Missing values are read as VLMEvalKit reads them (at 0ff0c3e and today: pandas' default
``read_csv``, then ``str()`` of the cell): a cell that pandas takes for missing (``None``,
``NA``, ``N/A``, ``null``, ``nan``, empty...) is the text "nan" in a prediction, a question
or an answer, and absent in an option, hint, category or split column (VLMEvalKit drops an
option so read from the choices). An empty required field is still a skipped row.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import string
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

from vtscale.errors import InputError
from vtscale.eval.benchmark import (HALLUSION_IDS, SKIP_BAD_ANSWER, SKIP_IMAGE_REFERENCE,
                                    SKIP_MISSING_FIELD, SKIP_OPTION_MISMATCH, SKIP_UNDECODABLE_IMAGE,
                                    Benchmark, Row, SkippedRow, split_images)
from vtscale.eval.dataset_types import DATASET_TYPES, DatasetType, circular_types

log = logging.getLogger(__name__)

MAX_REFERENCE_LEN = 64  # VLMEvalKit: an image field this short names another row's index

# The cells pandas' read_csv takes for missing by default (its documented ``na_values``
# list; VLMEvalKit reads TSVs with it), and the text VLMEvalKit then scores in their
# place (``str(nan)``). tests/test_eval_tsv.py checks the list against read_csv.
MISSING_CELLS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
MISSING_TEXT = "nan"


def is_missing(cell: str) -> bool:
    """Whether VLMEvalKit reads the TSV cell as a missing value."""
    return cell in MISSING_CELLS


def as_text(cell: str) -> str:
    """A prediction, question or answer cell as VLMEvalKit scores it: "nan" if missing."""
    return MISSING_TEXT if is_missing(cell) else cell


def present(cell: str | None) -> str | None:
    """An optional cell (option, hint, category, split), None where VLMEvalKit reads it missing."""
    return None if cell is None or is_missing(cell) else cell


def detect_type(columns: list[str]) -> str:
    """Guess the dataset type from the columns, for TSVs named without a type."""
    cols = set(columns)
    return next(name for name, kind in DATASET_TYPES.items() if kind.detect and kind.detect(cols))


def required_columns(type_: str, with_images: bool = True) -> tuple[str, ...]:
    columns = DATASET_TYPES[type_].columns
    return columns if with_images else tuple(c for c in columns if c != "image")


def read_benchmark(path: str | Path, name: str, type_: str | None = None,
                   limit: int | None = None, strict: bool = False,
                   with_images: bool = True, circular: bool = False) -> Benchmark:
    """Rows of the TSV (the first ``limit`` only, when given). A bad row is skipped, or with
    ``strict`` (eval.strict) raises InputError naming the file, the row index and the field.
    Without images, rows carry no image data, only the key that groups rows of one image.
    ``circular``: an MCQ scored by circular groups, which needs integer indices."""
    path = Path(path)
    frame = read_frame(path)
    type_ = type_ or detect_type(list(frame.columns))
    if type_ not in DATASET_TYPES:
        raise InputError(f"{path}: unknown benchmark type {type_!r} (one of {', '.join(DATASET_TYPES)})")
    kind = DATASET_TYPES[type_]
    required = required_columns(type_, with_images)
    for column in required:
        if column not in frame.columns:
            raise InputError(f"{path}: missing required column {column!r} for type {type_}")
    if kind.ids_from_index:
        _add_ids_from_index(frame, path, kind)
    if circular:
        _check_circular(frame, path, kind)
    if limit:
        frame = frame.iloc[:limit]
    images = _resolve_image_references(frame) if with_images else _unread_images(frame)
    rows, skipped = [], []
    for record in frame.to_dict("records"):
        outcome = _make_row(record, images, kind, required, with_images)
        if isinstance(outcome, Row):
            rows.append(outcome)
            continue
        if strict:
            raise InputError(f"{path}: row index {outcome.index}: field {outcome.field!r}: "
                             f"{outcome.reason} (eval.strict is on)")
        skipped.append(outcome)
        log.warning("%s: skipping row index=%s: %s", path, outcome.index, outcome.reason)
    log.info("%s: %d rows (%s), %d skipped", path, len(rows), type_, len(skipped))
    return Benchmark(name=name, type=type_, path=path, rows=rows, skipped=skipped, circular=circular)


def read_frame(path: Path) -> pd.DataFrame:
    """The TSV as strings, empty fields as "". Not UTF-8, or a data row with a field more
    than the header (which pandas would silently take for the row labels, shifting every
    column), is an InputError naming the line and the column."""
    if not path.exists():
        raise InputError(f"{path}: benchmark TSV not found")
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file (no header row)") from None
    except pd.errors.ParserError as err:
        raise InputError(f"{path}: not a readable TSV ({' '.join(str(err).split())})") from None
    except UnicodeDecodeError:
        raise InputError(not_utf8(path)) from None
    if not isinstance(frame.index, pd.RangeIndex):
        width = len(frame.columns)
        raise InputError(f"{path}: line 2 has {width + 1} fields, the header {width}: column "
                         f"{width + 1} has no name (a tab at the end of each row?)")
    # A row with fewer fields than the header gets NaN even with keep_default_na=False:
    # make it an empty field, which the row checks report by name.
    return frame.fillna("")


def not_utf8(path: Path) -> str:
    """Where a file stops being UTF-8: its line, tab-separated column and the byte."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        start = data.rfind(b"\n", 0, err.start) + 1
        line = data.count(b"\n", 0, err.start) + 1
        column = data.count(b"\t", start, err.start) + 1
        header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").rstrip("\r").split("\t")
        name = f" ({header[column - 1]!r})" if column <= len(header) else ""
        return (f"{path}: line {line}, column {column}{name}: byte 0x{data[err.start]:02x} is not "
                f"UTF-8 (save the file as UTF-8)")
    return f"{path}: not UTF-8"


def _add_ids_from_index(frame: pd.DataFrame, path: Path, kind: DatasetType) -> None:
    """VLMEvalKit reads HallusionBench's set/figure/question ids from index parts 3-5 when
    the TSV lacks them."""
    form = "_".join(["a", "b", "c", *(c.removesuffix("_id") for c in kind.ids_from_index)])
    for pos, column in enumerate(kind.ids_from_index, start=3):
        if column in frame.columns:
            continue
        parts = frame["index"].astype(str).str.split("_")
        if (parts.str.len() < 3 + len(kind.ids_from_index)).any():
            raise InputError(f"{path}: missing required column {column!r} for type {kind.name} "
                             f"(and the index is not of the form {form})")
        frame[column] = parts.str[pos]


def _check_circular(frame: pd.DataFrame, path: Path, kind: DatasetType) -> None:
    """Circular groups are rows whose indices agree modulo 1e6, so indices must be integers."""
    if kind.circular_scorer is None:
        raise InputError(f"{path}: circular scoring needs type {' or '.join(circular_types())}, "
                         f"not {kind.name}")
    bad = next((i for i in frame["index"] if not i.strip().isdigit()), None)
    if bad is not None:
        raise InputError(f"{path}: row index {bad!r}: field 'index': circular scoring needs "
                         "non-negative integer indices")


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


def _unread_images(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """index -> ("", image key) without decoding: rows sharing an image share the key;
    a row without a usable image field is its own image."""
    indices = frame["index"].astype(str)
    if "image" not in frame.columns:
        return {index: ("", index) for index in indices}
    return {index: ("", key if b64 is not None else index)
            for index, (b64, key) in _resolve_image_references(frame).items()}


def _make_row(record: dict, images: dict, kind: DatasetType, required: tuple[str, ...],
              with_images: bool = True) -> Row | SkippedRow:
    index = str(record["index"])
    empty = _first_empty_field(record, required)
    if empty:
        return SkippedRow(index, empty, SKIP_MISSING_FIELD, f"missing field {empty!r}")
    b64, key = images[index]
    if b64 is None:
        return SkippedRow(index, "image", SKIP_IMAGE_REFERENCE, key)
    fault = _image_fault(b64) if with_images else None
    if fault:
        return SkippedRow(index, "image", SKIP_UNDECODABLE_IMAGE, fault)
    answers, reason = kind.parse_answer(as_text(record["answer"]).strip())
    if reason:
        return SkippedRow(index, "answer", SKIP_BAD_ANSWER, reason)
    written = [c for c in string.ascii_uppercase if record.get(c, "") != ""]
    if kind.options and answers[0] not in written:
        return SkippedRow(index, "answer", SKIP_OPTION_MISMATCH,
                          f"answer {answers[0]!r} is not one of the options {''.join(written)}")
    # An option read as missing is not a choice (VLMEvalKit's build_choices): a row whose
    # answer it is stays, scored wrong, as VLMEvalKit scores it.
    options = {c: record[c] for c in written if present(record[c]) is not None}
    extra = {k: record[k] for k in HALLUSION_IDS if k in record}
    return Row(
        index=index, image_b64=b64, question=_question(record), answers=answers,
        options=options if kind.options else {}, hint=present(record.get("hint")) or None,
        category=present(record.get("category")) or None,
        l2_category=present(record.get("l2-category")) or None,
        split=_split(record), image_key=record.get("image_path") or key, extra=extra,
    )


def _question(record: dict) -> str:
    """The question as VLMEvalKit sends it ("" where the TSV has none: a caption's)."""
    question = record.get("question", "")
    return as_text(question) if question else question


def _split(record: dict) -> str | None:
    """The row's split: None without the column, "" for a missing cell."""
    return None if "split" not in record else present(record["split"]) or ""


def _first_empty_field(record: dict, required: tuple[str, ...]) -> str | None:
    """The first required field that is empty or blank (or absent from a short row)."""
    return next((column for column in required if not record[column].strip()), None)


def _image_fault(cell: str) -> str | None:
    images = split_images(cell)
    if images is None:
        return "undecodable image (a list that does not parse)"
    for k, b64 in enumerate(images):
        try:
            Image.open(io.BytesIO(base64.b64decode(b64, validate=True))).load()
        except (binascii.Error, UnidentifiedImageError, OSError, ValueError) as err:
            where = f" {k + 1} of {len(images)}" if len(images) > 1 else ""
            return f"undecodable image{where} ({type(err).__name__})"
    return None
