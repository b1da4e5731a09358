"""Loaders for the paper's raw data formats, each returning the pipeline's internal formats
(docs/formats.md):

- LLaVA records ``{"id", "image", "conversations": [{"from": "human"|"gpt", "value"}]}``
  from LLaVA v1.5 mix665k, BAAI SVIT and mPLUG DocDownstream / DocStruct4M;
- description records ``{"id", "image", "description"}`` from SVIT detail_description;
- doc records ``{"id", "image", "text", "kind"}`` from DocStruct4M struct_aware_parse.

and the authors' rewrites of loaded conversations (scripts/prepare_data_llava.py,
scripts/prepare_data_baai_svit.py), which vtscale.data.prepare applies as configured:
boxes as ``<bbox>`` tags, LLaVA records with OCR reference tokens left out, long
conversations cut, SVIT rounds packed.

(Intel/orca_dpo_pairs needs no conversion: vtscale.data.dpo_pairs reads it as it is.)
A malformed record raises InputError naming the file and the record; LLaVA records are
checked by their format's owner, vtscale.data.conversations.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Callable, Iterator

from PIL import Image

from vtscale.data.conversations import check_record, read_llava, with_image_marker
from vtscale.errors import InputError
from vtscale.io import iter_jsonl_objects, read_json_list

log = logging.getLogger(__name__)

SVIT_ROLES = {"user": "human", "human": "human", "gpt": "gpt", "assistant": "gpt"}
MPLUG_ROLES = {"user": "human", "assistant": "gpt"}
SVIT_IMAGE_DIRS = ("vg/VG_100K", "vg/VG_100K_2")
_MPLUG_IMAGE_TOKEN = re.compile(r"\n*<\|image\|>\n*")
_BRACKET_BOX = re.compile(r"\[([\d.]+), *([\d.]+), *([\d.]+), *([\d.]+)\]")
# struct_aware_parse wraps a page's text in <doc>...</doc> (text pages) or <md>...</md>
# (tables, charts); the first such block of question + answer decides, as the authors
# split the file (scripts/prepare_mPLUG_doc_split.py).
_PAGE_BLOCK = re.compile(r"<(doc|md)>(.*?)</(?:doc|md)>", re.DOTALL)
REFERENCE_OCR = "Reference OCR token"


# ---------------------------------------------------------------- LLaVA v1.5 mix665k
def load_llava(path: str | Path, keep_text_only: bool = False) -> list[dict]:
    """LLaVA v1.5 ``llava_v1_5_mix665k.json``. Text-only records (no ``image``; ShareGPT)
    are left out unless ``keep_text_only``: every stage here needs an image."""
    path = Path(path)
    records, text_only = [], 0
    for record in read_llava(path):
        if "image" not in record and not keep_text_only:
            text_only += 1
            continue
        records.append({"id": str(record["id"]), "image": record.get("image"),
                        "conversations": record["conversations"]})
    if text_only:
        log.info("%s: left out %d text-only records", path, text_only)
    return records


# ---------------------------------------------------------------- BAAI SVIT
def svit_image_path(image_id, image_root: str | Path | None = None) -> str:
    """Visual Genome image of ``image_id``: the VG folder that holds it under ``image_root``
    (the first folder when no root is given or the image is in neither)."""
    name = f"{image_id}.jpg"
    if image_root is not None:
        for folder in SVIT_IMAGE_DIRS:
            if (Path(image_root) / folder / name).exists():
                return f"{folder}/{name}"
    return f"{SVIT_IMAGE_DIRS[0]}/{name}"


def _svit_turns(conversation, where: str) -> list[dict]:
    """One SVIT conversation ``{"content": [{"from": "user"|"gpt", "value"}]}`` as LLaVA turns."""
    content = conversation.get("content") if isinstance(conversation, dict) else None
    if not isinstance(content, list) or not content:
        raise InputError(f"{where}: conversation without a 'content' list")
    turns = []
    for i, item in enumerate(content):
        role = SVIT_ROLES.get(item.get("from")) if isinstance(item, dict) else None
        if role is None or not isinstance(item.get("value"), str):
            raise InputError(f"{where}: content item {i} needs 'from' (user/gpt) and a text 'value'")
        turns.append({"from": role, "value": item["value"]})
    return turns


def _svit_records(path: Path) -> Iterator[tuple[str, dict]]:
    for index, record in enumerate(read_json_list(path)):
        if not isinstance(record, dict) or "image_id" not in record:
            raise InputError(f"{path}: record #{index} lacks 'image_id'")
        yield f"{path}: record image_id={record['image_id']}", record


def pack_rounds(turns: list[dict], max_rounds: int) -> list[list[dict]]:
    """The authors' packing of an image's turns: the round count is halved (integer
    division) until it is at most ``max_rounds``, then the turns are cut into records of
    that many rounds, the last one shorter (23 rounds, at most 10: 5, 5, 5, 5, 3)."""
    rounds = len(turns) // 2
    while rounds > max_rounds:
        rounds //= 2
    size = 2 * max(rounds, 1)
    return [turns[i:i + size] for i in range(0, len(turns), size)]


def load_svit_conversations(path: str | Path, image_root: str | Path | None = None,
                            max_rounds: int | None = None) -> list[dict]:
    """Any SVIT task file (conversation, complex_reasoning, detail_description, referring_qa):
    ``[{"image_id", "conversations": [{"content": [...]}, ...]}]``, one LLaVA record per
    conversation, or with ``max_rounds`` all of an image's turns packed (pack_rounds)."""
    path = Path(path)
    records = []
    for where, record in _svit_records(path):
        conversations = record.get("conversations")
        if not isinstance(conversations, list) or not conversations:
            raise InputError(f"{where}: empty or missing 'conversations'")
        image = svit_image_path(record["image_id"], image_root)
        groups = [_svit_turns(conversation, where) for conversation in conversations]
        if max_rounds is not None:
            groups = pack_rounds([turn for group in groups for turn in group], max_rounds)
        for k, turns in enumerate(groups):
            llava = {"id": f"svit_{record['image_id']}_{k}", "image": image,
                     "conversations": with_image_marker(turns)}
            check_record(llava, where)
            records.append(llava)
    return records


def load_svit_descriptions(path: str | Path, image_root: str | Path | None = None) -> list[dict]:
    """SVIT ``detail_description.json`` as description records: the description is the
    answer of the record's first conversation (or a plain ``detail_description`` field)."""
    path = Path(path)
    records = []
    for where, record in _svit_records(path):
        if isinstance(record.get("detail_description"), str):
            description = record["detail_description"]
        else:
            conversations = record.get("conversations")
            if not isinstance(conversations, list) or not conversations:
                raise InputError(f"{where}: neither 'detail_description' nor 'conversations'")
            answers = [t["value"] for t in _svit_turns(conversations[0], where) if t["from"] == "gpt"]
            if not answers:
                raise InputError(f"{where}: first conversation has no gpt answer")
            description = answers[0]
        records.append({"id": f"svit_{record['image_id']}",
                        "image": svit_image_path(record["image_id"], image_root),
                        "description": description.strip()})
    return records


# ---------------------------------------------------------------- mPLUG DocOwl data
def _mplug_parts(path: Path, lineno: int, record: dict) -> tuple[str, list[dict]] | None:
    """(image, LLaVA turns) of one mPLUG record, or None for multi-image records."""
    where = f"{path}: line {lineno}"
    images, messages = record.get("image"), record.get("messages")
    if isinstance(images, str):
        images = [images]
    if not isinstance(images, list) or not images or not isinstance(messages, list) or not messages:
        raise InputError(f"{where}: needs 'image' (list of paths) and non-empty 'messages'")
    if len(images) > 1:
        return None
    turns = []
    for i, message in enumerate(messages):
        role = MPLUG_ROLES.get(message.get("role")) if isinstance(message, dict) else None
        if role is None or not isinstance(message.get("content"), str):
            raise InputError(f"{where}: message {i} needs 'role' (user/assistant) and text 'content'")
        turns.append({"from": role, "value": _MPLUG_IMAGE_TOKEN.sub("", message["content"]).strip()})
    return re.sub(r"^\./", "", images[0]), turns


def load_mplug_conversations(path: str | Path) -> list[dict]:
    """mPLUG DocDownstream / DocStruct4M jsonl (``{"image": [path], "messages": [{"role",
    "content"}], "task_name", "dataset_name"}``) as LLaVA records; multi-image records are
    left out."""
    path = Path(path)
    records, multi = [], 0
    for lineno, record in iter_jsonl_objects(path):
        parts = _mplug_parts(path, lineno, record)
        if parts is None:
            multi += 1
            continue
        image, turns = parts
        llava = {"id": f"{path.stem}_{lineno}", "image": image, "conversations": with_image_marker(turns)}
        check_record(llava, f"{path}: line {lineno}")
        records.append(llava)
    if multi:
        log.info("%s: left out %d multi-image records", path, multi)
    return records


def page_block(question: str, answer: str) -> tuple[str, str] | None:
    """(tag, text inside it) of the first <doc>/<md> block of question + answer, or None."""
    match = _PAGE_BLOCK.search(question + answer)
    return (match.group(1), match.group(2).strip()) if match else None


def load_mplug_docs(path: str | Path) -> list[dict]:
    """DocStruct4M ``struct_aware_parse.jsonl`` as doc records. A page whose first answer
    (or question) holds a <doc> or <md> block is of kind ``doc`` or ``md`` and its text is
    the block's content, tags stripped; any other page keeps the whole answer as its text
    and its task name as its kind."""
    path = Path(path)
    docs = []
    for lineno, record in iter_jsonl_objects(path):
        parts = _mplug_parts(path, lineno, record)
        if parts is None:
            continue
        image, turns = parts
        answers = [t["value"] for t in turns if t["from"] == "gpt"]
        if not answers:
            raise InputError(f"{path}: line {lineno}: no assistant message")
        kind, text = page_block(turns[0]["value"], answers[0]) or (
            str(record.get("task_name") or path.stem), answers[0])
        docs.append({"id": f"{path.stem}_{lineno}", "image": image, "text": text, "kind": kind})
    return docs


# ---------------------------------------------------------------- the authors' rewrites
def kept_by_first_message(records: list[dict], keep: Callable[[str], bool], source: str,
                          left_out: str) -> list[dict]:
    """The records whose first message passes ``keep``; how many did not is logged as
    "left out N records ``left_out``"."""
    kept = [r for r in records if keep(r["conversations"][0]["value"])]
    if len(kept) < len(records):
        log.info("%s: left out %d records %s", source, len(records) - len(kept), left_out)
    return kept


def without_reference_ocr(records: list[dict], source: str) -> list[dict]:
    """Leave out records whose first message hands the model "Reference OCR token"s."""
    return kept_by_first_message(records, lambda first: REFERENCE_OCR not in first, source,
                                 f"with {REFERENCE_OCR!r}")


def with_first_question_of(records: list[dict], min_chars: int, source: str) -> list[dict]:
    """Leave out records whose first message is shorter than ``min_chars`` characters."""
    return kept_by_first_message(records, lambda first: len(first) >= min_chars, source,
                                 f"with a first message under {min_chars} characters")


def capped(records: list[dict], max_messages: int) -> list[dict]:
    """Each conversation cut to its first ``max_messages`` messages."""
    return [{**r, "conversations": r["conversations"][:max_messages]} for r in records]


@cache
def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError):
        return None


def _unpad(values: list[float], size: tuple[int, int]) -> list[float]:
    """Fractions of the image padded to a centred square -> fractions of the image itself."""
    width, height = size
    side = max(width, height)
    dx, dy = (side - width) // 2, (side - height) // 2
    x0, y0, x1, y1 = values
    return [(x0 * side - dx) / width, (y0 * side - dy) / height,
            (x1 * side - dx) / width, (y1 * side - dy) / height]


def bbox_tags(text: str, size: tuple[int, int] | None = None) -> str:
    """Boxes "[x0, y0, x1, y1]" in fractions as "<bbox>x0,y0,x1,y1</bbox>" in 0-999
    (truncated). ``size``: the image's (width, height) when the fractions are of the image
    padded to a square, as LLaVA's are; the box is moved back onto the image itself."""
    def tag(match: re.Match) -> str:
        try:
            values = [_clip(float(v)) for v in match.groups()]
        except ValueError:          # "[1.2.3, ...]" is not a box
            return match.group(0)
        if size is not None:
            values = _unpad(values, size)
        x0, y0, x1, y1 = (int(_clip(v) * 999) for v in values)
        return f"<bbox>{x0},{y0},{x1},{y1}</bbox>"
    return _BRACKET_BOX.sub(tag, text)


def _clip(value: float) -> float:
    return min(max(value, 0.0), 1.0)


def with_bbox_tags(records: list[dict], padded_images: Path | None = None) -> list[dict]:
    """Every message's boxes as <bbox> tags. ``padded_images``: the folder of the images
    when the boxes are fractions of each image padded to a square (LLaVA); a record whose
    image cannot be read there is left as it is (prepare leaves it out anyway)."""
    out = []
    for record in records:
        size = None
        if padded_images is not None and any(_BRACKET_BOX.search(t["value"]) for t in record["conversations"]):
            size = image_size(Path(padded_images) / record["image"])
            if size is None:
                out.append(record)
                continue
        turns = [{**t, "value": bbox_tags(t["value"], size)} for t in record["conversations"]]
        out.append({**record, "conversations": turns})
    return out
