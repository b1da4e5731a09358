"""Loaders for the paper's raw data formats, each returning the pipeline's internal formats
(docs/formats.md):

- LLaVA records ``{"id", "image", "conversations": [{"from": "human"|"gpt", "value"}]}``
  from LLaVA v1.5 mix665k, BAAI SVIT and mPLUG DocDownstream / DocStruct4M;
- description records ``{"id", "image", "description"}`` from SVIT detail_description;
- doc records ``{"id", "image", "text", "kind"}`` from DocStruct4M struct_aware_parse.

(Intel/orca_dpo_pairs needs no conversion: vtscale.data.dpo_pairs reads it as it is.)
A malformed record raises InputError naming the file and the record; LLaVA records are
checked by their format's owner, vtscale.data.conversations.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Iterator

from vtscale.data.conversations import check_record, read_llava, with_image_marker
from vtscale.errors import InputError
from vtscale.io import iter_jsonl_objects, read_json_list

log = logging.getLogger(__name__)

SVIT_ROLES = {"user": "human", "human": "human", "gpt": "gpt", "assistant": "gpt"}
MPLUG_ROLES = {"user": "human", "assistant": "gpt"}
SVIT_IMAGE_DIRS = ("vg/VG_100K", "vg/VG_100K_2")
_MPLUG_IMAGE_TOKEN = re.compile(r"\n*<\|image\|>\n*")


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


def load_svit_conversations(path: str | Path, image_root: str | Path | None = None) -> list[dict]:
    """Any SVIT task file (conversation, complex_reasoning, detail_description, referring_qa):
    ``[{"image_id", "conversations": [{"content": [...]}, ...]}]``, one LLaVA record per
    conversation."""
    path = Path(path)
    records = []
    for where, record in _svit_records(path):
        conversations = record.get("conversations")
        if not isinstance(conversations, list) or not conversations:
            raise InputError(f"{where}: empty or missing 'conversations'")
        image = svit_image_path(record["image_id"], image_root)
        for k, conversation in enumerate(conversations):
            llava = {"id": f"svit_{record['image_id']}_{k}", "image": image,
                     "conversations": with_image_marker(_svit_turns(conversation, where))}
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


def load_mplug_docs(path: str | Path) -> list[dict]:
    """DocStruct4M ``struct_aware_parse.jsonl`` as doc records: the text is the first
    assistant answer (the page's structured parse), the kind its task name."""
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
        docs.append({"id": f"{path.stem}_{lineno}", "image": image, "text": answers[0],
                     "kind": str(record.get("task_name") or path.stem)})
    return docs
